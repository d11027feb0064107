/**
 * @module web/gallery/style
 * The gallery's CSS as a constructed stylesheet: the strict CSP (`style-src 'self'`) forbids
 * inline <style> and style attributes, not sheets built through the CSSOM; and the asset server
 * only serves what the module graph imports. Colours come from the app's theme variables.
 */
const CSS = `
.g-wrap { position: relative; margin: -16px -16px 0; }
.gallery { position: relative; overflow-y: auto; overflow-anchor: none; height: calc(100vh - 60px); padding: 0 52px 0 16px; scrollbar-width: none; outline: none; }
.gallery::-webkit-scrollbar { display: none; }
.gallery-space { position: relative; width: 100%; }
.gallery-space > * { position: absolute; left: 0; right: 0; }
.g-month { display: flex; align-items: baseline; gap: 10px; padding-top: 14px; font-size: 20px; font-weight: 650; }
.g-month small, .g-day small { color: var(--muted); font-weight: 400; font-size: 13px; }
.g-day { padding-top: 8px; font-size: 14px; font-weight: 600; color: var(--muted); display: flex; align-items: center; gap: 6px; }
.g-day-check { width: 18px; height: 18px; padding: 0; border-radius: 50%; border: 2px solid var(--muted); background: transparent; font-size: 11px; line-height: 14px; color: var(--accent-fg); opacity: 0; transition: opacity .1s; }
.g-day:hover .g-day-check, .g-day-check:focus-visible, .selecting .g-day-check, .g-day-check[aria-checked="true"] { opacity: 1; }
.g-day-check[aria-checked="true"] { background: var(--accent); border-color: var(--accent); }
.g-day-check[aria-checked="true"]::after { content: '✓'; }
.g-row { display: flex; gap: 4px; }
.g-cell { position: relative; border-radius: 4px; overflow: hidden; background: var(--line) center / cover no-repeat; }
.g-open { display: block; width: 100%; height: 100%; padding: 0; border: 0; border-radius: 0; background: transparent; cursor: pointer; transition: transform .12s; }
.g-open:hover { background: transparent; }
.g-cell img { width: 100%; height: 100%; object-fit: cover; display: block; }
.g-cell[data-favorite]::after { content: '★'; position: absolute; left: 6px; bottom: 4px; color: #fff; text-shadow: 0 0 3px #000; font-size: 16px; pointer-events: none; }
.g-open:focus-visible { outline: 3px solid var(--accent); outline-offset: -3px; }
.g-check { position: absolute; top: 6px; left: 6px; width: 24px; height: 24px; padding: 0; border-radius: 50%; border: 2px solid #fff; background: #0005; color: #fff; font-size: 14px; line-height: 18px; text-align: center; opacity: 0; transition: opacity .1s; box-shadow: 0 0 3px #0008; }
.g-check:hover { background: #0008; }
.g-cell:hover .g-check, .g-cell:focus-within .g-check, .selecting .g-check, .g-check[aria-checked="true"] { opacity: 1; }
.g-check[aria-checked="true"] { background: var(--accent); border-color: var(--accent); }
.g-check[aria-checked="true"]::after { content: '✓'; }
.g-cell[aria-selected="true"] { background: var(--active); }
.g-cell[aria-selected="true"] .g-open { transform: scale(.86); border-radius: 6px; overflow: hidden; }
.g-badge { position: absolute; right: 6px; top: 6px; padding: 1px 7px; border-radius: 10px; background: #000a; color: #fff; font-size: 12px; pointer-events: none; }
.g-estimate { background: repeating-linear-gradient(90deg, transparent 0 4px, var(--hover) 4px 100%); opacity: .5; }
.g-empty { padding: 32px 0; color: var(--muted); }
.g-top { display: flex; gap: 0; padding: 8px 16px 0; }
.g-top button { border-radius: 0; } .g-top button:first-child { border-radius: var(--radius) 0 0 var(--radius); } .g-top button:last-child { border-radius: 0 var(--radius) var(--radius) 0; margin-left: -1px; }
.g-top button[aria-pressed="true"] { background: var(--active); font-weight: 600; }
.g-wrap.with-top .gallery { height: calc(100vh - 104px); }
.g-days { align-self: center; padding: 2px 6px; border-radius: 8px; background: #000a; color: #fff; font-size: 12px; }
.g-password { max-width: 520px; margin-top: 12px; }
.g-selbar { position: absolute; top: 0; left: 0; right: 0; z-index: 6; display: flex; align-items: center; gap: 8px; flex-wrap: wrap; padding: 8px 16px; background: var(--card); border-bottom: 1px solid var(--line); box-shadow: 0 2px 8px #0002; }
.g-selbar[hidden] { display: none; }
.g-selbar [data-testid="selection-count"] { font-weight: 600; }
.spacer { flex: 1; }
.g-scrubber { position: absolute; top: 0; right: 0; bottom: 0; width: 44px; z-index: 4; cursor: row-resize; touch-action: none; user-select: none; }
.g-scrubber:focus-visible { outline: 2px solid var(--accent); outline-offset: -2px; }
.g-scrub-marks { position: absolute; inset: 0; }
.g-scrub-mark { position: absolute; right: 18px; width: 4px; height: 4px; margin-top: -2px; border-radius: 50%; background: var(--muted); opacity: .45; }
.g-scrub-mark.year { background: none; opacity: 1; }
.g-scrub-mark.year span { position: absolute; right: -14px; top: 0; transform: translateY(-50%); font-size: 11px; color: var(--muted); }
.g-scrub-mark.crowded span { display: none; }
.g-scrub-now { position: absolute; right: 6px; width: 28px; height: 2px; background: var(--accent); pointer-events: none; }
.g-scrubber:hover .g-scrub-mark:not(.year), .g-scrubber.dragging .g-scrub-mark:not(.year) { opacity: .9; }
.g-scrub-label { position: absolute; right: 46px; transform: translateY(-50%); padding: 4px 10px; border-radius: 6px; background: var(--card); color: var(--fg); border: 1px solid var(--line); box-shadow: 0 2px 8px #0003; white-space: nowrap; pointer-events: none; font-weight: 600; }
.g-grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: 4px; margin-top: 12px; }
.g-grid .g-cell { aspect-ratio: 1; }
.g-tools { position: absolute; right: 4px; bottom: 4px; display: flex; gap: 4px; }
.g-tools button { padding: 2px 8px; background: #000a; color: #fff; border-color: #fff4; }
.g-tools button:disabled { opacity: .35; }
.g-editing .g-cell[draggable="true"] { cursor: move; }
.g-head { display: flex; align-items: center; gap: 10px; flex-wrap: wrap; }
.g-head h1 { margin: 8px 0; }
.g-title { display: flex; align-items: baseline; gap: 10px; }
.g-back { text-decoration: none; }
.g-albums { list-style: none; padding: 0; margin: 12px 0; display: grid; grid-template-columns: repeat(auto-fill, minmax(180px, 1fr)); gap: 18px; }
.g-album-card { display: flex; flex-direction: column; gap: 4px; color: var(--fg); text-decoration: none; border-radius: 10px; padding: 6px; }
.g-album-card:hover { background: var(--hover); }
.g-album-cover { aspect-ratio: 1; border-radius: 8px; overflow: hidden; background: var(--line); }
.g-album-cover.empty { display: flex; align-items: center; justify-content: center; }
.g-album-cover.empty::after { content: attr(data-icon); font-size: 48px; color: var(--muted); opacity: .6; }
.g-album-cover img { width: 100%; height: 100%; object-fit: cover; display: block; }
.g-album-name { font-weight: 600; overflow-wrap: anywhere; }
.g-dialog { border: 1px solid var(--line); border-radius: 12px; background: var(--card); color: var(--fg); padding: 20px; width: min(440px, 92vw); }
.g-dialog::backdrop { background: #0008; }
.g-dialog h2 { margin: 0 0 12px; font-size: 18px; }
.g-dialog-new { display: flex; gap: 8px; flex-wrap: wrap; }
.g-dialog-new input { flex: 1; min-width: 160px; }
.g-pick-list { list-style: none; padding: 0; margin: 12px 0; max-height: 40vh; overflow-y: auto; display: flex; flex-direction: column; gap: 4px; }
.g-pick-list button { width: 100%; text-align: left; }
.g-dialog-actions { display: flex; justify-content: flex-end; gap: 8px; margin-top: 12px; }
button.danger { color: var(--error); }
.g-search-form { display: flex; flex-wrap: wrap; gap: 10px; align-items: flex-end; }
.g-search-form label { display: flex; flex-direction: column; gap: 2px; font-size: 12px; color: var(--muted); }
.g-search-form input, .g-search-form select { font: inherit; padding: 7px 9px; border-radius: var(--radius); border: 1px solid var(--line); background: var(--card); color: var(--fg); color-scheme: light dark; }
.viewer-bar button[aria-pressed="true"] { color: #ffd54a; }
.viewer { position: fixed; inset: 0; z-index: 20; background: #0b0d10; color: #e8ecf0; display: grid; grid-template-columns: 1fr auto; }
.viewer-main { position: relative; min-width: 0; overflow: hidden; display: flex; }
.viewer-stage { flex: 1; display: flex; align-items: center; justify-content: center; overflow: hidden; touch-action: none; }
.viewer-stage img { max-width: 100%; max-height: 100vh; object-fit: contain; user-select: none; -webkit-user-drag: none; }
.viewer-stage img[hidden] { display: none; }
.viewer-stage.zoomed { cursor: grab; }
.viewer-stage video { max-width: 100%; max-height: 100vh; background: #000; }
.viewer-bar { position: absolute; top: 0; left: 0; right: 0; display: flex; flex-wrap: wrap; gap: 8px; padding: 10px; justify-content: flex-end; background: linear-gradient(#000a, transparent); z-index: 1; }
.viewer-bar button, .viewer-nav { background: #0008; color: #fff; border: 1px solid #fff3; }
.viewer-bar button:hover, .viewer-nav:hover { background: #000c; }
.viewer-nav { position: absolute; top: 50%; transform: translateY(-50%); font-size: 24px; padding: 10px 14px; z-index: 1; }
.viewer-nav.prev { left: 10px; } .viewer-nav.next { right: 10px; }
.viewer-info { width: 300px; padding: 56px 18px 18px; background: #14181d; overflow-y: auto; font-size: 14px; }
.viewer-info[hidden] { display: none; }
.viewer-info a { color: #9cc8ee; }
.viewer-info dt { color: #9aa6b2; font-size: 12px; margin-top: 12px; text-transform: uppercase; letter-spacing: .04em; }
.viewer-info dd { margin: 2px 0 0; overflow-wrap: anywhere; }
.map-wrap { position: relative; }
.map { display: block; width: 100%; height: calc(100vh - 130px); border-radius: 8px; border: 1px solid var(--line); touch-action: none; cursor: grab; }
.map-sea { fill: #dbe7f1; } .map-grid { stroke: #b9cad9; }
[data-theme="dark"] .map-sea { fill: #16212c; } [data-theme="dark"] .map-grid { stroke: #2a3a4a; }
.map-marker circle { fill: var(--accent); fill-opacity: .85; stroke: #fff; stroke-width: 2; vector-effect: non-scaling-stroke; cursor: pointer; }
.map-marker text { fill: #fff; font-weight: 700; pointer-events: none; }
.map-tools { position: absolute; top: 10px; right: 10px; display: flex; flex-direction: column; gap: 6px; }
.map-note { margin: 6px 0 0; font-size: 13px; }
@media (hover: none) { .g-cell:hover .g-check, .g-day:hover .g-day-check { opacity: 0; } .g-day-check { opacity: .6; } .selecting .g-check, .g-check[aria-checked="true"] { opacity: 1; } }
@media (max-width: 700px) { .g-wrap { margin: -10px -10px 0; } .gallery { padding: 0 34px 0 8px; } .g-scrubber { width: 30px; } .g-scrub-mark { right: 12px; } .g-scrub-now { width: 20px; } .g-scrub-label { right: 32px; } .g-grid { grid-template-columns: repeat(auto-fill, minmax(96px, 1fr)); } .g-albums { grid-template-columns: repeat(auto-fill, minmax(140px, 1fr)); gap: 10px; } .viewer-nav { display: none; } .viewer-bar { gap: 4px; padding: 6px; } .viewer-bar button { padding: 6px 9px; } .viewer { grid-template-columns: 1fr; } .viewer-info { position: absolute; bottom: 0; left: 0; right: 0; width: auto; max-height: 45vh; padding-top: 18px; } }
`;

let done = false;

export function installGalleryStyle(): void {
  if (done) return;
  done = true;
  const sheet = new CSSStyleSheet();
  sheet.replaceSync(CSS);
  document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
}
