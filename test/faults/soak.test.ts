/**
 * The fast slice of the fault soak (test/faults/soak.ts; `npm run soak` runs the long version):
 * three iterations of each fault mix, every invariant must hold and faults must really have been
 * injected (of every kind the mixes use, over the slice).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runFaultSoak } from './soak.js';

test('fault soak, fast slice: no invariant broken through transient, damaging and permanent faults', async () => {
  const lines: string[] = [];
  const r = await runFaultSoak({ seed: 20261129, iterations: 9, log: (l) => lines.push(l) });
  assert.deepEqual(r.failures, [], lines.join('\n'));
  assert.equal(r.operations >= 15, true, `operations: ${r.operations}`);
  assert.ok(r.faultsInjected >= 40, `faults: ${JSON.stringify(r.byKind)}`);
  for (const k of ['transient', 'lostReply', 'slow', 'listBreak', 'corrupt', 'permanent'] as const) {
    assert.ok((r.byKind[k] ?? 0) > 0, `no ${k} fault in the slice: ${JSON.stringify(r.byKind)}`);
  }
});
