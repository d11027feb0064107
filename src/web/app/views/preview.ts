/**
 * @module web/app/views/preview
 * In-page previews of a file: images through `blob:` URLs (allowed by the CSP's img-src), audio
 * and video streamed with Range requests through the service worker (or a `blob:` when there is
 * none), text as a text node in a <pre>. Bounded sizes: bigger files are for
 * downloading. SVG is shown as an <img>, where its scripts cannot run. PDFs would need a frame
 * or an object the CSP forbids, so they are downloaded instead.
 */
import type { EntryInfo } from '../../protocol.js';
import { h } from '../dom.js';
import { bytes, mimeOf } from '../format.js';
import type { Downloads } from '../download.js';
import type { WorkerClient } from '../worker-client.js';

const IMAGE_MAX = 48 * 1024 * 1024;
const MEDIA_MAX = 96 * 1024 * 1024;
const TEXT_READ = 256 * 1024;

/** Renders a preview into `box`; returns a cleanup that revokes object URLs. */
export async function renderPreview(client: WorkerClient, downloads: Downloads, snapshot: string, path: string, e: EntryInfo, box: HTMLElement, signal: AbortSignal): Promise<() => void> {
  const mime = mimeOf(e.name);
  const kind = mime.split('/')[0];
  let url: string | undefined;
  const cleanup = (): void => {
    if (url) URL.revokeObjectURL(url);
  };
  const note = (t: string): void => void box.appendChild(h('p', { class: 'muted' }, t));
  if (e.type !== 'file') return cleanup;
  if (kind === 'audio' || kind === 'video') {
    // Streamed with Range requests through the service worker: any size, seeking works.
    const m = await downloads.mediaUrl(client, { snapshot, path, name: e.name, mime }).catch(() => undefined);
    if (signal.aborted) {
      m?.release();
      return cleanup;
    }
    if (m) {
      const src = m.url;
      const el = kind === 'audio' ? h('audio', { src, controls: true, preload: 'metadata', testid: 'preview-audio' }) : h('video', { src, controls: true, playsinline: true, preload: 'metadata', testid: 'preview-video' });
      box.appendChild(el);
      return () => {
        el.removeAttribute('src');
        el.load(); // stops further Range requests
        m.release();
      };
    }
  }
  if (kind === 'image' || kind === 'audio' || kind === 'video') {
    const max = kind === 'image' ? IMAGE_MAX : MEDIA_MAX;
    if (e.size > max) {
      note(`No preview for files over ${bytes(max)}: download it.`);
      return cleanup;
    }
    const { bytes: buf } = await client.call({ op: 'read', snapshot, path, max: e.size });
    if (signal.aborted) return cleanup;
    url = URL.createObjectURL(new Blob([buf], { type: mime }));
    const el =
      kind === 'image'
        ? h('img', { src: url, alt: e.name, testid: 'preview-image', decoding: 'async' })
        : kind === 'audio'
          ? h('audio', { src: url, controls: true, testid: 'preview-audio' })
          : h('video', { src: url, controls: true, playsinline: true, testid: 'preview-video' });
    box.appendChild(el);
    return cleanup;
  }
  if (mime === 'text/plain' || (mime === 'application/octet-stream' && e.size <= 4 * TEXT_READ)) {
    const { bytes: buf } = await client.call({ op: 'read', snapshot, path, max: TEXT_READ });
    if (signal.aborted) return cleanup;
    const b = new Uint8Array(buf);
    // Binary (a NUL in the first KiB): no text preview.
    if (b.subarray(0, 1024).includes(0)) {
      note('Binary file: no preview.');
      return cleanup;
    }
    const text = new TextDecoder('utf-8', { fatal: false }).decode(b);
    box.appendChild(h('pre', { class: 'text-preview', testid: 'preview-text', tabindex: 0 }, text));
    if (e.size > TEXT_READ) note(`The first ${bytes(TEXT_READ)} of ${bytes(e.size)}.`);
    return cleanup;
  }
  note('No preview for this kind of file.');
  return cleanup;
}
