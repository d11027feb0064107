/** The inbox's pure model: IDs by content, oldest first, unknown IDs refused, decisions remembered. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decide, emptyIndex, isKnown, itemIdOf, pending, resolveIds, withItem, type InboxItem } from '../../src/core/inbox/inbox.js';
import { isCofferError } from '../../src/core/errors.js';

function item(sha: string, added: string, name = sha): InboxItem {
  return { id: itemIdOf(sha), name, size: 1, mtimeMs: 0, sha256: sha, source: 'added', path: `/x/${name}`, added, taken: null };
}

test('inbox model: order, unknown IDs, decisions keep content from coming back', () => {
  const a = item('a'.repeat(64), '2026-01-02T00:00:00.000Z');
  const b = item('b'.repeat(64), '2026-01-01T00:00:00.000Z');
  let ix = withItem(withItem(emptyIndex(), a), b);
  assert.equal(withItem(ix, { ...a, name: 'copy' }).items.length, 2, 'same content is one item');
  assert.deepEqual(pending(ix).map((i) => i.id), [b.id, a.id]);
  assert.throws(() => resolveIds(ix, [a.id, 'nope']), (e: unknown) => isCofferError(e, 'bad-input') && /nope/.test((e as Error).message));
  assert.throws(() => resolveIds(ix, []), (e: unknown) => isCofferError(e, 'bad-input'));
  assert.deepEqual(resolveIds(ix, [a.id, a.id]).length, 1);
  ix = decide(ix, [a], 'reject', '2026-01-03T00:00:00.000Z');
  assert.deepEqual(ix.items.map((i) => i.id), [b.id]);
  assert.ok(isKnown(ix, a.sha256));
  assert.equal(withItem(ix, a).items.length, 1, 'a rejected file is not offered again');
});
