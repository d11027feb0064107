/**
 * @module web/share/share-button
 * The web app's `share-create` button (viewer, selection bar): asks the worker to make a share
 * of the given gallery items (worker-share.ts) and shows the link in `share-link`, ready to
 * copy. The link holds the key in its fragment: it is shown here and nowhere else.
 */
import { h } from '../app/dom.js';
import type { AppContext } from '../app/views.js';
import { DEFAULT_EXPIRES_MS } from '../../core/share/format.js';

const EXPIRY: readonly (readonly [string, number])[] = [
  ['1 hour', 3600_000],
  ['1 day', 86400_000],
  ['7 days', DEFAULT_EXPIRES_MS],
  ['30 days', 30 * 86400_000],
];

/** A button that shares `ids()` (7 days unless another lifetime is picked), and where its link appears. */
export function shareButton(ctx: AppContext, ids: () => readonly string[]): HTMLElement {
  const out = h('span', { class: 'share-out' });
  out.hidden = true;
  const button = h('button', { type: 'button', testid: 'share-create', title: 'Share by an encrypted link that expires' }, 'Share');
  const expires = h('select', { testid: 'share-expires', 'aria-label': 'Link expires after', title: 'Link expires after' });
  for (const [label, ms] of EXPIRY) {
    const o = h('option', { value: String(ms) }, label);
    o.selected = ms === DEFAULT_EXPIRES_MS;
    expires.append(o);
  }
  button.addEventListener('click', () => {
    const chosen = ids();
    if (!chosen.length) return;
    button.disabled = true;
    button.textContent = 'Sharing…';
    void ctx
      .client()
      .call({ op: 'shareCreate', ids: chosen, expiresIn: Number(expires.value) })
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
  return h('span', { class: 'share-create' }, button, expires, out);
}
