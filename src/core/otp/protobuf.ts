/**
 * @module otp/protobuf
 * The smallest protobuf wire-format reader Google's export needs: varints (up to 64 bits, as
 * bigint), length-delimited fields, and skipping of fixed32/fixed64 fields it does not know.
 * Groups (wire types 3/4) are deprecated and refused.
 */
export interface PbField {
  readonly number: number;
  readonly wireType: 0 | 1 | 2 | 5;
  /** Varint value (wire type 0). */
  readonly varint?: bigint;
  /** Bytes of a length-delimited field (wire type 2), or the 8/4 bytes of fixed fields. */
  readonly bytes?: Uint8Array;
}

export class ProtobufError extends Error {}

function readVarint(buf: Uint8Array, pos: { at: number }): bigint {
  let v = 0n;
  for (let shift = 0n; shift < 70n; shift += 7n) {
    if (pos.at >= buf.length) throw new ProtobufError('truncated varint');
    const b = buf[pos.at++]!;
    v |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) return v & 0xffffffffffffffffn;
  }
  throw new ProtobufError('varint too long');
}

/** The fields of one message, in order. */
export function readFields(buf: Uint8Array): PbField[] {
  const out: PbField[] = [];
  const pos = { at: 0 };
  while (pos.at < buf.length) {
    const key = readVarint(buf, pos);
    const number = Number(key >> 3n);
    const wt = Number(key & 7n);
    if (number < 1) throw new ProtobufError('field number 0');
    if (wt === 0) out.push({ number, wireType: 0, varint: readVarint(buf, pos) });
    else if (wt === 2) {
      const len = readVarint(buf, pos);
      if (len > BigInt(buf.length - pos.at)) throw new ProtobufError('truncated field');
      out.push({ number, wireType: 2, bytes: buf.subarray(pos.at, pos.at + Number(len)) });
      pos.at += Number(len);
    } else if (wt === 1 || wt === 5) {
      const n = wt === 1 ? 8 : 4;
      if (pos.at + n > buf.length) throw new ProtobufError('truncated field');
      out.push({ number, wireType: wt, bytes: buf.subarray(pos.at, pos.at + n) });
      pos.at += n;
    } else throw new ProtobufError(`unsupported wire type ${wt}`);
  }
  return out;
}
