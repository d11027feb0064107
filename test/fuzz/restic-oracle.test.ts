/**
 * restic as the oracle of the snapshot decoder (restic-oracle.ts): one batch of mutated
 * snapshot documents per restic binary. Needs restic (CI fails without it).
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { resticBinaries } from '../helpers/run.js';
import { hasDuplicateKeys, snapshotInputs, snapshotOracle } from './restic-oracle.js';

const N = Number(process.env.COFFER_FUZZ_ORACLE_RUNS ?? 150);

test('duplicate-key detector', () => {
  assert.equal(hasDuplicateKeys('{"a":1,"b":{"a":2}}'), false);
  assert.equal(hasDuplicateKeys('{"a":1,"b":2,"a":3}'), true);
  assert.equal(hasDuplicateKeys('{"a":"x\\"y","\\u0061":1}'), true);
  assert.equal(hasDuplicateKeys('[{"a":1},{"a":1}]'), false);
});

for (const bin of resticBinaries()) {
  test(`${bin.name} and Coffer read the same snapshots from ${N} mutated documents`, async (t) => {
    const r = await snapshotOracle(bin, snapshotInputs(N, 4242 + N));
    for (const [k, n] of Object.entries(r.known)) t.diagnostic(`known difference (docs/reliability.md): ${k} × ${n}`);
    assert.deepEqual(r.failures, []);
    assert.ok(r.tried > N / 2, `only ${r.tried} distinct inputs`);
  });
}
