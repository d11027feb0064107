/** Tests for GF(2) arithmetic, Ben-Or, random polynomial derivation and tables (spec §15.2–§15.5). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readVector } from '../helpers/paths.js';
import {
  computeTables,
  deg,
  formatPolynomial,
  gcd,
  isIrreducible,
  mod,
  mul,
  mulmod,
  parsePolynomial,
  randomPolynomial,
  splitTables,
  validatePolynomial,
} from '../../src/core/chunker/polynomial.js';
import { isCofferError } from '../../src/core/errors.js';

const V = readVector('chunker.json');

test('deg / mod / mul / gcd basics', () => {
  assert.equal(deg(0n), -1);
  assert.equal(deg(1n), 0);
  assert.equal(deg(0x3da3358b4dc173n), 53);
  // (x+1)^2 = x^2 + 1 over GF(2)
  assert.equal(mul(3n, 3n), 5n);
  // x^3 + x + 1 divides (x^3+x+1)(x^2+1)
  const f = 0b1011n;
  assert.equal(mod(mul(f, 5n), f), 0n);
  assert.equal(mod(0b1000n, f), 0b011n); // x^3 ≡ x + 1
  assert.equal(mulmod(0b100n, 0b10n, f), 0b011n);
  // x^2+1 = (x+1)^2, so gcd(f·(x+1), f·(x^2+1)) = f·(x+1)
  assert.equal(gcd(mul(f, 3n), mul(f, 5n)), mul(f, 3n));
  // gcd((x^3+x+1)(x+1), (x^3+x+1)(x^2+x+1)) = x^3+x+1 (x+1 and x^2+x+1 are coprime)
  assert.equal(gcd(mul(f, 3n), mul(f, 7n)), f);
  assert.throws(() => mod(5n, 0n), RangeError);
});

test('irreducibility vectors (Ben-Or, §15.3)', () => {
  assert.equal(V.irreducibility.length, 12);
  for (const c of V.irreducibility) {
    const p = parsePolynomial(c.polynomial);
    assert.equal(deg(p), c.degree, c.polynomial);
    assert.equal(isIrreducible(p), c.irreducible, c.polynomial);
  }
  // small known cases
  assert.equal(isIrreducible(0b111n), true); // x^2+x+1
  assert.equal(isIrreducible(0b101n), false); // (x+1)^2
  assert.equal(isIrreducible(0b1011n), true);
});

test('validatePolynomial accepts restic polynomials and rejects others with corrupt', () => {
  for (const c of V.irreducibility) {
    const p = parsePolynomial(c.polynomial);
    if (c.irreducible) validatePolynomial(p);
    else
      assert.throws(
        () => validatePolynomial(p),
        (e: unknown) => isCofferError(e, 'corrupt') && /invalid chunker polynomial/.test((e as Error).message),
      );
  }
  // irreducible but wrong degree
  assert.throws(() => validatePolynomial(0b1011n), (e: unknown) => isCofferError(e, 'corrupt'));
  assert.throws(() => validatePolynomial(0n), (e: unknown) => isCofferError(e, 'corrupt'));
});

test('format / parse config form', () => {
  assert.equal(formatPolynomial(0x2a24233fdc57b3n), '2a24233fdc57b3');
  assert.equal(parsePolynomial('2a24233fdc57b3'), 0x2a24233fdc57b3n);
  assert.equal(parsePolynomial('002A24233FDC57B3'), 0x2a24233fdc57b3n); // ParseUint accepts both
  assert.equal(parsePolynomial('ffffffffffffffff'), (1n << 64n) - 1n);
  for (const bad of ['', '0x2a24', '-1', '2a 24', '1ffffffffffffffff', 'xyz']) {
    assert.throws(() => parsePolynomial(bad), (e: unknown) => isCofferError(e, 'corrupt'), bad);
  }
});

test('random polynomial derivation matches the worked example (§15.4)', () => {
  const ex = V.polynomial_derivation_examples;
  let i = 0;
  const seen: string[] = [];
  const source = (n: number): Uint8Array => {
    assert.equal(n, 8);
    const counter = Buffer.alloc(8);
    counter.writeBigUInt64LE(BigInt(i++));
    const b = createHash('sha256').update('restic-spec-pol').update(counter).digest().subarray(0, 8);
    seen.push(b.toString('hex'));
    return new Uint8Array(b);
  };
  const p = randomPolynomial(source);
  assert.equal(formatPolynomial(p), ex.result);
  assert.deepEqual(seen, ex.candidates.map((c: any) => c.random_8_bytes_hex));
  for (const c of ex.candidates) assert.equal(isIrreducible(parsePolynomial(c.candidate)), c.irreducible);
});

test('randomPolynomial with a real random source gives valid degree-53 polynomials', () => {
  for (let k = 0; k < 5; k++) {
    const p = randomPolynomial((n) => new Uint8Array(createHash('sha256').update(String(Math.random())).digest().subarray(0, n)));
    assert.equal(deg(p), 53);
    assert.equal(p & 1n, 1n);
    validatePolynomial(p);
  }
});

test('out/mod tables match vectors (§15.5), bigint and split forms', () => {
  const t = V.tables;
  const pol = parsePolynomial(t.polynomial);
  const { out, mod: modT } = computeTables(pol);
  assert.equal(out.length, 256);
  assert.deepEqual(out.map((x) => x.toString(16)), t.out_table_hex);
  assert.deepEqual(modT.map((x) => x.toString(16)), t.mod_table_hex);
  const s = splitTables(pol);
  assert.equal(s.degree, 53);
  assert.equal(splitTables(pol), s, 'cached per polynomial');
  for (let b = 0; b < 256; b++) {
    assert.equal((BigInt(s.outHi[b]!) << 32n) | BigInt(s.outLo[b]! >>> 0), out[b]);
    assert.equal((BigInt(s.modHi[b]!) << 32n) | BigInt(s.modLo[b]! >>> 0), modT[b]);
  }
});
