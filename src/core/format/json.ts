/**
 * @module format/json
 * Lossless JSON reading and Go-compatible JSON writing for the repository documents
 * (spec §5-7, §11-14; encoding rules §12.7).
 *
 * Reading: `parseJson` is a small recursive-descent parser (RFC 8259) that keeps every number as
 * its source text (`JsonNumber`), because tree nodes carry uint64 values (inode, device_id,
 * device, size) that `JSON.parse` would round (short plain integers become JS numbers, exactly).
 * Objects are plain objects (own enumerable keys only; `__proto__` is an ordinary own key); a
 * repeated key keeps its last value (Go's decoder also decodes, and may refuse, each earlier one).
 * Invalid UTF-8 becomes one U+FFFD per byte, as in Go. String escapes follow Go's decoder: a lone
 * surrogate escape becomes U+FFFD. Optionally, the members of objects stored under given keys are
 * kept as their verbatim source text (`JsonRaw`), for opaque values such as `generic_attributes`.
 *
 * Writing: `goJsonString` reproduces Go's `encoding/json` string escaping with HTML escaping on
 * (what `json.Marshal` does): `"` `\` as `\"` `\\`; `\n` `\r` `\t` short; other C0 controls as
 * `\u00xx` (go1.19, the toolchain of restic 0.14, writes `\b`/`\f` as `\u0008`/`\u000c` too);
 * `<` `>` `&` as `\u003c` `\u003e` `\u0026`; U+2028/U+2029 escaped; lone surrogates (the JS
 * image of invalid UTF-8) as `\ufffd`; everything else raw.
 *
 * The `field*` helpers convert parsed values into typed fields with Go's leniency (JSON `null`
 * leaves the zero value) and strictness (integers must be plain decimal literals in range),
 * throwing `corrupt(what, ...)` otherwise.
 */
import { fromBase64 } from '../bytes.js';
import { corrupt } from '../errors.js';

/** A JSON number, kept as its exact source text. */
export class JsonNumber {
  constructor(readonly text: string) {}
}

/** A JSON value kept as its verbatim source text (see `ParseOptions.rawMembersOf`). */
export class JsonRaw {
  constructor(readonly text: string) {}
}

/**
 * Parsed JSON. A number is a JS `number` when it is a plain integer literal of at most 15
 * characters (exact), otherwise a `JsonNumber` holding its text.
 */
export type JsonValue = null | boolean | string | number | JsonNumber | JsonRaw | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

export interface ParseOptions {
  /**
   * Keys whose object values keep their member values as `JsonRaw` (verbatim source text)
   * instead of being parsed into values. Applies at any depth.
   */
  readonly rawMembersOf?: ReadonlySet<string>;
}

const MAX_DEPTH = 1000;

/**
 * Strings model Go strings, which may hold invalid UTF-8. Such bytes are represented by lone
 * surrogates (never valid text): U+DC80..U+DCFF for a known byte (`goStringFromBytes`), and
 * `INVALID_UTF8_MARK` for one whose value is unknown (Go's `\ufffd` escape on input). Go's
 * encoder writes each of them as the six characters `\ufffd`, and so does `goJsonString`;
 * TextEncoder turns them into U+FFFD, as Go's reader would.
 */
export const INVALID_UTF8_MARK = '\udffd';
const INVALID_UTF8_MARK_CODE = 0xdffd;
// Byte decoder for documents: strict, so that invalid UTF-8 takes the Go-compatible path below;
// BOM-preserving (a BOM is then a syntax error, as in Go).
const docDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Text of a document with invalid UTF-8: each invalid byte becomes one U+FFFD, as Go's decoder
 * does inside strings (utf8.DecodeRune, width 1). TextDecoder's lossy mode replaces a maximal
 * invalid subsequence with a single U+FFFD, so a truncated 3-byte sequence would read as one
 * character where restic reads three.
 */
