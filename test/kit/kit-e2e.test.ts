/**
 * The promise, end to end through the CLI: back up; copies in a local folder, behind
 * `coffer serve` (REST) and, where an S3 server is available (CI starts Ceph RGW), on S3; a
 * secret; print a kit (and a 2-of-3 split kit); then the home folder, config and primary are
 * destroyed. In a brand-new home with no password: `drill --kit KIT --all --full` passes; both
 * restics restore every copy with the key read from the kit; the secret comes back from one
 * copy; `recover` rebuilds a primary. Then each failure makes the drill fail naming the copy:
 * a deleted pack (missing-pack), the kit's key removed (key-rejected); a one-character typo is
 * refused with exit 2 before any connection; every pair of shares rebuilds a working key and one
 * share alone is refused.
 */
import { strict as assert } from 'node:assert';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { renderKitText, keySha8 } from '../../src/core/kit/kit-text.js';
import { generateRecoveryKey } from '../../src/core/kit/recovery-key.js';
import { openAegisVault, parseAegisFile } from '../../src/core/otp/aegis.js';
import { nodePlatform } from '../../src/node/platform.js';
import { tempDir } from '../helpers/paths.js';
import { resticBinaries, runCoffer, runRestic, testEnv } from '../helpers/run.js';
import { describeTree, diffTrees, prng } from '../helpers/tree.js';
import { freshPrefix, startS3, type S3Server } from '../s3/ceph.js';
import { startServe, type ServeProcess } from '../serve/serve-process.js';

const restics = resticBinaries();
const sha256 = (d: Uint8Array) => new Uint8Array(createHash('sha256').update(d).digest());

function homeEnv(home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return testEnv({
    HOME: home,
    XDG_CONFIG_HOME: path.join(home, '.config'),
    XDG_DATA_HOME: path.join(home, '.local', 'share'),
    XDG_STATE_HOME: path.join(home, '.local', 'state'),
    XDG_CACHE_HOME: path.join(home, '.cache'),
    ...extra,
  });
}

/** A stranger: a new home, no password anywhere. */
function strangerEnv(home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = homeEnv(home);
  delete env.COFFER_PASSWORD;
  delete env.RESTIC_PASSWORD;
  return { ...env, ...extra };
}

function line(kitText: string, key: string): string {
  const m = new RegExp(`^${key.replace(/\./g, '\\.')}: (.*)$`, 'm').exec(kitText);
  assert.ok(m, `kit line ${key}`);
  return m[1]!;
}

function noStack(stderr: string): void {
  assert.doesNotMatch(stderr, /^\s+at /m, stderr);
}

