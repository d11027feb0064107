/** The secrets record: add, replace, remove, hash-checked reads, name and size limits. */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { utf8Decode, utf8Encode } from '../../src/core/bytes.js';
import { isCofferError } from '../../src/core/errors.js';
import { readLatestRecord } from '../../src/core/engine/records/records.js';
import { MAX_SECRET_BYTES, readSecrets, withSecret, withoutSecret, writeSecrets } from '../../src/core/engine/secrets/secrets.js';
import { LOCK_OWNER, newMemRepo } from '../helpers/mem-repo.js';

describe('secrets record', () => {
  it('keeps one file per secret plus index.json, complete on every change', async () => {
    const { repo } = await newMemRepo();
    const sha = (d: Uint8Array) => repo.platform.crypto.sha256(d);
    assert.deepEqual((await readSecrets(repo)).index, []);
    let s = withSecret(await readSecrets(repo), 'bitlocker', utf8Encode('111-222'), sha);
    s = withSecret(s, 'codes', utf8Encode('a b c'), sha);
    await writeSecrets(repo, s, { owner: LOCK_OWNER });
    const back = await readSecrets(repo);
    assert.deepEqual(back.index.map((i) => [i.name, i.size]), [['bitlocker', 7], ['codes', 5]]);
    assert.equal(utf8Decode(back.values.get('codes')!), 'a b c');
    const rec = await readLatestRecord(repo, 'secrets');
    assert.deepEqual([...rec!.files.keys()].sort(), ['bitlocker', 'codes', 'index.json']);
    await writeSecrets(repo, withoutSecret(withSecret(back, 'codes', utf8Encode('d'), sha), 'bitlocker'), { owner: LOCK_OWNER });
    const after = await readSecrets(repo);
    assert.deepEqual(after.index.map((i) => [i.name, i.size]), [['codes', 1]]);
    assert.throws(() => withoutSecret(after, 'nope'), (e: unknown) => isCofferError(e, 'bad-input'));
    assert.throws(() => withSecret(after, 'index.json', utf8Encode('x'), sha), (e: unknown) => isCofferError(e, 'bad-input'));
    assert.throws(() => withSecret(after, '../x', utf8Encode('x'), sha), (e: unknown) => isCofferError(e, 'bad-input'));
    assert.throws(() => withSecret(after, 'big', new Uint8Array(MAX_SECRET_BYTES + 1), sha), /64 KiB/);
  });
});