function goLossyText(b: Uint8Array): string {
  let out = '';
  let i = 0;
  while (i < b.length) {
    if (b[i]! < 0x80) {
      let j = i + 1;
      while (j < b.length && b[j]! < 0x80 && j - i < 4096) j++;
      out += String.fromCharCode(...b.subarray(i, j));
      i = j;
      continue;
    }
    const [r, w] = decodeRuneAt(b, i);
    out += r < 0 ? '\ufffd' : String.fromCodePoint(r);
    i += w;
  }
  return out;
}

/** The text of UTF-8 JSON bytes as `parseJsonBytes` reads it (invalid UTF-8 as Go reads it). */
export function jsonText(bytes: Uint8Array): string {
  try {
    return docDecoder.decode(bytes);
  } catch {
    return goLossyText(bytes);
  }
}

/** Parses UTF-8 JSON bytes. Throws CofferError 'corrupt' naming `what`. */
export function parseJsonBytes(bytes: Uint8Array, what: string, opts?: ParseOptions): JsonValue {
  return parseJson(jsonText(bytes), what, opts);
}

/** Parses one JSON document (surrounding whitespace allowed). Throws CofferError 'corrupt'. */
export function parseJson(text: string, what: string, opts?: ParseOptions): JsonValue {
  const p = new JsonParser(text, what, opts?.rawMembersOf);
  p.ws();
  const v = p.value(0);
  p.ws();
  if (p.pos !== text.length) p.fail('unexpected data after the JSON value');
  return v;
}

function isHexCode(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);
}

/** Earlier values of keys an object repeats, in document order (hidden: not an own key). */
const EARLIER = Symbol('earlier members');
type WithEarlier = JsonObject & { [EARLIER]?: [string, JsonValue][] };

function keepEarlier(obj: JsonObject, key: string, v: JsonValue): void {
  const o = obj as WithEarlier;
  if (!o[EARLIER]) Object.defineProperty(o, EARLIER, { value: [], enumerable: false });
  o[EARLIER]!.push([key, v]);
}

/**
 * The members of a parsed object as Go's decoder sees them: the earlier values of repeated keys
 * first (Go decodes every occurrence, so an invalid earlier one fails the document), then each
 * key's last value. Decoders iterate this instead of the object's keys.
 */
const NO_MEMBERS: readonly [string, JsonValue][] = Object.freeze([]);

/** Only the earlier values of repeated keys (usually none): for hot decoders that walk the keys themselves. */
export function earlierMembers(o: JsonObject): readonly [string, JsonValue][] {
  return (o as WithEarlier)[EARLIER] ?? NO_MEMBERS;
}

export function jsonMembers(o: JsonObject): [string, JsonValue][] {
  const earlier = (o as WithEarlier)[EARLIER];
  const own = Object.keys(o).map((k): [string, JsonValue] => [k, o[k]!]);
  return earlier ? [...earlier, ...own] : own;
}

/**
 * The parser's pieces, for document-specific decoders (tree.ts) that walk a known layout and
 * build their objects directly, with exactly this parser's reading of strings and numbers.
 */
export class JsonParser {
  pos = 0;
  constructor(
    readonly s: string,
    private readonly what: string,
    private readonly rawKeys: ReadonlySet<string> | undefined,
  ) {}

  fail(problem: string): never {
    throw corrupt(this.what, `invalid JSON: ${problem} at offset ${this.pos}`);
  }

  ws(): void {
    const s = this.s;
    let i = this.pos;
    for (;;) {
      const c = s.charCodeAt(i);
      if (c === 32 || c === 10 || c === 13 || c === 9) i++;
      else break;
    }
    this.pos = i;
  }

