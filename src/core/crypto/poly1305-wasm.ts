/**
 * @module crypto/poly1305-wasm
 * A faster Poly1305 (RFC 8439 §2.5; spec §4.2 MAC) for the sealing hot path: the block loop is a
 * tiny WebAssembly function using 64-bit multiplies on five 26-bit limbs (the well-known
 * "donna-32" arithmetic), assembled here from opcodes, so no binary file or toolchain is needed.
 * Key setup, the final partial block and the finalisation run in JS. Cross-tested against
 * @noble's Poly1305 (test/crypto). Returns undefined where WebAssembly is unavailable.
 */

// ---- a minimal WebAssembly encoder -------------------------------------------------------

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

function str(s: string): number[] {
  return [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];
}

const op = {
  get: (i: number) => [0x20, ...uleb(i)],
  set: (i: number) => [0x21, ...uleb(i)],
  i64c: (v: number) => [0x42, ...sleb(v)],
  i64add: [0x7c],
  i64mul: [0x7e],
  i64and: [0x83],
  i64or: [0x84],
  i64shru: [0x88],
  i32add: [0x6a],
  i32geu: [0x4f],
  i32c: (v: number) => [0x41, ...sleb(v)],
  /** i64.load32_u with a constant offset (unaligned loads are allowed; align hint 0). */
  load32u: (offset: number) => [0x35, 0x00, ...uleb(offset)],
  load64: (offset: number) => [0x29, 0x03, ...uleb(offset)],
  store64: (offset: number) => [0x37, 0x03, ...uleb(offset)],
};

// Memory layout: r0..r4 as i64 at 0, h0..h4 as i64 at 40, message blocks from MSG.
const MSG = 128;
const CHUNK = 65536;
const MASK26 = 0x3ffffff;

/** `blocks(off, len, hibit)`: absorbs len/16 blocks at `off` into h (hibit = 2^24, or 0 for a padded final block). */
function buildModule(): Uint8Array {
  // params: 0 off (i32), 1 len (i32), 2 hibit (i64); locals: 3..7 r, 8..11 s1..s4, 12..16 h, 17..21 d, 22 c (i64), 23 end (i32)
  const OFF = 0, LEN = 1, HIBIT = 2;
  const R = (i: number) => 3 + i;
  const S = (i: number) => 7 + i; // S(1)..S(4) = 8..11
  const H = (i: number) => 12 + i;
  const D = (i: number) => 17 + i;
  const C = 22, END = 23;
  const b: number[] = [];
  const emit = (...parts: (number | number[])[]) => {
    for (const p of parts) typeof p === 'number' ? b.push(p) : b.push(...p);
  };
  const zero32 = op.i32c(0);
  for (let i = 0; i < 5; i++) emit(zero32, op.load64(8 * i), op.set(R(i)), zero32, op.load64(40 + 8 * i), op.set(H(i)));
  for (let i = 1; i < 5; i++) emit(op.get(R(i)), op.i64c(5), op.i64mul, op.set(S(i)));
  emit(op.get(OFF), op.get(LEN), op.i32add, op.set(END));
  emit(0x02, 0x40, 0x03, 0x40); // block, loop
  emit(op.get(OFF), op.get(END), op.i32geu, 0x0d, 1); // br_if 1 (exit when off >= end)
  // h += m (26-bit limbs from little-endian words at byte 0, 3, 6, 9, 12)
  const limb = [[0, 0], [3, 2], [6, 4], [9, 6]];
  limb.forEach(([o, sh], i) => emit(op.get(H(i)), op.get(OFF), op.load32u(o!), op.i64c(sh!), op.i64shru, op.i64c(MASK26), op.i64and, op.i64add, op.set(H(i))));
  emit(op.get(H(4)), op.get(OFF), op.load32u(12), op.i64c(8), op.i64shru, op.get(HIBIT), op.i64or, op.i64add, op.set(H(4)));
  // d_k = Σ h_i · (r_{k-i} or 5·r_{k-i+5})
  for (let k = 0; k < 5; k++) {
    for (let i = 0; i < 5; i++) {
      const j = k - i;
      emit(op.get(H(i)), op.get(j >= 0 ? R(j) : S(j + 5)), op.i64mul);
      if (i > 0) emit(op.i64add);
    }
    emit(op.set(D(k)));
  }
  // carry chain
  for (let k = 0; k < 5; k++) {
    if (k > 0) emit(op.get(D(k)), op.get(C), op.i64add, op.set(D(k)));
    emit(op.get(D(k)), op.i64c(26), op.i64shru, op.set(C));
    emit(op.get(D(k)), op.i64c(MASK26), op.i64and, op.set(H(k)));
  }
  emit(op.get(H(0)), op.get(C), op.i64c(5), op.i64mul, op.i64add, op.set(H(0)));
  emit(op.get(H(1)), op.get(H(0)), op.i64c(26), op.i64shru, op.i64add, op.set(H(1)));
  emit(op.get(H(0)), op.i64c(MASK26), op.i64and, op.set(H(0)));
  emit(op.get(OFF), op.i32c(16), op.i32add, op.set(OFF));
  emit(0x0c, 0, 0x0b, 0x0b); // br 0, end loop, end block
  for (let i = 0; i < 5; i++) emit(zero32, op.get(H(i)), op.store64(40 + 8 * i));
  emit(0x0b);
  const body = [0x02, 20, 0x7e, 1, 0x7f, ...b]; // locals: 20 × i64, 1 × i32
  const code = [1, ...uleb(body.length), ...body];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [1, 0x60, 3, 0x7f, 0x7f, 0x7e, 0]),
    ...section(3, [1, 0]),
    ...section(5, [1, 0x00, 2]), // memory: 2 pages (128 KiB), fixed
    ...section(7, [2, ...str('blocks'), 0x00, 0, ...str('mem'), 0x02, 0]),
    ...section(10, code),
  ]);
}

