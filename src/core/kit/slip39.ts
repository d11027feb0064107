/**
 * @module kit/slip39
 * SLIP-0039 Shamir's secret sharing (SatoshiLabs), used to split the recovery key 2-of-3
 * (../shared/design/no-lockout.md §5): a published standard with test vectors, shares as word
 * lists with an RS1024 checksum, an identifier tying shares together and a digest share that
 * verifies the rebuilt secret. Written from the specification; checked against its official
 * vectors (test/kit/fixtures/slip39-vectors.json).
 *
 * Pieces: GF(256) Lagrange interpolation (Rijndael polynomial), the 4-round Feistel cipher over
 * PBKDF2-HMAC-SHA256 (@noble/hashes), the share word format and RS1024 over GF(1024).
 */
import { hmac } from '@noble/hashes/hmac.js';
import { pbkdf2 } from '@noble/hashes/pbkdf2.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { CofferError } from '../errors.js';
import { SLIP39_WORDS } from './slip39-words.js';

const RADIX_BITS = 10;
const ID_BITS = 15;
const ITERATION_EXP_BITS = 4;
const CHECKSUM_WORDS = 3;
const METADATA_WORDS = 7; // id+ext+exp (2), group/member parameters (2), checksum (3)
const MIN_SHARE_WORDS = METADATA_WORDS + Math.ceil((128 + 0) / RADIX_BITS);
const DIGEST_INDEX = 254;
const SECRET_INDEX = 255;
const DIGEST_BYTES = 4;
const BASE_ITERATIONS = 10000;
const ROUNDS = 4;
const RS_GEN = [0xe0e040, 0x1c1c080, 0x3838100, 0x7070200, 0xe0e0009, 0x1c0c2412, 0x38086c24, 0x3090fc48, 0x21b1f890, 0x3f3f120];

const WORD_INDEX = new Map(SLIP39_WORDS.map((w, i) => [w, i]));

function bad(message: string): CofferError {
  return new CofferError('bad-input', message);
}

// ---- GF(256), x^8 + x^4 + x^3 + x + 1, generator 3 ----
const EXP = new Uint8Array(255);
const LOG = new Uint8Array(256);
{
  let x = 1;
  for (let i = 0; i < 255; i++) {
    EXP[i] = x;
    LOG[x] = i;
    x ^= x << 1; // times 3
    if (x & 0x100) x ^= 0x11b;
  }
}

interface RawShare {
  readonly x: number;
  readonly value: Uint8Array;
}

/** The polynomial through `shares`, evaluated at `x` (Lagrange, in log space). */
function interpolate(shares: readonly RawShare[], x: number): Uint8Array {
  const hit = shares.find((s) => s.x === x);
  if (hit) return hit.value;
  const len = shares[0]!.value.length;
  const out = new Uint8Array(len);
  for (const si of shares) {
    // basis_i(x) = prod_{j != i} (x - x_j) / (x_i - x_j); subtraction is xor.
    let logBasis = 0;
    for (const sj of shares) {
      if (sj === si) continue;
      logBasis += LOG[x ^ sj.x]! - LOG[si.x ^ sj.x]!;
    }
    logBasis = ((logBasis % 255) + 255) % 255;
    for (let k = 0; k < len; k++) {
      const v = si.value[k]!;
      if (v !== 0) out[k] ^= EXP[(LOG[v]! + logBasis) % 255]!;
    }
  }
  return out;
}

function digestOf(randomPart: Uint8Array, secret: Uint8Array): Uint8Array {
  return hmac(sha256, randomPart, secret).subarray(0, DIGEST_BYTES);
}