  value(depth: number): JsonValue {
    const c = this.s.charCodeAt(this.pos);
    switch (c) {
      case 34 /* " */:
        return this.string();
      case 123 /* { */:
        return this.object(depth + 1, false);
      case 91 /* [ */:
        return this.array(depth + 1);
      case 116 /* t */:
        return this.literal('true', true);
      case 102 /* f */:
        return this.literal('false', false);
      case 110 /* n */:
        return this.literal('null', null);
      default:
        if (c === 45 || (c >= 48 && c <= 57)) return this.number();
        return this.fail(Number.isNaN(c) ? 'unexpected end of input' : 'unexpected character');
    }
  }

  private literal<T extends JsonValue>(word: string, v: T): T {
    if (!this.s.startsWith(word, this.pos)) this.fail('invalid literal');
    this.pos += word.length;
    return v;
  }

  number(): number | JsonNumber {
    const s = this.s;
    const start = this.pos;
    let i = start;
    let plainFrac = false;
    if (s.charCodeAt(i) === 45) i++;
    let c = s.charCodeAt(i);
    if (c === 48) i++;
    else if (c >= 49 && c <= 57) {
      do i++;
      while ((c = s.charCodeAt(i)) >= 48 && c <= 57);
    } else {
      this.pos = i;
      this.fail('invalid number');
    }
    if (s.charCodeAt(i) === 46 /* . */) {
      plainFrac = true;
      i++;
      if (!((c = s.charCodeAt(i)) >= 48 && c <= 57)) {
        this.pos = i;
        this.fail('invalid number');
      }
      do i++;
      while ((c = s.charCodeAt(i)) >= 48 && c <= 57);
    }
    c = s.charCodeAt(i);
    if (c === 101 || c === 69 /* e E */) {
      plainFrac = true;
      i++;
      c = s.charCodeAt(i);
      if (c === 43 || c === 45) i++;
      if (!((c = s.charCodeAt(i)) >= 48 && c <= 57)) {
        this.pos = i;
        this.fail('invalid number');
      }
      do i++;
      while ((c = s.charCodeAt(i)) >= 48 && c <= 57);
    }
    this.pos = i;
    // Plain integers of up to 15 digits are exact as JS numbers (and their text is String(n));
    // everything else keeps its source text. "-0" stays text so that unsigned fields reject it.
    if (i - start <= 15 && !plainFrac && (s.charCodeAt(start) !== 45 || s.charCodeAt(start + 1) !== 48)) {
      return +s.slice(start, i);
    }
    return new JsonNumber(s.slice(start, i));
  }

  string(): string {
    const s = this.s;
    const start = this.pos + 1;
    let i = start;
    // Fast path: no escapes.
    for (;;) {
      const c = s.charCodeAt(i);
      if (c === 34) {
        this.pos = i + 1;
        return s.slice(start, i);
      }
      if (c === 92 || c < 32 || Number.isNaN(c)) break;
      i++;
    }
    let out = s.slice(start, i);
    for (;;) {
      const c = s.charCodeAt(i);
      if (c === 34) {
        this.pos = i + 1;
        return out;
      }
      if (Number.isNaN(c)) {
        this.pos = i;
        this.fail('unterminated string');
      }
      if (c < 32) {
        this.pos = i;
        this.fail('control character in string');
      }
      if (c !== 92) {
        const from = i;
        do i++;
        while (i < s.length && s.charCodeAt(i) !== 34 && s.charCodeAt(i) !== 92 && s.charCodeAt(i) >= 32);
        out += s.slice(from, i);
        continue;
      }
      const e = s.charCodeAt(i + 1);
      i += 2;
      switch (e) {
        case 34: out += '"'; break;
        case 92: out += '\\'; break;
        case 47: out += '/'; break;
        case 98: out += '\b'; break;
        case 102: out += '\f'; break;
        case 110: out += '\n'; break;
        case 114: out += '\r'; break;
        case 116: out += '\t'; break;
        case 117: {
          let u = this.hex4(i);
          i += 4;
          if (u >= 0xd800 && u < 0xdc00) {
            // A high surrogate must be followed by an escaped low surrogate; otherwise Go
            // substitutes U+FFFD and decodes what follows on its own.
            if (s.charCodeAt(i) === 92 && s.charCodeAt(i + 1) === 117) {
              const lo = this.hex4(i + 2);
              if (lo >= 0xdc00 && lo < 0xe000) {
                out += String.fromCharCode(u, lo);
                i += 6;
                break;
              }
            }
            u = 0xfffd;
          } else if (u >= 0xdc00 && u < 0xe000) {
            u = 0xfffd;
          } else if (u === 0xfffd) {
            // Go writes an escaped U+FFFD only for an invalid UTF-8 byte (a real U+FFFD is written
            // raw), so keep the distinction: goJsonString turns the mark back into `\ufffd`.
            u = INVALID_UTF8_MARK_CODE;
          }
          out += String.fromCharCode(u);
          break;
        }
        default:
          this.pos = i - 1;
          this.fail('invalid escape in string');
      }
    }
  }

