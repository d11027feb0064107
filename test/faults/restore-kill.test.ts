/**
 * A restore killed with SIGKILL in the middle: files are written as NAME.coffer-partial and only
 * renamed when complete, so whatever is under a real name is whole and exact even though nothing
 * could clean up; running the restore again completes it and leaves no partial file behind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT, tempDir } from '../helpers/paths.js';
import { runCoffer, testEnv } from '../helpers/run.js';
import { prng } from '../helpers/tree.js';

function readTree(root: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.set(path.relative(root, p), fs.readFileSync(p));
    }
  };
  if (fs.existsSync(root)) walk(root);
  return out;
}

test('restore killed with SIGKILL: every file under its real name is exact; a second run completes', async () => {
  const dir = tempDir('coffer-restore-kill-');
  const src = path.join(dir, 'src');
  fs.mkdirSync(path.join(src, 'files'), { recursive: true });
  fs.writeFileSync(path.join(src, 'huge.bin'), prng('kill-huge', 24_000_000));
  for (let i = 0; i < 20; i++) fs.writeFileSync(path.join(src, 'files', `f${i}.bin`), prng(`kill-${i}`, 300_000 + i * 10_000));
  const want = readTree(src);
  const env = testEnv({ COFFER_REPOSITORY: path.join(dir, 'repo'), COFFER_WORKERS: '0' });
  assert.equal((await runCoffer(['init'], { env })).code, 0);
  const b = await runCoffer(['backup', '-q', src], { env });
  assert.equal(b.code, 0, b.stderr);

  const target = path.join(dir, 'out');
  const root = path.join(target, src);
  // Kill as soon as a partial file shows up, while content is being written.
  const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'coffer.js'), 'restore', 'latest', '--target', target], { env, stdio: 'ignore' });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let sawPartial = false;
  let done = false;
  void exited.then(() => (done = true));
  while (!done) {
    // huge.bin takes longest to write: its partial file means the restore is well under way.
    const found = [...readNames(root)].some((n) => n === 'huge.bin.coffer-partial');
    if (found) {
      sawPartial = true;
      child.kill('SIGKILL');
      break;
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  const code = await exited;
  assert.ok(sawPartial, `the restore finished (exit ${code}) before a partial file was seen`);
  assert.equal(code, null, 'killed, not finished');

  const got = readTree(root);
  for (const [p, bytes] of got) {
    if (p.endsWith('.coffer-partial')) continue;
    assert.ok(bytes.equals(want.get(p)!), `${p}: under its real name but not exact`);
  }
  const whole = [...got.keys()].filter((p) => !p.endsWith('.coffer-partial'));
  assert.ok(whole.length < want.size, `killed before the end (${whole.length} of ${want.size} files whole)`);

  const again = await runCoffer(['restore', 'latest', '--target', target], { env });
  assert.equal(again.code, 0, again.stderr);
  const final = readTree(root);
  assert.deepEqual([...final.keys()].sort(), [...want.keys()].sort(), 'no partial file left behind');
  for (const [p, bytes] of final) assert.ok(bytes.equals(want.get(p)!), p);
});

/** Names below `root` (files and folders), tolerant of a tree changing while it is read. */
function* readNames(root: string): Generator<string> {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(root, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    yield e.name;
    if (e.isDirectory()) yield* readNames(path.join(root, e.name));
  }
}
