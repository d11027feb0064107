/**
 * OTP formats on their own (no repository): otpauth URIs (uris.json), every vector file
 * imported to exactly expected.json's entries, the Aegis round trip of C.4 (every field, unknown
 * ones too), encrypted vaults that an independent node:crypto reader opens, slots and nonces,
 * lossless JSON, and damaged or hostile inputs refused with a clear `bad-input`.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { isCofferError } from '../../src/core/errors.js';
import { addPasswordSlot, AEGIS_SCRYPT, newVaultKey, openAegisVault, parseAegisFile, plainAegisVault, rewrapPasswordSlots, sealAegisVault } from '../../src/core/otp/aegis.js';
import { base32Encode } from '../../src/core/otp/base32.js';
import { readImportSources, type ImportSource } from '../../src/core/otp/import.js';
import { parseJson, stringifyJson, type JsonObject } from '../../src/core/otp/json.js';
import { parseOtpauthUri, formatOtpauthUri } from '../../src/core/otp/uri.js';
import { emptyDb, groupNames, mergeImport, vaultItems } from '../../src/core/otp/vault.js';
import { nodeCrypto } from '../../src/node/crypto-node.js';
import { readVector, VECTORS } from '../helpers/paths.js';
import { independentDecrypt, vaultHeader } from './independent.js';

const DIR = path.join(VECTORS, 'otp');
const expected = readVector('otp/expected.json');
const CHEAP = { N: 1024, r: 8, p: 1 };
const random = (n: number) => nodeCrypto.randomBytes(n);

function source(file: string): ImportSource {
  return { name: file, text: fs.readFileSync(path.join(DIR, file), 'utf8') };
}

/** A vault item in expected.json's shape. */
function shape(db: JsonObject, withGroups: boolean) {
  return vaultItems(db).map(({ raw, entry: e }) => ({
    type: e.type,
    issuer: e.issuer,
    name: e.name,
    secret: base32Encode(e.secret),
    algorithm: e.algorithm,
    digits: e.digits,
    ...(e.type === 'hotp' ? { counter: Number(e.counter) } : { period: e.period }),
    ...(e.pin !== undefined ? { pin: e.pin } : {}),
    ...(withGroups ? { groups: groupNames(db, raw) } : {}),
  }));
}

async function importFiles(files: string[], password = 'coffer-vectors') {
  const asked: string[] = [];
  const batches = await readImportSources(files.map(source), nodeCrypto, async (s) => {
    asked.push(s);
    return password;
  });
  let db = emptyDb();
  const dups = [];
  for (const b of batches) {
    const r = mergeImport(db, b, random);
    db = r.db;
    dups.push(...r.duplicates);
  }
  return { db, batches, asked, dups };
}

