/**
 * @module web/worker/pump
 * A download's bytes into its MessagePort (protocol.ts StreamPull/StreamPush): one answer per
 * pull, in order. The reader (the service worker, or the page's Blob fallback) may keep several
 * pulls outstanding; each is a credit, and pieces go out as soon as they are ready while credits
 * last, so the reader never waits a round trip for the next piece. Small pieces (zip headers,
 * small files) are coalesced to at least MIN bytes, which is below restic's smallest chunk
 * (512 KiB), so a file's blobs go out one per piece; a piece that is a whole buffer is
 * transferred as it is, never copied, so a source must not keep what it yielded (the session's
 * file blobs and zip pieces are fresh buffers).
 */
import type { StreamPull, StreamPush } from '../protocol.js';

// At 1 MiB, two blobs under 1 MiB (about half of them) were copied into one piece: ~0.6 CPU s per GiB.
const MIN = 256 * 1024;

function piece(parts: Uint8Array[], n: number): ArrayBuffer {
  const one = parts.length === 1 ? parts[0]! : undefined;
  if (one && one.byteOffset === 0 && one.byteLength === one.buffer.byteLength && one.buffer instanceof ArrayBuffer) return one.buffer;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out.buffer;
}

export function pump(port: MessagePort, source: AsyncGenerator<Uint8Array>): void {
  let credits = 0;
  let running = false;
  let finished = false;
  const send = (m: StreamPush, t: Transferable[] = []): void => port.postMessage(m, t);
  const run = async (): Promise<void> => {
    running = true;
    try {
      while (credits > 0 && !finished) {
        const parts: Uint8Array[] = [];
        let n = 0;
        let done = false;
        while (n < MIN) {
          const r = await source.next();
          if (r.done) {
            done = true;
            break;
          }
          if (r.value.length === 0) continue;
          parts.push(r.value);
          n += r.value.length;
        }
        if (finished) return; // canceled meanwhile
        credits--;
        const chunk = piece(parts, n);
        send(done ? { chunk, done: true } : { chunk }, [chunk]);
        if (done) {
          finished = true;
          port.close();
        }
      }
    } catch (err) {
      finished = true;
      send({ error: err instanceof Error ? err.message : String(err) });
      port.close();
    } finally {
      running = false;
    }
  };
  port.onmessage = async (e: MessageEvent<StreamPull>) => {
    if (finished) return;
    if ('cancel' in e.data) {
      finished = true;
      port.close();
      await source.return(undefined).catch(() => undefined);
      return;
    }
    credits++;
    if (!running) void run();
  };
}
