/**
 * Copies on local disks through the CLI: refusals (exit 2: bad names, unknown copies, a foreign
 * polynomial naming both, host `coffer`), adopting a restic repository made with
 * `--copy-chunker-params`, `forget` never applying a policy to Coffer's records, `copies remove`
 * keeping the data, and a sync killed midway that the next sync completes without duplicates.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, test } from 'node:test';
import { ROOT, tempDir } from '../helpers/paths.js';
import { resticBinaries, runCoffer, runRestic, testEnv } from '../helpers/run.js';
import { prng } from '../helpers/tree.js';
import { requireTool } from '../rest/services.js';

let dir: string;
let env: NodeJS.ProcessEnv;

before(() => {
  dir = tempDir('coffer-copies-local-');
  env = testEnv({ HOME: dir, XDG_CONFIG_HOME: path.join(dir, 'cfg'), XDG_STATE_HOME: path.join(dir, 'state'), XDG_DATA_HOME: path.join(dir, 'data') });
  fs.mkdirSync(path.join(dir, 'src'));
  fs.writeFileSync(path.join(dir, 'src', 'a.txt'), 'a\n');
});

async function coffer(args: string[], code = 0): Promise<{ stdout: string; stderr: string }> {
  const r = await runCoffer(args, { env });
  assert.equal(r.code, code, `coffer ${args.join(' ')} → ${r.code}: ${r.stderr}`);
  return r;
}

async function resticSnapshots(repo: string): Promise<{ id: string; hostname: string; tags?: string[]; original?: string }[]> {
  const latest = resticBinaries().at(-1)!;
  const r = await runRestic(latest, ['-r', repo, 'snapshots', '--json'], { env });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

test('refusals are exit 2 with one line, before any work', async () => {
  const noConfig = await coffer(['status'], 2);
  assert.match(noConfig.stderr, /no Coffer config/);
  await coffer(['backup', path.join(dir, 'src')]);
  assert.match((await coffer(['copies', 'add', 'primary', path.join(dir, 'x')], 2)).stderr, /reserved/);
  assert.match((await coffer(['copies', 'add', 'Bad Name', path.join(dir, 'x')], 2)).stderr, /invalid copy name/);
  assert.match((await coffer(['copies', 'add', 'x', 'ftp://host/x'], 2)).stderr, /not supported/);
  assert.match((await coffer(['backup', '--host', 'coffer', path.join(dir, 'src')], 2)).stderr, /reserved/);
  await coffer(['copies', 'add', 'usb', path.join(dir, 'usb')]);
  assert.match((await coffer(['sync', 'nope'], 2)).stderr, /unknown copy "nope"/);
  assert.match((await coffer(['copies', 'remove', 'nope'], 2)).stderr, /unknown copy "nope"/);
  assert.match((await coffer(['copies', 'add', 'usb', path.join(dir, 'other')], 2)).stderr, /already exists/);
  for (const s of [noConfig.stderr]) assert.doesNotMatch(s, /\n\s+at /, 'no stack trace');
});

test('adopting: a foreign polynomial is refused naming both; --copy-chunker-params is adopted', async (t) => {
  const restics = resticBinaries();
  if (!requireTool(t, restics.length ? undefined : 'restic')) return;
  const latest = restics.at(-1)!;
  const foreign = path.join(dir, 'foreign');
  assert.equal((await runRestic(latest, ['-r', foreign, 'init'], { env })).code, 0);
  const r = await coffer(['copies', 'add', 'foreign', foreign], 2);
  const polys = [...r.stderr.matchAll(/0x[0-9a-f]+/g)].map((m) => m[0]);
  assert.equal(polys.length, 2, r.stderr);
  assert.notEqual(polys[0], polys[1]);
  const list = JSON.parse((await coffer(['copies', 'list', '--json'])).stdout) as { name: string; chunkerPolynomial: string }[];
  assert.equal(polys[1], list[0]!.chunkerPolynomial, 'the second one is the primary\'s');
  assert.ok(!list.some((c) => c.name === 'foreign'));

  const same = path.join(dir, 'same');
  const init = await runRestic(latest, ['-r', same, 'init', '--from-repo', path.join(dir, 'data', 'coffer', 'repo'), '--copy-chunker-params'], { env: { ...env, RESTIC_FROM_PASSWORD: 'test-password' } });
  assert.equal(init.code, 0, init.stderr);
  const added = await coffer(['copies', 'add', 'same', same, '--json']);
  assert.equal((JSON.parse(added.stdout) as { chunkerPolynomial: string }).chunkerPolynomial, list[0]!.chunkerPolynomial);
  await coffer(['sync']);
  const snaps = await resticSnapshots(same);
  assert.equal(snaps.filter((s) => s.hostname !== 'coffer').length, 1);
  // remove keeps the data; the primary's newest settings record no longer names it.
  await coffer(['copies', 'remove', 'same']);
  assert.ok(fs.existsSync(path.join(same, 'config')));
  assert.deepEqual((JSON.parse((await coffer(['copies', 'list', '--json'])).stdout) as { name: string }[]).map((c) => c.name), ['usb']);
  const dump = await runRestic(latest, ['-r', path.join(dir, 'data', 'coffer', 'repo'), 'dump', 'latest', '--tag', 'coffer-settings', '/settings.json'], { env });
  assert.deepEqual((JSON.parse(dump.stdout) as { copies: { name: string }[] }).copies.map((c) => c.name), ['usb']);
});

test('forget --keep-last 1 keeps every record; the same policy in plain restic would not', async (t) => {
  const restics = resticBinaries();
  if (!requireTool(t, restics.length ? undefined : 'restic')) return;
  await coffer(['backup', path.join(dir, 'src')]);
  const primary = path.join(dir, 'data', 'coffer', 'repo');
  const before = await resticSnapshots(primary);
  const records = before.filter((s) => s.hostname === 'coffer');
  assert.ok(records.length >= 3, 'several settings records');
  await coffer(['forget', '--keep-last', '1', '--group-by', '']);
  const after = await resticSnapshots(primary);
  assert.deepEqual(after.filter((s) => s.hostname === 'coffer').map((s) => s.id).sort(), records.map((s) => s.id).sort());
  assert.equal(after.filter((s) => s.hostname !== 'coffer').length, 1);
});

test('a sync killed midway is completed by the next one, without duplicates', { timeout: 60_000 }, async (t) => {
  const restics = resticBinaries();
  if (!requireTool(t, restics.length ? undefined : 'restic')) return;
  const big = path.join(dir, 'big');
  fs.mkdirSync(big);
  for (let i = 0; i < 6; i++) fs.writeFileSync(path.join(big, `f${i}.bin`), prng(`copies-${i}`, 6 * 1024 * 1024));
  await coffer(['backup', big]);
  await coffer(['backup', path.join(dir, 'src'), '--tag', 'second']);
  const usb = path.join(dir, 'usb');
  // Kill when the first new pack has landed in the copy.
  const packsBefore = countPacks(usb);
  const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'coffer.js'), 'sync', 'usb'], { env, stdio: 'ignore' });
  const exited = new Promise<number | null>((r) => child.on('exit', (c, s) => r(s ? 137 : c)));
  const deadline = Date.now() + 30_000;
  while (countPacks(usb) === packsBefore && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  child.kill('SIGKILL');
  assert.equal(await exited, 137, 'the sync was killed before it finished');
  const mid = await resticSnapshots(usb);
  const done = await coffer(['sync', 'usb', '--json']);
  const res = JSON.parse(done.stdout) as { ok: boolean; copies: { missing: number; copied: number }[] };
  assert.equal(res.ok, true);
  assert.equal(res.copies[0]!.missing, 0);
  const end = await resticSnapshots(usb);
  const originals = end.map((s) => s.original ?? s.id);
  assert.equal(new Set(originals).size, originals.length, 'no snapshot copied twice');
  assert.equal(end.length, mid.length + res.copies[0]!.copied);
  const primary = (await resticSnapshots(path.join(dir, 'data', 'coffer', 'repo'))).filter((s) => !(s.tags ?? []).includes('coffer-drill'));
  for (const s of primary) assert.ok(originals.includes(s.id), `snapshot ${s.id} of the primary is in the copy`);
  const latest = restics.at(-1)!;
  // The killed sync's lock stays until someone removes stale locks (as after any crash).
  assert.equal((await runRestic(latest, ['-r', usb, 'unlock'], { env })).code, 0);
  const check = await runRestic(latest, ['-r', usb, 'check', '--read-data'], { env });
  assert.equal(check.code, 0, check.stdout + check.stderr);
  const r = await runRestic(latest, ['-r', usb, 'restore', 'latest', '--path', big, '--target', path.join(dir, 'restored')], { env });
  assert.equal(r.code, 0, r.stderr);
  for (let i = 0; i < 6; i++) assert.ok(fs.readFileSync(path.join(dir, 'restored', big, `f${i}.bin`)).equals(prng(`copies-${i}`, 6 * 1024 * 1024)));
});

function countPacks(repo: string): number {
  let n = 0;
  const d = path.join(repo, 'data');
  for (const sub of fs.existsSync(d) ? fs.readdirSync(d) : []) n += fs.readdirSync(path.join(d, sub)).filter((f) => !f.includes('.') && !f.startsWith('tmp')).length;
  return n;
}
