/**
 * Records (Coffer's own state kept as restic snapshots): round trip, history, multi-chunk
 * files, and the real restic reading them with `dump latest --tag coffer-<kind> /<file>`.
 */
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { utf8Decode, utf8Encode } from '../../src/core/bytes.js';
import { isRecordSnapshot, latestRecordEntry, listRecords, loadRecordFiles, readLatestRecord, recordKindOf, writeRecord } from '../../src/core/engine/records/records.js';
import { openRepository } from '../../src/core/repository/open.js';
import { loadSnapshots } from '../../src/core/repository/snapshots.js';
import { openBackend } from '../../src/node/open-backend.js';
import { nodePlatform } from '../../src/node/platform.js';
import { LOCK_OWNER, newMemRepo, randomBytes } from '../helpers/mem-repo.js';
import { tempDir } from '../helpers/paths.js';
import { resticBinaries, runCoffer, runRestic, testEnv } from '../helpers/run.js';

describe('records', () => {
  it('round-trips files, keeps history and tags, and is a complete state per snapshot', async () => {
    const { repo } = await newMemRepo();
    assert.equal(await readLatestRecord(repo, 'settings'), undefined);
    const big = randomBytes(7, 3 * 1024 * 1024); // several chunks
    const first = await writeRecord(repo, 'settings', [{ name: 'settings.json', data: utf8Encode('{"v":1}') }, { name: 'blob.bin', data: big }], { owner: LOCK_OWNER });
    const second = await writeRecord(repo, 'settings', [{ name: 'settings.json', data: utf8Encode('{"v":2}') }], { owner: LOCK_OWNER });
    await writeRecord(repo, 'secrets', [{ name: 'index.json', data: utf8Encode('[]') }], { owner: LOCK_OWNER });

    const latest = await readLatestRecord(repo, 'settings');
    assert.ok(latest);
    assert.equal(latest.id, second.id);
    assert.deepEqual([...latest.files.keys()], ['settings.json']);
    assert.equal(utf8Decode(latest.files.get('settings.json')!), '{"v":2}');
    assert.equal(latest.snapshot.parent, first.id);
    assert.deepEqual(latest.snapshot.paths, ['/coffer/settings']);
    assert.deepEqual(latest.snapshot.tags, ['coffer-internal', 'coffer-settings']);
    assert.equal(latest.snapshot.hostname, 'coffer');

    const history = await listRecords(repo, 'settings');
    assert.deepEqual(history.map((e) => e.id), [first.id, second.id]);
    const old = await loadRecordFiles(repo, history[0]!);
    assert.deepEqual(old.files.get('blob.bin'), big);

    const all = await loadSnapshots(repo);
    assert.equal(all.filter((e) => isRecordSnapshot(e.snapshot)).length, 3);
    assert.deepEqual(all.map((e) => recordKindOf(e.snapshot)).sort(), ['secrets', 'settings', 'settings']);
    assert.equal((await latestRecordEntry(repo, 'otp')), undefined);
  });

  it('refuses bad file names and kinds', async () => {
    const { repo } = await newMemRepo();
    await assert.rejects(writeRecord(repo, 'settings', [{ name: 'a/b', data: new Uint8Array(1) }], { owner: LOCK_OWNER }), /invalid record file name/);
    await assert.rejects(writeRecord(repo, 'Bad Kind', [], { owner: LOCK_OWNER }), /invalid record kind/);
  });

  for (const restic of resticBinaries()) {
    it(`${restic.name} checks the repository and dumps a record file`, async () => {
      const dir = tempDir();
      const repoDir = path.join(dir, 'repo');
      const env = testEnv({ COFFER_REPOSITORY: repoDir, RESTIC_REPOSITORY: repoDir });
      assert.equal((await runCoffer(['init'], { env })).code, 0);
      const repo = await openRepository(openBackend(repoDir), await nodePlatform(), { password: env.COFFER_PASSWORD! });
      const vault = utf8Encode(JSON.stringify({ version: 1, header: { slots: null, params: null }, db: { version: 3, entries: [] } }));
      await writeRecord(repo, 'otp', [{ name: 'vault.json', data: vault }], { owner: LOCK_OWNER });
      const dump = await runRestic(restic, ['dump', 'latest', '--tag', 'coffer-otp', '/vault.json'], { env });
      assert.equal(dump.code, 0, dump.stderr);
      assert.equal(dump.stdout, utf8Decode(vault));
      const check = await runRestic(restic, ['check', '--read-data'], { env });
      assert.equal(check.code, 0, check.stdout + check.stderr);
    });
  }
});