async function rejectsBadInput(p: Promise<unknown>, re: RegExp, code = 'bad-input') {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isCofferError(e), `not a CofferError: ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.match(e.message, re);
    return true;
  });
}

describe('otpauth URIs', () => {
  const uris = readVector('otp/uris.json');
  for (const v of uris.valid) {
    it(`reads: ${v.case}`, () => {
      const e = parseOtpauthUri(v.uri, 'uri');
      const got = { type: e.type, issuer: e.issuer, name: e.name, secret: base32Encode(e.secret), algorithm: e.algorithm, digits: e.digits, ...(e.type === 'hotp' ? { counter: Number(e.counter) } : { period: e.period }) };
      assert.deepEqual(got, v.entry);
      // Writing and reading again gives the same entry.
      assert.deepEqual(parseOtpauthUri(formatOtpauthUri(e)!, 'again'), e);
    });
  }
  it('refuses every invalid URI with a reason and without the secret in the message', () => {
    assert.equal(uris.invalid.length, 14);
    for (const v of uris.invalid) {
      assert.throws(() => parseOtpauthUri(v.uri, 'uri'), (e: unknown) => {
        assert.ok(isCofferError(e, 'bad-input'), `${v.case}: ${String(e)}`);
        assert.ok(!e.message.includes('JBSWY3DP'), `${v.case}: secret in message: ${e.message}`);
        return true;
      }, v.case);
    }
  });
  it('writes spaces as %20 and keeps a counter beyond 2^53', () => {
    const e = parseOtpauthUri('otpauth://hotp/Big%20Co:me?secret=JBSWY3DPEHPK3PXP&counter=9223372036854775807', 'u');
    assert.equal(e.counter, 9223372036854775807n);
    assert.equal(formatOtpauthUri(e), 'otpauth://hotp/Big%20Co:me?secret=JBSWY3DPEHPK3PXP&issuer=Big%20Co&algorithm=SHA1&digits=6&counter=9223372036854775807');
  });
});

describe('OTP import vectors', () => {
  for (const [file, want] of Object.entries(expected.inputs) as [string, { format: string; password: string | null; entries: { groups?: string[] }[] }][]) {
    it(`${file} imports to exactly the expected entries`, async () => {
      const { db, batches, asked } = await importFiles([file]);
      assert.deepEqual(shape(db, want.entries[0]!.groups !== undefined), want.entries);
      assert.equal(asked.length, want.password ? 1 : 0, 'asks for a password only for encrypted files');
      assert.deepEqual(batches.flatMap((b) => b.warnings), []);
    });
  }

  it('opens aegis-encrypted.json with its second, non-ASCII password', async () => {
    const { db } = await importFiles(['aegis-encrypted.json'], 'pässwörd 🔑');
    assert.equal(vaultItems(db).length, 9);
  });

  it('warns about a missing part of a Google export', async () => {
    const lines = fs.readFileSync(path.join(DIR, 'google-migration-2parts.txt'), 'utf8').trim().split('\n');
    assert.equal(lines.length, 2);
    const batches = await readImportSources([{ name: 'part2.txt', text: lines[1]! }], nodeCrypto, async () => '');
    assert.deepEqual(batches[0]!.warnings.map((w) => /part 1 of 2 missing/.test(w)), [true]);
    assert.ok(batches[0]!.entries.length > 0);
  });

  it('skips duplicates within an import and against the vault', async () => {
    const { db, dups } = await importFiles(['aegis-plain.json', '2fas-plain.2fas', 'google-migration.txt', 'google-migration-2parts.txt']);
    // 9 from Aegis; Google's Forge/hank is the only new one; everything else is a duplicate.
    assert.equal(vaultItems(db).length, 10);
    assert.equal(dups.length, 5 + 3 + 4);
  });

  it('refuses wrong passwords with wrong-password and damaged files with bad-input or corrupt', async () => {
    await rejectsBadInput(importFiles(['aegis-encrypted-cheap.json'], 'nope'), /wrong password/, 'wrong-password');
    await rejectsBadInput(importFiles(['2fas-encrypted.2fas'], 'nope'), /wrong password/, 'wrong-password');
    const cheap = fs.readFileSync(path.join(DIR, 'aegis-encrypted-cheap.json'), 'utf8');
    const tampered = JSON.parse(cheap);
    tampered.db = 'A' + tampered.db.slice(1) === tampered.db ? 'B' + tampered.db.slice(1) : 'A' + tampered.db.slice(1);
    const t = { name: 't.json', text: JSON.stringify(tampered) };
    await rejectsBadInput(readImportSources([t], nodeCrypto, async () => 'coffer-vectors'), /fail authentication/, 'corrupt');
    await rejectsBadInput(readImportSources([{ name: 'trunc.json', text: cheap.slice(0, cheap.length / 2) }], nodeCrypto, async () => 'x'), /not valid JSON/);
    const plain = JSON.parse(fs.readFileSync(path.join(DIR, 'aegis-plain.json'), 'utf8'));
    plain.db.entries[0].type = 'xotp';
    await rejectsBadInput(readImportSources([{ name: 'p.json', text: JSON.stringify(plain) }], nodeCrypto, async () => ''), /unsupported otp type/);
    const hostile = JSON.parse(cheap);
    hostile.header.slots[0].n = 2 ** 30;
    await rejectsBadInput(readImportSources([{ name: 'h.json', text: JSON.stringify(hostile) }], nodeCrypto, async () => 'x'), /too large/);
    const g = fs.readFileSync(path.join(DIR, 'google-migration.txt'), 'utf8').trim();
    await rejectsBadInput(readImportSources([{ name: 'g.txt', text: g.slice(0, 80) }], nodeCrypto, async () => ''), /damaged export data|not base64/);
    await rejectsBadInput(readImportSources([{ name: 'x.txt', text: 'hello' }], nodeCrypto, async () => ''), /not an otpauth/);
  });
});

describe('Aegis vaults', () => {
  it('round-trips every field (C.4), unknown ones included, through import and export', async () => {
    const original = parseJson(fs.readFileSync(path.join(DIR, 'aegis-plain.json'), 'utf8'), 'v') as JsonObject;
    const db = original.db as JsonObject;
    // Add what the vector lacks: an icon, unknown fields at every level, a counter beyond 2^53.
    const e0 = (db.entries as JsonObject[])[0]!;
    Object.assign(e0, { icon: 'iVBORw0KGgo=', icon_mime: 'image/png', icon_hash: 'ab'.repeat(32), future_field: { a: [1, 'b'] } });
    (e0.info as JsonObject).future_info = 'x';
    ((db.entries as JsonObject[])[4]!.info as JsonObject).counter = 9223372036854775807n;
    db.future_db = 7;
    const text = plainAegisVault(db);
    const batches = await readImportSources([{ name: 'v.json', text }], nodeCrypto, async () => '');
    const { db: merged } = mergeImport(emptyDb(), batches[0]!, random);
    assert.equal(stringifyJson(merged), stringifyJson(db));
    assert.match(stringifyJson(merged), /"counter":9223372036854775807/);
  });

  it('writes encrypted vaults that an independent reader opens, with fresh nonces and real scrypt', async () => {
    const db = (parseJson(fs.readFileSync(path.join(DIR, 'aegis-plain.json'), 'utf8'), 'v') as JsonObject).db as JsonObject;
    const key = await newVaultKey(['first'], AEGIS_SCRYPT, nodeCrypto);
    const a = sealAegisVault(db, key, nodeCrypto);
    const b = sealAegisVault(db, key, nodeCrypto);
    assert.notEqual(vaultHeader(a).params.nonce, vaultHeader(b).params.nonce);
    assert.deepEqual(vaultHeader(a).slots.map((s) => [s.n, s.r, s.p]), [[32768, 8, 1]]);
    assert.deepEqual(independentDecrypt(a, 'first'), JSON.parse(stringifyJson(db)));
    assert.throws(() => independentDecrypt(a, 'second'));

    // A second slot (the kit's recovery key) opens the same vault; re-wrapping drops the old one.
    const two = await addPasswordSlot(key, 'recovery', CHEAP, nodeCrypto);
    const c = sealAegisVault(db, two, nodeCrypto);
    assert.deepEqual(independentDecrypt(c, 'recovery'), independentDecrypt(c, 'first'));
    assert.notEqual(vaultHeader(c).slots[0]!.key_params.nonce, vaultHeader(c).slots[1]!.key_params.nonce);
    const opened = await openAegisVault(parseAegisFile(c, 'c'), 'recovery', nodeCrypto, 'c');
    assert.equal(stringifyJson(opened.db), stringifyJson(db));
    const re = await rewrapPasswordSlots(key, ['new'], CHEAP, nodeCrypto);
    const d = sealAegisVault(db, re, nodeCrypto);
    assert.throws(() => independentDecrypt(d, 'first'));
    assert.ok(independentDecrypt(d, 'new'));
    await rejectsBadInput(openAegisVault(parseAegisFile(d, 'd'), 'first', nodeCrypto, 'd'), /wrong password/, 'wrong-password');
  });

  it('reads db versions 1 and 2 (single group names) as version 3', async () => {
    const plain = JSON.parse(fs.readFileSync(path.join(DIR, 'aegis-plain.json'), 'utf8'));
    plain.db.version = 2;
    delete plain.db.groups;
    for (const e of plain.db.entries) {
      delete e.groups;
      e.group = e.name === 'bob' ? 'Work' : null;
    }
    const batches = await readImportSources([{ name: 'v2.json', text: JSON.stringify(plain) }], nodeCrypto, async () => '');
    const { db } = mergeImport(emptyDb(), batches[0]!, random);
    assert.equal(db.version, 3);
    assert.deepEqual(vaultItems(db).map((i) => groupNames(db, i.raw)).filter((g) => g.length), [['Work']]);
  });
});

describe('lossless JSON', () => {
  it('keeps integers beyond 2^53 and refuses malformed text', () => {
    const t = '{"a":[9223372036854775807,-9007199254740993,1.5e3,"\\u00e9\\n"],"__proto__":{"x":true}}';
    const v = parseJson(t, 't') as JsonObject;
    assert.equal((v.a as unknown[])[0], 9223372036854775807n);
    assert.equal(stringifyJson(v), '{"a":[9223372036854775807,-9007199254740993,1500,"é\\n"],"__proto__":{"x":true}}');
    for (const bad of ['{', '{"a":1,}', '[1 2]', '"\u0001"', '{"a":01}', 'nul', '{} x']) assert.throws(() => parseJson(bad, 'b'), /not valid JSON/, bad);
  });
});
