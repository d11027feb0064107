/**
 * The file system sink's partial files (src/node/fs-restore.ts RestoreFile, fs-sink.ts): content
 * goes to NAME.coffer-partial and is renamed when complete; long names still get a partial name;
 * whatever was at the real name (a symlink) is replaced without being followed; a stale partial
 * from an earlier run is replaced; a snapshot that itself holds NAME and NAME.coffer-partial
 * restores both exactly, or stops with a clear error, and never puts one's bytes under the other.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { backup } from '../../src/core/engine/backup/backup.js';
import { restore } from '../../src/core/engine/restore/restorer.js';
import { isCofferError } from '../../src/core/errors.js';
import { loadMasterIndex } from '../../src/core/repository/master-index.js';
import { FsRestoreSink } from '../../src/node/fs-sink.js';
import { partialPath, RestoreFile } from '../../src/node/fs-restore.js';
import { FakeSource, LOCK_OWNER, dir, file, newMemRepo, randomBytes } from '../helpers/mem-repo.js';
import { tempDir } from '../helpers/paths.js';

test('content is written under NAME.coffer-partial and renamed when complete; a 250-byte name gets a partial name that fits', async () => {
  const d = tempDir();
  for (const name of ['plain.txt', 'x'.repeat(250)]) {
    const real = Buffer.from(path.join(d, name));
    const w = await RestoreFile.create(real);
    await w.write(3, Buffer.from('def'));
    const partial = partialPath(real);
    assert.ok(path.basename(partial.toString()).length <= 255);
    assert.ok(partial.toString().endsWith('.coffer-partial'));
    assert.equal(fs.existsSync(real), false, 'not under the real name while incomplete');
    assert.equal(fs.statSync(partial).size, 6);
    await w.write(0, Buffer.from('abc'));
    await w.close();
    assert.equal(fs.readFileSync(real, 'utf8'), 'abcdef');
    assert.equal(fs.existsSync(partial), false);
  }
  const long = Buffer.from(path.join(d, 'y'.repeat(250)));
  const w = await RestoreFile.create(long);
  await w.write(100, Buffer.from('z'));
  assert.equal(await w.abandon(), partialPath(long).toString());
  assert.equal(fs.existsSync(long), false);
});

test('a symlink at the real name is replaced, not followed; a stale partial is replaced; an old file stays until a complete one replaces it', async () => {
  const d = tempDir();
  fs.writeFileSync(path.join(d, 'victim'), 'untouched');
  fs.symlinkSync(path.join(d, 'victim'), path.join(d, 'f'));
  fs.writeFileSync(path.join(d, 'f.coffer-partial'), 'stale bytes from a killed restore, longer than the new content');
  const w = await RestoreFile.create(Buffer.from(path.join(d, 'f')));
  await w.write(0, Buffer.from('new'));
  await w.close();
  assert.equal(fs.lstatSync(path.join(d, 'f')).isFile(), true);
  assert.equal(fs.readFileSync(path.join(d, 'f'), 'utf8'), 'new');
  assert.equal(fs.readFileSync(path.join(d, 'victim'), 'utf8'), 'untouched');
  assert.equal(fs.existsSync(path.join(d, 'f.coffer-partial')), false);
  // A file already there is replaced only by a complete one.
  fs.writeFileSync(path.join(d, 'old'), 'previous version');
  const w2 = await RestoreFile.create(Buffer.from(path.join(d, 'old')));
  await w2.write(0, Buffer.from('new but unfinished'));
  assert.equal(await w2.abandon(), path.join(d, 'old.coffer-partial'));
  assert.equal(fs.readFileSync(path.join(d, 'old'), 'utf8'), 'previous version');
});

test('a snapshot holding both NAME and NAME.coffer-partial: both exact, or a clear error; never one under the other', async () => {
  const outcomes: string[] = [];
  for (let i = 0; i < 8; i++) {
    const m = await newMemRepo({ packSize: 64 * 1024 });
    // doc spans several packs, so the small file named like its partial may complete while doc is in progress.
    const a = randomBytes(10 + i, 2_500_000);
    const b = randomBytes(20 + i, 3000);
    const root = dir({ data: dir({ doc: file(a), 'doc.coffer-partial': file(b) }) });
    const r = await backup(m.repo, new FakeSource(root), { targets: ['/data'], hostname: 'h', owner: LOCK_OWNER });
    const target = tempDir();
    let error: unknown;
    try {
      await restore(m.repo, await loadMasterIndex(m.repo), r.snapshot.tree, new FsRestoreSink(target), { readConcurrency: 1 });
    } catch (e) {
      error = e;
    }
    outcomes.push(error === undefined ? 'both' : isCofferError(error, 'already-exists') ? 'clash' : String(error));
    const doc = path.join(target, 'data', 'doc');
    const other = doc + '.coffer-partial';
    if (fs.existsSync(doc)) assert.ok(fs.readFileSync(doc).equals(Buffer.from(a)), 'doc has wrong bytes');
    if (error === undefined) {
      assert.ok(fs.readFileSync(doc).equals(Buffer.from(a)));
      assert.ok(fs.readFileSync(other).equals(Buffer.from(b)));
    } else {
      assert.ok(isCofferError(error, 'already-exists'), String(error));
      assert.match((error as Error).message, /another file of that name.*--exclude/);
      assert.equal(fs.existsSync(doc), false);
      // The other name holds that file's own bytes (it completed and took the name).
      assert.ok(fs.readFileSync(other).equals(Buffer.from(b)));
    }
  }
  if (process.env.DEBUG_FAULTS) console.log(outcomes.join(' '));
  assert.ok(outcomes.every((o) => o === 'both' || o === 'clash'), outcomes.join(', '));
});
