/**
 * Copies on real servers: a local copy, a REST copy on `coffer serve` (child process), a REST
 * copy on rclone's `serve restic` (with a password in the URL, and `--exclude-tag private`) and
 * an S3 copy on Ceph RGW. `copies add` creates them with the primary's polynomial; `sync` fills
 * them; the real restic checks every copy and restores from it; then `coffer serve` is stopped:
 * the next sync still fills the others, exits 1 naming the stopped copy, and status shows it
 * unreachable.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { tempDir } from '../helpers/paths.js';
import { resticBinaries, runCoffer, runRestic, testEnv, type ResticBinary } from '../helpers/run.js';
import { describeTree, diffTrees, makeSourceTree } from '../helpers/tree.js';
import { freePort, requireTool, serviceMissing, startService, type Service } from '../rest/services.js';
import { freshPrefix, startS3, type S3Server } from '../s3/ceph.js';
import { startServe, type ServeProcess } from '../serve/serve-process.js';

let dir: string;
let env: NodeJS.ProcessEnv;
let src: string;
let serve: ServeProcess | undefined;
let rclone: Service | undefined;
let s3: S3Server | undefined;
const urls: Record<string, string> = {};

before(async () => {
  dir = tempDir('coffer-copies-');
  src = path.join(dir, 'src');
  makeSourceTree(src);
  fs.mkdirSync(path.join(dir, 'private'));
  fs.writeFileSync(path.join(dir, 'private', 'diary.txt'), 'dear diary\n');
  env = testEnv({ HOME: dir, XDG_CONFIG_HOME: path.join(dir, 'cfg'), XDG_STATE_HOME: path.join(dir, 'state'), XDG_DATA_HOME: path.join(dir, 'data') });
});

after(async () => {
  await serve?.stop();
  rclone?.stop();
  s3?.stop();
});

async function ok(args: string[], what = args.join(' ')): Promise<string> {
  const r = await runCoffer(args, { env });
  assert.equal(r.code, 0, `${what}: ${r.stderr}`);
  return r.stdout;
}

function resticEnv(url: string): NodeJS.ProcessEnv {
  return { ...env, RESTIC_REPOSITORY: url, RESTIC_PASSWORD: 'test-password' };
}

test('local, coffer serve, rclone and S3 copies: sync, restic check and restore, a stopped server', { timeout: 170_000 }, async (t) => {
  const restics = resticBinaries();
  if (!requireTool(t, restics.length ? undefined : 'restic')) return;
  if (!requireTool(t, serviceMissing('rclone-restic-server'))) return;
  s3 = await startS3(t);
  if (!s3) return;
  Object.assign(env, { AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey, AWS_DEFAULT_REGION: s3.region });
  serve = await startServe(['--no-auth', '--path', path.join(dir, 'served')]);
  rclone = startService('rclone-restic-server', { RCLONE_RESTIC_PORT: String(await freePort()) });

  urls.usb = path.join(dir, 'usb');
  urls.home = `rest:${serve.url}/coffer/`;
  urls.cloud = `${rclone.env.RESTIC_REST_REPOSITORY!}copy-repo/`;
  urls.s3 = `s3:${s3.endpoint}/${s3.bucket}/${freshPrefix('copies')}`;
  assert.match(urls.cloud, /^rest:http:\/\/[^:]+:[^@]+@/, 'the rclone URL carries a password');

  await ok(['backup', src]);
  await ok(['backup', '--tag', 'private', path.join(dir, 'private')]);
  await ok(['copies', 'add', 'usb', urls.usb]);
  await ok(['copies', 'add', 'home', urls.home]);
  await ok(['copies', 'add', 'cloud', urls.cloud, '--exclude-tag', 'private']);
  await ok(['copies', 'add', 's3', urls.s3, '--option', 's3.bucket-lookup=path']);

  const list = JSON.parse(await ok(['copies', 'list', '--json'])) as Record<string, any>[];
  assert.deepEqual(list.map((c) => [c.name, c.kind]), [['usb', 'local'], ['home', 'rest'], ['cloud', 'rest'], ['s3', 's3']]);
  const cloud = list.find((c) => c.name === 'cloud')!;
  assert.doesNotMatch(cloud.url, /restic-test-password|:[^/:@*]+@/, 'the password is not shown');
  assert.match(cloud.url, /:\*\*\*@/);
  assert.deepEqual(cloud.policy, { excludeTags: ['private'], onlyTags: [] });
  assert.deepEqual(cloud.credentials, { env: [], inUrl: true });
  assert.deepEqual(list.find((c) => c.name === 's3')!.credentials.env, ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']);
  assert.ok(list.every((c) => c.chunkerPolynomial === list[0]!.chunkerPolynomial && /^0x[0-9a-f]+$/.test(c.chunkerPolynomial)), 'every copy has the primary polynomial');

  const sync = JSON.parse(await ok(['sync', '--json'])) as { ok: boolean; copies: Record<string, any>[] };
  assert.equal(sync.ok, true);
  const byName = Object.fromEntries(sync.copies.map((c) => [c.name, c]));
  // usb got each settings record when it was written; the two user snapshots come now.
  assert.equal(byName.usb.copied, 2);
  for (const c of sync.copies) {
    assert.equal(c.missing, 0, c.name);
    assert.ok(c.newPacks.length > 0 && c.newPacks.every((p: { size: number }) => p.size > 0), c.name);
  }

  const latest = restics.at(-1)!;
  const hostname = (await import('node:os')).hostname();
  for (const [name, url] of Object.entries(urls)) {
    const re = resticEnv(url);
    const check = await runRestic(latest, ['check', '--read-data'], { env: re });
    assert.equal(check.code, 0, `${latest.name} check of ${name}: ${check.stderr}`);
    const snaps = JSON.parse((await runRestic(latest, ['snapshots', '--json'], { env: re })).stdout) as { tags?: string[]; hostname: string }[];
    assert.equal(snaps.some((s) => s.tags?.includes('private')), name !== 'cloud', `${name}: private snapshot presence`);
    assert.ok(snaps.some((s) => s.hostname === 'coffer' && s.tags?.includes('coffer-settings')), `${name}: settings record present`);
    const target = path.join(dir, `restore-${name}`);
    const r = await runRestic(latest, ['restore', 'latest', '--host', hostname, '--path', src, '--target', target], { env: re });
    assert.equal(r.code, 0, `restore from ${name}: ${r.stderr}`);
    assert.deepEqual(diffTrees(describeTree(src), describeTree(path.join(target, src))), [], `restore from ${name}`);
  }
  // restic 0.14 too, on one copy over REST.
  if (restics.length > 1) {
    const old: ResticBinary = restics[0]!;
    const c = await runRestic(old, ['check'], { env: resticEnv(urls.home!) });
    assert.equal(c.code, 0, c.stderr);
  }
  // The copy's settings record names the copies, with the rclone password removed.
  const dump = await runRestic(latest, ['dump', 'latest', '--tag', 'coffer-settings', '/settings.json'], { env: resticEnv(urls.usb) });
  assert.equal(dump.code, 0, dump.stderr);
  const settings = JSON.parse(dump.stdout) as { copies: { name: string; url: string }[] };
  assert.deepEqual(settings.copies.map((c) => c.name), ['usb', 'home', 'cloud', 's3']);
  assert.doesNotMatch(dump.stdout, new RegExp(rclone.env.RESTIC_REST_PASSWORD ?? 'restic-test-password'));

  // A second sync moves nothing.
  const again = JSON.parse(await ok(['sync', '--json'])) as { copies: { copied: number; newPacks: unknown[] }[] };
  assert.ok(again.copies.every((c) => c.copied === 0 && c.newPacks.length === 0));

  // Stop coffer serve: the others still sync, exit 1 names "home", status says unreachable.
  assert.equal(await serve.stop(), 0);
  serve = undefined;
  fs.writeFileSync(path.join(src, 'new.txt'), 'after the server stopped\n');
  await ok(['backup', src]);
  const t0 = Date.now();
  const failed = await runCoffer(['sync', '--json'], { env });
  assert.equal(failed.code, 1, failed.stderr);
  assert.ok(Date.now() - t0 < 15_000, 'a down copy does not hold the sync for long');
  assert.match(failed.stderr, /^coffer: sync failed for copy home: unreachable/m);
  assert.doesNotMatch(failed.stderr, /copy (usb|cloud|s3)/);
  const out = JSON.parse(failed.stdout) as { copies: { name: string; ok: boolean; copied: number }[] };
  for (const c of out.copies) assert.deepEqual([c.name, c.ok, c.copied], c.name === 'home' ? ['home', false, 0] : [c.name, true, 1]);

  const st = await runCoffer(['status', '--json'], { env });
  assert.equal(st.code, 1, st.stderr);
  assert.ok(st.stdout.trim(), `status printed no JSON: ${st.stderr}`);
  const report = JSON.parse(st.stdout) as { verdict: string; reasons: { code: string; copy?: string }[]; copies: { name: string; reachable: boolean; snapshotsMissing?: number }[] };
  assert.equal(report.verdict, 'unsafe');
  assert.deepEqual(report.reasons[0], { ...report.reasons[0], code: 'unreachable', copy: 'home' }, 'the most urgent reason first');
  for (const c of report.copies) {
    assert.equal(c.reachable, c.name !== 'home', c.name);
    if (c.reachable) assert.equal(c.snapshotsMissing, 0, c.name);
  }
  assert.ok(!report.reasons.some((r) => r.code === 'snapshots-missing'), 'the reachable copies are current');
  // --offline answers from the cache, fast, with the same verdict.
  const t1 = Date.now();
  const off = await runCoffer(['status', '--json', '--offline'], { env });
  assert.ok(Date.now() - t1 < 3000);
  assert.equal(off.code, 1);
  assert.equal((JSON.parse(off.stdout) as { offline: boolean }).offline, true);
});
