/**
 * @module web/gallery/style
 * The gallery's CSS as a constructed stylesheet: the strict CSP (`style-src 'self'`) forbids
 * inline <style> and style attributes, not sheets built through the CSSOM; and the asset server
 * only serves what the module graph imports. Colours come from the app's theme variables.
 */
const CSS = `
.gallery { position: relative; overflow-y: auto; overflow-anchor: none; height: calc(100vh - 60px); margin: -16px -16px 0; padding: 0 16px; }
.gallery-space { position: relative; width: 100%; }
.gallery-space > * { position: absolute; left: 0; right: 0; }
.g-month { display: flex; align-items: baseline; gap: 10px; padding-top: 14px; font-size: 20px; font-weight: 650; }
.g-month small, .g-day small { color: var(--muted); font-weight: 400; font-size: 13px; }
.g-day { padding-top: 8px; font-size: 14px; font-weight: 600; color: var(--muted); }
.g-row { display: flex; gap: 4px; }
.g-cell { position: relative; border-radius: 4px; overflow: hidden; cursor: pointer; background: var(--line) center / cover no-repeat; padding: 0; border: 0; }
.g-cell img { width: 100%; height: 100%; object-fit: cover; display: block; }
.g-cell[data-favorite]::after { content: '★'; position: absolute; left: 6px; bottom: 4px; color: #fff; text-shadow: 0 0 3px #000; font-size: 16px; }
.viewer-bar button[aria-pressed="true"] { color: #ffd54a; }
.g-cell:focus-visible { outline: 3px solid var(--accent); outline-offset: -3px; }
.g-estimate { background: repeating-linear-gradient(90deg, transparent 0 4px, var(--hover) 4px 100%); opacity: .5; }
.g-empty { padding: 32px 0; color: var(--muted); }
.viewer { position: fixed; inset: 0; z-index: 20; background: #0b0d10; color: #e8ecf0; display: grid; grid-template-columns: 1fr auto; }
.viewer-stage { position: relative; display: flex; align-items: center; justify-content: center; overflow: hidden; }
.viewer-stage img { max-width: 100%; max-height: 100vh; object-fit: contain; }
.viewer-bar { position: absolute; top: 0; left: 0; right: 0; display: flex; gap: 8px; padding: 10px; justify-content: flex-end; background: linear-gradient(#000a, transparent); }
.viewer-bar button, .viewer-nav { background: #0008; color: #fff; border: 1px solid #fff3; }
.viewer-nav { position: absolute; top: 50%; transform: translateY(-50%); font-size: 24px; padding: 10px 14px; }
.viewer-nav.prev { left: 10px; } .viewer-nav.next { right: 10px; }
.viewer-info { width: 300px; padding: 56px 18px 18px; background: #14181d; overflow-y: auto; font-size: 14px; }
.viewer-info[hidden] { display: none; }
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
@media (max-width: 700px) { .viewer { grid-template-columns: 1fr; } .viewer-info { position: absolute; bottom: 0; left: 0; right: 0; width: auto; max-height: 45vh; padding-top: 18px; } }
`;

let done = false;

export function installGalleryStyle(): void {
  if (done) return;
  done = true;
  const sheet = new CSSStyleSheet();
  sheet.replaceSync(CSS);
  document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
}
