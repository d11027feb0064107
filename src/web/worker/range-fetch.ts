/**
 * @module web/worker/range-fetch
 * One byte range of a pack for a download, read the way Chromium is fastest: the body's own
 * reader filling one buffer of the length asked (a BYOB reader where the body is a byte stream). `Response.arrayBuffer()` (what the core's
 * RestBackend uses, fine for trees and indexes) measured 3× slower here with three ranged reads
 * in flight (bench/web.ts, in a Chromium without DevTools attached). Anything unexpected (a
 * status other than 206, another range, a short or long body) is a 'transient' CofferError:
 * the caller then reads through the core's backend, which knows every server's quirks.
 */
import { CofferError } from '../../core/errors.js';

/**
 * The range's bytes. `into`, when given and large enough, is read into (and detached: the result
 * is a view of its transferred memory): a reused buffer spares the fresh pages a new one costs
 * (measured in this Chromium: filling a fresh 16 MiB buffer ~13× the time of a reused one).
 */
export async function fetchRange(url: string, offset: number, length: number, into?: ArrayBuffer): Promise<Uint8Array> {
  const fail = (why: string): never => {
    throw new CofferError('transient', `GET ${url} bytes ${offset}+${length}: ${why}`);
  };
  let res: Response;
  try {
    res = await fetch(url, { headers: { Range: `bytes=${offset}-${offset + length - 1}` }, cache: 'no-store', credentials: 'same-origin' });
  } catch (e) {
    return fail((e as Error).message);
  }
  const cr = /^bytes (\d+)-(\d+)\//.exec(res.headers.get('content-range') ?? '');
  if (res.status !== 206 || !res.body || !cr || Number(cr[1]) !== offset || Number(cr[2]) !== offset + length - 1) {
    await res.body?.cancel().catch(() => undefined);
    return fail(`HTTP ${res.status}`);
  }
  let out = into && into.byteLength >= length ? new Uint8Array(into, 0, length) : new Uint8Array(length);
  let at = 0;
  let reader: ReadableStreamBYOBReader | ReadableStreamDefaultReader<Uint8Array>;
  let byob = true;
  try {
    // A byte stream (Chromium's fetch bodies are) fills our buffer itself: one copy fewer.
    reader = res.body.getReader({ mode: 'byob' });
  } catch {
    reader = res.body.getReader();
    byob = false;
  }
  try {
    if (byob) {
      reader = reader as ReadableStreamBYOBReader;
      for (;;) {
        // Past the length asked: a one-byte view, which must come back empty (the end).
        const r = await reader.read(at < length ? new Uint8Array(out.buffer, at, length - at) : new Uint8Array(1));
        if (at >= length) {
          if (!r.done || (r.value?.byteLength ?? 0) > 0) fail('longer body than asked');
          break;
        }
        if (r.value) out = new Uint8Array(r.value.buffer, 0, length); // the read transferred our buffer
        if (r.done) break;
        at += r.value!.byteLength;
      }
    } else {
      reader = reader as ReadableStreamDefaultReader<Uint8Array>;
      for (let c = await reader.read(); !c.done; c = await reader.read()) {
        if (at + c.value.length > length) fail('longer body than asked');
        out.set(c.value, at);
        at += c.value.length;
      }
    }
  } catch (e) {
    if (e instanceof CofferError) {
      await reader.cancel().catch(() => undefined);
      throw e;
    }
    fail(`body interrupted: ${(e as Error).message}`);
  }
  if (at !== length) fail(`body of ${at} bytes`);
  return out;
}