  private hex4(i: number): number {
    const s = this.s;
    for (let k = 0; k < 4; k++) {
      if (!isHexCode(s.charCodeAt(i + k))) {
        this.pos = i + k;
        this.fail('invalid \\u escape');
      }
    }
    return parseInt(s.slice(i, i + 4), 16);
  }

  object(depth: number, rawMembers: boolean): JsonObject {
    if (depth > MAX_DEPTH) this.fail('nesting too deep');
    const s = this.s;
    // Plain objects (fast properties; null-prototype objects are dictionaries in V8).
    const obj: JsonObject = {};
    this.pos++;
    this.ws();
    if (s.charCodeAt(this.pos) === 125 /* } */) {
      this.pos++;
      return obj;
    }
    for (;;) {
      if (s.charCodeAt(this.pos) !== 34) this.fail('expected a string key');
      const key = this.string();
      this.ws();
      if (s.charCodeAt(this.pos) !== 58 /* : */) this.fail("expected ':'");
      this.pos++;
      this.ws();
      let v: JsonValue;
      if (rawMembers) {
        const from = this.pos;
        this.value(depth);
        v = new JsonRaw(s.slice(from, this.pos));
      } else if (this.rawKeys !== undefined && this.rawKeys.has(key) && s.charCodeAt(this.pos) === 123) {
        v = this.object(depth + 1, true);
      } else {
        v = this.value(depth);
      }
      if (Object.prototype.hasOwnProperty.call(obj, key)) keepEarlier(obj, key, obj[key]!);
      if (key === '__proto__') Object.defineProperty(obj, key, { value: v, writable: true, enumerable: true, configurable: true });
      else obj[key] = v;
      this.ws();
      const c = s.charCodeAt(this.pos);
      this.pos++;
      if (c === 44 /* , */) {
        this.ws();
        continue;
      }
      if (c === 125) return obj;
      this.pos--;
      this.fail("expected ',' or '}'");
    }
  }

  private array(depth: number): JsonValue[] {
    if (depth > MAX_DEPTH) this.fail('nesting too deep');
    const s = this.s;
    const arr: JsonValue[] = [];
    this.pos++;
    this.ws();
    if (s.charCodeAt(this.pos) === 93 /* ] */) {
      this.pos++;
      return arr;
    }
    for (;;) {
      arr.push(this.value(depth));
      this.ws();
      const c = s.charCodeAt(this.pos);
      this.pos++;
      if (c === 44) {
        this.ws();
        continue;
      }
      if (c === 93) return arr;
      this.pos--;
      this.fail("expected ',' or ']'");
    }
  }
}

/**
 * A Go string from raw bytes: valid UTF-8 sequences (Go's utf8.DecodeRune rules) become their
 * characters, each other byte b becomes the lone surrogate U+DC00+b, so that `goJsonString`
 * writes exactly what Go would (`\ufffd` per invalid byte) and `bytesFromGoString` restores it.
 */
