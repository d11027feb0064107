/**
 * @module format/unpacked
 * Plaintext framing of index, snapshot and lock files (spec §7), inside their sealed box:
 *
 *   version 1:  <JSON>
 *   version 2:  0x02 || zstd frame(<JSON>)       (what restic writes, whatever --compression)
 *               '{' or '[' ...                   (uncompressed JSON; the byte is part of it)
 *               empty                            (passed through)
 *
 * Any other first byte in v2 is an unsupported encoding: CofferError 'corrupt'.
 * `config` and key files never use this framing.
 */
import { corrupt, isCofferError } from '../errors.js';
import { COMPRESSION_LEVELS, type Compressor } from '../compress/compressor.js';

const FORMAT_ZSTD = 0x02;

export function encodeUnpacked(json: Uint8Array, version: 1 | 2, zstd: Compressor): Uint8Array {
  if (version === 1) return json;
  const frame = zstd.compress(json, COMPRESSION_LEVELS.auto);
  const out = new Uint8Array(1 + frame.length);
  out[0] = FORMAT_ZSTD;
  out.set(frame, 1);
  return out;
}

/** The JSON bytes of an unpacked file's plaintext. Throws CofferError 'corrupt' naming `what`. */
export function decodeUnpacked(plain: Uint8Array, version: 1 | 2, zstd: Compressor, what: string): Uint8Array {
  if (version === 1 || plain.length === 0) return plain;
  const f = plain[0]!;
  if (f === 0x7b || f === 0x5b) return plain;
  if (f !== FORMAT_ZSTD) throw corrupt(what, `not supported encoding format ${f}`);
  try {
    return zstd.decompress(plain.subarray(1));
  } catch (e) {
    if (isCofferError(e)) throw e;
    throw corrupt(what, 'zstd decompression failed', e);
  }
}
