/**
 * Fuzzing every parser of untrusted bytes (targets.ts): a fast slice per target here;
 * `npm run soak` runs the long version (soak.ts). COFFER_FUZZ_RUNS sets the inputs per target.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { divergences, parserTargets, runTarget } from './targets.js';

const RUNS = Number(process.env.COFFER_FUZZ_RUNS ?? 400);
const targets = await parserTargets();

for (const t of targets) {
  test(`fuzz ${t.name}: every input decodes or is refused with CofferError, and what decodes is stable`, () => {
    const r = runTarget(t, RUNS);
    assert.equal(r.failure, undefined, r.failure);
    assert.equal(r.tried >= RUNS, true);
  });
}

test('zstd implementations: divergences on damaged frames are reported (allowed, not failures)', (t) => {
  for (const d of divergences) t.diagnostic(`${d.target}: accepted by ${d.accepted.join(',')}, refused by ${d.refused.join(',')}: ${d.hex.slice(0, 120)}…`);
  assert.ok(divergences.length <= 20);
});