export function goStringFromBytes(b: Uint8Array): string {
  let out = '';
  let i = 0;
  while (i < b.length) {
    const c0 = b[i]!;
    if (c0 < 0x80) {
      let j = i + 1;
      while (j < b.length && b[j]! < 0x80) j++;
      out += String.fromCharCode(...b.subarray(i, Math.min(j, i + 4096)));
      i = Math.min(j, i + 4096);
      continue;
    }
    const [r, w] = decodeRuneAt(b, i);
    out += r < 0 ? String.fromCharCode(0xdc00 + c0) : String.fromCodePoint(r);
    i += w;
  }
  return out;
}

/** Inverse of `goStringFromBytes`; other lone surrogates (unknown bytes) become U+FFFD. */
export function bytesFromGoString(s: string): Uint8Array {
  if (!/[\ud800-\udfff]/.test(s)) return new TextEncoder().encode(s);
  const parts: number[] = [];
  const enc = new TextEncoder();
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        parts.push(...enc.encode(s.slice(i, i + 2)));
        i++;
        continue;
      }
    }
    if (c >= 0xdc80 && c <= 0xdcff) parts.push(c - 0xdc00);
    else parts.push(...enc.encode(s[i]!));
  }
  return Uint8Array.from(parts);
}

/** Decodes one rune at `i` like Go's utf8.DecodeRune: [rune, width], rune -1 when invalid (width 1). */
export function decodeRuneAt(b: Uint8Array, i: number): [number, number] {
  const c0 = b[i]!;
  if (c0 < 0x80) return [c0, 1];
  const n = b.length - i;
  const cont = (k: number): number => {
    const c = b[i + k]!;
    return (c & 0xc0) === 0x80 ? c & 0x3f : -1;
  };
  if (c0 >= 0xc2 && c0 <= 0xdf && n >= 2) {
    const c1 = cont(1);
    if (c1 >= 0) return [((c0 & 0x1f) << 6) | c1, 2];
  } else if (c0 >= 0xe0 && c0 <= 0xef && n >= 3) {
    const c1 = cont(1);
    const c2 = cont(2);
    if (c1 >= 0 && c2 >= 0) {
      const r = ((c0 & 0x0f) << 12) | (c1 << 6) | c2;
      if (r >= 0x800 && (r < 0xd800 || r > 0xdfff)) return [r, 3];
    }
  } else if (c0 >= 0xf0 && c0 <= 0xf4 && n >= 4) {
    const c1 = cont(1);
    const c2 = cont(2);
    const c3 = cont(3);
    if (c1 >= 0 && c2 >= 0 && c3 >= 0) {
      const r = ((c0 & 0x07) << 18) | (c1 << 12) | (c2 << 6) | c3;
      if (r >= 0x10000 && r <= 0x10ffff) return [r, 4];
    }
  }
  return [-1, 1];
}

// ---- Go-style writing ----------------------------------------------------------------------

// Characters Go's encoder (with HTML escaping) does not copy verbatim; surrogates cover the
// "invalid UTF-8" case (lone surrogates) and are re-checked per character below.
const NEEDS_ESCAPE = /[\u0000-\u001f"\\<>&\u2028\u2029\ud800-\udfff]/;
const HEX = '0123456789abcdef';

/** Go `encoding/json` string encoding of `s`, including the surrounding quotes. */
export function goJsonString(s: string): string {
  if (!NEEDS_ESCAPE.test(s)) return '"' + s + '"';
  let out = '"';
  let from = 0;
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    let rep: string;
    if (c >= 0x20 && c !== 34 && c !== 92 && c !== 60 && c !== 62 && c !== 38 && c !== 0x2028 && c !== 0x2029) {
      if (c < 0xd800 || c > 0xdfff) continue;
      if (c < 0xdc00 && i + 1 < n) {
        const d = s.charCodeAt(i + 1);
        if (d >= 0xdc00 && d <= 0xdfff) {
          i++; // a valid pair: copy as is
          continue;
        }
      }
      rep = '\\ufffd';
    } else if (c === 34) rep = '\\"';
    else if (c === 92) rep = '\\\\';
    else if (c === 10) rep = '\\n';
    else if (c === 13) rep = '\\r';
    else if (c === 9) rep = '\\t';
    else rep = '\\u' + HEX[(c >> 12) & 15]! + HEX[(c >> 8) & 15]! + HEX[(c >> 4) & 15]! + HEX[c & 15]!;
    out += s.slice(from, i) + rep;
    from = i + 1;
  }
  return out + s.slice(from) + '"';
}