function splitSecret(threshold: number, count: number, secret: Uint8Array, random: (n: number) => Uint8Array): RawShare[] {
  if (threshold < 1 || threshold > count || count > 16) throw new CofferError('internal', `invalid SLIP-39 threshold ${threshold} of ${count}`);
  if (threshold === 1) return Array.from({ length: count }, (_, i) => ({ x: i, value: secret }));
  const shares: RawShare[] = [];
  for (let i = 0; i < threshold - 2; i++) shares.push({ x: i, value: random(secret.length) });
  const randomPart = random(secret.length - DIGEST_BYTES);
  const digestShare = new Uint8Array(secret.length);
  digestShare.set(digestOf(randomPart, secret));
  digestShare.set(randomPart, DIGEST_BYTES);
  const base = [...shares, { x: DIGEST_INDEX, value: digestShare }, { x: SECRET_INDEX, value: secret }];
  for (let i = threshold - 2; i < count; i++) shares.push({ x: i, value: interpolate(base, i) });
  return shares;
}

function recoverSecret(threshold: number, shares: readonly RawShare[]): Uint8Array {
  if (threshold === 1) return shares[0]!.value;
  const secret = interpolate(shares, SECRET_INDEX);
  const digestShare = interpolate(shares, DIGEST_INDEX);
  const expect = digestOf(digestShare.subarray(DIGEST_BYTES), secret);
  for (let i = 0; i < DIGEST_BYTES; i++) {
    if (expect[i] !== digestShare[i]) throw bad('SLIP-39 shares do not fit together (digest mismatch): they belong to different kits or one is damaged');
  }
  return secret;
}

// ---- Feistel cipher ----
function salt(identifier: number, extendable: boolean): Uint8Array {
  return extendable ? new Uint8Array(0) : new Uint8Array([0x73, 0x68, 0x61, 0x6d, 0x69, 0x72, identifier >> 8, identifier & 0xff]);
}

function roundFunction(i: number, passphrase: Uint8Array, exp: number, s: Uint8Array, r: Uint8Array): Uint8Array {
  const pw = new Uint8Array(1 + passphrase.length);
  pw[0] = i;
  pw.set(passphrase, 1);
  const sr = new Uint8Array(s.length + r.length);
  sr.set(s);
  sr.set(r, s.length);
  return pbkdf2(sha256, pw, sr, { c: (BASE_ITERATIONS << exp) / ROUNDS, dkLen: r.length });
}

function xor(a: Uint8Array, b: Uint8Array): Uint8Array {
  return a.map((v, i) => v ^ b[i]!);
}

function feistel(data: Uint8Array, passphrase: Uint8Array, exp: number, identifier: number, extendable: boolean, decrypt: boolean): Uint8Array {
  const half = data.length / 2;
  let l: Uint8Array = data.slice(0, half);
  let r: Uint8Array = data.slice(half);
  const s = salt(identifier, extendable);
  for (let k = 0; k < ROUNDS; k++) {
    const i = decrypt ? ROUNDS - 1 - k : k;
    [l, r] = [r, xor(l, roundFunction(i, passphrase, exp, s, r))];
  }
  const out = new Uint8Array(data.length);
  out.set(r);
  out.set(l, half);
  return out;
}

// ---- RS1024 checksum ----
function rsPolymod(values: Iterable<number>): number {
  let chk = 1;
  for (const v of values) {
    const b = chk >>> 20;
    chk = ((chk & 0xfffff) << 10) ^ v;
    for (let i = 0; i < 10; i++) if ((b >>> i) & 1) chk ^= RS_GEN[i]!;
  }
  return chk;
}

function customization(extendable: boolean): number[] {
  return [...(extendable ? 'shamir_extendable' : 'shamir')].map((c) => c.charCodeAt(0));
}

// ---- share encoding ----
export interface Share {
  readonly identifier: number;
  readonly extendable: boolean;
  readonly iterationExponent: number;
  readonly groupIndex: number;
  readonly groupThreshold: number;
  readonly groupCount: number;
  readonly memberIndex: number;
  readonly memberThreshold: number;
  readonly value: Uint8Array;
}

