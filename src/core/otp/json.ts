/**
 * @module otp/json
 * A JSON reader and writer that lose nothing an Aegis vault may hold: integers beyond 2^53
 * (HOTP counters go up to 2^63−1) come back as `bigint` and are written back digit for digit.
 * `JSON.parse` would round them; Node 20 has no `JSON.rawJSON` to write them.
 * Everything else maps to the usual JS values; object key order is kept.
 */
import { CofferError } from '../errors.js';

export type Json = null | boolean | number | bigint | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export function isJsonObject(v: Json | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const WS = new Set([0x20, 0x09, 0x0a, 0x0d]);
const NUMBER_RE = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const MAX_DEPTH = 64;

/** Parses `text`; `what` names the input in the error (never its content: it may hold secrets). */
export function parseJson(text: string, what: string): Json {
  let i = 0;
  const fail = (problem: string): never => {
    throw new CofferError('bad-input', `${what}: not valid JSON (${problem} at offset ${i})`);
  };
  const skip = () => {
    while (i < text.length && WS.has(text.charCodeAt(i))) i++;
  };
  const str = (): string => {
    // The opening quote is at i. Find the closing quote, honouring escapes, then let
    // JSON.parse decode the escapes of that one string literal.
    let j = i + 1;
    let simple = true;
    for (;;) {
      if (j >= text.length) fail('unterminated string');
      const c = text.charCodeAt(j);
      if (c === 0x22) break;
      if (c < 0x20) fail('control character in string');
      if (c === 0x5c) {
        simple = false;
        j += 2;
      } else j++;
    }
    const lit = text.slice(i, j + 1);
    i = j + 1;
    if (simple) return lit.slice(1, -1);
    try {
      return JSON.parse(lit) as string;
    } catch {
      return fail('bad escape in string');
    }
  };
  const value = (depth: number): Json => {
    if (depth > MAX_DEPTH) fail('nested too deeply');
    skip();
    const c = text[i];
    if (c === '{') {
      i++;
      const obj: JsonObject = {};
      skip();
      if (text[i] === '}') {
        i++;
        return obj;
      }
      for (;;) {
        skip();
        if (text[i] !== '"') fail('expected a key');
        const k = str();
        skip();
        if (text[i] !== ':') fail('expected ":"');
        i++;
        const v = value(depth + 1);
        // defineProperty: a key "__proto__" must stay an ordinary key.
        Object.defineProperty(obj, k, { value: v, enumerable: true, writable: true, configurable: true });
        skip();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return obj;
        }
        fail('expected "," or "}"');
      }
    }
    if (c === '[') {
      i++;
      const arr: Json[] = [];
      skip();
      if (text[i] === ']') {
        i++;
        return arr;
      }
      for (;;) {
        arr.push(value(depth + 1));
        skip();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return arr;
        }
        fail('expected "," or "]"');
      }
    }
    if (c === '"') return str();
    if (text.startsWith('true', i)) {
      i += 4;
      return true;
    }
    if (text.startsWith('false', i)) {
      i += 5;
      return false;
    }
    if (text.startsWith('null', i)) {
      i += 4;
      return null;
    }
    NUMBER_RE.lastIndex = i;
    const m = NUMBER_RE.exec(text);
    if (!m) return fail('unexpected character');
    i += m[0].length;
    const n = Number(m[0]);
    if (/^-?\d+$/.test(m[0]) && !Number.isSafeInteger(n)) return BigInt(m[0]);
    return n;
  };
  const v = value(0);
  skip();
  if (i !== text.length) fail('trailing data');
  return v;
}

/** Writes compact JSON (as Python's json.dumps with separators (",", ":")), bigints as integers. */
export function stringifyJson(v: Json): string {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'boolean':
      return v ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(v)) throw new CofferError('internal', 'non-finite number in JSON');
      return JSON.stringify(v);
    case 'bigint':
      return v.toString();
    case 'string':
      return JSON.stringify(v);
  }
  if (Array.isArray(v)) return '[' + v.map(stringifyJson).join(',') + ']';
  return '{' + Object.keys(v).map((k) => JSON.stringify(k) + ':' + stringifyJson(v[k]!)).join(',') + '}';
}
