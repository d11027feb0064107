/**
 * Restore primitives: a folder with every node type is read with fs-meta, recreated with
 * fs-restore elsewhere, and read back: metadata must survive (times to the microsecond).
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { tempDir } from '../helpers/paths.js';
import type { TreeNode } from '../../src/core/format/types.js';
import { lstatBig, nodeFromStat, readdirBytes } from '../../src/node/fs-meta.js';
import { readDirXattrs, nameKey, xattrSupport } from '../../src/node/xattr.js';
import { applyMetadata, devMajorMinor, joinBytes, restoreDir, RestoreFile, restoreHardlink, restoreSpecialFile, restoreSymlink, utimesSeconds } from '../../src/node/fs-restore.js';

const isRoot = process.getuid?.() === 0;
const RAW = Buffer.from([0x6e, 0xfe, 0xff]); // a non-UTF-8 name

function fixture(src: string): void {
  fs.mkdirSync(src);
  const p = (n: string) => path.join(src, n);
  fs.writeFileSync(p('reg'), 'hello world');
  fs.chmodSync(p('reg'), 0o640);
  fs.writeFileSync(p('ro'), 'read only');
  fs.chmodSync(p('ro'), 0o400);
  fs.writeFileSync(p('suid'), 's');
  fs.chmodSync(p('suid'), 0o4755);
  fs.writeFileSync(Buffer.concat([Buffer.from(src + '/'), RAW]), 'raw');
  fs.symlinkSync(Buffer.from([0x74, 0xff]), p('badlink'));
  fs.symlinkSync('reg', p('link'));
  execFileSync('mkfifo', [p('fifo')]);
  fs.mkdirSync(p('locked'));
  fs.writeFileSync(p('locked/inner'), 'x');
  fs.chmodSync(p('locked'), 0o500);
  fs.utimesSync(p('reg'), 1_500_000_000.123456, 1_600_000_000.987654);
  if (isRoot) {
    execFileSync('mknod', [p('cdev'), 'c', '1', '3']);
    execFileSync('mknod', [p('bdev'), 'b', '7', '200']);
    fs.chownSync(p('reg'), 1234, 4321);
  }
  if (xattrSupport()) {
    execFileSync('setfattr', ['-n', 'user.a', '-v', '0x00ff0a', p('reg')]);
    execFileSync('setfattr', ['-n', 'user.b', '-v', 'x', p('ro')]);
  }
}

async function readNodes(dir: Buffer): Promise<Map<string, TreeNode>> {
  const xs = await readDirXattrs(dir);
  const out = new Map<string, TreeNode>();
  for (const n of await readdirBytes(dir)) {
    const p = joinBytes(dir, n);
    const meta = await nodeFromStat(n, p, await lstatBig(p), { xattrs: xs.get(nameKey(n)) ?? [], withAtime: true });
    out.set(nameKey(n), { ...meta, content: meta.type === 'file' ? [] : null });
  }
  return out;
}

/** Restores `nodes` (one folder level, plus locked/inner) from `src` into `dst`. */
async function restoreAll(src: Buffer, dst: Buffer, nodes: Map<string, TreeNode>): Promise<void> {
  await restoreDir(dst);
  for (const node of nodes.values()) {
    const to = joinBytes(dst, node.name);
    const from = joinBytes(src, node.name);
    switch (node.type) {
      case 'dir': {
        await restoreDir(to);
        const inner = (await readNodes(from)).get('inner')!;
        const w = await RestoreFile.create(joinBytes(to, inner.name));
        await w.write(0, fs.readFileSync(joinBytes(from, inner.name)));
        await w.close();
        assert.deepEqual(await applyMetadata(joinBytes(to, inner.name), inner), []);
        break; // the folder's own metadata comes after its children, below
      }
      case 'file': {
        const data = fs.readFileSync(from);
        const w = await RestoreFile.create(to);
        // out of order, as blobs arrive: second half first
        const mid = data.length >> 1;
        await w.write(mid, data.subarray(mid));
        await w.write(0, data.subarray(0, mid));
        await w.close();
        break;
      }
      case 'symlink':
        await restoreSymlink(to, node);
        break;
      default:
        await restoreSpecialFile(to, node);
    }
    assert.deepEqual(await applyMetadata(to, node), [], Buffer.from(node.name).toString());
  }
}

