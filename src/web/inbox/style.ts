/**
 * @module web/inbox/style
 * The inbox's CSS (review grid and phone page) as a constructed stylesheet: the strict CSP
 * (`style-src 'self'`) forbids inline styles, not sheets built through the CSSOM. Colours come
 * from the app's theme variables (src/web/static/style.css, which both pages load).
 */
const CSS = `
.inbox-head { display: flex; flex-wrap: wrap; align-items: center; gap: 10px; margin-bottom: 12px; }
.inbox-head h1 { margin: 0; font-size: 22px; }
.inbox-head .spacer { flex: 1; }
.inbox-bar { position: sticky; top: 0; z-index: 2; display: flex; flex-wrap: wrap; gap: 8px; align-items: center; padding: 8px 0; background: var(--bg); }
.inbox-grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: 10px; }
.inbox-item { position: relative; display: flex; flex-direction: column; gap: 4px; padding: 6px; border: 2px solid var(--line); border-radius: var(--radius); background: var(--card); cursor: pointer; text-align: left; font: inherit; color: inherit; }
.inbox-item[aria-selected="true"] { border-color: var(--accent); background: var(--active); }
.inbox-item .thumb { aspect-ratio: 1; width: 100%; border-radius: 4px; background: var(--line); object-fit: cover; display: block; }
.inbox-item .name { font-size: 13px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.inbox-item .sub, .inbox-item .copies-line { font-size: 12px; color: var(--muted); }
.inbox-item .check { position: absolute; top: 10px; left: 10px; width: 22px; height: 22px; border-radius: 50%; border: 2px solid #fff; background: #0005; color: #fff; font-size: 14px; line-height: 18px; text-align: center; }
.inbox-item[aria-selected="true"] .check { background: var(--accent); }
.inbox-item .view { position: absolute; top: 10px; right: 10px; width: 28px; height: 28px; padding: 0; border-radius: 50%; border: 1px solid #fff8; background: #0006; color: #fff; font-size: 15px; line-height: 26px; cursor: zoom-in; }
.inbox-preview { position: fixed; inset: 0; z-index: 30; background: #0b0d10f0; display: flex; flex-direction: column; align-items: center; justify-content: center; gap: 10px; padding: 12px; color: #e8ecf0; }
.inbox-preview img, .inbox-preview video { max-width: 100%; max-height: calc(100vh - 80px); object-fit: contain; }
.inbox-preview .bar { display: flex; gap: 10px; align-items: center; }
.inbox-phone { display: flex; gap: 14px; align-items: center; flex-wrap: wrap; margin: 12px 0; }
.inbox-phone img { width: 168px; height: 168px; background: #fff; padding: 6px; border-radius: 6px; }
.inbox-phone code { word-break: break-all; }
.inbox-empty { color: var(--muted); padding: 24px 0; }
body.upload-page { padding: 0 8px; }
.upload-page main { max-width: 560px; margin: 8px auto; }
.upload-page .card { background: var(--card); border: 1px solid var(--line); border-radius: var(--radius); padding: 16px; }
.upload-page h1 { margin-top: 0; font-size: 22px; }
.upload-page label.pick { display: block; padding: 18px; border: 2px dashed var(--line); border-radius: var(--radius); text-align: center; font-size: 17px; cursor: pointer; }
.upload-page input[type=file] { width: 100%; margin-top: 8px; }
.upload-page .row { display: flex; gap: 8px; align-items: center; margin: 10px 0; flex-wrap: wrap; }
.upload-page button.primary { font-size: 17px; padding: 10px 18px; width: 100%; }
.upload-list { list-style: none; padding: 0; margin: 12px 0 0; display: flex; flex-direction: column; gap: 8px; }
.upload-item { display: grid; grid-template-columns: 56px 1fr; gap: 10px; align-items: center; }
.upload-item img, .upload-item .ph { width: 56px; height: 56px; object-fit: cover; border-radius: 4px; background: var(--line); }
.upload-item .name { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.upload-item progress { width: 100%; }
.upload-item[data-state="done"] .state { color: var(--ok); }
.upload-item[data-state="error"] .state { color: var(--error); }
`;

let done = false;

export function installInboxStyle(): void {
  if (done) return;
  done = true;
  const sheet = new CSSStyleSheet();
  sheet.replaceSync(CSS);
  document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
}
