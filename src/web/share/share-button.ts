/**
 * @module web/share/share-button
 * The web app's `share-create` button (viewer, selection bar): asks the worker to make a share
 * of the given gallery items (worker-share.ts) and shows the link in `share-link`, ready to
 * copy. The link holds the key in its fragment: it is shown here and nowhere else.
 */
import { h } from '../app/dom.js';
import type { AppContext } from '../app/views.js';

/** A button that shares `ids()` for 7 days, and the place its link appears. */
export function shareButton(ctx: AppContext, ids: () => readonly string[]): HTMLElement {
  const out = h('span', { class: 'share-out' });
  out.hidden = true;
  const button = h('button', { type: 'button', testid: 'share-create', title: 'Share by an encrypted link (7 days)' }, 'Share');
  button.addEventListener('click', () => {
    const chosen = ids();
    if (!chosen.length) return;
    button.disabled = true;
    button.textContent = 'Sharing…';
    void ctx
      .client()
      .call({ op: 'shareCreate', ids: chosen })
      .then((r) => {
        const input = h('input', { type: 'text', readonly: true, testid: 'share-link', 'aria-label': 'Share link', 'data-share-id': r.id, 'data-expires': r.expires });
        input.value = r.url;
        input.size = 40;
        input.addEventListener('focus', () => input.select());
        const copy = h('button', { type: 'button', testid: 'share-copy' }, 'Copy');
        copy.addEventListener('click', () => {
          input.select();
          void navigator.clipboard?.writeText(r.url).then(() => ctx.notify('Link copied.'), () => undefined);
        });
        out.replaceChildren(input, copy);
        out.hidden = false;
        ctx.notify(`Anyone with the link can open ${r.items === 1 ? 'this photo' : `these ${r.items} photos`} until ${new Date(r.expires).toLocaleString()}.`);
      })
      .catch((e: unknown) => ctx.notify(`Sharing failed: ${(e as Error).message}`, 'error'))
      .finally(() => {
        button.disabled = false;
        button.textContent = 'Share';
      });
  });
  return h('span', { class: 'share-create' }, button, out);
}
