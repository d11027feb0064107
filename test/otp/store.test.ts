/**
 * The vault in the repository (src/core/otp/store.ts) on an in-memory repository: one record
 * per change, always encrypted, opened by the repository password, and the slot functions the
 * recovery kit and key changes use (addOtpVaultPassword, rewrapOtpVault).
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { utf8Decode } from '../../src/core/bytes.js';
import { listRecords, readLatestRecord } from '../../src/core/engine/records/records.js';
import { isCofferError } from '../../src/core/errors.js';
import { parseOtpauthUri } from '../../src/core/otp/uri.js';
import { addOtpVaultPassword, loadOtpVault, OTP_RECORD_KIND, OTP_VAULT_FILE, rewrapOtpVault, saveOtpVault } from '../../src/core/otp/store.js';
import { mergeImport, vaultItems } from '../../src/core/otp/vault.js';
import { LOCK_OWNER, newMemRepo, PASSWORD } from '../helpers/mem-repo.js';
import { independentDecrypt, vaultHeader } from './independent.js';

const CHEAP = { N: 1024, r: 8, p: 1 };
const opts = { owner: LOCK_OWNER, scrypt: CHEAP };

async function rejectsWrongPassword(p: Promise<unknown>): Promise<void> {
  await assert.rejects(p, (e: unknown) => isCofferError(e, 'wrong-password') && /does not open the vault/.test(e.message));
}

describe('OTP vault store', () => {
  it('starts empty, writes one encrypted record per change, and reopens with the password', async () => {
    const { repo } = await newMemRepo();
    const empty = await loadOtpVault(repo, PASSWORD);
    assert.equal(empty.key, undefined);
    assert.equal(vaultItems(empty.db).length, 0);
    assert.deepEqual(await listRecords(repo, OTP_RECORD_KIND), []);

    const entry = parseOtpauthUri('otpauth://totp/Example:alice?secret=JBSWY3DPEHPK3PXP', 'u');
    const merged = mergeImport(empty.db, { format: 't', entries: [{ entry, groups: ['Personal'], source: 't' }], warnings: [] }, (n) => repo.platform.crypto.randomBytes(n));
    const saved = await saveOtpVault(repo, empty, merged.db, PASSWORD, opts);
    const again = await saveOtpVault(repo, saved, merged.db, PASSWORD, opts);
    assert.equal((await listRecords(repo, OTP_RECORD_KIND)).length, 2);

    const rec = await readLatestRecord(repo, OTP_RECORD_KIND);
    assert.equal(rec!.id, again.recordId);
    const text = utf8Decode(rec!.files.get(OTP_VAULT_FILE)!);
    assert.ok(!text.includes('JBSWY3DPEHPK3PXP'), 'no secret in clear');
    assert.equal(vaultHeader(text).slots.length, 1);
    const db = independentDecrypt(text, PASSWORD) as { entries: { name: string }[]; groups: { name: string }[] };
    assert.deepEqual([db.entries[0]!.name, db.groups[0]!.name], ['alice', 'Personal']);

    const loaded = await loadOtpVault(repo, PASSWORD);
    assert.equal(loaded.recordId, again.recordId);
    assert.equal(vaultItems(loaded.db)[0]!.entry.issuer, 'Example');
    await rejectsWrongPassword(loadOtpVault(repo, 'another password'));
  });

  it('adds a password slot (the recovery key) and re-wraps all slots (key change)', async () => {
    const { repo } = await newMemRepo();
    assert.equal(await addOtpVaultPassword(repo, PASSWORD, 'recovery', opts), false, 'no vault yet');
    const v = await loadOtpVault(repo, PASSWORD);
    await saveOtpVault(repo, v, v.db, PASSWORD, opts);

    assert.equal(await addOtpVaultPassword(repo, PASSWORD, 'RECO-VERY-KEY', opts), true);
    const both = await loadOtpVault(repo, 'RECO-VERY-KEY');
    assert.equal(both.key!.slots.length, 2);
    assert.ok(await loadOtpVault(repo, PASSWORD));
    const text = utf8Decode((await readLatestRecord(repo, OTP_RECORD_KIND))!.files.get(OTP_VAULT_FILE)!);
    assert.ok(independentDecrypt(text, 'RECO-VERY-KEY'));

    assert.equal(await rewrapOtpVault(repo, 'RECO-VERY-KEY', ['new password', 'RECO-VERY-KEY'], opts), true);
    await rejectsWrongPassword(loadOtpVault(repo, PASSWORD));
    assert.equal((await loadOtpVault(repo, 'new password')).key!.slots.length, 2);
    await rejectsWrongPassword(addOtpVaultPassword(repo, 'wrong', 'x', opts));
    assert.equal((await listRecords(repo, OTP_RECORD_KIND)).length, 3);
  });
});
