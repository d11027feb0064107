/**
 * fs-meta against the real restic: a folder with every node type is backed up by restic, and the
 * nodes restic wrote must equal ours field by field (all but content/subtree).
 */
import { describe, it, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync, execFileSync } from 'node:child_process';
import { tempDir } from '../helpers/paths.js';
import { decodeTree } from '../../src/core/format/tree.js';
import { goJsonString } from '../../src/core/format/json.js';
import type { TreeNode } from '../../src/core/format/types.js';
import { lstatBig, metaFromStat, nodeFromStat, readdirBytes, nodeTypeOf, goTimeFromNs } from '../../src/node/fs-meta.js';
import { readDirXattrs, nameKey, xattrSupport } from '../../src/node/xattr.js';
import { UserDb } from '../../src/node/users.js';

const RESTIC = '/usr/bin/restic';
const isRoot = process.getuid?.() === 0;
const haveRestic = fs.existsSync(RESTIC);
// In CI restic is installed: its absence is a failure there, not a skip.
const skipNoRestic = haveRestic || process.env.CI ? false : 'restic is not installed';

function restic(repo: string, args: string[], cwd?: string): Buffer {
  const r = spawnSync(RESTIC, ['-r', repo, '--no-cache', ...args], { cwd, env: { ...process.env, RESTIC_PASSWORD: 'pw' }, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`restic ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** Builds the fixture folder; returns the names (raw) that were created. */
function makeFixture(src: string): void {
  fs.mkdirSync(src);
  const p = (n: string) => path.join(src, n);
  fs.writeFileSync(p('reg'), 'hello\n');
  fs.writeFileSync(p('empty'), '');
  fs.writeFileSync(p('m0'), 'z');
  fs.chmodSync(p('m0'), 0o000);
  fs.writeFileSync(p('suid'), 's');
  fs.chmodSync(p('suid'), 0o4755);
  fs.writeFileSync(p('sgid'), 'g');
  fs.chmodSync(p('sgid'), 0o2750);
  fs.symlinkSync('reg', p('link'));
  fs.symlinkSync(Buffer.from([0x62, 0x61, 0x64, 0xff]), p('badlink'));
  fs.writeFileSync(Buffer.concat([Buffer.from(src + '/name'), Buffer.from([0xfe, 0xff])]), 'raw name');
  fs.writeFileSync(p('we"ird\\name <&> ü.txt'), 'q');
  fs.writeFileSync(p('hl1'), 'hard');
  fs.linkSync(p('hl1'), p('hl2'));
  fs.mkdirSync(p('sticky'));
  fs.chmodSync(p('sticky'), 0o1777);
  fs.mkdirSync(p('sub'));
  fs.writeFileSync(p('sub/inner'), 'i');
  fs.utimesSync(p('reg'), 1_000_000_000.5, 1_234_567_890.25); // a fixed old mtime with a fraction
  execFileSync('mkfifo', [p('fifo')]);
  if (isRoot) {
    execFileSync('mknod', [p('cdev'), 'c', '1', '3']);
    execFileSync('mknod', [p('bdev'), 'b', '7', '200']);
    fs.chownSync(p('reg'), 65534, 65534); // nobody/nogroup: names from /etc/passwd and /etc/group
    fs.lchownSync(p('link'), 12345, 54321); // unknown IDs: no user/group
  }
  if (xattrSupport()) {
    // set in sorted order so the kernel's listing order equals getfattr's (see xattr.ts)
    execFileSync('setfattr', ['-n', 'user.a', '-v', 'first', p('reg')]);
    execFileSync('setfattr', ['-n', 'user.b', '-v', '0x00ff01', p('reg')]);
    execFileSync('setfattr', ['-n', 'user.d', '-v', 'dv', p('sticky')]);
    execFileSync('setfattr', ['-n', 'user.e', p('empty')]);
    if (isRoot) execFileSync('setfattr', ['-h', '-n', 'trusted.t', '-v', 'tv', p('link')]); // restic 0.14 ignores symlink xattrs
  }
}

function plain(n: Omit<TreeNode, 'content' | 'subtree'> | TreeNode): Record<string, unknown> {
  const { content: _c, subtree: _s, ...rest } = n as TreeNode;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(rest)) {
    if (v === undefined) continue;
    // linktarget is a Go string: compare what the tree encoder writes (invalid bytes -> \ufffd)
    out[k] = k === 'linktarget' ? goJsonString(v as string) : v instanceof Uint8Array ? Buffer.from(v).toString('hex') : k === 'extendedAttributes' ? (v as any[]).map((a) => ({ name: a.name, value: Buffer.from(a.value).toString('hex') })) : v;
  }
  return out;
}

describe('fs-meta matches restic 0.14', { skip: skipNoRestic }, () => {
  let src: string;
  let resticNodes: TreeNode[];

  before(() => {
    const base = tempDir('coffer-meta-');
    src = path.join(base, 'src');
    makeFixture(src);
    const repo = path.join(base, 'repo');
    restic(repo, ['init']);
    restic(repo, ['backup', 'src'], base);
    const snaps = JSON.parse(restic(repo, ['snapshots', '--json']).toString());
    const snap = JSON.parse(restic(repo, ['cat', 'snapshot', snaps[0].id]).toString());
    const root = decodeTree(restic(repo, ['cat', 'blob', snap.tree]), 'root');
    resticNodes = [...decodeTree(restic(repo, ['cat', 'blob', root.nodes[0]!.subtree!]), 'src').nodes];
  });

  it('lists the same names in the same (byte) order', async () => {
    const names = await readdirBytes(src);
    assert.deepEqual(names.map((b) => b.toString('hex')), resticNodes.map((n) => Buffer.from(n.name).toString('hex')));
  });

  it('builds every node exactly as restic does', async () => {
    const xattrs = await readDirXattrs(src);
    const srcBuf = Buffer.from(src);
    let compared = 0;
    for (const rn of resticNodes) {
      const p = Buffer.concat([srcBuf, Buffer.from('/'), Buffer.from(rn.name)]);
      const st = await lstatBig(p);
      const ours = await nodeFromStat(rn.name, p, st, { xattrs: xattrs.get(nameKey(rn.name)) ?? [] });
      const want = plain(rn);
      const got = plain(ours);
      // restic 0.14 predates linktarget_raw (0.16): ours carries it in addition
      if (rn.name.length === 7 && ours.linktargetRaw) {
        assert.equal(got.linktargetRaw, Buffer.from('bad\xff', 'latin1').toString('hex'));
        delete got.linktargetRaw;
      }
      assert.deepEqual(got, want, `node ${Buffer.from(rn.name).toString()}`);
      compared++;
    }
    assert.ok(compared >= 15, `compared ${compared} nodes`);
    const types = new Set(resticNodes.map((n) => n.type));
    for (const t of ['file', 'dir', 'symlink', 'fifo', ...(isRoot ? ['dev', 'chardev'] : [])]) assert.ok(types.has(t as any), t);
    if (xattrSupport()) assert.ok(resticNodes.some((n) => n.extendedAttributes?.length === 2), 'restic recorded the xattrs');
  });
});

describe('fs-meta rules', () => {
  const users = new UserDb({ passwd: '/nonexistent', group: '/nonexistent' });
  it('keeps nanoseconds and the zone offset, atime := mtime unless withAtime', async () => {
    const d = tempDir();
    const f = path.join(d, 'f');
    fs.writeFileSync(f, 'abc');
    fs.utimesSync(f, 1_600_000_000.75, 1_700_000_000.123456);
    const st = await lstatBig(f);
    const m = metaFromStat(Buffer.from('f'), st, { users, offsetOf: () => 3600 });
    assert.equal(m.mtime.sec, 1_700_000_000);
    assert.equal(m.mtime.nsec, Number(st.mtimeNs % 1_000_000_000n));
    assert.equal(m.mtime.offsetSec, 3600);
    assert.deepEqual(m.atime, m.mtime);
    const a = metaFromStat(Buffer.from('f'), st, { users, withAtime: true, offsetOf: () => 0 });
    assert.equal(a.atime.sec, 1_600_000_000);
    assert.equal(a.size, 3);
    assert.equal(a.mode, 0o644 & ~process.umask());
    assert.equal(a.user, undefined, 'unknown uid: no user');
    assert.equal(nodeTypeOf(0o140755), 'socket');
    assert.deepEqual(goTimeFromNs(-1n, () => 0), { sec: -1, nsec: 999_999_999, offsetSec: 0 });
  });

  it('omits mode 0, size 0, and links for dirs and fifos', async () => {
    const d = tempDir();
    fs.writeFileSync(path.join(d, 'z'), '');
    fs.chmodSync(path.join(d, 'z'), 0);
    const z = metaFromStat(Buffer.from('z'), await lstatBig(path.join(d, 'z')), { users });
    assert.equal(z.mode, undefined);
    assert.equal(z.size, undefined);
    assert.equal(z.links, 1n);
    const dir = metaFromStat(Buffer.from('d'), await lstatBig(d), { users });
    assert.equal(dir.type, 'dir');
    assert.equal(dir.links, undefined);
    assert.equal((dir.mode! & 0x80000000) >>> 0, 0x80000000);
  });
});
