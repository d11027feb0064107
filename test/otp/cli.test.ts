/**
 * `coffer otp` end to end on a real repository: imports of every vector format and of QR images
 * (PNG and JPEG made here with qrcode-generator), codes, HOTP counters, the vault as restic
 * sees it (`restic dump latest --tag coffer-otp /vault.json` opens with the repository password
 * in an independent reader), exports, and refusals: wrong import password (exit 12, vault
 * unchanged), malformed inputs (non-zero, one line, no stack trace), secrets never listed.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import jpeg from 'jpeg-js';
import jsQRModule from 'jsqr';
import pngjs from 'pngjs';
import qrcode from 'qrcode-generator';
import { parseJson, stringifyJson, type JsonObject } from '../../src/core/otp/json.js';
import { tempDir, VECTORS, readVector } from '../helpers/paths.js';
import { resticBinaries, runCoffer, runRestic, testEnv, type RunResult } from '../helpers/run.js';
import { independentDecrypt, vaultHeader } from './independent.js';

const DIR = path.join(VECTORS, 'otp');
const expected = readVector('otp/expected.json');
const jsQR = ((jsQRModule as unknown as { default?: typeof jsQRModule }).default ?? jsQRModule) as unknown as (d: Uint8ClampedArray, w: number, h: number) => { data: string } | null;
const ALL_SECRETS: string[] = [...new Set(Object.values(expected.inputs as Record<string, { entries: { secret: string }[] }>).flatMap((i) => i.entries.map((e) => e.secret)))];

/** RGBA pixels of QR codes for `texts`, side by side on a white canvas. */
function qrPixels(texts: string[], scale = 4): { width: number; height: number; data: Buffer } {
  const mats = texts.map((t) => {
    const q = qrcode(0, 'M');
    q.addData(t, 'Byte');
    q.make();
    return q;
  });
  const size = Math.max(...mats.map((m) => m.getModuleCount()));
  const cell = (size + 8) * scale;
  const width = cell * texts.length;
  const height = cell;
  const data = Buffer.alloc(width * height * 4, 255);
  mats.forEach((m, k) => {
    const n = m.getModuleCount();
    for (let r = 0; r < n; r++) {
      for (let c = 0; c < n; c++) {
        if (!m.isDark(r, c)) continue;
        for (let dy = 0; dy < scale; dy++) {
          for (let dx = 0; dx < scale; dx++) {
            const x = k * cell + (c + 4) * scale + dx;
            const y = (r + 4) * scale + dy;
            data.fill(0, (y * width + x) * 4, (y * width + x) * 4 + 3);
          }
        }
      }
    }
  });
  return { width, height, data };
}

function png(img: { width: number; height: number; data: Buffer }): Buffer {
  const p = new pngjs.PNG({ width: img.width, height: img.height });
  img.data.copy(p.data);
  return pngjs.PNG.sync.write(p);
}

function oneLineError(r: RunResult, re: RegExp): void {
  assert.notEqual(r.code, 0, r.stdout);
  const lines = r.stderr.trim().split('\n').filter((l) => !l.startsWith('warning:'));
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, re);
  assert.doesNotMatch(r.stderr, /\n\s+at |TypeError|ReferenceError/);
}

