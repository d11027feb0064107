/**
 * @module kit/recovery-key
 * The recovery key (../shared/design/no-lockout.md §4): 128 random bits written for humans as
 * 26 Crockford base32 symbols (2 zero bits in front) plus a 6-symbol BCH checksum, the one of
 * BIP-350 (bech32m) over the human-readable part `coffer`, in 8 groups of 4 joined by `-`.
 * The canonical text is the restic password of the kit's key files.
 *
 * Parsing is pure and runs before anything else, so a mistyped key ends the command (exit 2)
 * before scrypt, a file or the network is touched. One wrong symbol can be located (the code's
 * minimum distance is 5), which lets the message name the group to look at.
 */
import { CofferError } from '../errors.js';

export const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const HRP = 'coffer';
const BECH32M_CONST = 0x2bc830a3;
const GEN = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];
const DATA_SYMBOLS = 26;
const CHECK_SYMBOLS = 6;
export const KEY_SYMBOLS = DATA_SYMBOLS + CHECK_SYMBOLS;
export const KEY_BYTES = 16;

export const CHECKSUM_MESSAGE = 'recovery key checksum mismatch: a character is mistyped (nothing was contacted)';

function polymod(values: Iterable<number>): number {
  let chk = 1;
  for (const v of values) {
    const top = chk >>> 25;
    chk = (((chk & 0x1ffffff) << 5) ^ v) >>> 0;
    for (let i = 0; i < 5; i++) if ((top >>> i) & 1) chk = (chk ^ GEN[i]!) >>> 0;
  }
  return chk;
}

/** BIP-173's expansion of the human-readable part. */
function hrpExpand(hrp: string): number[] {
  const out: number[] = [];
  for (const c of hrp) out.push(c.charCodeAt(0) >> 5);
  out.push(0);
  for (const c of hrp) out.push(c.charCodeAt(0) & 31);
  return out;
}

const HRP_VALUES = hrpExpand(HRP);

/** The 6 check values for 26 data values. */
export function checksumValues(data: readonly number[]): number[] {
  const pm = polymod([...HRP_VALUES, ...data, 0, 0, 0, 0, 0, 0]) ^ BECH32M_CONST;
  const out: number[] = [];
  for (let i = 0; i < CHECK_SYMBOLS; i++) out.push((pm >>> (5 * (5 - i))) & 31);
  return out;
}

function checksumHolds(values: readonly number[]): boolean {
  return polymod([...HRP_VALUES, ...values]) === BECH32M_CONST;
}

/** 16 bytes -> 26 symbol values (2 zero bits, then the 128 bits big-endian). */
function bytesToValues(bytes: Uint8Array): number[] {
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  const out: number[] = [];
  for (let i = DATA_SYMBOLS - 1; i >= 0; i--) out.push(Number((n >> BigInt(5 * i)) & 31n));
  return out;
}

function valuesToBytes(values: readonly number[]): Uint8Array {
  let n = 0n;
  for (const v of values) n = (n << 5n) | BigInt(v);
  const out = new Uint8Array(KEY_BYTES);
  for (let i = KEY_BYTES - 1; i >= 0; i--) {
    out[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  return out;
}

function canonical(values: readonly number[]): string {
  const s = values.map((v) => CROCKFORD[v]).join('');
  return s.match(/.{4}/g)!.join('-');
}

/** The canonical key text (39 characters) for 16 secret bytes. */
export function formatRecoveryKey(bytes: Uint8Array): string {
  if (bytes.length !== KEY_BYTES) throw new CofferError('internal', `a recovery key is ${KEY_BYTES} bytes, got ${bytes.length}`);
  const data = bytesToValues(bytes);
  return canonical([...data, ...checksumValues(data)]);
}

/** A new recovery key from `randomBytes` (the OS CSPRNG). */
export function generateRecoveryKey(randomBytes: (n: number) => Uint8Array): { key: string; bytes: Uint8Array } {
  const bytes = randomBytes(KEY_BYTES);
  return { key: formatRecoveryKey(bytes), bytes };
}

export interface ParsedRecoveryKey {
  /** The canonical text: the restic password. */
  readonly key: string;
  readonly bytes: Uint8Array;
}

/**
 * Reads a typed key: case-insensitive, spaces and dashes ignored, O->0, I/L->1. Throws
 * CofferError('bad-input') with the design's message; for a checksum mismatch with one wrong
 * symbol the message also names its group (1-8).
 */
export function parseRecoveryKey(input: string): ParsedRecoveryKey {
  const cleaned = input.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
  const values: number[] = [];
  for (const c of cleaned) {
    const v = CROCKFORD.indexOf(c);
    if (v < 0) {
      throw new CofferError('bad-input', `recovery key: "${c === 'U' ? 'U' : 'a character'}" is not in the key's alphabet (0-9 and A-Z without I, L, O, U); check what you typed (nothing was contacted)`);
    }
    values.push(v);
  }
  if (values.length !== KEY_SYMBOLS) {
    throw new CofferError('bad-input', `recovery key: expected ${KEY_SYMBOLS} characters in 8 groups of 4, got ${values.length} (nothing was contacted)`);
  }
  if (!checksumHolds(values)) {
    const at = locateError(values);
    throw new CofferError('bad-input', at === undefined ? CHECKSUM_MESSAGE : `${CHECKSUM_MESSAGE}; look at group ${Math.floor(at / 4) + 1} of 8`, {
      data: at === undefined ? {} : { group: Math.floor(at / 4) + 1 },
    });
  }
  if (values[0]! > 7) throw new CofferError('bad-input', 'recovery key: the first character must be 0-7 (nothing was contacted)');
  const data = values.slice(0, DATA_SYMBOLS);
  return { key: canonical(values), bytes: valuesToBytes(data) };
}

/** Whether `text` looks like a well-formed recovery key (checksum included). */
export function isRecoveryKey(text: string): boolean {
  try {
    parseRecoveryKey(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * The position of the one symbol whose change makes the checksum hold, if exactly one position
 * does (distance 5 makes a single-symbol correction unique); undefined otherwise.
 */
export function locateError(values: readonly number[]): number | undefined {
  let found: number | undefined;
  const v = [...values];
  for (let i = 0; i < v.length; i++) {
    const orig = v[i]!;
    for (let s = 0; s < 32; s++) {
      if (s === orig) continue;
      v[i] = s;
      if (checksumHolds(v)) {
        if (found !== undefined && found !== i) return undefined;
        found = i;
      }
    }
    v[i] = orig;
  }
  return found;
}

/** bech32m verification for any human-readable part (exposed to test the polymod on BIP-350's vectors). */
export function bech32mVerify(hrp: string, values: readonly number[]): boolean {
  return polymod([...hrpExpand(hrp), ...values]) === BECH32M_CONST;
}