function u32le(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
}

export type Poly1305Fn = (key: Uint8Array, msg: Uint8Array) => Uint8Array;

/** A Poly1305 backed by WebAssembly, or undefined when WebAssembly cannot be used here. */
export function createPoly1305Wasm(): Poly1305Fn | undefined {
  let blocks: (off: number, len: number, hibit: bigint) => void;
  let mem: Uint8Array;
  let words: Uint32Array;
  try {
    // Synchronous compile is fine: the module is well under the 4 KiB browsers allow on the main thread.
    const inst = new WebAssembly.Instance(new WebAssembly.Module(buildModule() as Uint8Array<ArrayBuffer>), {});
    blocks = inst.exports.blocks as typeof blocks;
    const buf = (inst.exports.mem as WebAssembly.Memory).buffer;
    mem = new Uint8Array(buf);
    words = new Uint32Array(buf, 0, 32);
  } catch {
    return undefined;
  }
  const HIBIT = 1n << 24n;
  return (key: Uint8Array, msg: Uint8Array): Uint8Array => {
    if (key.length !== 32) throw new RangeError('poly1305 key must be 32 bytes');
    // r with the clamp folded into the limb masks; each limb stored as an i64 (high word 0).
    const r = [
      u32le(key, 0) & 0x3ffffff,
      (u32le(key, 3) >>> 2) & 0x3ffff03,
      (u32le(key, 6) >>> 4) & 0x3ffc0ff,
      (u32le(key, 9) >>> 6) & 0x3f03fff,
      (u32le(key, 12) >>> 8) & 0x00fffff,
    ];
    words.fill(0, 0, 20);
    for (let i = 0; i < 5; i++) words[2 * i] = r[i]!;
    const full = msg.length & ~15;
    for (let o = 0; o < full; o += CHUNK) {
      const n = Math.min(CHUNK, full - o);
      mem.set(msg.subarray(o, o + n), MSG);
      blocks(MSG, n, HIBIT);
    }
    const rest = msg.length - full;
    if (rest > 0) {
      // Final partial block: the 0x01 byte follows the data, no 2^128 bit.
      mem.fill(0, MSG, MSG + 16);
      mem.set(msg.subarray(full), MSG);
      mem[MSG + rest] = 1;
      blocks(MSG, 16, 0n);
    }
    // Finalise: full carry, reduce mod 2^130 - 5, add s (RFC 8439 §2.5.1).
    let h0 = words[10]!, h1 = words[12]!, h2 = words[14]!, h3 = words[16]!, h4 = words[18]!;
    let c: number;
    c = h1 >>> 26; h1 &= MASK26; h2 += c;
    c = h2 >>> 26; h2 &= MASK26; h3 += c;
    c = h3 >>> 26; h3 &= MASK26; h4 += c;
    c = h4 >>> 26; h4 &= MASK26; h0 += c * 5;
    c = h0 >>> 26; h0 &= MASK26; h1 += c;
    // g = h + 5 - 2^130; pick g when it did not go negative.
    let g0 = h0 + 5; c = g0 >>> 26; g0 &= MASK26;
    let g1 = h1 + c; c = g1 >>> 26; g1 &= MASK26;
    let g2 = h2 + c; c = g2 >>> 26; g2 &= MASK26;
    let g3 = h3 + c; c = g3 >>> 26; g3 &= MASK26;
    const g4 = (h4 + c - (1 << 26)) | 0;
    const useG = ~(g4 >> 31); // all ones when g4 >= 0
    h0 = (h0 & ~useG) | (g0 & useG);
    h1 = (h1 & ~useG) | (g1 & useG);
    h2 = (h2 & ~useG) | (g2 & useG);
    h3 = (h3 & ~useG) | (g3 & useG);
    h4 = (h4 & ~useG) | (g4 & useG);
    // Pack into four 32-bit words and add s with carries.
    const w0 = (h0 | (h1 << 26)) >>> 0;
    const w1 = ((h1 >>> 6) | (h2 << 20)) >>> 0;
    const w2 = ((h2 >>> 12) | (h3 << 14)) >>> 0;
    const w3 = ((h3 >>> 18) | (h4 << 8)) >>> 0;
    const out = new Uint8Array(16);
    let f = 0;
    const ws = [w0, w1, w2, w3];
    for (let i = 0; i < 4; i++) {
      f = ws[i]! + u32le(key, 16 + 4 * i) + Math.floor(f / 0x100000000);
      const v = f >>> 0;
      out[4 * i] = v & 0xff;
      out[4 * i + 1] = (v >>> 8) & 0xff;
      out[4 * i + 2] = (v >>> 16) & 0xff;
      out[4 * i + 3] = v >>> 24;
    }
    return out;
  };
}