describe('coffer otp', () => {
  const restic = resticBinaries()[0];
  const dir = tempDir('coffer-otp-');
  const repoDir = path.join(dir, 'repo');
  const env = testEnv({ COFFER_REPOSITORY: repoDir, RESTIC_REPOSITORY: repoDir, COFFER_IMPORT_PASSWORD: 'coffer-vectors' });
  const otp = (args: string[], extra: { input?: string; env?: NodeJS.ProcessEnv } = {}) => runCoffer(['otp', ...args], { env: extra.env ?? env, ...(extra.input !== undefined ? { input: extra.input } : {}) });
  // Only the vault writes snapshots in this repository: its snapshot files are the vault records.
  const vaultRecords = async () => fs.readdirSync(path.join(repoDir, 'snapshots')).sort();
  const listJson = async () => {
    const r = await otp(['list', '--json']);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as { issuer: string; account: string; type: string; counter?: number; groups: string[] }[];
  };

  before(async () => {
    const r = await runCoffer(['init'], { env });
    assert.equal(r.code, 0, r.stderr);
  });

  it('imports an encrypted Aegis vault and lists it without secrets', async () => {
    assert.deepEqual(await vaultRecords(), []);
    const r = await otp(['import', path.join(DIR, 'aegis-encrypted-cheap.json')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /9 entries added/);
    const list = await otp(['list']);
    const json = await otp(['list', '--json']);
    for (const out of [r.stdout + r.stderr, list.stdout, json.stdout]) for (const s of ALL_SECRETS) assert.ok(!out.includes(s), 'a secret was printed');
    assert.match(list.stdout, /Coffer Bank\s+bob\s+totp\s+SHA256\s+8\s+30 s\s+Work, Personal/);
    assert.match(list.stdout, /Legacy\s+erin\s+hotp\s+SHA512\s+8\s+counter 4294967301/);
    const rows = JSON.parse(json.stdout);
    assert.equal(rows.length, 9);
    assert.equal((await vaultRecords()).length, 1);
    const snaps = await runCoffer(['snapshots', '--json', '--tag', 'coffer-otp'], { env });
    assert.deepEqual(JSON.parse(snaps.stdout).map((x: { id: string }) => x.id), await vaultRecords());
  });

  it('prints the codes of expected.json at fixed times, and advances HOTP counters', async () => {
    // Every code is checked against the vectors in codes.test.ts; here each kind once through the CLI,
    // with times below and beyond 2^32.
    const codes = expected.codes as Record<string, { entry: string; codes: { time: number; code: string }[] }>;
    const picks: [string, string, number][] = [['alice', 'JBSWY3DPEHPK3PXP', 0], ['alice', 'JBSWY3DPEHPK3PXP', 2], ['bob', 'EBGGP3ZRW2ALE2IX54TTM2Q2A7RTAUNR6BA2X6PUEHMUEKWYBORQ', 2], ['gabe', 'KM7BQXP5J32KQXR4Q4Q6K5RA33U3R3FO', 1], ['no-issuer', 'LR4UHSERHF5EMGJCSMWUGIRL', 1]];
    for (const [account, secret, k] of picks) {
      const x = codes[secret]!.codes[k]!;
      const r = await otp(['code', account, '--at', String(x.time)]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`\\s${x.code}\\s`), `${account} @${x.time}`);
    }
    const dave = expected.codes.GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ.codes as { counter: number; code: string }[];
    const before = (await vaultRecords()).length;
    for (const x of dave) {
      const r = await otp(['code', 'dave', '--json']);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(JSON.parse(r.stdout)[0], { issuer: 'VPN', account: 'dave', type: 'hotp', code: x.code, counter: x.counter });
    }
    assert.equal((await vaultRecords()).length, before + 3, 'each HOTP code writes a new vault record');
    assert.equal((await listJson()).find((e) => e.account === 'dave')!.counter, 8);
    const erin = await otp(['code', 'erin', '--json']);
    assert.equal(JSON.parse(erin.stdout)[0].code, expected.codes.BPTB4LMYRVVQ.codes[0].code);
    const motp = await otp(['code', 'frank']);
    assert.equal(motp.code, 1);
    assert.match(motp.stdout, /cannot compute motp codes yet/);
  });

  it('keeps the vault as an encrypted Aegis vault that restic dumps and an independent reader opens', { skip: restic ? false : 'restic not installed' }, async () => {
    const r = await runRestic(restic!, ['dump', 'latest', '--tag', 'coffer-otp', '/vault.json'], { env });
    assert.equal(r.code, 0, r.stderr);
    for (const s of ALL_SECRETS) assert.ok(!r.stdout.includes(s), 'a secret in clear in the repository');
    const h = vaultHeader(r.stdout);
    assert.deepEqual(h.slots.map((s) => [s.n, s.r, s.p]), [[32768, 8, 1]], 'a real vault uses Aegis scrypt parameters');
    const db = independentDecrypt(r.stdout, 'test-password') as { entries: { name: string; uuid: string; note: string; info: { counter?: number } }[] };
    const plain = JSON.parse(fs.readFileSync(path.join(DIR, 'aegis-plain.json'), 'utf8')).db;
    assert.deepEqual(db.entries.map((e) => e.uuid), plain.entries.map((e: { uuid: string }) => e.uuid));
    assert.equal(db.entries.find((e) => e.name === 'dave')!.info.counter, 8);
    assert.equal(db.entries.find((e) => e.name === 'carol+2fa@example.org')!.note, 'line one\nline two');
    assert.throws(() => independentDecrypt(r.stdout, 'not-the-password'));
  });

  it('refuses a wrong import password with exit 12 and leaves the vault unchanged', async () => {
    const before = await vaultRecords();
    for (const f of ['aegis-encrypted-cheap.json', '2fas-encrypted.2fas']) {
      const r = await otp(['import', path.join(DIR, f)], { env: { ...env, COFFER_IMPORT_PASSWORD: 'wrong' } });
      assert.equal(r.code, 12, r.stderr);
      oneLineError(r, /wrong password/);
    }
    const pwFile = path.join(dir, 'import-pw');
    fs.writeFileSync(pwFile, 'wrong\n');
    const r = await otp(['import', '--import-password-file', pwFile, path.join(DIR, 'aegis-encrypted-cheap.json')]);
    assert.equal(r.code, 12);
    assert.deepEqual(await vaultRecords(), before);
  });

  it('imports 2FAS and Google exports all or nothing, reporting duplicates', async () => {
    const bad = path.join(dir, 'bad-uris.txt');
    fs.writeFileSync(bad, 'otpauth://totp/New:one?secret=JBSWY3DPEHPK3PXQ\notpauth://totp/New:two?secret=JBSWY3DP1BAD\n');
    const before = await vaultRecords();
    const refused = await otp(['import', path.join(DIR, 'google-migration.txt'), bad]);
    assert.equal(refused.code, 2, refused.stderr);
    oneLineError(refused, /bad-uris\.txt line 2 \(New \/ two\): bad secret/);
    assert.deepEqual(await vaultRecords(), before, 'nothing written');

    const r = await otp(['import', path.join(DIR, '2fas-encrypted.2fas'), path.join(DIR, 'google-migration-2parts.txt')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /1 entry added, 8 duplicates skipped/);
    assert.match(r.stderr, /skipped duplicate: Example \/ alice@example\.com/);
    assert.ok((await listJson()).some((e) => e.issuer === 'Forge' && e.account === 'hank'));
    assert.equal((await vaultRecords()).length, before.length + 1);
  });

  it('imports Google export QR codes from a PNG (two codes in one screenshot) and a JPEG', async () => {
    const lines = fs.readFileSync(path.join(DIR, 'google-migration-2parts.txt'), 'utf8').trim().split('\n');
    const img = qrPixels(lines);
    const pngFile = path.join(dir, 'export.png');
    fs.writeFileSync(pngFile, png(img));
    const other = testEnv({ COFFER_REPOSITORY: path.join(dir, 'repo-qr'), RESTIC_REPOSITORY: path.join(dir, 'repo-qr') });
    assert.equal((await runCoffer(['init'], { env: other })).code, 0);
    const r = await otp(['import', pngFile], { env: other });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /4 entries added/);
    assert.doesNotMatch(r.stderr, /missing/);

    const jpgFile = path.join(dir, 'site.jpg');
    fs.writeFileSync(jpgFile, jpeg.encode(qrPixels(['otpauth://totp/Photo:me?secret=MFRGGZDFMZTWQ2LK&issuer=Photo']), 90).data);
    const j = await otp(['add', '--qr', jpgFile], { env: other });
    assert.equal(j.code, 0, j.stderr);
    const code = await otp(['code', 'photo', '--at', '1234567890', '--json'], { env: other });
    assert.equal(JSON.parse(code.stdout)[0].issuer, 'Photo');

    const blank = path.join(dir, 'blank.png');
    fs.writeFileSync(blank, png({ width: 64, height: 64, data: Buffer.alloc(64 * 64 * 4, 255) }));
    const nothing = await otp(['import', blank], { env: other });
    assert.equal(nothing.code, 2, nothing.stderr);
    oneLineError(nothing, /no QR code found/);
  });

  it('adds entries from flags, warns about --secret and reads the secret from stdin', async () => {
    const warned = await otp(['add', '--issuer', 'Flag', '--account', 'one', '--secret', 'MFRGGZDFMZTWQ2LK', '--algorithm', 'sha256', '--digits', '7', '--period', '45']);
    assert.equal(warned.code, 0, warned.stderr);
    assert.match(warned.stderr, /warning: --secret .*ps.*--secret-file/);
    const quiet = await otp(['add', '--issuer', 'Flag', '--account', 'two', '--secret-file', '-', '--type', 'hotp', '--counter', '9007199254740993'], { input: 'mfrg gzdf mztw q2lk\n' });
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.equal(quiet.stderr, '');
    const stdinUri = await otp(['add', '-'], { input: 'otpauth://steam/Steam:two?secret=MFRGGZDFMZTWQ2LK\n' });
    assert.equal(stdinUri.code, 0, stdinUri.stderr);
    const r = await otp(['code', 'flag:one', '--at', '20000000000', '--json']);
    assert.match(JSON.parse(r.stdout)[0].code, /^\d{7}$/);
    const dump = await otp(['show', 'flag:two', '--uri']);
    assert.match(dump.stdout, /counter=9007199254740993/);
    const two = await otp(['code', 'Flag:two', '--json']);
    assert.equal(JSON.parse(two.stdout)[0].counter, 9007199254740993n > BigInt(Number.MAX_SAFE_INTEGER) ? JSON.parse(two.stdout)[0].counter : -1);
    assert.match(two.stdout, /"counter":9007199254740993/);
  });

  it('refuses malformed input with a reason, a non-zero exit and nothing written', async () => {
    const before = await vaultRecords();
    const cases: [string[], RegExp][] = [
      [['add', 'otpauth://totp/X:y?secret=JBSWY3DPEHPK3PXP&digits=12'], /invalid digits/],
      [['add', 'otpauth://totp/X:y?secret=JBSWY3DPEHPK3PXP&algorithm=MD5'], /unsupported algorithm/],
      [['add', 'otpauth://hotp/X:y?secret=JBSWY3DPEHPK3PXP'], /hotp needs a counter/],
      [['add', '--account', 'z', '--secret', 'not base32!'], /bad secret/],
      [['add', '--account', 'z', '--secret', 'JBSWY3DPEHPK3PXP', '--digits', '12'], /invalid --digits/],
      [['code', 'alice', '--at', 'yesterday'], /invalid --at/],
    ];
    for (const [args, re] of cases) {
      const r = await otp(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      oneLineError(r, re);
      assert.ok(!r.stderr.includes('JBSWY3DPEHPK3PXP&'), 'the URI is not echoed');
    }
    const cheap = fs.readFileSync(path.join(DIR, 'aegis-encrypted-cheap.json'), 'utf8');
    const trunc = path.join(dir, 'truncated.json');
    fs.writeFileSync(trunc, cheap.slice(0, 400));
    oneLineError(await otp(['import', trunc]), /not valid JSON/);
    const tampered = JSON.parse(cheap);
    tampered.header.params.tag = '00'.repeat(16);
    const tamp = path.join(dir, 'tampered.json');
    fs.writeFileSync(tamp, JSON.stringify(tampered));
    oneLineError(await otp(['import', tamp]), /damaged or tampered/);
    assert.deepEqual(await vaultRecords(), before);
  });

  it('exports an encrypted Aegis vault that an independent reader opens, equal to the stored one', { skip: restic ? false : 'restic not installed' }, async () => {
    const out = path.join(dir, 'export.json');
    const pw = path.join(dir, 'export-pw');
    fs.writeFileSync(pw, 'export pässword\n');
    const r = await otp(['export', '--output', out, '--export-password-file', pw]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(fs.statSync(out).mode & 0o777, 0o600);
    const text = fs.readFileSync(out, 'utf8');
    assert.deepEqual(vaultHeader(text).slots.map((s) => [s.n, s.r, s.p]), [[32768, 8, 1]]);
    const exported = independentDecrypt(text, 'export pässword');
    const stored = await runRestic(restic!, ['dump', 'latest', '--tag', 'coffer-otp', '/vault.json'], { env });
    assert.deepEqual(exported, independentDecrypt(stored.stdout, 'test-password'));
    assert.equal(independentDecrypt(text, 'export pässword') !== undefined, true);
    assert.equal((await otp(['export', '--output', out, '--export-password-file', pw])).code, 1, 'never overwrites');

    // Plain and otpauth exports, and an Aegis export imported into a fresh repository.
    const plain = path.join(dir, 'plain.json');
    const p = await otp(['export', '--output', plain, '--plain']);
    assert.equal(p.code, 0, p.stderr);
    assert.match(p.stderr, /in clear/);
    assert.deepEqual(JSON.parse(fs.readFileSync(plain, 'utf8')).db, exported);
    const uris = path.join(dir, 'uris.txt');
    assert.equal((await otp(['export', '--format', 'otpauth', '--output', uris])).code, 1, 'otpauth needs --plain');
    const u = await otp(['export', '--format', 'otpauth', '--output', uris, '--plain']);
    assert.equal(u.code, 0, u.stderr);
    assert.match(u.stderr, /frank \(motp\) has no otpauth/);
    const fresh = testEnv({ COFFER_REPOSITORY: path.join(dir, 'repo-fresh'), COFFER_IMPORT_PASSWORD: 'export pässword' });
    assert.equal((await runCoffer(['init'], { env: fresh })).code, 0);
    assert.equal((await otp(['import', out], { env: fresh })).code, 0);
    const again = await otp(['list', '--json'], { env: fresh });
    assert.deepEqual(JSON.parse(again.stdout), JSON.parse((await otp(['list', '--json'])).stdout));
  });

  it('exports exactly what it imported from Aegis: notes, icons, groups, favourites, unknown fields', async () => {
    const original = parseJson(fs.readFileSync(path.join(DIR, 'aegis-plain.json'), 'utf8'), 'v') as JsonObject;
    const db = original.db as JsonObject;
    const entries = db.entries as JsonObject[];
    Object.assign(entries[0]!, { icon: 'iVBORw0KGgo=', icon_mime: 'image/png', icon_hash: 'cd'.repeat(32), x_future: [1, { y: null }] });
    (entries[4]!.info as JsonObject).counter = 9223372036854775000n;
    db.x_db_future = 'kept';
    const input = path.join(dir, 'rich.json');
    fs.writeFileSync(input, stringifyJson(original));
    const fresh = testEnv({ COFFER_REPOSITORY: path.join(dir, 'repo-rich') });
    assert.equal((await runCoffer(['init'], { env: fresh })).code, 0);
    const r = await otp(['import', input], { env: fresh });
    assert.equal(r.code, 0, r.stderr);
    const out = path.join(dir, 'rich-export.json');
    assert.equal((await otp(['export', '--output', out, '--plain'], { env: fresh })).code, 0);
    const exported = parseJson(fs.readFileSync(out, 'utf8'), 'e') as JsonObject;
    assert.equal(stringifyJson(exported.db!), stringifyJson(db));
  });

  it('shows a URI, and a terminal QR code that decodes back to it', async () => {
    const uri = await otp(['show', 'gabe', '--uri']);
    assert.equal(uri.code, 0, uri.stderr);
    assert.equal(uri.stdout.trim(), 'otpauth://steam/Steam:gabe?secret=KM7BQXP5J32KQXR4Q4Q6K5RA33U3R3FO&issuer=Steam&algorithm=SHA1&digits=5&period=30');
    const qr = await otp(['show', 'gabe', '--qr']);
    assert.equal(qr.code, 0, qr.stderr);
    // Rasterise the half blocks (block = light module, as qrencode -t UTF8) and decode.
    const rows = qr.stdout.replace(/\n$/, '').split('\n');
    const scale = 4;
    const w = Math.max(...rows.map((r) => [...r].length)) * scale;
    const h = rows.length * 2 * scale;
    const data = new Uint8ClampedArray(w * h * 4).fill(0);
    rows.forEach((row, y) => [...row].forEach((ch, x) => {
      const light = [ch === '█' || ch === '▀', ch === '█' || ch === '▄'];
      light.forEach((on, half) => {
        if (!on) return;
        for (let dy = 0; dy < scale; dy++) for (let dx = 0; dx < scale; dx++) {
          const px = x * scale + dx;
          const py = (y * 2 + half) * scale + dy;
          data.fill(255, (py * w + px) * 4, (py * w + px) * 4 + 4);
        }
      });
    }));
    for (let i = 3; i < data.length; i += 4) data[i] = 255;
    assert.equal(jsQR(data, w, h)?.data, uri.stdout.trim());
  });

  it('coffer key add gives the new password a vault slot; a key added by restic gets none (exit 12)', async () => {
    const pw = path.join(dir, 'new-key-pw');
    fs.writeFileSync(pw, 'second key password\n');
    const k = await runCoffer(['key', 'add', '--new-password-file', pw], { env });
    assert.equal(k.code, 0, k.stderr);
    const byCoffer = await otp(['list'], { env: { ...env, COFFER_PASSWORD: 'second key password' } });
    assert.equal(byCoffer.code, 0, byCoffer.stderr);

    const restic = resticBinaries()[0]!;
    fs.writeFileSync(pw, 'third key password\n');
    const rk = await runRestic(restic, ['key', 'add', '--new-password-file', pw], { env });
    assert.equal(rk.code, 0, rk.stderr);
    const r = await otp(['list'], { env: { ...env, COFFER_PASSWORD: 'third key password' } });
    assert.equal(r.code, 12, r.stderr);
    oneLineError(r, /does not open the vault/);
  });

  it('renames and removes entries, one record per change', async () => {
    const before = (await vaultRecords()).length;
    const amb = await otp(['remove', 'Flag']);
    assert.equal(amb.code, 1);
    assert.match(amb.stderr, /2 OTP entries match/);
    assert.equal((await otp(['rename', 'flag:one', '--issuer', 'Renamed'])).code, 0);
    assert.equal((await otp(['remove', 'Renamed'])).code, 0);
    const list = await listJson();
    assert.ok(!list.some((e) => e.issuer === 'Renamed' || e.account === 'one'));
    assert.equal((await vaultRecords()).length, before + 2);
  });
});
