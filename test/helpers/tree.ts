/** Building source trees and comparing restored trees with them. */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** SHA-256 counter-mode bytes, as the vectors' generator (deterministic, any length). */
export function prng(label: string, length: number): Buffer {
  const out = Buffer.alloc(length);
  let o = 0;
  for (let i = 0; o < length; i++) {
    const ctr = Buffer.alloc(8);
    ctr.writeBigUInt64LE(BigInt(i));
    const h = createHash('sha256').update(label).update(ctr).digest();
    h.copy(out, o);
    o += h.length;
  }
  return out;
}

export interface EntryInfo {
  type: string;
  mode: number;
  size: number;
  mtimeNs: bigint;
  sha256?: string;
  target?: string;
  ino?: bigint;
}

/** Every entry below `root` (raw-byte names, relative paths in latin1 for stable keys). */
export function describeTree(root: string): Map<string, EntryInfo> {
  const out = new Map<string, EntryInfo>();
  const walk = (dir: Buffer, rel: string) => {
    for (const name of fs.readdirSync(dir, { encoding: 'buffer' })) {
      const p = Buffer.concat([dir, Buffer.from('/'), name]);
      const r = rel + '/' + name.toString('latin1');
      const st = fs.lstatSync(p, { bigint: true });
      const info: EntryInfo = { type: '', mode: Number(st.mode & 0o7777n), size: 0, mtimeNs: st.mtimeNs, ino: st.ino };
      if (st.isFile()) {
        info.type = 'file';
        info.size = Number(st.size);
        info.sha256 = createHash('sha256').update(fs.readFileSync(p)).digest('hex');
      } else if (st.isDirectory()) info.type = 'dir';
      else if (st.isSymbolicLink()) {
        info.type = 'symlink';
        info.target = fs.readlinkSync(p, { encoding: 'buffer' }).toString('latin1');
      } else if (st.isFIFO()) info.type = 'fifo';
      else if (st.isCharacterDevice()) info.type = 'chardev';
      else if (st.isBlockDevice()) info.type = 'dev';
      else if (st.isSocket()) info.type = 'socket';
      out.set(r, info);
      if (st.isDirectory()) walk(p, r);
    }
  };
  walk(Buffer.from(root), '');
  return out;
}

/**
 * Differences between two trees (empty when equal). Times are compared to `timePrecisionNs`;
 * symlink times and modes are not compared (Linux cannot set a symlink's mode).
 */
export function diffTrees(a: Map<string, EntryInfo>, b: Map<string, EntryInfo>, opts: { timePrecisionNs?: bigint; ignore?: (p: string) => boolean } = {}): string[] {
  const prec = opts.timePrecisionNs ?? 1000n;
  const diffs: string[] = [];
  for (const [p, x] of a) {
    if (opts.ignore?.(p)) continue;
    const y = b.get(p);
    if (!y) {
      diffs.push(`missing: ${p}`);
      continue;
    }
    if (x.type !== y.type) diffs.push(`type ${p}: ${x.type} vs ${y.type}`);
    if (x.sha256 !== y.sha256) diffs.push(`content ${p}`);
    if (x.target !== y.target) diffs.push(`link target ${p}: ${x.target} vs ${y.target}`);
    if (x.type !== 'symlink' && x.mode !== y.mode) diffs.push(`mode ${p}: ${x.mode.toString(8)} vs ${y.mode.toString(8)}`);
    const dt = x.mtimeNs > y.mtimeNs ? x.mtimeNs - y.mtimeNs : y.mtimeNs - x.mtimeNs;
    if (x.type !== 'symlink' && dt >= prec) diffs.push(`mtime ${p}: ${x.mtimeNs} vs ${y.mtimeNs}`);
  }
  for (const p of b.keys()) if (!a.has(p) && !opts.ignore?.(p)) diffs.push(`extra: ${p}`);
  return diffs;
}

/** A source tree with every node type restic knows (devices only as root). */
export function makeSourceTree(root: string, opts: { bigFiles?: boolean } = {}): void {
  fs.mkdirSync(root, { recursive: true });
  const w = (rel: string, data: Buffer | string, mode?: number) => {
    const p = path.join(root, rel);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, data);
    if (mode !== undefined) fs.chmodSync(p, mode);
  };
  w('hello.txt', 'hello coffer\n');
  w('empty', '');
  w('sub/nested.txt', 'nested\n');
  w('sub/deeper/a.bin', prng('a', 100_000));
  w('unicode ü €  😀 <&>.txt', 'names\n');
  w('we"ird\\name.txt', 'quotes\n');
  w('ro.txt', 'read only\n', 0o444);
  w('setuid.sh', '#!/bin/sh\n', 0o4755);
  w('zeros.bin', Buffer.alloc(600_000));
  if (opts.bigFiles) {
    w('big/random.bin', prng('big', 12 * 1024 * 1024 + 12345));
    w('big/random-copy.bin', prng('big', 12 * 1024 * 1024 + 12345));
  }
  fs.mkdirSync(path.join(root, 'empty-dir'));
  fs.mkdirSync(path.join(root, 'sticky'), { mode: 0o1777 });
  fs.chmodSync(path.join(root, 'sticky'), 0o1777);
  fs.symlinkSync('hello.txt', path.join(root, 'link'));
  fs.symlinkSync('does-not-exist', path.join(root, 'dangling'));
  fs.linkSync(path.join(root, 'hello.txt'), path.join(root, 'hardlink.txt'));
  // A name that is not valid UTF-8.
  fs.writeFileSync(Buffer.concat([Buffer.from(root + '/bad-'), Buffer.from([0xff, 0xfe]), Buffer.from('.txt')]), 'latin\n');
  execFileSync('mkfifo', [path.join(root, 'fifo')]);
  // Fixed times (with nanoseconds) so comparisons are meaningful.
  const t = new Date('2024-01-02T03:04:05.5Z');
  for (const rel of ['hello.txt', 'sub/nested.txt', 'empty']) fs.utimesSync(path.join(root, rel), t, t);
}
