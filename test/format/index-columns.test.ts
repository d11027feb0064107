/**
 * `scanIndexColumns` (the fast index decoder into columns, read by loadMasterIndex) against
 * `scanIndex`/the generic decoder: same packs, blob IDs (as words), types and numbers for every
 * generated index; undefined exactly when `scanIndex` gives up, also for mutated documents. And a
 * MasterIndex filled from columns equals one filled from decoded objects.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeIndexGeneric, encodeIndex, scanIndex, scanIndexColumns, type IndexColumns } from '../../src/core/format/index-file.js';
import { wordsToId } from '../../src/core/format/id-text.js';
import type { IndexFile } from '../../src/core/format/types.js';
import { MasterIndex } from '../../src/core/repository/master-index.js';
import { utf8Decode } from '../../src/core/bytes.js';
import { RUNS, indexFile } from '../property/arbitraries.js';

function fromColumns(c: IndexColumns): IndexFile {
  let i = 0;
  return {
    packs: c.packIds.map((id, p) => {
      const blobs = [];
      for (; i < c.packEnds[p]!; i++) {
        blobs.push({ type: c.kinds[i] === 1 ? ('tree' as const) : ('data' as const), id: wordsToId(c.words, i * 8), offset: c.offsets[i]!, length: c.lengths[i]!, uncompressedLength: c.ulengths[i]! });
      }
      return { id, blobs };
    }),
  };
}

function snapshot(m: MasterIndex): unknown {
  const packs = [...m.packIds()].map((p) => ({ p, blobs: m.packBlobs(p) ?? [] }));
  const blobs = packs.flatMap(({ blobs: bs }) => bs.map((b) => [b.type, b.id, m.lookupAll(b.type, b.id)]));
  return { packs, blobs, count: m.blobCount, files: [...m.indexFiles] };
}

test('index columns: same content as scanIndex, undefined exactly when it gives up', () => {
  let taken = 0;
  fc.assert(
    fc.property(indexFile, fc.nat(), fc.constantFrom('', ' ', 'x', '\n', '"', '0'), (idx, at, ch) => {
      const text = utf8Decode(encodeIndex(idx));
      for (const t of [text, text.slice(0, at % (text.length + 1)) + ch + text.slice(at % (text.length + 1))]) {
        const c = scanIndexColumns(t);
        const s = scanIndex(t);
        assert.equal(c === undefined, s === undefined, t.slice(0, 300));
        if (c && s) {
          taken++;
          assert.deepStrictEqual(fromColumns(c), s);
          assert.deepStrictEqual(s, decodeIndexGeneric(t, 'i'));
        }
      }
    }),
    { numRuns: RUNS * 2 },
  );
  assert.ok(taken >= RUNS / 2, `columns taken ${taken} times`);
});

test('index columns: a MasterIndex filled from columns equals one filled from objects (packs repeated across files)', () => {
  fc.assert(
    fc.property(fc.array(indexFile, { minLength: 1, maxLength: 5 }), fc.array(fc.boolean(), { minLength: 5, maxLength: 5 }), (files, viaColumns) => {
      const a = new MasterIndex();
      const b = new MasterIndex();
      files.forEach((f, n) => {
        // A later file repeats an earlier file's first pack (listed in two index files).
        const file = n > 0 && files[0]!.packs.length ? { packs: [files[0]!.packs[0]!, ...f.packs] } : f;
        const text = utf8Decode(encodeIndex(file));
        const id = n.toString(16).padStart(64, '0');
        const cols = scanIndexColumns(text);
        if (cols && viaColumns[n]) a.addIndexColumns(id, cols);
        else a.addIndexFile(id, decodeIndexGeneric(text, 'i'));
        b.addIndexFile(id, decodeIndexGeneric(text, 'i'));
      });
      assert.deepStrictEqual(snapshot(a), snapshot(b));
    }),
    { numRuns: RUNS },
  );
});
