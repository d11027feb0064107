/**
 * The drill engine on in-memory repositories, failure by failure: a passing full and sampled
 * drill (recorded in the copy), a flipped byte in a pack (corrupt-data), a truncated pack
 * (pack-size), a deleted pack (missing-pack), restored bytes that differ on "disk"
 * (corrupt-data from the read-back), the wrong repository, an unreachable store, a removed key,
 * and a copy missing the newest snapshot (stale-copy).
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { Backend } from '../../src/core/backend/backend.js';
import { CofferError } from '../../src/core/errors.js';
import { utf8Decode } from '../../src/core/bytes.js';
import { backup } from '../../src/core/engine/backup/backup.js';
import { runDrill, type DrillPorts } from '../../src/core/engine/drill/drill.js';
import { readLatestRecord } from '../../src/core/engine/records/records.js';
import { writeSettingsRecord } from '../../src/core/engine/settings/settings.js';
import { copySnapshots } from '../../src/core/engine/copy/copy.js';
import type { RelPath } from '../../src/core/engine/restore/sink.js';
import type { KitCopy } from '../../src/core/kit/kit-text.js';
import { addKey, initRepository } from '../../src/core/repository/open.js';
import { loadMasterIndex } from '../../src/core/repository/master-index.js';
import { loadSnapshots } from '../../src/core/repository/snapshots.js';
import { MemBackend } from '../../src/core/backend/mem.js';
import { CHEAP_KDF, dir, FakeSource, file, LOCK_OWNER, MemSink, newMemRepo, OWNER, randomBytes, type MemRepo } from '../helpers/mem-repo.js';

const KEY = '0ABC-DEFG-HJKM-NPQR-STVW-XYZ0-1234-5678'; // any string works as a restic password here

async function fixture(): Promise<{ m: MemRepo; copy: KitCopy }> {
  const m = await newMemRepo();
  const root = dir({ data: dir({ 'a.txt': file('hello'), 'big.bin': file(randomBytes(3, 2_500_000)), sub: dir({ 'b.txt': file('world') }) }) });
  await backup(m.repo, new FakeSource(root), { targets: ['/data'], hostname: 'laptop', owner: LOCK_OWNER });
  const keyId = await addKey(m.backend, m.platform, m.repo.key, KEY, CHEAP_KDF, { username: 'coffer-recovery', hostname: 'coffer-kit-x' });
  return { m, copy: { name: 'mem', url: 'mem:', repositoryId: m.repo.config.id, keyId, options: [], needsEnv: [], needs: [] } };
}

function ports(m: MemRepo, backends: Record<string, Backend>, sink: () => MemSink = () => new MemSink()): DrillPorts {
  return { platform: m.platform, backend: (c) => backends[c.name]!, sink: async () => sink(), now: () => performance.now(), owner: LOCK_OWNER };
}

async function packs(b: Backend): Promise<{ name: string; size: number }[]> {
  const out: { name: string; size: number }[] = [];
  for await (const f of b.list('data')) out.push(f);
  return out.sort((a, b) => b.size - a.size);
}

const opts = (copies: KitCopy[], extra: object = {}) => ({ kitId: 'k', kitCreated: '2026-01-01T00:00:00Z', recoveryKey: KEY, copies, mode: 'full' as const, ...extra });

describe('drill engine', () => {
  it('passes full and sampled drills and records the result in the copy', async () => {
    const { m, copy } = await fixture();
    const full = await runDrill(opts([copy]), ports(m, { mem: m.backend }));
    assert.equal(full.verdict, 'pass', JSON.stringify(full));
    const c = full.copies[0]!;
    assert.equal(c.filesVerified, 3);
    assert.equal(c.bytesVerified, 5 + 5 + 2_500_000);
    assert.ok(c.packsChecked >= 1);
    assert.equal(c.recorded, true);
    const rec = await readLatestRecord(m.repo, 'drill');
    assert.equal(JSON.parse(utf8Decode(rec!.files.get('drill.json')!)).copies[0].verdict, 'pass');
    const sample = await runDrill(opts([copy], { mode: 'sample', sample: 1, seed: 'ab' }), ports(m, { mem: m.backend }));
    assert.equal(sample.verdict, 'pass');
    assert.equal(sample.seed, 'ab');
    assert.equal(sample.copies[0]!.filesVerified, 1);
    assert.equal(sample.copies[0]!.bytesVerified, 2_500_000); // the largest file first
  });

  it('a flipped byte, a truncated pack and a deleted pack fail with their codes', async () => {
    for (const damage of ['flip', 'truncate', 'delete'] as const) {
      const { m, copy } = await fixture();
      const [p] = await packs(m.backend);
      const h = { type: 'data' as const, name: p!.name };
      const bytes = await m.backend.get(h);
      await m.backend.delete(h);
      if (damage === 'flip') {
        bytes[100] ^= 1;
        await m.backend.put(h, bytes);
      } else if (damage === 'truncate') await m.backend.put(h, bytes.subarray(0, bytes.length - 10));
      for (const mode of ['full', 'sample'] as const) {
        const r = await runDrill(opts([copy], { mode, record: false }), ports(m, { mem: m.backend }));
        const want = { flip: 'corrupt-data', truncate: 'pack-size', delete: 'missing-pack' }[damage];
        assert.equal(r.verdict, 'fail', `${damage} ${mode}`);
        assert.equal(r.copies[0]!.reason, want, `${damage} ${mode}: ${JSON.stringify(r.copies[0]!.failures)}`);
      }
    }
  });

  it('restored bytes that differ when read back are corrupt-data', async () => {
    const { m, copy } = await fixture();
    class LyingSink extends MemSink {
      override async *readFile(p: RelPath): AsyncIterable<Uint8Array> {
        for await (const chunk of super.readFile(p)) {
          const c = new Uint8Array(chunk);
          if (c.length > 0) c[0] ^= 0xff;
          yield c;
        }
      }
    }
    const r = await runDrill(opts([copy], { record: false }), ports(m, { mem: m.backend }, () => new LyingSink()));
    assert.equal(r.copies[0]!.reason, 'corrupt-data');
    assert.match(r.copies[0]!.failures[0]!.detail, /content differs/);
  });

  it('wrong repository, unreachable storage and a removed key', async () => {
    const { m, copy } = await fixture();
    const other = await runDrill(opts([{ ...copy, repositoryId: 'f'.repeat(64) }], { record: false }), ports(m, { mem: m.backend }));
    assert.equal(other.copies[0]!.reason, 'wrong-repository');
    const down = new MemBackend();
    down.list = async function* () {
      throw new CofferError('transient', 'connect ECONNREFUSED 127.0.0.1:9');
    };
    const u = await runDrill(opts([copy]), ports(m, { mem: down }));
    assert.equal(u.copies[0]!.reason, 'unreachable');
    assert.equal(u.copies[0]!.reachable, false);
    assert.match(u.copies[0]!.failures[0]!.detail, /ECONNREFUSED/);
    await m.backend.delete({ type: 'keys', name: copy.keyId });
    const k = await runDrill(opts([copy]), ports(m, { mem: m.backend }));
    assert.equal(k.copies[0]!.reason, 'key-rejected');
    assert.equal(k.copies[0]!.recorded, false);
  });

  it('a repository restic would refuse (config version 3) is bad-repository', async () => {
    const { m, copy } = await fixture();
    const { encodeConfig } = await import('../../src/core/format/config.js');
    const { seal } = await import('../../src/core/crypto/sealed-box.js');
    await m.backend.delete({ type: 'config', name: '' });
    await m.backend.put({ type: 'config', name: '' }, seal(m.platform.crypto, m.repo.key, encodeConfig({ ...m.repo.config, version: 3 as 2 })));
    const r = await runDrill(opts([copy], { record: false }), ports(m, { mem: m.backend }));
    assert.equal(r.copies[0]!.reason, 'bad-repository', JSON.stringify(r.copies[0]!.failures));
    assert.match(r.copies[0]!.failures[0]!.detail, /version/);
  });

  it('a copy missing the newest snapshot another copy has is stale', async () => {
    const { m, copy } = await fixture();
    const b2 = new MemBackend();
    const r2 = await initRepository(b2, m.platform, { password: KEY, kdf: CHEAP_KDF, ...OWNER, chunkerPolynomial: m.repo.config.chunkerPolynomial });
    const snaps = await loadSnapshots(m.repo);
    await copySnapshots({ repo: m.repo, index: await loadMasterIndex(m.repo) }, { repo: r2, index: await loadMasterIndex(r2) }, snaps, []);
    // A newer backup only in the first copy.
    await backup(m.repo, new FakeSource(dir({ data: dir({ 'c.txt': file('new') }) })), { targets: ['/data'], hostname: 'laptop', owner: LOCK_OWNER });
    const second: KitCopy = { ...copy, name: 'old', repositoryId: r2.config.id, keyId: '' };
    const r = await runDrill(opts([copy, second], { mode: 'sample', record: false }), ports(m, { mem: m.backend, old: b2 }));
    assert.equal(r.copies[0]!.verdict, 'pass');
    assert.equal(r.copies[1]!.reason, 'stale-copy');
    assert.equal(r.verdict, 'fail');
  });

  it('a snapshot the copy\'s policy excludes does not make it stale', async () => {
    const { m, copy } = await fixture();
    const b2 = new MemBackend();
    const r2 = await initRepository(b2, m.platform, { password: KEY, kdf: CHEAP_KDF, ...OWNER, chunkerPolynomial: m.repo.config.chunkerPolynomial });
    const entry = (name: string, repositoryId: string, excludeTags: string[]) => ({
      name, url: name, kind: 'local' as const, repositoryId, addedAt: '2026-01-01T00:00:00Z', chunkerPolynomial: '0x1', credentials: { env: [], inUrl: false }, options: {}, policy: { excludeTags, onlyTags: [] },
    });
    const settings = { version: 1 as const, writtenAt: '2026-01-01T00:00:00Z', primary: { repositoryId: 'p', chunkerPolynomial: '0x1' }, copies: [entry('mem', m.repo.config.id, []), entry('old', r2.config.id, ['private'])], alerts: [] };
    await writeSettingsRecord(m.repo, settings, { owner: LOCK_OWNER });
    await copySnapshots({ repo: m.repo, index: await loadMasterIndex(m.repo) }, { repo: r2, index: await loadMasterIndex(r2) }, await loadSnapshots(m.repo), []);
    await backup(m.repo, new FakeSource(dir({ data: dir({ 'diary.txt': file('secret') }) })), { targets: ['/data'], hostname: 'laptop', owner: LOCK_OWNER, tags: ['private'] });
    const second: KitCopy = { ...copy, name: 'old', repositoryId: r2.config.id, keyId: '' };
    const r = await runDrill(opts([copy, second], { mode: 'sample', record: false }), ports(m, { mem: m.backend, old: b2 }));
    assert.equal(r.verdict, 'pass', JSON.stringify(r.copies.map((c) => c.failures)));
  });
});

describe('drill scratch target on disk', () => {
  it('compares mode, mtime, size and symlink targets with the snapshot', async () => {
    const fs = await import('node:fs');
    const path = await import('node:path');
    const { DrillFsSink } = await import('../../src/cli/commands/drill.js');
    const { tempDir } = await import('../helpers/paths.js');
    const { utf8Encode } = await import('../../src/core/bytes.js');
    const { fromUnixNanos } = await import('../../src/core/format/go-time.js');
    const root = path.join(tempDir('coffer-drill-sink-'), 't');
    const sink = new DrillFsSink(root);
    const t = fromUnixNanos(1_700_000_000_123_456_000n, 0);
    const name = utf8Encode('f.txt');
    const node = { name, type: 'file' as const, mode: 0o640, mtime: t, atime: t, ctime: t, uid: process.getuid!(), gid: process.getgid!(), size: 3, content: [] };
    const w = await sink.createFile([name], node);
    await w.write(0, utf8Encode('abc'));
    await w.close();
    await sink.setMetadata([name], node);
    assert.equal(await sink.checkMetadata([name], node), undefined);
    fs.chmodSync(path.join(root, 'f.txt'), 0o600);
    assert.match((await sink.checkMetadata([name], node))!, /mode 600, the snapshot says 640/);
    fs.chmodSync(path.join(root, 'f.txt'), 0o640);
    fs.utimesSync(path.join(root, 'f.txt'), 1_600_000_000, 1_600_000_000);
    assert.match((await sink.checkMetadata([name], node))!, /modification time differs/);
    assert.match((await sink.checkMetadata([name], { ...node, size: 4 }))!, /size 3, the snapshot says 4/);
    fs.symlinkSync('elsewhere', path.join(root, 'l'));
    const link = { ...node, name: utf8Encode('l'), type: 'symlink' as const, linktarget: 'f.txt' };
    assert.match((await sink.checkMetadata([link.name], link))!, /symlink target differs/);
    assert.match((await sink.checkMetadata([utf8Encode('missing')], node))!, /not restored \(ENOENT\)/);
  });
});