describe('recovery kit end to end', { timeout: 600_000 }, () => {
  const dir = tempDir('coffer-kit-e2e-');
  const src = path.join(dir, 'src');
  const home1 = path.join(dir, 'home1');
  const home2 = path.join(dir, 'home2');
  const kitFile = path.join(dir, 'kit.txt');
  const splitFile = path.join(dir, 'split.html');
  const localCopy = path.join(dir, 'usb');
  const restDir = path.join(dir, 'rest');
  const home3 = path.join(dir, 'home3');
  const secret = Buffer.from(`BitLocker recovery key: 123456-654321-${randomBytes(10).toString('hex')}\n`);
  let serve: ServeProcess | undefined;
  let s3: S3Server | undefined;
  let s3Env: Record<string, string> = {};
  let kitText = '';
  const copies: { name: string; url: string }[] = [];

  before(async (t) => {
    fs.mkdirSync(path.join(src, 'docs', 'deep'), { recursive: true });
    fs.writeFileSync(path.join(src, 'docs', 'a.txt'), 'hello kit\n');
    fs.writeFileSync(path.join(src, 'docs', 'deep', 'big.bin'), prng('kit-big', 3 * 1024 * 1024 + 17));
    fs.writeFileSync(path.join(src, 'photo.jpg'), prng('kit-photo', 700_000));
    fs.writeFileSync(path.join(src, 'empty'), '');
    fs.symlinkSync('docs/a.txt', path.join(src, 'link'));
    if (process.env.S3_ENDPOINT || process.env.CI) {
      s3 = await startS3(t as never);
      if (s3) s3Env = { AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey, AWS_DEFAULT_REGION: s3.region };
    }
    serve = await startServe(['--path', restDir, '--no-auth']);
  });
  after(async () => {
    await serve?.stop();
    s3?.stop();
  });

  it('backs up, adds copies and a secret, prints a kit and a split kit', async () => {
    const env = homeEnv(home1, s3Env);
    const run = async (args: string[], input?: string) => {
      const t0 = Date.now();
      const r = await runCoffer(args, { env, ...(input !== undefined ? { input } : {}) });
      if (process.env.KIT_TIMING) console.error(`${Date.now() - t0} ms: coffer ${args.join(' ')}`);
      assert.equal(r.code, 0, `coffer ${args.join(' ')}: ${r.stderr}`);
      return r;
    };
    await run(['init']);
    await run(['backup', src]);
    copies.push({ name: 'usb', url: localCopy });
    copies.push({ name: 'home', url: `rest:${serve!.url}/coffer/` });
    if (s3) copies.push({ name: 's3', url: `s3:${s3.endpoint}/${s3.bucket}/${freshPrefix('kit')}` });
    for (const c of copies) {
      await run(['copies', 'add', c.name, c.url, ...(c.name === 's3' ? ['--credentials-env', 'AWS_ACCESS_KEY_ID,AWS_SECRET_ACCESS_KEY', '--option', `s3.region=${s3!.region}`] : [])]);
    }
    await run(['secret', 'add', 'bitlocker-laptop', '--stdin'], secret.toString('utf8'));
    await run(['otp', 'add', 'otpauth://totp/Example:alice?secret=JBSWY3DPEHPK3PXP&issuer=Example']);
    await run(['sync']);
    await run(['kit', '--split', '2of3', '--print-secrets', '--output', splitFile]); // html from the extension
    await run(['kit', '--output', kitFile]);
    kitText = fs.readFileSync(kitFile, 'utf8');
    const cur = await runCoffer(['kit', '--retire', line(kitText, 'Kit-ID')], { env });
    assert.equal(cur.code, 2, cur.stderr); // the current kit cannot be retired
    assert.match(line(kitText, 'Recovery-Key'), /^[0-7][0-9A-Z]{3}(-[0-9A-Z]{4}){7}$/);
    assert.equal(line(kitText, 'Copies'), String(copies.length));
    assert.equal(line(kitText, 'Secret.1'), `bitlocker-laptop (${secret.length} bytes)`);
    if (s3) assert.equal(line(kitText, 'Copy.3.Needs-Env'), 'AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY');
    const config = JSON.parse(fs.readFileSync(path.join(home1, '.config', 'coffer', 'config.json'), 'utf8'));
    assert.equal(config.kit.id, line(kitText, 'Kit-ID'));
    assert.equal(config.kit.copies.usb.keyId, line(kitText, 'Copy.1.Key-ID'));
    assert.doesNotMatch(fs.readFileSync(path.join(home1, '.config', 'coffer', 'config.json'), 'utf8'), new RegExp(line(kitText, 'Recovery-Key')));
    const split = fs.readFileSync(splitFile, 'utf8');
    assert.match(split, /^<!DOCTYPE html>/);
    assert.equal(split.match(/<svg /g)?.length, 3); // a QR code per share page
    assert.equal(line(split, 'Secret.1.Value-Base64'), secret.toString('base64'));
    assert.doesNotMatch(split, /^Recovery-Key:/m);
    assert.equal(split.match(/^Share\.\d: /gm)?.length, 3);
    for (const n of [1, 2, 3]) assert.equal(fs.readFileSync(`${splitFile}.share${n}`, 'utf8').match(/^Share\.\d: /gm)?.length, 1);
    // The primary and home are lost.
    fs.rmSync(home1, { recursive: true, force: true });
  });

  it('in a new home with only the kit, drill --all --full passes for every copy and records it', async () => {
    const r = await runCoffer(['drill', '--kit', kitFile, '--all', '--full', '--json'], { env: strangerEnv(home2, s3Env) });
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.deepEqual(Object.keys(report), ['kitId', 'startedAt', 'mode', 'sample', 'seed', 'verdict', 'copies']);
    assert.equal(report.verdict, 'pass');
    assert.equal(report.mode, 'full');
    assert.deepEqual(report.copies.map((c: { name: string }) => c.name), copies.map((c) => c.name));
    for (const c of report.copies) {
      assert.deepEqual(Object.keys(c), ['name', 'url', 'verdict', 'reason', 'failures', 'reachable', 'openMs', 'firstFileMs', 'restoreMs', 'snapshots', 'newestSnapshot', 'snapshotRestored', 'filesVerified', 'bytesVerified', 'packsChecked', 'recorded']);
      assert.equal(c.verdict, 'pass', JSON.stringify(c));
      assert.equal(c.reachable, true);
      assert.equal(c.snapshots, 1);
      assert.ok(c.filesVerified >= 4 + 2, `${c.name}: ${c.filesVerified} files`); // 4 user files + settings + secrets records
      assert.ok(c.bytesVerified >= 3 * 1024 * 1024 + 700_000, `${c.name}: ${c.bytesVerified}`);
      assert.equal(c.recorded, true);
    }
    // The result is inside the copy: restic reads it.
    const key = line(kitText, 'Recovery-Key');
    const dump = await runRestic(restics[0]!, ['-r', localCopy, 'dump', 'latest', '--tag', 'coffer-drill', '/drill.json'], { env: strangerEnv(home2, { RESTIC_PASSWORD: key }) });
    assert.equal(dump.code, 0, dump.stderr);
    assert.equal(JSON.parse(dump.stdout).copies[0].name, 'usb');
    // A sampled drill of one copy.
    const s = await runCoffer(['drill', '--kit', kitFile, '--copy', 'home', '--sample', '2', '--json', '--no-record'], { env: strangerEnv(home2) });
    assert.equal(s.code, 0, s.stderr);
    const sr = JSON.parse(s.stdout);
    assert.equal(sr.mode, 'sample');
    assert.match(sr.seed, /^[0-9a-f]+$/);
    assert.equal(sr.copies[0].recorded, false);
    assert.ok(sr.copies[0].filesVerified >= 2 + 2);
  });

  for (const restic of restics) {
    it(`${restic.name} restores every copy with the key read from the kit`, async () => {
      const key = line(kitText, 'Recovery-Key');
      for (const c of copies) {
        const url = c.url.replace(/^s3:/, 's3:');
        const target = path.join(dir, `restore-${restic.name}-${c.name}`);
        const env = strangerEnv(home2, { ...s3Env, RESTIC_PASSWORD: key, RESTIC_CACHE_DIR: path.join(home2, 'restic-cache') });
        const r = await runRestic(restic, ['-r', url, 'restore', 'latest', '--host', (await import('node:os')).hostname(), '--target', target], { env });
        assert.equal(r.code, 0, `${c.name}: ${r.stderr}`);
        assert.deepEqual(diffTrees(describeTree(src), describeTree(path.join(target, src))), [], c.name);
        const keys = await runRestic(restic, ['-r', url, 'key', 'list', '--json'], { env });
        assert.ok(keys.stdout.includes('coffer-kit-' + line(kitText, 'Kit-ID')), keys.stdout);
      }
    });
  }

  it('the secret comes back from one copy; copies and settings too (recover)', async () => {
    const env = strangerEnv(home2, s3Env);
    const r = await runCoffer(['secret', 'show', 'bitlocker-laptop', '--kit', kitFile, '--copy', 'home'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdoutBytes, secret);
    const l = await runCoffer(['secret', 'list', '--json', '--kit', kitFile, '--copy', 'usb'], { env });
    assert.equal(l.code, 0, l.stderr);
    assert.deepEqual(JSON.parse(l.stdout).map((s: { name: string; size: number }) => [s.name, s.size]), [['bitlocker-laptop', secret.length]]);
    // The copy list, from that copy alone (copies list reads the settings record with the kit).
    const cl = await runCoffer(['copies', 'list', '--kit', kitFile, '--copy', 'home', '--json'], { env });
    assert.equal(cl.code, 0, cl.stderr);
    assert.deepEqual(JSON.parse(cl.stdout).map((c: { name: string }) => c.name), copies.map((c) => c.name));
    // The OTP vault, read with plain restic from one copy, opens with the recovery key.
    const key = line(kitText, 'Recovery-Key');
    const dump = await runRestic(restics[0]!, ['-r', localCopy, 'dump', 'latest', '--tag', 'coffer-otp', '/vault.json'], { env: strangerEnv(home2, { RESTIC_PASSWORD: key }) });
    assert.equal(dump.code, 0, dump.stderr);
    const platform = await nodePlatform();
    const vault = await openAegisVault(parseAegisFile(dump.stdout, 'vault'), key, platform.crypto, 'vault');
    assert.match(JSON.stringify(vault.db), /JBSWY3DPEHPK3PXP/);
    // recover: a new primary and config from the local copy, with a new password.
    const env3 = homeEnv(home3, { ...s3Env, COFFER_PASSWORD: 'new-password' });
    const rec = await runCoffer(['recover', '--kit', kitFile, '--copy', 'usb'], { env: env3 });
    assert.equal(rec.code, 0, rec.stderr);
    const config = JSON.parse(fs.readFileSync(path.join(home3, '.config', 'coffer', 'config.json'), 'utf8'));
    assert.deepEqual(config.copies.map((c: { name: string }) => c.name), copies.map((c) => c.name));
    assert.equal(config.copies[1].url, copies[1]!.url);
    const snaps = await runCoffer(['snapshots', '--json', '--host', (await import('node:os')).hostname()], { env: env3 });
    assert.equal(snaps.code, 0, snaps.stderr);
    assert.equal(JSON.parse(snaps.stdout).length, 1);
    const shown = await runCoffer(['secret', 'show', 'bitlocker-laptop'], { env: env3 });
    assert.deepEqual(shown.stdoutBytes, secret);
    // Every copy got a fresh settings record naming the new primary.
    const newId = JSON.parse((await runCoffer(['cat', 'config'], { env: env3 })).stdout).id;
    const st = await runRestic(restics[0]!, ['-r', localCopy, 'dump', 'latest', '--tag', 'coffer-settings', '/settings.json'], { env: strangerEnv(home3, { RESTIC_PASSWORD: 'new-password' }) });
    assert.equal(st.code, 0, st.stderr);
    assert.equal(JSON.parse(st.stdout).primary.repositoryId, newId);
    const otp = await runCoffer(['otp', 'list'], { env: env3 });
    assert.equal(otp.code, 0, otp.stderr);
    assert.match(otp.stdout, /alice/);
    // The new password opens the REST copy with plain restic.
    const k = await runRestic(restics[0]!, ['-r', copies[1]!.url, 'snapshots', '--json'], { env: strangerEnv(home3, { RESTIC_PASSWORD: 'new-password' }) });
    assert.equal(k.code, 0, k.stderr);
  });

  it('two of three shares rebuild a key that opens a copy; one share is refused; kit --retire', async () => {
    const env = strangerEnv(home2);
    const shares = [1, 2, 3].map((n) => `${splitFile}.share${n}`);
    let firstKey = '';
    for (const [a, b] of [[0, 1], [0, 2], [1, 2]] as const) {
      const r = await runCoffer(['kit', '--join', shares[a]!, shares[b]!], { env });
      assert.equal(r.code, 0, r.stderr);
      const key = line(r.stdout, 'Recovery-Key');
      if (firstKey) assert.equal(key, firstKey);
      firstKey = key;
      const o = await runRestic(restics[0]!, ['-r', localCopy, 'cat', 'config'], { env: strangerEnv(home2, { RESTIC_PASSWORD: key }) });
      assert.equal(o.code, 0, o.stderr);
    }
    const one = await runCoffer(['kit', '--join', shares[2]!], { env });
    assert.equal(one.code, 2);
    assert.match(one.stderr, /^coffer: need 2 shares, got 1$/m);
    noStack(one.stderr);
    // The split kit retired (from the recovered config): its key opens nothing any more.
    const splitId = line(fs.readFileSync(splitFile, 'utf8'), 'Kit-ID');
    const retire = await runCoffer(['kit', '--retire', splitId], { env: homeEnv(home3, { COFFER_PASSWORD: 'new-password' }) });
    assert.equal(retire.code, 0, retire.stderr);
    assert.match(retire.stderr, /^usb: removed key /m);
    const gone = await runRestic(restics[0]!, ['-r', localCopy, 'cat', 'config'], { env: strangerEnv(home2, { RESTIC_PASSWORD: firstKey }) });
    assert.notEqual(gone.code, 0);
  });

  it('a one-character typo in the key is refused with exit 2, a clear message and no connection', async () => {
    let connections = 0;
    const server = net.createServer((s) => {
      connections++;
      s.destroy();
    });
    await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
    try {
      const port = (server.address() as net.AddressInfo).port;
      const { key } = generateRecoveryKey((n) => new Uint8Array(randomBytes(n)));
      const text = renderKitText({ id: 'abcdef012345', created: '2026-11-28T00:00:00Z', recoveryKey: key, keySha8: keySha8(key, sha256), split: 'none', shares: new Map(), copies: [{ name: 'trap', url: `rest:http://127.0.0.1:${port}/`, repositoryId: '', keyId: '', options: [], needsEnv: [], needs: [] }], secrets: [] }, sha256);
      const i = 21; // group 5
      const typo = key.slice(0, i) + (key[i] === 'Q' ? 'R' : 'Q') + key.slice(i + 1);
      const bad = path.join(dir, 'typo-kit.txt');
      fs.writeFileSync(bad, text.replace(key, typo));
      for (const args of [['drill', '--kit', bad, '--all'], ['secret', 'show', 'x', '--kit', bad, '--copy', 'trap'], ['kit', '--verify', bad]]) {
        const r = await runCoffer(args, { env: strangerEnv(home2) });
        assert.equal(r.code, 2, `${args[0]}: ${r.stderr}`);
        assert.match(r.stderr, /^coffer: recovery key checksum mismatch: a character is mistyped \(nothing was contacted\); look at group 5 of 8$/m);
        noStack(r.stderr);
      }
      // The real kit with its key changed by one character: the same.
      const k = line(kitText, 'Recovery-Key');
      const typoReal = path.join(dir, 'typo-real.txt');
      fs.writeFileSync(typoReal, kitText.replace(k, k.slice(0, 2) + (k[2] === '7' ? '8' : '7') + k.slice(3)));
      const r = await runCoffer(['drill', '--kit', typoReal, '--all'], { env: strangerEnv(home2) });
      assert.equal(r.code, 2);
      assert.match(r.stderr, /^coffer: recovery key checksum mismatch.*group 1 of 8$/m);
      // A damaged kit (a URL edited) is refused too.
      const edited = path.join(dir, 'edited.txt');
      fs.writeFileSync(edited, kitText.replace(`Copy.1.URL: ${localCopy}`, `Copy.1.URL: ${localCopy}x`));
      const e = await runCoffer(['drill', '--kit', edited, '--all'], { env: strangerEnv(home2) });
      assert.equal(e.code, 2);
      assert.match(e.stderr, /^coffer: kit: Kit-Sum mismatch/m);
      const unknown = await runCoffer(['drill', '--kit', kitFile, '--copy', 'nope'], { env: strangerEnv(home2) });
      assert.equal(unknown.code, 2);
      assert.match(unknown.stderr, /^coffer: the kit names no copy "nope"/m);
      assert.equal(connections, 0);
    } finally {
      server.close();
    }
  });

  it('a deleted pack and a removed kit key make the drill fail, naming the copy', async () => {
    const env = strangerEnv(home2, s3Env);
    // Delete one pack of the local copy.
    const dataDir = path.join(localCopy, 'data');
    const packs = fs.readdirSync(dataDir).flatMap((d) => fs.readdirSync(path.join(dataDir, d)).map((f) => path.join(dataDir, d, f)));
    const biggest = packs.sort((a, b) => fs.statSync(b).size - fs.statSync(a).size)[0]!;
    fs.rmSync(biggest);
    // Remove the kit's key from the REST copy.
    const keyId = line(kitText, 'Copy.2.Key-ID');
    fs.rmSync(path.join(restDir, 'coffer', 'keys', keyId));
    const r = await runCoffer(['drill', '--kit', kitFile, '--all', '--sample', '3', '--json'], { env });
    assert.equal(r.code, 1, r.stderr);
    noStack(r.stderr);
    const report = JSON.parse(r.stdout);
    assert.equal(report.verdict, 'fail');
    const by = Object.fromEntries(report.copies.map((c: { name: string }) => [c.name, c]));
    assert.equal(by.usb.verdict, 'fail');
    assert.equal(by.usb.reason, 'missing-pack');
    assert.ok(by.usb.failures[0].detail.includes(path.basename(biggest)), by.usb.failures[0].detail);
    assert.equal(by.home.verdict, 'fail');
    assert.equal(by.home.reason, 'key-rejected');
    if (s3) assert.equal(by.s3.verdict, 'pass');
    assert.match(r.stderr, /^coffer: drill failed for copy usb: missing-pack: data\//m);
    assert.match(r.stderr, /^coffer: drill failed for copy home: key-rejected: /m);
    if (s3) {
      // Expired or wrong storage credentials: unreachable, with the store's answer.
      const bad = await runCoffer(['drill', '--kit', kitFile, '--copy', 's3', '--json', '--no-record'], { env: strangerEnv(home2, { ...s3Env, AWS_SECRET_ACCESS_KEY: 'wrong-secret' }) });
      assert.equal(bad.code, 1, bad.stderr);
      const c = JSON.parse(bad.stdout).copies[0];
      assert.equal(c.reason, 'unreachable');
      assert.equal(c.reachable, false);
      assert.match(c.failures[0].detail, /403|SignatureDoesNotMatch|denied/i);
      assert.match(bad.stderr, /^coffer: drill failed for copy s3: unreachable: /m);
    }
    // kit --verify says the same about the key.
    const v = await runCoffer(['kit', '--verify', kitFile], { env });
    assert.equal(v.code, 1, v.stderr);
    assert.match(v.stderr, /^coffer: kit check failed for copy home: /m);
    assert.match(v.stderr, /^usb: opens with the kit's key$/m);
  });
});