/**
 * Compacts a JSON text the way Go's `json.Compact` with HTML escaping does when it marshals a
 * `json.RawMessage`: whitespace outside strings removed, `<` `>` `&` U+2028 U+2029 inside
 * strings escaped, everything else (including other escapes) copied verbatim. Validates first.
 */
export function goCompactJson(text: string, what: string): string {
  parseJson(text, what);
  let out = '';
  let inString = false;
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++;
      else if (c === 34) inString = false;
      else if (c === 60 || c === 62 || c === 38 || c === 0x2028 || c === 0x2029) {
        out += text.slice(from, i) + '\\u' + c.toString(16).padStart(4, '0');
        from = i + 1;
      }
    } else if (c === 34) inString = true;
    else if (c === 32 || c === 9 || c === 10 || c === 13) {
      out += text.slice(from, i);
      from = i + 1;
    }
  }
  return out + text.slice(from);
}

// ---- typed field access --------------------------------------------------------------------

function describe(v: JsonValue): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'number' || v instanceof JsonNumber) return 'a number';
  if (v instanceof JsonRaw) return 'raw JSON';
  if (typeof v === 'object') return 'an object';
  return typeof v === 'string' ? 'a string' : 'a boolean';
}

function bad(what: string, field: string, expected: string, v: JsonValue): never {
  throw corrupt(what, `field "${field}" should be ${expected}, found ${describe(v)}`);
}

export function isJsonObject(v: JsonValue | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof JsonNumber) && !(v instanceof JsonRaw);
}

/** The value must be an object. */
export function fieldObject(v: JsonValue, what: string, field: string): JsonObject {
  if (!isJsonObject(v)) bad(what, field, 'an object', v);
  return v;
}

/** An array; `null` gives `undefined` (Go: nil slice). */
export function fieldArray(v: JsonValue, what: string, field: string): JsonValue[] | undefined {
  if (v === null) return undefined;
  if (!Array.isArray(v)) bad(what, field, 'an array', v);
  return v;
}

/** A string; `null` gives "". */
export function fieldString(v: JsonValue, what: string, field: string): string {
  if (typeof v === 'string') return v;
  if (v === null) return '';
  return bad(what, field, 'a string', v);
}

export function fieldBool(v: JsonValue, what: string, field: string): boolean {
  if (typeof v === 'boolean') return v;
  if (v === null) return false;
  return bad(what, field, 'a boolean', v);
}

const UINT_RE = /^(?:0|[1-9][0-9]*)$/;
const INT_RE = /^-?(?:0|[1-9][0-9]*)$/;

/** An unsigned integer up to `max` (default 2^53-1) as a number; `null` gives 0. */
export function fieldUint(v: JsonValue, what: string, field: string, max = Number.MAX_SAFE_INTEGER): number {
  let n: number;
  if (typeof v === 'number') n = v;
  else if (v === null) return 0;
  else if (v instanceof JsonNumber && UINT_RE.test(v.text)) n = v.text.length > 17 ? Infinity : Number(v.text);
  else return bad(what, field, 'an unsigned integer', v);
  if (n < 0) return bad(what, field, 'an unsigned integer', v);
  // Above 2^53 a double is inexact; the bound is still decided correctly for max <= 2^53-1.
  if (!(n <= max)) throw corrupt(what, `field "${field}" is out of range (> ${max})`);
  return n;
}

