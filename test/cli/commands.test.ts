/**
 * The CLI as a restic user drives it: backup's filters and options, snapshot arguments (latest,
 * prefixes, ID:subfolder), ls, restore with --include/--exclude, dump, cat, and JSON output.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import { tempDir } from '../helpers/paths.js';
import { runCoffer, testEnv } from '../helpers/run.js';

function lastJson(stdout: string): any {
  return JSON.parse(stdout.trim().split('\n').pop()!);
}

describe('coffer commands', () => {
  const dir = tempDir();
  const src = path.join(dir, 'src');
  const env = testEnv({ COFFER_REPOSITORY: path.join(dir, 'repo') });
  const snapshots = async () => JSON.parse((await runCoffer(['snapshots', '--json'], { env })).stdout) as any[];

  before(async () => {
    fs.mkdirSync(path.join(src, 'docs', 'taxes'), { recursive: true });
    fs.mkdirSync(path.join(src, 'cache'), { recursive: true });
    fs.writeFileSync(path.join(src, 'docs', 'a.txt'), 'a');
    fs.writeFileSync(path.join(src, 'docs', 'b.tmp'), 'b');
    fs.writeFileSync(path.join(src, 'docs', 'taxes', '2025.pdf'), 'pdf');
    fs.writeFileSync(path.join(src, 'cache', 'junk'), 'junk');
    assert.equal((await runCoffer(['init'], { env })).code, 0);
  });

  it('backup --exclude, --exclude-file, --tag, --host', async () => {
    const ex = path.join(dir, 'excludes');
    fs.writeFileSync(ex, '# comment\n' + path.join(src, 'cache') + '\n');
    const r = await runCoffer(['backup', '--json', '--exclude', '*.tmp', '--exclude-file', ex, '--tag', 'one,two', '--tag', 'three', '--host', 'myhost', src], { env });
    assert.equal(r.code, 0, r.stderr);
    const ls = await runCoffer(['ls', 'latest'], { env });
    assert.ok(ls.stdout.includes(path.join(src, 'docs', 'a.txt')));
    assert.ok(!ls.stdout.includes('b.tmp'), 'excluded by pattern');
    assert.ok(!ls.stdout.includes('junk'), 'excluded by exclude file');
    const s = (await snapshots()).pop();
    assert.deepEqual(s.tags, ['one', 'two', 'three']);
    assert.equal(s.hostname, 'myhost');
    assert.deepEqual(s.paths, [src]);
    assert.ok(s.excludes.includes('*.tmp'));
  });

  it('the parent is chosen by host and paths; --force reads everything; --parent picks one', async () => {
    const ex = path.join(dir, 'excludes');
    const again = lastJson((await runCoffer(['backup', '--json', '--host', 'myhost', '--exclude', '*.tmp', '--exclude-file', ex, src], { env })).stdout);
    assert.equal(again.files_new, 0);
    assert.ok(again.files_unmodified >= 2);
    const other = lastJson((await runCoffer(['backup', '--json', '--host', 'otherhost', src], { env })).stdout);
    assert.equal(other.files_unmodified, 0, 'another host does not share the parent');
    const forced = lastJson((await runCoffer(['backup', '--json', '--host', 'myhost', '--force', src], { env })).stdout);
    assert.equal(forced.files_unmodified, 0);
    const first = (await snapshots())[0];
    const withParent = lastJson((await runCoffer(['backup', '--json', '--host', 'x', '--parent', first.short_id, src], { env })).stdout);
    assert.ok(withParent.files_unmodified >= 2);
  });

  it('backup --dry-run writes nothing; --files-from reads targets', async () => {
    const before = (await snapshots()).length;
    const r = await runCoffer(['backup', '--json', '--dry-run', src], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await snapshots()).length, before);
    const list = path.join(dir, 'files');
    fs.writeFileSync(list, path.join(src, 'docs') + '\n\n');
    const f = await runCoffer(['backup', '--json', '--files-from', list], { env });
    assert.equal(f.code, 0, f.stderr);
    assert.deepEqual((await snapshots()).pop().paths, [path.join(src, 'docs')]);
  });

  it('snapshot arguments: latest, prefixes, ID:subfolder; unknown ones fail clearly', async () => {
    const all = await snapshots();
    const id = all[0].id as string;
    const byPrefix = await runCoffer(['ls', id.slice(0, 6)], { env });
    assert.equal(byPrefix.code, 0, byPrefix.stderr);
    const sub = await runCoffer(['ls', `${id}:${path.join(src, 'docs')}`], { env });
    assert.ok(sub.stdout.includes('/taxes/2025.pdf'), sub.stdout);
    assert.ok(!sub.stdout.includes(src + '/docs'), 'paths are relative to the subfolder');
    const unknown = await runCoffer(['ls', 'ffffffff'], { env });
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no snapshot found/);
  });

  it('ls --long and --json', async () => {
    const long = await runCoffer(['ls', '--long', 'latest'], { env });
    assert.equal(long.code, 0, long.stderr);
    assert.match(long.stdout, /-rw-r--r-- +\d+ +\d+ +3 \d{4}-\d\d-\d\d \d\d:\d\d:\d\d .*2025\.pdf/);
    const json = (await runCoffer(['ls', '--json', 'latest'], { env })).stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(json[0].struct_type, 'snapshot');
    const pdf = json.find((n) => n.name === '2025.pdf');
    assert.equal(pdf.type, 'file');
    assert.equal(pdf.size, 3);
  });

  it('restore --include / --exclude and a subfolder', async () => {
    const id = (await snapshots())[0].id as string;
    const t1 = path.join(dir, 'r1');
    assert.equal((await runCoffer(['restore', id, '--target', t1, '--include', 'taxes'], { env })).code, 0);
    assert.ok(fs.existsSync(path.join(t1, src, 'docs', 'taxes', '2025.pdf')));
    assert.ok(!fs.existsSync(path.join(t1, src, 'docs', 'a.txt')));
    const t2 = path.join(dir, 'r2');
    assert.equal((await runCoffer(['restore', id, '--target', t2, '--exclude', 'taxes'], { env })).code, 0);
    assert.ok(fs.existsSync(path.join(t2, src, 'docs', 'a.txt')));
    assert.ok(!fs.existsSync(path.join(t2, src, 'docs', 'taxes')));
    const t3 = path.join(dir, 'r3');
    assert.equal((await runCoffer(['restore', `${id}:${path.join(src, 'docs')}`, '--target', t3], { env })).code, 0);
    assert.equal(fs.readFileSync(path.join(t3, 'taxes', '2025.pdf'), 'utf8'), 'pdf');
  });

  it('dump and cat', async () => {
    const d = await runCoffer(['dump', 'latest', path.join(src, 'docs', 'a.txt')], { env });
    assert.equal(d.stdout, 'a');
    const cfg = JSON.parse((await runCoffer(['cat', 'config'], { env })).stdout);
    assert.equal(cfg.version, 2);
    assert.match(cfg.chunker_polynomial, /^[0-9a-f]{14}$/);
    const snap = (await snapshots())[0];
    const cs = JSON.parse((await runCoffer(['cat', 'snapshot', snap.id], { env })).stdout);
    assert.equal(cs.tree, snap.tree);
    const tree = JSON.parse((await runCoffer(['cat', 'tree', snap.tree], { env })).stdout);
    assert.ok(Array.isArray(tree.nodes));
    const missing = await runCoffer(['cat', 'snapshot'], { env });
    assert.equal(missing.code, 1);
  });

  it('backup --one-file-system stays on the file system of the target', { skip: process.getuid?.() !== 0 ? 'mounting needs root' : false }, async () => {
    const mnt = path.join(src, 'mnt');
    fs.mkdirSync(mnt);
    execFileSync('mount', ['-t', 'tmpfs', 'tmpfs', mnt]);
    try {
      fs.writeFileSync(path.join(mnt, 'other-fs.txt'), 'x');
      const r = await runCoffer(['backup', '--one-file-system', src], { env });
      assert.equal(r.code, 0, r.stderr);
      const ls = await runCoffer(['ls', 'latest'], { env });
      assert.ok(!ls.stdout.includes('other-fs.txt'));
    } finally {
      execFileSync('umount', [mnt]);
      fs.rmdirSync(mnt);
    }
  });
});

describe('backup targets are placed in the root tree as restic places them', () => {
  it('`.` makes the folder the root; `../x` is placed as `x`; absolute paths keep their folders', async () => {
    const dir = tempDir();
    const env = testEnv({ COFFER_REPOSITORY: path.join(dir, 'repo') });
    fs.mkdirSync(path.join(dir, 'src', 'inner'), { recursive: true });
    fs.mkdirSync(path.join(dir, 'elsewhere'));
    fs.writeFileSync(path.join(dir, 'src', 'inner', 'f.txt'), 'f');
    assert.equal((await runCoffer(['init'], { env })).code, 0);
    const first = (args: string[], cwd: string) => runCoffer(['backup', ...args], { env, cwd }).then(async (r) => {
      assert.equal(r.code, 0, r.stderr);
      return (await runCoffer(['ls', 'latest'], { env })).stdout.split('\n').slice(1, 3);
    });
    assert.deepEqual(await first(['.'], path.join(dir, 'src')), ['/inner', '/inner/f.txt']);
    assert.deepEqual(await first(['../src'], path.join(dir, 'elsewhere')), ['/src', '/src/inner']);
    assert.deepEqual(await first(['src/inner'], dir), ['/src', '/src/inner']);
    const abs = await first([path.join(dir, 'src')], '/');
    assert.equal(abs[0], '/' + dir.split('/').filter(Boolean)[0]);
  });
});
