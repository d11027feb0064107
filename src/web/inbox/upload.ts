/**
 * @module web/inbox/upload
 * The phone page `/u/<upload token>` (design web-gallery.md §6): pick photos and videos, and
 * each is sealed here, in the phone's browser, to the inbox public key, then uploaded chunk by
 * chunk with progress. The page can only add items: it cannot see what is in the inbox (the
 * token is refused for anything but PUT). Made for a phone-width screen; no keys, no password.
 *
 * Test hooks: `upload-input` (the file input), `upload-device`, `upload-send`, one `upload-item`
 * per file (`data-name`, `data-state` waiting|sending|done|error, `data-progress` 0..100) and
 * `upload-summary` (`data-done`, `data-failed`) when a batch ends; `upload-error` for a page
 * that cannot upload at all.
 */
import { clear, h } from '../app/dom.js';
import { bytes as formatBytes } from '../app/format.js';
import { deviceName, makeThumb, stageUpload } from './stage-upload.js';
import { installInboxStyle } from './style.js';

const DEVICE_KEY = 'coffer-upload-device';

function fromBase64url(s: string): Uint8Array {
  const b = atob(s.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (s.length % 4)) % 4));
  return Uint8Array.from(b, (c) => c.charCodeAt(0));
}

async function start(): Promise<void> {
  installInboxStyle();
  // The app's theme variables: follow the phone's light or dark setting.
  document.documentElement.dataset.theme = 'auto';
  const main = document.getElementById('upload')!;
  const token = decodeURIComponent(location.pathname.replace(/^\/u\//, ''));
  const res = await fetch('/api/inbox/key', { cache: 'no-store' });
  const body = (await res.json().catch(() => ({}))) as { publicKey?: string; error?: string };
  clear(main);
  main.append(h('h1', {}, 'Send to Coffer'));
  if (!res.ok || !body.publicKey) {
    main.append(h('p', { class: 'error', role: 'alert', testid: 'upload-error' }, body.error ?? `The inbox cannot take uploads (HTTP ${res.status}).`));
    return;
  }
  const publicKey = fromBase64url(body.publicKey);

  const input = h('input', { type: 'file', accept: 'image/*,video/*', multiple: true, testid: 'upload-input', id: 'upload-input' });
  const device = h('input', { type: 'text', id: 'upload-device', testid: 'upload-device', value: localStorage.getItem(DEVICE_KEY) ?? 'phone', maxlength: 32, autocomplete: 'off', spellcheck: 'false' });
  const send = h('button', { type: 'button', class: 'primary', testid: 'upload-send', disabled: true }, 'Send');
  const list = h('ul', { class: 'upload-list', 'aria-live': 'polite' });
  const summary = h('p', { role: 'status' });

  main.append(
    h('p', {}, 'Photos and videos are encrypted on this phone before they are sent. They wait in the inbox of your Coffer until you approve them there.'),
    h('label', { class: 'pick', for: 'upload-input' }, 'Choose photos and videos', input),
    h('div', { class: 'row' }, h('label', { for: 'upload-device' }, 'This device:'), device),
    send,
    list,
    summary,
  );

  input.addEventListener('change', () => {
    send.disabled = !input.files?.length;
    clear(list);
    for (const f of Array.from(input.files ?? [])) list.append(row(f).el);
    summary.textContent = input.files?.length ? `${input.files.length} selected, ${formatBytes(Array.from(input.files).reduce((n, f) => n + f.size, 0))}` : '';
  });

  send.addEventListener('click', async () => {
    const files = Array.from(input.files ?? []);
    if (!files.length) return;
    send.disabled = true;
    input.disabled = true;
    const dev = deviceName(device.value);
    localStorage.setItem(DEVICE_KEY, dev);
    clear(list);
    const rows = files.map((f) => {
      const r = row(f);
      list.append(r.el);
      return r;
    });
    let ok = 0;
    let failed = 0;
    for (let i = 0; i < files.length; i++) {
      const f = files[i]!;
      const r = rows[i]!;
      r.set('sending', 0, 'Encrypting…');
      try {
        const thumb = await makeThumb(f);
        if (thumb) r.preview(thumb);
        await stageUpload(f, thumb, { token, publicKey, source: `upload:${dev}` }, (sent, total) => r.set('sending', total ? Math.floor((sent / total) * 100) : 100, `${formatBytes(sent)} of ${formatBytes(total)}`));
        r.set('done', 100, 'In the inbox');
        ok++;
      } catch (e) {
        r.set('error', 0, (e as Error).message);
        failed++;
      }
    }
    clear(summary);
    summary.append(h('span', { testid: 'upload-summary', 'data-done': ok, 'data-failed': failed }, failed ? `${ok} sent, ${failed} failed: choose them again to retry.` : `${ok} sent. Review them in Coffer's inbox.`));
    input.value = '';
    input.disabled = false;
  });
}

function row(f: File): { el: HTMLLIElement; set(state: string, progress: number, text: string): void; preview(webp: Uint8Array): void } {
  const bar = h('progress', { max: 100, value: 0 });
  const state = h('span', { class: 'state' }, 'Waiting');
  const ph = h('span', { class: 'ph' });
  const el = h('li', { class: 'upload-item', testid: 'upload-item', 'data-name': f.name, 'data-state': 'waiting', 'data-progress': 0 },
    ph,
    h('div', {}, h('div', { class: 'name' }, f.name), bar, h('div', {}, h('small', {}, formatBytes(f.size), ' · '), h('small', {}, state))));
  return {
    el,
    set(s, p, text) {
      el.dataset.state = s;
      el.dataset.progress = String(p);
      bar.value = p;
      state.textContent = text;
    },
    preview(webp) {
      const url = URL.createObjectURL(new Blob([webp as Uint8Array<ArrayBuffer>], { type: 'image/webp' }));
      const img = h('img', { src: url, alt: '' });
      img.onload = () => URL.revokeObjectURL(url);
      ph.replaceWith(img);
    },
  };
}

void start().catch((e: unknown) => {
  const main = document.getElementById('upload');
  if (main) main.replaceChildren(h('p', { class: 'error', role: 'alert', testid: 'upload-error' }, `This page could not start: ${(e as Error).message}`));
});