/** A signed integer within the safe range; `null` gives 0. */
export function fieldInt(v: JsonValue, what: string, field: string): number {
  if (typeof v === 'number') return v;
  if (v === null) return 0;
  if (!(v instanceof JsonNumber) || !INT_RE.test(v.text)) return bad(what, field, 'an integer', v);
  const n = Number(v.text);
  if (!Number.isSafeInteger(n)) throw corrupt(what, `field "${field}" is out of range (${v.text})`);
  return n;
}

const UINT64_MAX = (1n << 64n) - 1n;

/** An unsigned 64-bit integer as a bigint; `null` gives 0n. */
export function fieldUint64(v: JsonValue, what: string, field: string): bigint {
  if (typeof v === 'number') {
    if (v < 0) return bad(what, field, 'an unsigned integer', v);
    return BigInt(v);
  }
  if (v === null) return 0n;
  if (!(v instanceof JsonNumber) || !UINT_RE.test(v.text)) return bad(what, field, 'an unsigned integer', v);
  const n = BigInt(v.text);
  if (n > UINT64_MAX) throw corrupt(what, `field "${field}" exceeds 64 bits (${v.text})`);
  return n;
}

/** Base64 bytes (Go []byte); `null` gives undefined. */
export function fieldBase64(v: JsonValue, what: string, field: string): Uint8Array | undefined {
  if (v === null) return undefined;
  if (typeof v !== 'string') return bad(what, field, 'a base64 string', v);
  try {
    return fromBase64(v);
  } catch (e) {
    throw corrupt(what, `field "${field}" is not valid base64`, e);
  }
}

const ID_RE = /^[0-9a-fA-F]{64}$/;

/** A 64-hex ID (either case accepted, as restic's decoder does), returned lowercase. */
export function fieldId(v: JsonValue, what: string, field: string): string {
  if (typeof v !== 'string') return bad(what, field, 'a 64-hex ID', v);
  if (isLowerHexId(v, 0)) return v; // the usual form: no regular expression, no new string
  if (!ID_RE.test(v)) throw corrupt(what, `field "${field}" is not a valid ID`);
  return v.toLowerCase();
}

/** Whether `s` holds exactly 64 lowercase hex digits from `at` on (to its end). */
export function isLowerHexId(s: string, at: number): boolean {
  if (s.length - at !== 64) return false;
  return isLowerHexRun(s, at);
}

/** 0 for the ASCII codes of lowercase hex digits, 1 for every other code below 128. */
const NOT_LOWER_HEX = new Uint8Array(128).fill(1);
for (const c of '0123456789abcdef') NOT_LOWER_HEX[c.charCodeAt(0)] = 0;

/** Whether the 64 characters of `s` from `at` are lowercase hex digits. */
export function isLowerHexRun(s: string, at: number): boolean {
  // Branch-free (about 3x a compare-and-return loop): a code >= 128 sets bits through `c >> 7`,
  // and past the end charCodeAt gives NaN, which reads NOT_LOWER_HEX[0] = 1.
  let bad = 0;
  for (let i = at; i < at + 64; i++) {
    const c = s.charCodeAt(i);
    bad |= NOT_LOWER_HEX[c & 127]! | (c >> 7);
  }
  return bad === 0;
}

/** An ID or `null` (-> undefined), e.g. Go's `*ID`. */
export function fieldOptionalId(v: JsonValue, what: string, field: string): string | undefined {
  return v === null ? undefined : fieldId(v, what, field);
}

/**
 * A key -> struct field resolver with Go's matching rule: an exact name, else a
 * case-insensitive match (ASCII folding).
 */
export function fieldMatcher<K extends string>(names: readonly K[]): (key: string) => K | undefined {
  const m = new Map<string, K>();
  for (const n of names) m.set(n, n);
  for (const n of names) if (!m.has(n.toLowerCase())) m.set(n.toLowerCase(), n);
  return (key) => m.get(key) ?? m.get(key.toLowerCase());
}
