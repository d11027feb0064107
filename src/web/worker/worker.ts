/**
 * @module web/worker/worker
 * The dedicated worker (design web-gallery.md §1): the only place the password and the keys
 * exist. It answers the page's typed requests (protocol.ts); the password arrives once, in the
 * `unlock` message, and is dropped as soon as the key is derived. The page ends a session with
 * `worker.terminate()`, which drops the keys with the worker and with its nested openers
 * (open-pool.ts: downloads open in parallel there, holding a copy of the master key).
 */
import { isCofferError } from '../../core/errors.js';
import type { RangeAnswer, RangeRequest, WorkerEnvelope, WorkerReply, WorkerRequest } from '../protocol.js';
import { forget, isRemembered, recall, remember } from './remember.js';
import { webDrill } from './drill.js';
import { Session } from './session.js';
import { pump } from './pump.js';
import { shareCreate } from '../share/worker-share.js';
import { inboxDecide, inboxList, inboxOriginal, inboxSetup } from '../inbox/worker-inbox.js';
import { galleryEdit, galleryFavorite, galleryGeo, galleryHidden, galleryImage, galleryItems, galleryLibrary, galleryMonths, galleryOriginal, gallerySearch, galleryShard } from '../gallery/worker-gallery.js';

interface WorkerScope {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  onmessage: ((e: MessageEvent) => void) | null;
}
const scope = self as unknown as WorkerScope;

let session: Session | undefined;

function need(): Session {
  if (!session) throw Object.assign(new Error('locked'), { code: 'locked-page' });
  return session;
}

async function handle(req: WorkerRequest, ports: readonly MessagePort[]): Promise<{ value: unknown; transfer?: Transferable[] }> {
  switch (req.op) {
    case 'unlock': {
      let password: string | undefined = req.password;
      const s = await Session.unlock(req.repo, password);
      password = undefined;
      session?.close();
      session = s;
      void s.index().catch(() => undefined); // warm up while the page shows the snapshots
      if (req.remember) await remember(req.repo, s.repo.key, s.repo.keyId);
      return { value: { repoId: s.repo.config.id, version: s.repo.version, remembered: req.remember } };
    }
    case 'unlockRemembered': {
      const r = await recall(req.repo);
      if (!r) throw Object.assign(new Error('nothing remembered on this device'), { code: 'not-remembered' });
      const s = await Session.withKey(req.repo, r.key, r.keyId);
      session?.close();
      session = s;
      void s.index().catch(() => undefined);
      return { value: { repoId: s.repo.config.id, version: s.repo.version, remembered: true } };
    }
    case 'remembered':
      return { value: await isRemembered(req.repo).catch(() => false) };
    case 'forget':
      await forget(req.repo);
      return { value: true };
    case 'snapshots':
      return { value: await need().snapshots() };
    case 'list':
      return { value: await need().list(req.snapshot, req.path) };
    case 'stat':
      return { value: await need().stat(req.snapshot, req.path) };
    case 'read': {
      const r = await need().read(req.snapshot, req.path, req.max);
      const bytes = r.bytes.byteOffset === 0 && r.bytes.byteLength === r.bytes.buffer.byteLength ? r.bytes.buffer : r.bytes.slice().buffer;
      return { value: { size: r.size, bytes }, transfer: [bytes as ArrayBuffer] };
    }
    case 'diff':
      return { value: await need().diff(req.a, req.b, req.limit) };
    case 'search':
      return { value: await need().search(req.snapshot, req.query, req.limit) };
    case 'otpOpen': {
      let password: string | undefined = req.password;
      const r = await need().otpOpen(password);
      password = undefined;
      return { value: r };
    }
    case 'otpCodes':
      return { value: need().otpCodes(Date.now()) };
    case 'stream': {
      const port = ports[0];
      if (!port) throw new Error('stream without a port');
      const s = need();
      if (req.kind === 'file') {
        const node = await s.node(req.snapshot, req.path);
        if (node.type !== 'file') throw Object.assign(new Error(`"${req.path}" is not a file`), { code: 'usage' });
        pump(port, s.fileBlobs(node));
        return { value: { size: node.size ?? 0 } };
      }
      pump(port, s.zip(req.snapshot, req.path));
      return { value: {} };
    }
    case 'galleryMonths':
      return { value: await galleryMonths(need()) };
    case 'galleryShard':
      return { value: await galleryShard(need(), req.month) };
    case 'galleryThumb':
    case 'galleryPreview': {
      const b = await galleryImage(need(), req.op === 'galleryThumb' ? 'thumb' : 'preview', req.id);
      return { value: b, transfer: [b] };
    }
    case 'galleryFavorite':
      return { value: await galleryFavorite(need(), req.id, req.on) };
    case 'galleryItems':
      return { value: await galleryItems(need(), req.ids) };
    case 'gallerySearch':
      return { value: await gallerySearch(need(), req.query) };
    case 'galleryEdit':
      return { value: await galleryEdit(need(), req.edit) };
    case 'galleryHidden': {
      let password: string | undefined = req.password;
      const r = await galleryHidden(need(), req.what, password);
      password = undefined;
      return { value: r };
    }
    case 'galleryLibrary':
      return { value: await galleryLibrary(need(), req.library) };
    case 'galleryGeo':
      return { value: await galleryGeo(need()) };
    case 'drill':
      return { value: await webDrill(need(), req.repo, req.kit, req.key, req.sample) };
    case 'inboxList':
      return inboxList(need());
    case 'inboxOriginal':
      return inboxOriginal(need(), req.id);
    case 'inboxSetup':
      return { value: await inboxSetup(need(), { hostname: req.hostname, username: req.username }) };
    case 'inboxDecide':
      return { value: await inboxDecide(need(), req.ids, req.decision, { hostname: req.hostname, username: req.username }, req.album) };
    case 'shareCreate':
      return { value: await shareCreate(need(), req.ids, req.expiresIn) };
    case 'galleryOriginal':
      return { value: await galleryOriginal(need(), req.id, req.name) };
    case 'ranges': {
      const port = ports[0];
      if (!port) throw new Error('ranges without a port');
      const node = await need().node(req.snapshot, req.path);
      if (node.type !== 'file') throw Object.assign(new Error(`"${req.path}" is not a file`), { code: 'usage' });
      const r = await need().ranges(node);
      port.onmessage = async (e: MessageEvent<RangeRequest>) => {
        const { id, start, end } = e.data;
        if (start < 0) {
          port.onmessage = null;
          port.close();
          return;
        }
        try {
          const b = await r.read(start, Math.min(end, start + 8 * 1024 * 1024));
          const buf = b.buffer as ArrayBuffer;
          port.postMessage({ id, chunk: buf } satisfies RangeAnswer, [buf]);
        } catch (err) {
          port.postMessage({ id, error: err instanceof Error ? err.message : String(err) } satisfies RangeAnswer);
        }
      };
      return { value: { size: r.size } };
    }
  }
}

scope.onmessage = async (e: MessageEvent<WorkerEnvelope>) => {
  const { id, req } = e.data;
  let reply: WorkerReply;
  let transfer: Transferable[] = [];
  try {
    const r = await handle(req, e.ports);
    reply = { id, ok: true, value: r.value };
    transfer = r.transfer ?? [];
  } catch (err) {
    const code = isCofferError(err) ? err.code : ((err as { code?: string }).code ?? 'internal');
    // Core messages name files and IDs, never secrets.
    reply = { id, ok: false, error: { code, message: err instanceof Error ? err.message : String(err) } };
  }
  scope.postMessage(reply, transfer);
};
