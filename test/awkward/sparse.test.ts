/**
 * A sparse file of several GiB (COFFER_AWKWARD_SPARSE_GIB, default 1; the soak uses 4) with a few
 * islands of data: the backup takes seconds (the zero runs become one deduplicated chunk), stores
 * little, restic check --read-data passes, and the restore through Coffer is byte-exact and also
 * takes seconds. Allocated sizes are reported against restic's `restore --sparse` of the same
 * snapshot (Coffer's restore writes the zeros; restic leaves holes), so any change there shows.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { lastJson, MiB, seededBytes } from '../helpers/crash.js';
import { tempDir } from '../helpers/paths.js';
import { resticBinaries, runCoffer, runRestic, testEnv } from '../helpers/run.js';
import { allocatedBytes, hashFile } from './support.js';

const restics = resticBinaries();
const latest = restics.find((r) => r.name === 'restic-latest');
const GIB = Number(process.env.COFFER_AWKWARD_SPARSE_GIB ?? 1);

/** Writes a sparse file of `size` bytes with 1 MiB of seeded data at each offset. */
export function writeSparse(p: string, size: number, islands: readonly number[]): void {
  const fd = fs.openSync(p, 'w');
  try {
    for (const at of islands) fs.writeSync(fd, seededBytes(`island${at}`, MiB), 0, MiB, at);
    fs.ftruncateSync(fd, size);
  } finally {
    fs.closeSync(fd);
  }
}

describe(`a ${GIB} GiB sparse file`, { skip: !latest && 'restic not installed' }, () => {
  it('backs up and restores exactly, each in seconds, storing only the data', async (t) => {
    const dir = tempDir('coffer-awk-sparse-');
    const src = path.join(dir, 'src');
    const repo = path.join(dir, 'repo');
    const env = testEnv({ COFFER_REPOSITORY: repo, RESTIC_REPOSITORY: repo });
    fs.mkdirSync(src);
    const size = GIB * 1024 * MiB + 12345;
    const file = path.join(src, 'disk.img');
    writeSparse(file, size, [0, 300 * MiB + 17, size - 3 * MiB]);
    fs.writeFileSync(path.join(src, 'empty-sparse'), '');
    fs.truncateSync(path.join(src, 'empty-sparse'), 64 * MiB);
    const want = hashFile(file);
    assert.ok(allocatedBytes(file) < 16 * MiB, 'the source is sparse');
    assert.equal((await runCoffer(['init'], { env })).code, 0);

    let t0 = Date.now();
    const b = await runCoffer(['backup', '--json', src], { env });
    const backupMs = Date.now() - t0;
    assert.equal(b.code, 0, b.stderr);
    const s = lastJson(b.stdout);
    assert.equal(s.total_bytes_processed, size + 64 * MiB);
    // Three 1 MiB islands (with their chunk neighbours) and one chunk of zeros per length cut.
    assert.ok(s.data_added < 40 * MiB, `stored ${s.data_added} bytes for ${size} sparse bytes`);
    const c = await runRestic(latest!, ['check', '--read-data'], { env });
    assert.equal(c.code, 0, c.stdout + c.stderr);

    const target = path.join(dir, 'restore');
    t0 = Date.now();
    const r = await runCoffer(['restore', 'latest', '--target', target], { env });
    const restoreMs = Date.now() - t0;
    assert.equal(r.code, 0, r.stderr);
    const restored = path.join(target, src, 'disk.img');
    assert.equal(fs.statSync(restored).size, size);
    assert.equal(hashFile(restored), want, 'restored byte for byte');
    assert.equal(fs.statSync(path.join(target, src, 'empty-sparse')).size, 64 * MiB);

    const viaRestic = path.join(dir, 'restore-restic');
    const rr = await runRestic(latest!, ['restore', 'latest', '--sparse', '--target', viaRestic], { env });
    assert.equal(rr.code, 0, rr.stderr);
    assert.equal(fs.statSync(path.join(viaRestic, src, 'disk.img')).size, size, 'restic restores it at its size');
    t.diagnostic(`backup ${backupMs} ms (stored ${s.data_added} bytes), restore ${restoreMs} ms; allocated: source ${allocatedBytes(file)}, Coffer's restore ${allocatedBytes(restored)}, restic --sparse ${allocatedBytes(path.join(viaRestic, src, 'disk.img'))}`);
    // Minutes would mean the zeros were handled byte by byte in JavaScript.
    assert.ok(backupMs < 90_000 * GIB && restoreMs < 90_000 * GIB, `backup ${backupMs} ms, restore ${restoreMs} ms`);
    fs.rmSync(target, { recursive: true, force: true });
  });
});
