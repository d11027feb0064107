/**
 * `coffer check` on repositories written by Coffer and by restic: a clean one passes (and restic
 * agrees on Coffer's), and each kind of damage is caught, named, and gives exit 1.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import { decodeIndex, encodeIndex } from '../../src/core/format/index-file.js';
import { parseSubset, selectPacks } from '../../src/core/engine/check/subset.js';
import { resticBinaries, runCoffer, runRestic } from '../helpers/run.js';
import { buildFixture, copyRepo, envFor, filePath, files, flipByte, openCore, type Fixture } from './fixtures.js';
import { createHash } from 'node:crypto';

const restics = resticBinaries();
const noStack = (s: string) => assert.doesNotMatch(s, /\n\s+at .+:\d+:\d+/);

async function check(repo: string, ...args: string[]) {
  const r = await runCoffer(['check', ...args], { env: envFor(repo) });
  noStack(r.stderr);
  return r;
}

describe('read-data-subset selection (restic rules)', () => {
  const packs = new Map<string, number>();
  for (let i = 0; i < 256; i++) packs.set(i.toString(16).padStart(2, '0') + 'a'.repeat(62), 1000);

  it('n/t buckets packs by the first byte of the ID and covers every pack once', () => {
    const seen = new Set<string>();
    for (let n = 1; n <= 5; n++) {
      for (const id of selectPacks(packs, parseSubset(`${n}/5`))) {
        assert.equal(parseInt(id.slice(0, 2), 16) % 5, n - 1);
        assert.ok(!seen.has(id));
        seen.add(id);
      }
    }
    assert.equal(seen.size, 256);
  });

  it('x% and sizes pick that share at random, at least one pack', () => {
    assert.equal(selectPacks(packs, parseSubset('10%')).length, 25);
    assert.equal(selectPacks(packs, parseSubset('0.01%')).length, 1);
    assert.equal(selectPacks(packs, parseSubset('50000')).length, 50); // 50000 / 256000 bytes
    assert.equal(selectPacks(packs, parseSubset('1K')).length, 1);
    assert.deepEqual(parseSubset('2M'), { kind: 'size', bytes: 2 * 1024 * 1024 });
  });

  it('rejects malformed subsets', () => {
    for (const bad of ['0/3', '4/3', '1/257', '0%', '101%', 'abc', '']) assert.throws(() => parseSubset(bad), /invalid --read-data-subset/, bad);
  });
});

for (const kind of ['coffer', 'restic'] as const) {
  describe(`check on a ${kind}-written repository`, () => {
    let f: Fixture;
    before(async () => {
      if (kind === 'restic' && !restics[0]) return;
      f = await buildFixture(kind, restics[0]);
    });
    const skip = kind === 'restic' && !restics[0];

    it('a clean repository passes, with --read-data too', { skip }, async () => {
      const r = await check(f.repo, '--read-data');
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /no errors were found/);
      assert.match(r.stdout, /\d+ \/ \d+ packs/);
      const j = await check(f.repo, '--json');
      assert.equal(j.code, 0, j.stderr);
      assert.deepEqual(JSON.parse(j.stdout.trim()), { message_type: 'summary', num_errors: 0, broken_packs: null, suggest_repair_index: false, suggest_prune: false });
      assert.equal(files(f.repo, 'snapshots').length, 2);
      assert.deepEqual(files(path.join(f.repo), 'index').length > 0, true);
      assert.equal(fs.readdirSync(path.join(f.repo, 'locks')).length, 0, 'the exclusive lock is released');
    });

    if (kind === 'coffer') {
      for (const restic of restics) {
        it(`${restic.name} agrees: check --read-data passes`, async () => {
          const r = await runRestic(restic, ['check', '--read-data'], { env: envFor(f.repo) });
          assert.equal(r.code, 0, r.stdout + r.stderr);
        });
      }
    }

    it('a flipped byte in a data pack is found by --read-data (and its subset bucket), naming the pack', { skip }, async () => {
      const repo = copyRepo(f, 'flip-pack');
      const pack = f.secondDataPacks[0]!;
      flipByte(filePath(repo, 'data', pack), 40);
      assert.equal((await check(repo)).code, 0, 'structure alone does not read data blobs');
      const r = await check(repo, '--read-data');
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stderr, new RegExp(`pack ${pack}: content does not match its name`));
      assert.match(r.stderr, new RegExp(`data blob [0-9a-f]{64} in pack ${pack}: ciphertext verification failed`));
      const j = await check(repo, '--read-data', '--json');
      assert.deepEqual(JSON.parse(j.stdout.trim()).broken_packs, [pack]);
      const bucket = (parseInt(pack.slice(0, 2), 16) % 2) + 1;
      assert.equal((await check(repo, `--read-data-subset=${bucket}/2`)).code, 1);
      const other = await check(repo, `--read-data-subset=${3 - bucket}/2`);
      assert.doesNotMatch(other.stderr, new RegExp(pack));
    });

    it('a flipped byte in an index file is named', { skip }, async () => {
      const repo = copyRepo(f, 'flip-index');
      const idx = files(repo, 'index')[0]!;
      flipByte(filePath(repo, 'index', idx), 50);
      const r = await check(repo);
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`index/${idx}: content does not match its name`));
      assert.equal(JSON.parse((await check(repo, '--json')).stdout.trim()).suggest_repair_index, true);
    });

    it('a flipped byte in a snapshot is named', { skip }, async () => {
      const repo = copyRepo(f, 'flip-snapshot');
      const snap = f.snapshots[0]!.id;
      flipByte(filePath(repo, 'snapshots', snap), 20);
      const r = await check(repo);
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`snapshots/${snap}`));
    });

    it('a flipped byte in the key file: opening fails naming it; a damaged extra key is reported by check', { skip }, async () => {
      const repo = copyRepo(f, 'flip-key');
      const key = files(repo, 'keys')[0]!;
      const extra = Buffer.from('{"kdf":"scrypt","N":');
      const extraId = createHash('sha256').update(extra).digest('hex');
      fs.writeFileSync(filePath(repo, 'keys', extraId), extra);
      const r = await runCoffer(['check', '--key-hint', key.slice(0, 8)], { env: envFor(repo) });
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stderr, new RegExp(`keys/${extraId}`));
      fs.rmSync(filePath(repo, 'keys', extraId));
      flipByte(filePath(repo, 'keys', key), 30);
      const r2 = await check(repo);
      assert.equal(r2.code, 1, r2.stderr);
      assert.match(r2.stderr, new RegExp(`keys/${key}: content does not match its name`));
      const wrong = await runCoffer(['check'], { env: { ...envFor(f.repo), COFFER_PASSWORD: 'nope' } });
      assert.equal(wrong.code, 12);
    });

    it('a truncated pack is named with its sizes', { skip }, async () => {
      const repo = copyRepo(f, 'truncated');
      const pack = f.secondDataPacks[0]!;
      const p = filePath(repo, 'data', pack);
      const size = fs.statSync(p).size;
      fs.chmodSync(p, 0o644);
      fs.truncateSync(p, size - 7);
      const r = await check(repo);
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`pack ${pack}: unexpected file size: got ${size - 7} bytes, the index implies ${size}`));
    });

    it('a missing pack is named, and the files whose blobs it held', { skip }, async () => {
      const repo = copyRepo(f, 'missing-pack');
      const pack = f.secondDataPacks[0]!;
      fs.rmSync(filePath(repo, 'data', pack));
      const r = await check(repo);
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`pack ${pack}: does not exist`));
      assert.match(r.stderr, new RegExp(`file "[^"]*/new1.bin" blob [0-9a-f]{64} is in missing pack ${pack}`));
      assert.doesNotMatch(r.stderr, /nested\.txt/, 'files in other packs are not blamed');
    });

    it('a missing index file: every blob it listed is reported, its packs are unreferenced', { skip }, async () => {
      const repo = copyRepo(f, 'missing-index');
      for (const i of files(repo, 'index')) fs.rmSync(filePath(repo, 'index', i));
      const r = await check(repo, '--json');
      assert.equal(r.code, 1);
      assert.match(r.stderr, /tree blob [0-9a-f]{64} is not in the index/);
      const s = JSON.parse(r.stdout.trim());
      assert.ok(s.num_errors >= 2, r.stdout);
      assert.equal(s.suggest_prune, true);
      const text = await check(repo);
      assert.match(text.stdout, new RegExp(`pack ${f.secondDataPacks[0]}: not referenced in any index`));
    });

    it('an index entry pointing past the end of its pack is named', { skip }, async () => {
      const repo = copyRepo(f, 'past-end');
      const core = await openCore(repo);
      const pack = f.secondDataPacks[0]!;
      const size = fs.statSync(filePath(repo, 'data', pack)).size;
      let victim = '';
      for (const id of files(repo, 'index')) {
        const idx = decodeIndex(await core.loadUnpacked('index', id), id);
        if (!idx.packs.some((p) => p.id === pack)) continue;
        const packs = idx.packs.map((p) => {
          if (p.id !== pack) return p;
          const last = [...p.blobs].sort((a, b) => b.offset - a.offset)[0]!;
          victim = last.id;
          return { id: p.id, blobs: p.blobs.map((b) => (b === last ? { ...b, offset: size + 100 } : b)) };
        });
        await core.saveUnpacked('index', encodeIndex({ packs }));
        fs.rmSync(filePath(repo, 'index', id));
      }
      assert.ok(victim);
      const r = await check(repo);
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`pack ${pack}: index entry for data blob ${victim} has offset ${size + 100}`));
      assert.match(r.stderr, new RegExp(`blob ${victim} \\(offset ${size + 100}, length \\d+\\) reaches past the end of the pack`));
    });
  });
}