/** Packs `bits`-wide fields into 10-bit words, big-endian. */
function toWords(fields: readonly [number, number][]): number[] {
  let acc = 0n;
  let total = 0;
  for (const [v, bits] of fields) {
    acc = (acc << BigInt(bits)) | BigInt(v);
    total += bits;
  }
  const out: number[] = [];
  for (let i = total / RADIX_BITS - 1; i >= 0; i--) out.push(Number((acc >> BigInt(i * RADIX_BITS)) & 1023n));
  return out;
}

export function encodeShare(s: Share): string {
  const valueWords = Math.ceil((s.value.length * 8) / RADIX_BITS);

  let v = 0n;
  for (const b of s.value) v = (v << 8n) | BigInt(b);
  const words = [
    ...toWords([
      [s.identifier, ID_BITS],
      [s.extendable ? 1 : 0, 1],
      [s.iterationExponent, ITERATION_EXP_BITS],
      [s.groupIndex, 4],
      [s.groupThreshold - 1, 4],
      [s.groupCount - 1, 4],
      [s.memberIndex, 4],
      [s.memberThreshold - 1, 4],
    ]),
  ];
  for (let i = valueWords - 1; i >= 0; i--) words.push(Number((v >> BigInt(i * RADIX_BITS)) & 1023n));
  const chk = rsPolymod([...customization(s.extendable), ...words, 0, 0, 0]) ^ 1;
  for (let i = CHECKSUM_WORDS - 1; i >= 0; i--) words.push((chk >>> (i * RADIX_BITS)) & 1023);
  return words.map((w) => SLIP39_WORDS[w]).join(' ');
}