describe('fs-restore', () => {
  it('recreates every node type with its metadata', async () => {
    const base = tempDir('coffer-restore-');
    const src = path.join(base, 'src');
    fixture(src);
    const nodes = await readNodes(Buffer.from(src));
    const dst = Buffer.concat([Buffer.from(base + '/dst-'), RAW]); // a non-UTF-8 target folder too
    await restoreAll(Buffer.from(src), dst, nodes);
    const back = await readNodes(dst);
    assert.deepEqual([...back.keys()].sort(), [...nodes.keys()].sort());
    for (const [k, want] of nodes) {
      const got = back.get(k)!;
      const what = Buffer.from(want.name).toString();
      assert.equal(got.type, want.type, what);
      assert.equal(got.mode, want.mode, `${what} mode`);
      assert.equal(got.uid, want.uid, `${what} uid`);
      assert.equal(got.gid, want.gid, `${what} gid`);
      assert.equal(got.size, want.size, `${what} size`);
      assert.equal(got.device, want.device, `${what} device`);
      assert.deepEqual(got.linktargetRaw, want.linktargetRaw, `${what} raw target`);
      assert.equal(got.linktarget, want.linktarget, `${what} target`);
      if (want.type !== 'symlink') assert.deepEqual(got.extendedAttributes, want.extendedAttributes, `${what} xattrs`);
      // times: exact to the microsecond (libuv truncates utimes to microseconds)
      for (const t of ['mtime', 'atime'] as const) {
        assert.equal(got[t].sec, want[t].sec, `${what} ${t} seconds`);
        assert.equal(got[t].nsec, Math.floor(want[t].nsec / 1000) * 1000, `${what} ${t} microseconds`);
      }
    }
    assert.equal(fs.readFileSync(Buffer.concat([dst, Buffer.from('/reg')]), 'utf8'), 'hello world');
    if (xattrSupport()) assert.equal(back.get('reg')!.extendedAttributes?.[0]?.value.length, 3);
    if (isRoot) assert.equal(back.get('cdev')!.device, 259n);
  });

  it('creates hard links and keeps abandoned files only as NAME.coffer-partial', async () => {
    const d = Buffer.from(tempDir());
    const a = joinBytes(d, Buffer.from('a'));
    const w = await RestoreFile.create(a);
    await w.write(0, new Uint8Array([1, 2, 3]));
    await w.close();
    await restoreHardlink(joinBytes(d, Buffer.from('b')), a);
    assert.equal(fs.statSync(joinBytes(d, Buffer.from('b'))).ino, fs.statSync(a).ino);
    const partial = joinBytes(d, RAW);
    const p = await RestoreFile.create(partial);
    await p.write(10, new Uint8Array([1]));
    assert.equal(fs.existsSync(partial), false, 'content is written under the partial name until complete');
    const left = Buffer.concat([partial, Buffer.from('.coffer-partial')]);
    assert.equal(await p.abandon(), left.toString('utf8'));
    assert.equal(fs.existsSync(partial), false);
    assert.equal(fs.statSync(left).size, 11);
  });

  it('splits device numbers as glibc and aims utimes at the right microsecond', () => {
    assert.deepEqual(devMajorMinor(259n), { major: 1n, minor: 3n });
    assert.deepEqual(devMajorMinor(1992n), { major: 7n, minor: 200n });
    // glibc makedev for a large major and minor
    const major = 0x12345n;
    const minor = 0xabcdefn;
    const big = ((major & 0xfffn) << 8n) | ((major & ~0xfffn) << 32n) | (minor & 0xffn) | ((minor & ~0xffn) << 12n);
    assert.deepEqual(devMajorMinor(big), { major, minor });
    for (const nsec of [0, 999, 1000, 123_456_789, 999_999_999]) {
      const s = utimesSeconds({ sec: 1_700_000_000, nsec, offsetSec: 0 });
      const us = Math.floor((s - 1_700_000_000) * 1e6);
      assert.equal(us, Math.floor(nsec / 1000), `nsec ${nsec}`);
    }
  });
});
