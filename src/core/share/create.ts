/**
 * @module share/create
 * Making a share (design web-gallery.md §7), the same from the CLI and from the web app's
 * worker: a fresh random key, each item's original (and its thumbnail and preview, when there
 * are some) sealed as its own file, uploaded to a share store, and the manifest last (it marks
 * the share complete). The store sees ciphertext, sizes and dates only; the key is returned to
 * the caller inside the link and nowhere else.
 */
import { chunkCount, fileNumber, formatShareLink, newShareKey, sealedSize, sealFile, sealFileStream, sealManifest, type ShareItem, type ShareManifest } from './format.js';

/** Where a share's sealed bytes go: a local store folder, or a server's `/api/shares`. */
export interface ShareSink {
  /** Starts a share that lives `expiresIn` ms; the store picks the id. */
  create(expiresIn: number): Promise<{ id: string; created: number; expires: number }>;
  /** Stores sealed file n (or the manifest, 'm'); `length` is its sealed size. */
  put(id: string, name: 'm' | number, data: AsyncIterable<Uint8Array>, length: number): Promise<void>;
  /** Drops a share (after a failed upload). */
  revoke(id: string): Promise<boolean>;
}

export interface ShareSource {
  readonly name: string;
  readonly mime: string;
  readonly size: number;
  readonly taken?: string;
  readonly w?: number;
  readonly h?: number;
  /** The original's bytes, in order (any piece sizes). */
  read(): AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
  readonly thumb?: Uint8Array;
  readonly preview?: Uint8Array;
}

export interface CreatedShare {
  readonly id: string;
  readonly key: Uint8Array;
  readonly url: string;
  readonly created: number;
  readonly expires: number;
  readonly manifest: ShareManifest;
}

async function* once(b: Uint8Array): AsyncGenerator<Uint8Array> {
  yield b;
}

export async function createShare(sink: ShareSink, sources: readonly ShareSource[], o: { expiresIn: number; base: string; signal?: AbortSignal }): Promise<CreatedShare> {
  const key = newShareKey();
  const { id, created, expires } = await sink.create(o.expiresIn);
  try {
    const items: ShareItem[] = [];
    for (let k = 0; k < sources.length; k++) {
      o.signal?.throwIfAborted();
      const s = sources[k]!;
      const n = fileNumber(k, 'original');
      await sink.put(id, n, sealFileStream(key, id, n, s.size, s.read()), sealedSize(s.size));
      if (s.thumb) await sink.put(id, fileNumber(k, 'thumb'), once(sealFile(key, id, fileNumber(k, 'thumb'), s.thumb)), sealedSize(s.thumb.length));
      if (s.preview) await sink.put(id, fileNumber(k, 'preview'), once(sealFile(key, id, fileNumber(k, 'preview'), s.preview)), sealedSize(s.preview.length));
      items.push({
        name: s.name,
        mime: s.mime,
        size: s.size,
        ...(s.taken ? { taken: s.taken } : {}),
        ...(s.w ? { w: s.w } : {}),
        ...(s.h ? { h: s.h } : {}),
        chunks: chunkCount(s.size),
        hasThumb: !!s.thumb,
        hasPreview: !!s.preview,
      });
    }
    const manifest: ShareManifest = { version: 1, created, expires, items };
    const sealed = sealManifest(key, id, manifest);
    await sink.put(id, 'm', once(sealed), sealed.length);
    return { id, key, url: formatShareLink(o.base, id, key), created, expires, manifest };
  } catch (e) {
    await sink.revoke(id).catch(() => undefined);
    throw e;
  }
}