/** Reads one share (20+ words); a wrong word or checksum is 'bad-input', before any combining. */
export function decodeShare(mnemonic: string): Share {
  const words = mnemonic.trim().toLowerCase().split(/\s+/).filter(Boolean);
  const idx: number[] = [];
  for (const w of words) {
    // The list is unique by 4 letters: accept a word typed by its prefix.
    let i = WORD_INDEX.get(w);
    if (i === undefined && w.length >= 4) {
      const hits = SLIP39_WORDS.flatMap((x, k) => (x.startsWith(w.slice(0, 4)) && x.startsWith(w) ? [k] : []));
      if (hits.length === 1) i = hits[0];
    }
    if (i === undefined) throw bad(`SLIP-39 share: "${w}" is not a word of the SLIP-39 list`);
    idx.push(i);
  }
  if (idx.length < MIN_SHARE_WORDS) throw bad(`SLIP-39 share: too short (${idx.length} words, at least ${MIN_SHARE_WORDS})`);
  const valueWords = idx.length - METADATA_WORDS;
  const padding = (RADIX_BITS * valueWords) % 16;
  if (padding > 8) throw bad('SLIP-39 share: invalid length');
  const extendable = ((idx[1]! >> 4) & 1) === 1;
  if (rsPolymod([...customization(extendable), ...idx]) !== 1) throw bad('SLIP-39 share checksum mismatch: a word is mistyped');
  const head = (BigInt(idx[0]!) << 10n) | BigInt(idx[1]!);
  const params = (BigInt(idx[2]!) << 10n) | BigInt(idx[3]!);
  let v = 0n;
  for (const w of idx.slice(4, 4 + valueWords)) v = (v << 10n) | BigInt(w);
  const bytes = (RADIX_BITS * valueWords - padding) / 8;
  if (v >> BigInt(bytes * 8) !== 0n) throw bad('SLIP-39 share: invalid padding');
  const value = new Uint8Array(bytes);
  for (let i = bytes - 1; i >= 0; i--) {
    value[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  const p = Number(params);
  const share: Share = {
    identifier: Number(head >> 5n),
    extendable,
    iterationExponent: Number(head & 15n),
    groupIndex: (p >> 16) & 15,
    groupThreshold: ((p >> 12) & 15) + 1,
    groupCount: ((p >> 8) & 15) + 1,
    memberIndex: (p >> 4) & 15,
    memberThreshold: (p & 15) + 1,
    value,
  };
  if (share.groupThreshold > share.groupCount) throw bad('SLIP-39 share: group threshold exceeds group count');
  return share;
}

export interface SplitOptions {
  readonly threshold: number;
  readonly count: number;
  readonly passphrase?: Uint8Array;
  readonly iterationExponent?: number;
  readonly extendable?: boolean;
  readonly random: (n: number) => Uint8Array;
}

/** Splits `secret` (16 or more bytes, even length) into `count` shares, one group. */
export function splitMnemonic(secret: Uint8Array, o: SplitOptions): string[] {
  if (secret.length < 16 || secret.length % 2 !== 0) throw new CofferError('internal', 'SLIP-39 secrets are at least 16 bytes, of even length');
  const r = o.random(2);
  const identifier = ((r[0]! << 8) | r[1]!) & 0x7fff;
  const exp = o.iterationExponent ?? 1;
  const extendable = o.extendable ?? true;
  const ems = feistel(secret, o.passphrase ?? new Uint8Array(0), exp, identifier, extendable, false);
  const [group] = splitSecret(1, 1, ems, o.random);
  return splitSecret(o.threshold, o.count, group!.value, o.random).map((m) =>
    encodeShare({ identifier, extendable, iterationExponent: exp, groupIndex: 0, groupThreshold: 1, groupCount: 1, memberIndex: m.x, memberThreshold: o.threshold, value: m.value }),
  );
}

/** Rebuilds the master secret from shares; refuses too few, mixed or inconsistent shares. */
export function combineMnemonics(mnemonics: readonly string[], passphrase: Uint8Array = new Uint8Array(0)): Uint8Array {
  if (mnemonics.length === 0) throw bad('need SLIP-39 shares, got none');
  const shares = mnemonics.map(decodeShare);
  const first = shares[0]!;
  for (const s of shares) {
    if (s.identifier !== first.identifier || s.extendable !== first.extendable || s.iterationExponent !== first.iterationExponent) {
      throw bad('SLIP-39 shares come from different splits (identifiers differ): they belong to different kits');
    }
    if (s.groupThreshold !== first.groupThreshold || s.groupCount !== first.groupCount) throw bad('SLIP-39 shares disagree on the group parameters');
    if (s.value.length !== first.value.length) throw bad('SLIP-39 shares have different lengths');
  }
  const groups = new Map<number, Share[]>();
  for (const s of shares) groups.set(s.groupIndex, [...(groups.get(s.groupIndex) ?? []), s]);
  const groupShares: RawShare[] = [];
  for (const [gi, members] of groups) {
    const t = members[0]!.memberThreshold;
    if (members.some((m) => m.memberThreshold !== t)) throw bad('SLIP-39 shares disagree on the member threshold');
    if (new Set(members.map((m) => m.memberIndex)).size !== members.length) throw bad('SLIP-39 shares repeat a member index (the same share given twice?)');
    if (members.length < t) {
      if (groups.size === 1) throw bad(`need ${t} shares, got ${members.length}`);
      continue;
    }
    if (members.length > t) throw bad(`need ${t} shares of group ${gi + 1}, got ${members.length}`);
    groupShares.push({ x: gi, value: recoverSecret(t, members.map((m) => ({ x: m.memberIndex, value: m.value }))) });
  }
  if (groupShares.length < first.groupThreshold) throw bad(`need ${first.groupThreshold} complete groups of SLIP-39 shares, got ${groupShares.length}`);
  if (groupShares.length > first.groupThreshold) throw bad(`need ${first.groupThreshold} groups of SLIP-39 shares, got ${groupShares.length}`);
  const ems = recoverSecret(first.groupThreshold, groupShares);
  return feistel(ems, passphrase, first.iterationExponent, first.identifier, first.extendable, true);
}
