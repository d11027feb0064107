/**
 * @module chunker/polynomial
 * Polynomials over GF(2) for the Rabin chunker (spec §15.2–§15.5, config form §6.1).
 *
 * A polynomial is a bigint whose bit i is the coefficient of x^i (restic's `Pol`, a uint64).
 * Contents: degree / modulo / multiplication / GCD, Ben-Or's irreducibility test as restic runs it
 * (§15.3), restic's random polynomial choice (§15.4), the config's hex form, validation, and the
 * `out`/`mod` tables of the rolling hash (§15.5), cached per polynomial and also provided split
 * into 32-bit halves for the hot loop in chunker.ts.
 *
 * BigInt is fine here: none of this runs per input byte.
 */
import { CofferError } from '../errors.js';

/** Degree of every polynomial restic generates and Coffer writes (§15.1). */
export const POLYNOMIAL_DEGREE = 53;
/** Bytes in the rolling-hash window (§15.1). */
export const WINDOW_SIZE = 64;

/** Index of the highest set bit; -1 for the zero polynomial. */
export function deg(p: bigint): number {
  if (p <= 0n) return -1;
  // toString(2) is exact for any size and cheap at 64 bits.
  return p.toString(2).length - 1;
}

/** `a mod p` (remainder of polynomial division). Throws RangeError for p = 0. */
export function mod(a: bigint, p: bigint): bigint {
  const dp = deg(p);
  if (dp < 0) throw new RangeError('polynomial division by zero');
  let da = deg(a);
  while (da >= dp) {
    a ^= p << BigInt(da - dp);
    da = deg(a);
  }
  return a;
}

/** Carry-less product a·b (no reduction). */
export function mul(a: bigint, b: bigint): bigint {
  let r = 0n;
  let shift = 0n;
  while (b > 0n) {
    if (b & 1n) r ^= a << shift;
    b >>= 1n;
    shift++;
  }
  return r;
}

/** (a·b) mod p. */
export function mulmod(a: bigint, b: bigint, p: bigint): bigint {
  return mod(mul(a, b), p);
}

/** Greatest common divisor (Euclid with `mod`), like restic's Pol.GCD. */
export function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) {
    const r = mod(a, b);
    a = b;
    b = r;
  }
  return a;
}

/**
 * Ben-Or's test as restic implements it (§15.3): f of degree d is irreducible iff
 * gcd(f, x^(2^i) − x mod f) = 1 for every i in 1…⌊d/2⌋.
 */
export function isIrreducible(f: bigint): boolean {
  const d = deg(f);
  if (d < 1) return false; // constants are units or zero, never irreducible
  let r = 2n; // x
  for (let i = 1; i <= Math.floor(d / 2); i++) {
    r = mulmod(r, r, f); // x^(2^i) mod f, one squaring per round
    // Subtracting x is XOR with 2; r < f and 2 < f (d ≥ 2 here), so the result is still reduced.
    if (gcd(f, mod(r ^ 2n, f)) !== 1n) return false;
  }
  return true;
}

const RANDOM_POLYNOMIAL_TRIES = 1_000_000;
const LOW_54_BITS = (1n << 54n) - 1n;

/**
 * Draws a random irreducible polynomial of degree 53 exactly as `restic init` does (§15.4):
 * 8 random bytes → little-endian uint64 → keep bits 0…53, set bit 53 and bit 0, test.
 */
export function randomPolynomial(randomBytes: (n: number) => Uint8Array): bigint {
  for (let i = 0; i < RANDOM_POLYNOMIAL_TRIES; i++) {
    const b = randomBytes(8);
    if (b.length !== 8) throw new CofferError('internal', 'random source returned a wrong number of bytes');
    let v = 0n;
    for (let j = 7; j >= 0; j--) v = (v << 8n) | BigInt(b[j]!);
    const f = (v & LOW_54_BITS) | (1n << 53n) | 1n;
    if (isIrreducible(f)) return f;
  }
  throw new CofferError('internal', 'unable to find an irreducible chunker polynomial');
}

