/**
 * @module otp/base32
 * RFC 4648 base32 as OTP secrets use it (otp-formats.md B.1 rule 5): the reader accepts
 * lower case, spaces, dashes and `=` padding; the writer emits upper case without padding.
 */
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

export function base32Encode(bytes: Uint8Array): string {
  let out = '';
  let buf = 0;
  let bits = 0;
  for (const b of bytes) {
    buf = (buf << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(buf >>> (bits - 5)) & 31];
      bits -= 5;
    }
    buf &= (1 << bits) - 1;
  }
  if (bits > 0) out += ALPHABET[(buf << (5 - bits)) & 31];
  return out;
}

/** The canonical form of a secret as typed (no spaces/dashes/padding, upper case), or undefined if invalid. */
export function normalizeBase32(text: string): string | undefined {
  const s = text.replace(/[\s-]/g, '').toUpperCase().replace(/=+$/, '');
  if (s.length === 0 || !/^[A-Z2-7]+$/.test(s)) return undefined;
  if ([1, 3, 6].includes(s.length % 8)) return undefined; // no byte count gives these lengths
  return s;
}

/** Decodes a lenient base32 secret; undefined when it is not one (the caller names the entry). */
export function base32Decode(text: string): Uint8Array | undefined {
  const s = normalizeBase32(text);
  if (s === undefined) return undefined;
  const out = new Uint8Array(Math.floor((s.length * 5) / 8));
  let buf = 0;
  let bits = 0;
  let o = 0;
  for (const ch of s) {
    buf = ((buf << 5) | ALPHABET.indexOf(ch)) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      out[o++] = (buf >>> (bits - 8)) & 0xff;
      bits -= 8;
    }
  }
  return out;
}
