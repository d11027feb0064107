/**
 * Copies on local disks through the CLI: refusals (exit 2: bad names, unknown copies, a foreign
 * polynomial naming both, host `coffer`), adopting a restic repository made with
 * `--copy-chunker-params`, `forget` never applying a policy to Coffer's records, `copies remove`
 * keeping the data (`--forget-keys` removing Coffer's key but never the last one).
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, test } from 'node:test';
import { resticBinaries, runRestic } from '../helpers/run.js';
import { requireTool } from '../rest/services.js';
import { copiesHarness, type CopiesHarness } from './harness.js';

let dir: string;
let env: NodeJS.ProcessEnv;
let coffer: CopiesHarness['coffer'];
let resticSnapshots: CopiesHarness['resticSnapshots'];

before(() => {
  ({ dir, env, coffer, resticSnapshots } = copiesHarness('coffer-copies-local-'));
});

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
  // remove keeps the data; --forget-keys removes Coffer's key, never the last one.
  assert.match((await coffer(['copies', 'remove', 'same', '--forget-keys'], 2)).stderr, /no key besides Coffer's/);
  fs.writeFileSync(path.join(dir, 'other-pw'), 'another password\n');
  assert.equal((await runRestic(latest, ['-r', same, 'key', 'add', '--new-password-file', path.join(dir, 'other-pw')], { env })).code, 0);
  await coffer(['copies', 'remove', 'same', '--forget-keys']);
  assert.ok(fs.existsSync(path.join(same, 'config')));
  assert.equal(fs.readdirSync(path.join(same, 'keys')).length, 1);
  assert.equal((await runRestic(latest, ['-r', same, 'cat', 'config'], { env })).code, 12, "Coffer's password no longer opens it");
  const other = await runRestic(latest, ['-r', same, 'snapshots', '--json'], { env: { ...env, RESTIC_PASSWORD: 'another password' } });
  assert.equal(other.code, 0, other.stderr);
  assert.equal((JSON.parse(other.stdout) as unknown[]).length >= 2, true, 'the data is all there');
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