/** Config form (§6.1): bare lowercase hex, no `0x`, no leading zeros. */
export function formatPolynomial(p: bigint): string {
  if (p < 0n) throw new RangeError('negative polynomial');
  return p.toString(16);
}

/**
 * Parses the config form like Go's strconv.ParseUint(s, 16, 64): 1–16 hex digits of either case
 * (leading zeros allowed), no prefix or sign. Throws CofferError 'corrupt' otherwise.
 * Does not check irreducibility (see validatePolynomial).
 */
export function parsePolynomial(hex: string): bigint {
  if (!/^[0-9a-fA-F]+$/.test(hex)) throw invalid();
  const v = BigInt('0x' + hex);
  if (v >> 64n !== 0n) throw invalid();
  return v;
}

/** Accepts only what Coffer can chunk with and restic would accept: degree 53 and irreducible. */
export function validatePolynomial(p: bigint): void {
  if (deg(p) !== POLYNOMIAL_DEGREE || !isIrreducible(p)) throw invalid();
}

function invalid(): CofferError {
  return new CofferError('corrupt', 'config: invalid chunker polynomial');
}

/** The §15.5 tables as bigints (256 entries each). */
export interface PolynomialTables {
  readonly out: readonly bigint[];
  readonly mod: readonly bigint[];
}

/**
 * The same tables split for 32-bit arithmetic: entry b is `hi[b] * 2^32 + (lo[b] >>> 0)`.
 * `hi` holds bits 32 and up (< 2^29 even for `mod`, whose entries reach bit 60).
 */
export interface SplitTables {
  readonly pol: bigint;
  readonly degree: number;
  readonly outHi: Int32Array;
  readonly outLo: Int32Array;
  readonly modHi: Int32Array;
  readonly modLo: Int32Array;
  /**
   * slideOut[b] = (out[b]·x^8) mod P = b·x^(8·64) mod P. Because `mod[top]` is linear in `top`,
   * "digest ^= out[o]; shift in b; reduce" equals "shift in b; reduce by the digest's own top;
   * XOR slideOut[o]". That keeps the leaving byte's table load off the digest's dependency chain.
   */
  readonly slideOutHi: Int32Array;
  readonly slideOutLo: Int32Array;
}

/**
 * out[b] = b·x^(8·63) mod P: the contribution of a byte about to leave the 64-byte window.
 * mod[b] = ((b << k) mod P) | (b << k): XORed into a digest shifted left by 8, it clears the
 * 8 bits above degree k−1 and adds their reduction. Computed fresh (not cached).
 */
export function computeTables(pol: bigint): PolynomialTables {
  const k = deg(pol);
  if (k < 8) throw new RangeError('chunker polynomial degree too small');
  const out: bigint[] = [];
  const modT: bigint[] = [];
  for (let b = 0; b < 256; b++) {
    let h = mod(BigInt(b), pol);
    for (let i = 0; i < WINDOW_SIZE - 1; i++) h = mod(h << 8n, pol);
    out.push(h);
    const shifted = BigInt(b) << BigInt(k);
    modT.push(mod(shifted, pol) | shifted);
  }
  return { out, mod: modT };
}

// Few polynomials are ever in use (one per repository), so an unbounded map is fine.
const tableCache = new Map<bigint, SplitTables>();

/** Split tables for `pol`, cached per polynomial. */
export function splitTables(pol: bigint): SplitTables {
  let t = tableCache.get(pol);
  if (t) return t;
  const { out, mod: modT } = computeTables(pol);
  const split = (src: readonly bigint[]): [Int32Array, Int32Array] => {
    const hi = new Int32Array(256);
    const lo = new Int32Array(256);
    for (let b = 0; b < 256; b++) {
      hi[b] = Number(src[b]! >> 32n);
      lo[b] = Number(BigInt.asIntN(32, src[b]!));
    }
    return [hi, lo];
  };
  const [outHi, outLo] = split(out);
  const [modHi, modLo] = split(modT);
  const [slideOutHi, slideOutLo] = split(out.map((o) => mod(o << 8n, pol)));
  t = { pol, degree: deg(pol), outHi, outLo, modHi, modLo, slideOutHi, slideOutLo };
  tableCache.set(pol, t);
  return t;
}
