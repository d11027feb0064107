/**
 * The streaming ZIP writer (src/web/zip.ts) checked by independent readers: Python's zipfile
 * (names, sizes, CRCs, bytes, modes, symlinks, ZIP64 records) and Info-ZIP's `unzip -t`/extract
 * when installed. ZIP64 paths are exercised with `forceZip64` and with more than 65,535 entries.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { crc32, ZipWriter, type ZipEntry } from '../../src/web/zip.js';
import { randomBytes } from '../helpers/mem-repo.js';
import { tempDir } from '../helpers/paths.js';

interface Item extends ZipEntry {
  data?: Uint8Array;
}

function build(items: Item[], opts: { forceZip64?: boolean } = {}): Buffer {
  const z = new ZipWriter(opts);
  const out: Uint8Array[] = [];
  for (const it of items) {
    out.push(z.start(it));
    if (it.data) {
      // in uneven pieces, as a stream delivers them
      for (let o = 0; o < it.data.length; o += 7919) {
        const piece = it.data.subarray(o, o + 7919);
        z.write(piece);
        out.push(piece);
      }
    }
    out.push(z.end());
  }
  out.push(z.finish());
  const buf = Buffer.concat(out);
  assert.equal(buf.length, z.offset);
  return buf;
}

const PY = `
import sys, zipfile, json, hashlib, stat
z = zipfile.ZipFile(sys.argv[1])
bad = z.testzip()
out = {"bad": bad, "entries": []}
for i in z.infolist():
    data = z.read(i)
    out["entries"].append({"name": i.filename, "size": i.file_size, "crc": i.CRC, "mode": i.external_attr >> 16,
      "sha": hashlib.sha256(data).hexdigest(), "date": list(i.date_time), "dir": i.is_dir(),
      "zip64": i.extract_version >= 45, "text": data.decode() if len(data) < 64 else None})
print(json.dumps(out))
`;

function python(): string | undefined {
  const r = spawnSync('python3', ['-c', 'import zipfile'], { encoding: 'utf8' });
  return r.status === 0 ? 'python3' : undefined;
}

function readWithPython(file: string): { bad: string | null; entries: { name: string; size: number; crc: number; mode: number; sha: string; date: number[]; dir: boolean; zip64: boolean; text: string | null }[] } {
  const r = spawnSync('python3', ['-c', PY, file], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

test('crc32 matches the standard check value', () => {
  assert.equal(crc32(new TextEncoder().encode('123456789')), 0xcbf43926);
  assert.equal(crc32(new Uint8Array(0)), 0);
  const data = randomBytes(3, 10_000);
  assert.equal(crc32(data.subarray(5000), crc32(data.subarray(0, 5000))), crc32(data));
});

for (const forceZip64 of [false, true]) {
  test(`zip ${forceZip64 ? 'with ZIP64 records' : 'plain'}: Python and unzip read names, modes, times and bytes`, (t) => {
    if (!python()) {
      if (process.env.CI) throw new Error('python3 needed in CI');
      t.skip('python3 missing');
      return;
    }
    const dir = tempDir('coffer-zip-');
    const mtime = Date.UTC(2024, 5, 1, 12, 30, 10);
    const items: Item[] = [
      { name: 'docs', kind: 'dir', mtime },
      { name: 'docs/a.txt', kind: 'file', data: new TextEncoder().encode('hello zip\n'), mode: 0o600, mtime },
      { name: 'docs/big.bin', kind: 'file', data: randomBytes(7, 300_000), mtime },
      { name: 'docs/empty', kind: 'file', data: new Uint8Array(0), mtime },
      { name: 'docs/ünïcødé 名前.txt', kind: 'file', data: new TextEncoder().encode('utf-8 name'), mtime },
      { name: 'docs/link', kind: 'symlink', data: new TextEncoder().encode('a.txt'), mtime },
      { name: 'docs/sub/', kind: 'dir', mode: 0o700, mtime },
      { name: 'docs/sub/x', kind: 'file', data: randomBytes(9, 1000), mode: 0o755, mtime: Date.UTC(1970, 0, 1) },
    ];
    const file = path.join(dir, 'a.zip');
    fs.writeFileSync(file, build(items, { forceZip64 }));
    const r = readWithPython(file);
    assert.equal(r.bad, null);
    assert.deepEqual(
      r.entries.map((e) => e.name),
      ['docs/', 'docs/a.txt', 'docs/big.bin', 'docs/empty', 'docs/ünïcødé 名前.txt', 'docs/link', 'docs/sub/', 'docs/sub/x'],
    );
    for (const [i, e] of r.entries.entries()) {
      const it = items[i]!;
      const data = it.data ?? new Uint8Array(0);
      assert.equal(e.size, data.length, e.name);
      assert.equal(e.sha, sha(data), e.name);
      assert.equal(e.crc, crc32(data), e.name);
      assert.equal(e.zip64, forceZip64, e.name);
    }
    assert.equal(r.entries[1]!.mode, 0o100600);
    assert.equal(r.entries[5]!.mode, 0o120777);
    assert.equal(r.entries[6]!.mode, 0o40700);
    assert.equal(r.entries[7]!.date[0], 1980); // before 1980: clamped
    const local = new Date(mtime);
    assert.deepEqual(r.entries[1]!.date, [local.getFullYear(), local.getMonth() + 1, local.getDate(), local.getHours(), local.getMinutes(), local.getSeconds()]);

    const unzip = spawnSync('unzip', ['-v'], { encoding: 'utf8' });
    if (unzip.status === 0) {
      const tr = spawnSync('unzip', ['-t', file], { encoding: 'utf8' });
      assert.equal(tr.status, 0, tr.stdout + tr.stderr);
      const out = path.join(dir, 'x');
      const ex = spawnSync('unzip', ['-q', file, '-d', out], { encoding: 'utf8' });
      assert.equal(ex.status, 0, ex.stdout + ex.stderr);
      assert.deepEqual(fs.readFileSync(path.join(out, 'docs', 'big.bin')), Buffer.from(items[2]!.data!));
      assert.equal(fs.readlinkSync(path.join(out, 'docs', 'link')), 'a.txt');
      assert.equal(fs.statSync(path.join(out, 'docs', 'a.txt')).mtimeMs, mtime);
    }
  });
}

test('zip with more than 65,535 entries uses ZIP64 end records', (t) => {
  if (!python()) {
    if (process.env.CI) throw new Error('python3 needed in CI');
    t.skip('python3 missing');
    return;
  }
  const dir = tempDir('coffer-zip-');
  const items: Item[] = [];
  for (let i = 0; i < 70_000; i++) items.push({ name: `f/${i}`, kind: 'file', data: new Uint8Array([i & 0xff]) });
  const file = path.join(dir, 'many.zip');
  fs.writeFileSync(file, build(items));
  const r = spawnSync('python3', ['-c', 'import sys,zipfile; z=zipfile.ZipFile(sys.argv[1]); n=z.infolist(); print(len(n), z.read("f/69999")[0], z.testzip())', file], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), `70000 ${69999 & 0xff} None`);
});

test('zip refuses misuse: writing past an announced 32-bit size, names with ..', () => {
  const z = new ZipWriter();
  assert.throws(() => z.start({ name: 'a/../b', kind: 'file' }), /invalid entry name/);
  z.start({ name: 'd', kind: 'dir' });
  assert.throws(() => z.write(new Uint8Array(1)), /folder has no content/);
});
