/**
 * A sync killed with SIGKILL once its first pack has landed in the copy: the next sync completes
 * it, no snapshot is copied twice, and the real restic checks (--read-data) and restores the copy.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, test } from 'node:test';
import { ROOT } from '../helpers/paths.js';
import { resticBinaries, runRestic } from '../helpers/run.js';
import { prng } from '../helpers/tree.js';
import { requireTool } from '../rest/services.js';
import { copiesHarness, type CopiesHarness } from './harness.js';

let dir: string;
let env: NodeJS.ProcessEnv;
let coffer: CopiesHarness['coffer'];
let resticSnapshots: CopiesHarness['resticSnapshots'];

before(() => {
  ({ dir, env, coffer, resticSnapshots } = copiesHarness('coffer-sync-kill-'));
});

test('a sync killed midway is completed by the next one, without duplicates', { timeout: 60_000 }, async (t) => {
  const restics = resticBinaries();
  if (!requireTool(t, restics.length ? undefined : 'restic')) return;
  const big = path.join(dir, 'big');
  fs.mkdirSync(big);
  for (let i = 0; i < 4; i++) fs.writeFileSync(path.join(big, `f${i}.bin`), prng(`copies-${i}`, 4 * 1024 * 1024));
  await coffer(['backup', path.join(dir, 'src')]);
  await coffer(['copies', 'add', 'usb', path.join(dir, 'usb')]);
  await coffer(['sync']);
  await coffer(['backup', big]);
  await coffer(['backup', path.join(dir, 'src'), '--tag', 'second']);
  const usb = path.join(dir, 'usb');
  // Kill when the first new pack has landed in the copy.
  const packsBefore = countPacks(usb);
  // Small packs, so the first lands early and the kill falls mid-sync.
  const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'coffer.js'), 'sync', 'usb', '--pack-size', '4'], { env, stdio: 'ignore' });
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
  for (let i = 0; i < 4; i++) assert.ok(fs.readFileSync(path.join(dir, 'restored', big, `f${i}.bin`)).equals(prng(`copies-${i}`, 4 * 1024 * 1024)));
});

function countPacks(repo: string): number {
  let n = 0;
  const d = path.join(repo, 'data');
  for (const sub of fs.existsSync(d) ? fs.readdirSync(d) : []) n += fs.readdirSync(path.join(d, sub)).filter((f) => !f.includes('.') && !f.startsWith('tmp')).length;
  return n;
}
