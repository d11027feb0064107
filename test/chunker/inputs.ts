/** Deterministic inputs of vectors/README.md §1 for the chunker tests (node:crypto: tests only). */
import { createHash } from 'node:crypto';

export interface InputSpec {
  generator: 'prng' | 'constant' | 'zeros-then-repeat';
  label?: string;
  byte?: number;
  zeros?: number;
  repeat_hex?: string;
  repeat_count?: number;
  length: number;
  sha256: string;
}

/** prng(label, length): SHA-256(label ‖ uint64le(i)) for i = 0, 1, … concatenated, truncated. */
export function prng(label: string, length: number): Uint8Array {
  const out = new Uint8Array(length + 32);
  const counter = new Uint8Array(8);
  const view = new DataView(counter.buffer);
  const prefix = new TextEncoder().encode(label);
  for (let i = 0, o = 0; o < length; i++, o += 32) {
    view.setBigUint64(0, BigInt(i), true);
    out.set(createHash('sha256').update(prefix).update(counter).digest(), o);
  }
  return out.subarray(0, length);
}

export function makeInput(spec: InputSpec): Uint8Array {
  switch (spec.generator) {
    case 'prng':
      return prng(spec.label!, spec.length);
    case 'constant':
      return new Uint8Array(spec.length).fill(spec.byte!);
    case 'zeros-then-repeat': {
      const rep = Buffer.from(spec.repeat_hex!, 'hex');
      const out = new Uint8Array(spec.length);
      for (let k = 0; k < spec.repeat_count!; k++) out.set(rep, spec.zeros! + k * rep.length);
      return out;
    }
  }
}

export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
