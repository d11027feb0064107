/**
 * @module format/go-quote
 * Node names as restic stores them (spec §12.3): Go `strconv.Quote` without the outer quotes,
 * then JSON-encoded by the tree writer. Layout of the quoted text, rune by rune (Go's
 * utf8.DecodeRune rules: overlong forms, surrogates and values above U+10FFFF are invalid):
 *
 *   invalid UTF-8 byte              -> \xNN   (one per byte)
 *   "  \                            -> \"  \\
 *   printable (Go unicode.IsPrint)  -> itself: categories L, M, N, P, S and U+0020
 *   U+0007 08 0C 0A 0D 09 0B        -> \a \b \f \n \r \t \v
 *   other < U+0020, U+007F          -> \xNN
 *   other <= U+FFFF                 -> \uNNNN
 *   other                           -> \UNNNNNNNN        (hex lowercase everywhere)
 *
 * `goUnquote` is Go's `strconv.Unquote` on `"` + text + `"`, returning the raw bytes; it accepts
 * every escape (\a \b \f \n \r \t \v \\ \" \' \xNN \ooo \uNNNN \UNNNNNNNN) and rejects a raw
 * newline, a raw `"` and malformed escapes, as Go does (restic then fails to load the tree).
 * The printable test uses JS Unicode property escapes, so it follows the engine's Unicode
 * version rather than Go 1.19's (they differ only for recently assigned code points).
 */
import { corrupt } from '../errors.js';
import { decodeRuneAt } from './json.js';

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const utf8 = new TextEncoder();

// Anything in a valid UTF-8 name that makes quoting deviate from the identity.
const NEEDS_QUOTE = /["\\]|[^\p{L}\p{M}\p{N}\p{P}\p{S} ]/u;
const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;
const HEX = '0123456789abcdef';

/** Go's `strconv.IsPrint`. */
export function goIsPrint(cp: number): boolean {
  if (cp < 0x80) return cp >= 0x20 && cp < 0x7f;
  return PRINTABLE.test(String.fromCodePoint(cp));
}

function hex(n: number, width: number): string {
  let s = '';
  for (let i = width - 1; i >= 0; i--) s += HEX[Math.floor(n / 16 ** i) % 16]!;
  return s;
}

/** Go `strconv.Quote(name)` without the surrounding quotes. */
export function goQuote(name: Uint8Array): string {
  let s: string | undefined;
  try {
    s = strictUtf8.decode(name);
  } catch {
    s = undefined;
  }
  if (s !== undefined && !NEEDS_QUOTE.test(s)) return s;
  let out = '';
  for (let i = 0; i < name.length; ) {
    const [r, w] = decodeRuneAt(name, i);
    if (r < 0) {
      out += '\\x' + hex(name[i]!, 2);
    } else if (r === 0x22) out += '\\"';
    else if (r === 0x5c) out += '\\\\';
    else if (goIsPrint(r)) out += String.fromCodePoint(r);
    else {
      switch (r) {
        case 0x07: out += '\\a'; break;
        case 0x08: out += '\\b'; break;
        case 0x0c: out += '\\f'; break;
        case 0x0a: out += '\\n'; break;
        case 0x0d: out += '\\r'; break;
        case 0x09: out += '\\t'; break;
        case 0x0b: out += '\\v'; break;
        default:
          if (r < 0x20 || r === 0x7f) out += '\\x' + hex(r, 2);
          else if (r < 0x10000) out += '\\u' + hex(r, 4);
          else out += '\\U' + hex(r, 8);
      }
    }
    i += w;
  }
  return out;
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** Go `strconv.Unquote('"' + quoted + '"')` as raw bytes. Throws CofferError 'corrupt' naming `what`. */
export function goUnquote(quoted: string, what = 'name'): Uint8Array {
  if (quoted.indexOf('\\') < 0) {
    if (quoted.indexOf('"') >= 0 || quoted.indexOf('\n') >= 0) {
      throw corrupt(what, `invalid quoted name ${JSON.stringify(quoted)}: raw quote or newline`);
    }
    return utf8.encode(quoted);
  }
  const fail = (problem: string): never => {
    throw corrupt(what, `invalid quoted name ${JSON.stringify(quoted)}: ${problem}`);
  };
  const out = new Uint8Array(quoted.length * 3);
  let o = 0;
  const putRune = (cp: number): void => {
    if (cp < 0x80) out[o++] = cp;
    else if (cp < 0x800) {
      out[o++] = 0xc0 | (cp >> 6);
      out[o++] = 0x80 | (cp & 0x3f);
    } else if (cp < 0x10000) {
      out[o++] = 0xe0 | (cp >> 12);
      out[o++] = 0x80 | ((cp >> 6) & 0x3f);
      out[o++] = 0x80 | (cp & 0x3f);
    } else {
      out[o++] = 0xf0 | (cp >> 18);
      out[o++] = 0x80 | ((cp >> 12) & 0x3f);
      out[o++] = 0x80 | ((cp >> 6) & 0x3f);
      out[o++] = 0x80 | (cp & 0x3f);
    }
  };
  const n = quoted.length;
  for (let i = 0; i < n; ) {
    const c = quoted.codePointAt(i)!;
    if (c !== 0x5c) {
      if (c === 0x22 || c === 0x0a) fail('raw quote or newline');
      // A lone surrogate cannot come from valid text; Go would see U+FFFD.
      putRune(c >= 0xd800 && c <= 0xdfff ? 0xfffd : c);
      i += c > 0xffff ? 2 : 1;
      continue;
    }
    const e = quoted.charCodeAt(i + 1);
    i += 2;
    switch (e) {
      case 0x61: out[o++] = 7; break; // \a
      case 0x62: out[o++] = 8; break; // \b
      case 0x66: out[o++] = 12; break; // \f
      case 0x6e: out[o++] = 10; break; // \n
      case 0x72: out[o++] = 13; break; // \r
      case 0x74: out[o++] = 9; break; // \t
      case 0x76: out[o++] = 11; break; // \v
      case 0x5c: out[o++] = 0x5c; break;
      case 0x22: out[o++] = 0x22; break;
      case 0x27: out[o++] = 0x27; break; // Go rejects \' inside "..."; accepted here, harmless.
      case 0x78: // \xNN: one raw byte
      case 0x75: // \uNNNN
      case 0x55: { // \UNNNNNNNN
        const digits = e === 0x78 ? 2 : e === 0x75 ? 4 : 8;
        let v = 0;
        for (let k = 0; k < digits; k++) {
          const h = hexValue(quoted.charCodeAt(i + k));
          if (h < 0) fail('bad hex escape');
          v = v * 16 + h;
        }
        i += digits;
        if (e === 0x78) out[o++] = v;
        else {
          if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) fail('escape is not a valid code point');
          putRune(v);
        }
        break;
      }
      default: {
        // \ooo: exactly three octal digits, value <= 255.
        let v = 0;
        for (let k = 0; k < 3; k++) {
          const d = quoted.charCodeAt(i - 1 + k) - 48;
          if (!(d >= 0 && d <= 7)) fail('unknown escape');
          v = v * 8 + d;
        }
        if (v > 255) fail('octal escape out of range');
        out[o++] = v;
        i += 2;
      }
    }
  }
  return out.slice(0, o);
}
