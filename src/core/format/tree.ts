/**
 * @module format/tree
 * Tree blobs (spec §12): the JSON document
 *
 *   {"nodes":[<node>,...]}\n
 *
 * Node keys in restic's (Go struct) order, `omit` = Go omitempty (§12.2):
 *   name, type, mode(omit 0), mtime, atime, ctime, uid, gid, user(omit ""), group(omit ""),
 *   inode(omit 0), device_id(omit 0), size(omit 0), links(omit 0), linktarget(omit ""),
 *   linktarget_raw(base64, omit empty), extended_attributes([{name,value(base64)}], omit empty),
 *   generic_attributes({key: raw JSON}, keys sorted, omit empty), device(omit 0),
 *   content(ID array or null, never omitted), subtree(omit absent), error(omit "")
 *
 * `name` is Go-quoted (go-quote.ts) before JSON encoding. uint64 fields are bigint (lossless).
 * The encoder reproduces restic's bytes exactly (tree IDs must match for deduplication); the
 * decoder follows Go's decoder: unknown keys ignored, keys matched case-insensitively, `null`
 * means zero. Zero values decode to absent fields, so decode->encode is the identity on trees
 * restic wrote. Old trees whose `mode` lacks the type bits are read as they are.
 */
import { compareBytes, toBase64, utf8Encode } from '../bytes.js';
import { CofferError, corrupt } from '../errors.js';
import { formatGoTime, GO_ZERO_TIME, parseGoTime } from './go-time.js';
import { goQuote, goUnquote } from './go-quote.js';
import { flatId } from './id-text.js';
import {
  fieldArray,
  fieldBase64,
  fieldId,
  fieldMatcher,
  earlierMembers,
  jsonMembers,
  fieldObject,
  fieldOptionalId,
  fieldString,
  fieldUint,
  fieldUint64,
  goCompactJson,
  goJsonString,
  isLowerHexRun,
  JsonNumber,
  JsonParser,
  JsonRaw,
  jsonText,
  parseJson,
  type JsonObject,
  type JsonValue,
} from './json.js';
import type { ExtendedAttribute, GoTime, Id, NodeType, Tree, TreeNode } from './types.js';

/** ID of the empty tree `{"nodes":[]}\n` (every empty directory's subtree). */
export const EMPTY_TREE_ID: Id = 'ac08ce34ba4f8123618661bef2425f7028ffb9ac740578a3ee88684d2523fee8';

const NODE_TYPES: ReadonlySet<string> = new Set<NodeType>(['file', 'dir', 'symlink', 'dev', 'chardev', 'fifo', 'socket', 'irregular']);

/** Nodes sorted by raw name bytes (a new array; the order trees require). */
export function sortNodes(nodes: readonly TreeNode[]): TreeNode[] {
  return [...nodes].sort((a, b) => compareBytes(a.name, b.name));
}

// ---- encoding ------------------------------------------------------------------------------

function timeJson(t: GoTime): string {
  return '"' + formatGoTime(t) + '"';
}

function encodeNode(n: TreeNode): string {
  let s = '{"name":' + goJsonString(goQuote(n.name)) + ',"type":"' + n.type + '"';
  if (n.mode) s += ',"mode":' + (n.mode >>> 0);
  s += ',"mtime":' + timeJson(n.mtime) + ',"atime":' + timeJson(n.atime) + ',"ctime":' + timeJson(n.ctime);
  s += ',"uid":' + n.uid + ',"gid":' + n.gid;
  if (n.user) s += ',"user":' + goJsonString(n.user);
  if (n.group) s += ',"group":' + goJsonString(n.group);
  if (n.inode) s += ',"inode":' + n.inode;
  if (n.deviceId) s += ',"device_id":' + n.deviceId;
  if (n.size) s += ',"size":' + n.size;
  if (n.links) s += ',"links":' + n.links;
  if (n.linktarget) s += ',"linktarget":' + goJsonString(n.linktarget);
  if (n.linktargetRaw && n.linktargetRaw.length > 0) s += ',"linktarget_raw":"' + toBase64(n.linktargetRaw) + '"';
  if (n.extendedAttributes && n.extendedAttributes.length > 0) {
    s += ',"extended_attributes":[';
    n.extendedAttributes.forEach((a, i) => {
      s += (i ? ',' : '') + '{"name":' + goJsonString(a.name) + ',"value":"' + toBase64(a.value) + '"}';
    });
    s += ']';
  }
  if (n.genericAttributes) {
    // Go sorts map keys by their bytes; values are json.RawMessage, compacted on output.
    const keys = Object.keys(n.genericAttributes).sort((a, b) => compareBytes(utf8Encode(a), utf8Encode(b)));
    if (keys.length > 0) {
      s += ',"generic_attributes":{';
      keys.forEach((k, i) => {
        s += (i ? ',' : '') + goJsonString(k) + ':' + goCompactJson(n.genericAttributes![k]!, `generic attribute ${k}`);
      });
      s += '}';
    }
  }
  if (n.device) s += ',"device":' + n.device;
  if (n.content === null) s += ',"content":null';
  else {
    s += ',"content":[';
    for (let i = 0; i < n.content.length; i++) s += (i ? ',"' : '"') + n.content[i] + '"';
    s += ']';
  }
  if (n.subtree !== undefined) s += ',"subtree":"' + n.subtree + '"';
  if (n.error) s += ',"error":' + goJsonString(n.error);
  return s + '}';
}

/**
 * Serializes a tree exactly as restic does. Nodes are sorted by raw name bytes if they are not
 * already; duplicate names are a programming error (CofferError 'internal').
 */
export function encodeTree(tree: Tree): Uint8Array {
  let nodes = tree.nodes;
  for (let i = 1; i < nodes.length; i++) {
    if (compareBytes(nodes[i - 1]!.name, nodes[i]!.name) >= 0) {
      nodes = sortNodes(nodes);
      break;
    }
  }
  const parts: string[] = new Array(nodes.length);
  for (let i = 0; i < nodes.length; i++) {
    if (i > 0 && compareBytes(nodes[i - 1]!.name, nodes[i]!.name) === 0) {
      throw new CofferError('internal', `tree has duplicate node name ${JSON.stringify(goQuote(nodes[i]!.name))}`);
    }
    parts[i] = encodeNode(nodes[i]!);
  }
  return utf8Encode('{"nodes":[' + parts.join(',') + ']}\n');
}

// ---- decoding ------------------------------------------------------------------------------

const RAW_MEMBERS: ReadonlySet<string> = new Set(['generic_attributes']);

const nodeField = fieldMatcher([
  'name', 'type', 'mode', 'mtime', 'atime', 'ctime', 'uid', 'gid', 'user', 'group', 'inode', 'device_id',
  'size', 'links', 'linktarget', 'linktarget_raw', 'extended_attributes', 'generic_attributes', 'device',
  'content', 'subtree', 'error',
] as const);
const treeField = fieldMatcher(['nodes'] as const);
const xattrField = fieldMatcher(['name', 'value'] as const);

type MutableNode = { -readonly [K in keyof TreeNode]: TreeNode[K] };

// atime usually equals mtime (restic's default), and neighbours often share times: reuse the
// last parse. GoTime values are immutable, so sharing them is safe.
let lastTimeText = '';
let lastTime: GoTime = GO_ZERO_TIME;

function timeField(v: JsonValue, what: string, field: string): GoTime {
  if (typeof v === 'string') {
    if (v !== lastTimeText) {
      lastTime = parseGoTime(v, `${what}: field "${field}"`);
      lastTimeText = v;
    }
    return lastTime;
  }
  if (v === null) return GO_ZERO_TIME;
  throw corrupt(what, `field "${field}" should be a time string`);
}

function decodeXattrs(val: JsonValue, what: string): ExtendedAttribute[] | undefined {
  const arr = fieldArray(val, what, 'extended_attributes');
  if (arr === undefined || arr.length === 0) return undefined;
  const attrs: ExtendedAttribute[] = [];
  for (const a of arr) {
    const ao = fieldObject(a, what, 'extended_attributes[]');
    let name = '';
    let value: Uint8Array = new Uint8Array(0);
    for (const [k, x] of jsonMembers(ao)) {
      const f = xattrField(k);
      if (f === 'name') name = fieldString(x, what, 'extended_attributes[].name');
      else if (f === 'value') value = fieldBase64(x, what, 'extended_attributes[].value') ?? new Uint8Array(0);
    }
    attrs.push({ name, value });
  }
  return attrs;
}

function decodeGenericAttributes(val: JsonValue, what: string): Record<string, string> | undefined {
  if (val === null) return undefined;
  const go = fieldObject(val, what, 'generic_attributes');
  const ga: Record<string, string> = {};
  let any = false;
  for (const k in go) {
    const raw = go[k];
    if (!(raw instanceof JsonRaw)) throw corrupt(what, 'generic_attributes could not be read');
    if (k === '__proto__') Object.defineProperty(ga, k, { value: raw.text, writable: true, enumerable: true, configurable: true });
    else ga[k] = raw.text;
    any = true;
  }
  return any ? ga : undefined;
}

function decodeNode(v: JsonValue, what: string): TreeNode {
  const o = fieldObject(v, what, 'nodes[]');
  let name = '';
  let type: string | undefined;
  const f = resetNodeFields(genericFields);
  // Hot loop (every node of every tree): walk the keys without allocating a pair per member;
  // earlier values of repeated keys (rare) come first, as jsonMembers orders them.
  const earlier = earlierMembers(o);
  const keys = Object.keys(o);
  const total = earlier.length + keys.length;
  for (let m = 0; m < total; m++) {
    let key: string;
    let val: JsonValue;
    if (m < earlier.length) [key, val] = earlier[m]!;
    else {
      key = keys[m - earlier.length]!;
      val = o[key]!;
    }
    switch (nodeField(key)) {
      case 'name': name = fieldString(val, what, 'name'); break;
      case 'type': type = fieldString(val, what, 'type'); break;
      case 'mode': f.mode = fieldUint(val, what, 'mode', 0xffffffff); break;
      case 'mtime': f.mtime = timeField(val, what, 'mtime'); break;
      case 'atime': f.atime = timeField(val, what, 'atime'); break;
      case 'ctime': f.ctime = timeField(val, what, 'ctime'); break;
      case 'uid': f.uid = fieldUint(val, what, 'uid', 0xffffffff); break;
      case 'gid': f.gid = fieldUint(val, what, 'gid', 0xffffffff); break;
      case 'user': f.user = fieldString(val, what, 'user'); break;
      case 'group': f.group = fieldString(val, what, 'group'); break;
      case 'inode': f.inode = fieldUint64(val, what, 'inode'); break;
      case 'device_id': f.deviceId = fieldUint64(val, what, 'device_id'); break;
      case 'size': f.size = fieldUint(val, what, 'size'); break;
      case 'links': f.links = fieldUint64(val, what, 'links'); break;
      case 'linktarget': f.linktarget = fieldString(val, what, 'linktarget'); break;
      case 'linktarget_raw': f.linktargetRaw = fieldBase64(val, what, 'linktarget_raw'); break;
      case 'extended_attributes': f.xattrs = decodeXattrs(val, what); break;
      case 'generic_attributes': f.generic = decodeGenericAttributes(val, what); break;
      case 'device': f.device = fieldUint64(val, what, 'device'); break;
      case 'content': {
        const arr = fieldArray(val, what, 'content');
        if (arr === undefined) f.content = null;
        else {
          const ids = new Array<Id>(arr.length);
          // Flat copies, as in the fast path (the parser's strings may be slices of the text).
          for (let i = 0; i < arr.length; i++) ids[i] = flatId(fieldId(arr[i]!, what, 'content[]'));
          f.content = ids;
        }
        break;
      }
      case 'subtree': {
        const id = fieldOptionalId(val, what, 'subtree');
        f.subtree = id === undefined ? undefined : flatId(id);
        break;
      }
      case 'error': f.error = fieldString(val, what, 'error'); break;
      default: break; // unknown keys are ignored, as by restic
    }
  }
  if (type === undefined || !NODE_TYPES.has(type)) {
    throw corrupt(what, type === undefined ? 'node without a type' : `unknown node type ${JSON.stringify(type)}`);
  }
  return nodeFromFields(goUnquote(name, `${what}: node name`), type as NodeType, f);
}

/**
 * A node's fields while one is decoded: each decoder fills its own reused record (no object per
 * node beyond the node itself), and `nodeFromFields` builds the node the same way for both.
 */
interface NodeFields {
  mode: number;
  mtime: GoTime;
  atime: GoTime;
  ctime: GoTime;
  uid: number;
  gid: number;
  user: string;
  group: string;
  inode: bigint;
  deviceId: bigint;
  size: number;
  links: bigint;
  linktarget: string;
  linktargetRaw: Uint8Array | undefined;
  xattrs: ExtendedAttribute[] | undefined;
  generic: Record<string, string> | undefined;
  device: bigint;
  content: Id[] | null;
  subtree: Id | undefined;
  error: string;
}

function resetNodeFields(f: NodeFields): NodeFields {
  f.mode = 0;
  f.mtime = f.atime = f.ctime = GO_ZERO_TIME;
  f.uid = f.gid = 0;
  f.user = f.group = '';
  f.inode = f.deviceId = f.links = f.device = 0n;
  f.size = 0;
  f.linktarget = '';
  f.linktargetRaw = f.xattrs = f.generic = f.subtree = undefined;
  f.content = null;
  f.error = '';
  return f;
}

const newNodeFields = (): NodeFields => resetNodeFields({} as NodeFields);
const genericFields = newNodeFields();
const scanFields = newNodeFields();

/** The node, with zero values absent (Go omitempty: decode -> encode is the identity) and its fields always added in one order (one object shape per set of fields). */
function nodeFromFields(name: Uint8Array, type: NodeType, f: NodeFields): MutableNode {
  const n: MutableNode = { name, type, mtime: f.mtime, atime: f.atime, ctime: f.ctime, uid: f.uid, gid: f.gid, content: f.content };
  if (f.mode) n.mode = f.mode;
  if (f.user) n.user = f.user;
  if (f.group) n.group = f.group;
  if (f.inode) n.inode = f.inode;
  if (f.deviceId) n.deviceId = f.deviceId;
  if (f.size) n.size = f.size;
  if (f.links) n.links = f.links;
  if (f.linktarget) n.linktarget = f.linktarget;
  if (f.linktargetRaw && f.linktargetRaw.length > 0) n.linktargetRaw = f.linktargetRaw;
  if (f.xattrs) n.extendedAttributes = f.xattrs;
  if (f.generic) n.genericAttributes = f.generic;
  if (f.device) n.device = f.device;
  if (f.subtree !== undefined) n.subtree = f.subtree;
  if (f.error) n.error = f.error;
  return n;
}

// ---- fast path -------------------------------------------------------------------------------
//
// Trees restic writes have one layout: node keys in struct order (some omitted), exact lowercase
// key names, no key twice. `scanTree` reads that layout straight into nodes, with the generic
// parser's own string and number readers and the same field converters, but without building a
// value tree first. Anything else (an unknown, repeated, reordered or differently spelled key,
// `null` where restic writes a value, uppercase IDs, any error) gives up, and the generic
// decoder decides: both always agree (test/format/tree-scan.test.ts checks it on generated and
// mutated trees).

/** Node keys in restic's order; a node's keys must appear in this order (each at most once). */
const NODE_KEYS = [
  'name', 'type', 'mode', 'mtime', 'atime', 'ctime', 'uid', 'gid', 'user', 'group', 'inode', 'device_id',
  'size', 'links', 'linktarget', 'linktarget_raw', 'extended_attributes', 'generic_attributes', 'device',
  'content', 'subtree', 'error',
] as const;
const K_NAME = 0, K_TYPE = 1, K_MODE = 2, K_MTIME = 3, K_ATIME = 4, K_CTIME = 5, K_UID = 6, K_GID = 7, K_USER = 8,
  K_GROUP = 9, K_INODE = 10, K_DEVICE_ID = 11, K_SIZE = 12, K_LINKS = 13, K_LINKTARGET = 14, K_LINKTARGET_RAW = 15,
  K_XATTRS = 16, K_GENERIC = 17, K_DEVICE = 18, K_CONTENT = 19, K_SUBTREE = 20, K_ERROR = 21;

/** Thrown (never escapes) when the text leaves the layout the scanner reads. */
const NOT_CANONICAL = new Error('not the canonical tree layout');

/**
 * The bytes of a quoted name that is plain ASCII without `\\`, `"` or a newline (what goUnquote
 * returns for it: its UTF-8 is its codes), else undefined. Most names; saves a TextEncoder call each.
 */
function plainName(q: string): Uint8Array | undefined {
  const n = q.length;
  if (n > 64) return undefined;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const c = q.charCodeAt(i);
    if (c >= 0x80 || c === 92 || c === 34 || c === 10) return undefined;
    out[i] = c;
  }
  return out;
}

class TreeScan extends JsonParser {
  constructor(s: string, readonly whatText: string) {
    super(s, whatText, RAW_MEMBERS); // as the generic decoder parses, also inside values it skips
  }

  expect(c: number): void {
    this.ws();
    if (this.s.charCodeAt(this.pos) !== c) throw NOT_CANONICAL;
    this.pos++;
    this.ws();
  }

  /** A string value (the parser's own reading of escapes). */
  str(): string {
    if (this.s.charCodeAt(this.pos) !== 34) throw NOT_CANONICAL;
    return this.string();
  }

  num(): number | JsonNumber {
    const c = this.s.charCodeAt(this.pos);
    if (!(c === 45 || (c >= 48 && c <= 57))) throw NOT_CANONICAL;
    return this.number();
  }

  /** A quoted lowercase 64-hex ID, as a flat copy (a slice would keep the whole tree text alive). */
  id(): string {
    const s = this.s;
    const i = this.pos;
    if (s.charCodeAt(i) !== 34 || s.charCodeAt(i + 65) !== 34 || !isLowerHexRun(s, i + 1)) throw NOT_CANONICAL;
    this.pos = i + 66;
    return flatId(s, i + 1);
  }

  /** Index in NODE_KEYS of the key at `pos` (at or after `from`), moving past it and its colon. */
  key(from: number): number {
    const s = this.s;
    const i = this.pos;
    if (s.charCodeAt(i) !== 34) throw NOT_CANONICAL;
    const q = s.indexOf('"', i + 1);
    const len = q - i - 1;
    for (let k = from; k < NODE_KEYS.length; k++) {
      const name = NODE_KEYS[k]!;
      if (name.length === len && s.startsWith(name, i + 1)) {
        this.pos = q + 1;
        this.expect(58 /* : */);
        return k;
      }
    }
    throw NOT_CANONICAL;
  }

  node(): TreeNode {
    const what = this.whatText;
    const s = this.s;
    let name = '';
    let type: string | undefined;
    const f = resetNodeFields(scanFields);
    this.expect(123 /* { */);
    if (s.charCodeAt(this.pos) !== 125) {
      let next = 0;
      for (;;) {
        const k = this.key(next);
        next = k + 1;
        switch (k) {
          case K_NAME: name = this.str(); break;
          case K_TYPE: type = this.str(); break;
          case K_MODE: f.mode = fieldUint(this.num(), what, 'mode', 0xffffffff); break;
          case K_MTIME: f.mtime = timeField(this.str(), what, 'mtime'); break;
          case K_ATIME: f.atime = timeField(this.str(), what, 'atime'); break;
          case K_CTIME: f.ctime = timeField(this.str(), what, 'ctime'); break;
          case K_UID: f.uid = fieldUint(this.num(), what, 'uid', 0xffffffff); break;
          case K_GID: f.gid = fieldUint(this.num(), what, 'gid', 0xffffffff); break;
          case K_USER: f.user = this.str(); break;
          case K_GROUP: f.group = this.str(); break;
          case K_INODE: f.inode = fieldUint64(this.num(), what, 'inode'); break;
          case K_DEVICE_ID: f.deviceId = fieldUint64(this.num(), what, 'device_id'); break;
          case K_SIZE: f.size = fieldUint(this.num(), what, 'size'); break;
          case K_LINKS: f.links = fieldUint64(this.num(), what, 'links'); break;
          case K_LINKTARGET: f.linktarget = this.str(); break;
          case K_LINKTARGET_RAW: f.linktargetRaw = fieldBase64(this.str(), what, 'linktarget_raw'); break;
          case K_XATTRS: f.xattrs = decodeXattrs(this.value(3), what); break;
          case K_GENERIC:
            f.generic = decodeGenericAttributes(s.charCodeAt(this.pos) === 123 ? this.object(4, true) : this.value(3), what);
            break;
          case K_DEVICE: f.device = fieldUint64(this.num(), what, 'device'); break;
          case K_CONTENT:
            if (s.startsWith('null', this.pos)) {
              this.pos += 4;
              f.content = null;
            } else {
              this.expect(91 /* [ */);
              const ids: Id[] = [];
              f.content = ids;
              if (s.charCodeAt(this.pos) === 93) this.pos++;
              else {
                for (;;) {
                  ids.push(this.id());
                  this.ws();
                  const c = s.charCodeAt(this.pos++);
                  if (c === 93) break;
                  if (c !== 44) throw NOT_CANONICAL;
                  this.ws();
                }
              }
            }
            break;
          case K_SUBTREE: f.subtree = this.id(); break;
          case K_ERROR: f.error = this.str(); break;
        }
        this.ws();
        const c = s.charCodeAt(this.pos++);
        if (c === 125) break;
        if (c !== 44) throw NOT_CANONICAL;
        this.ws();
      }
    } else this.pos++;
    if (type === undefined || !NODE_TYPES.has(type)) throw NOT_CANONICAL;
    return nodeFromFields(plainName(name) ?? goUnquote(name, `${what}: node name`), type as NodeType, f);
  }

  tree(): Tree {
    const s = this.s;
    this.expect(123 /* { */);
    if (!s.startsWith('"nodes"', this.pos)) throw NOT_CANONICAL;
    this.pos += 7;
    this.expect(58 /* : */);
    if (s.charCodeAt(this.pos) !== 91) throw NOT_CANONICAL;
    this.expect(91 /* [ */);
    const nodes: TreeNode[] = [];
    if (s.charCodeAt(this.pos) === 93) this.pos++;
    else {
      for (;;) {
        nodes.push(this.node());
        this.ws();
        const c = s.charCodeAt(this.pos++);
        if (c === 93) break;
        if (c !== 44) throw NOT_CANONICAL;
      }
    }
    this.expect(125 /* } */);
    if (this.pos !== s.length) throw NOT_CANONICAL;
    return { nodes };
  }
}

/** The fast path alone: the tree, or undefined when `text` is not in the canonical layout (or invalid). */
export function scanTree(text: string, what: string): Tree | undefined {
  try {
    return new TreeScan(text, what).tree();
  } catch {
    return undefined;
  }
}

/**
 * Parses a tree blob. Throws CofferError 'corrupt' naming `what` on malformed JSON, a missing
 * `nodes` array, an unknown node type, bad IDs, times, numbers or quoted names. Node order is
 * kept as stored (restic writes sorted, unique names).
 */
export function decodeTree(bytes: Uint8Array, what: string): Tree {
  const text = jsonText(bytes);
  // Not the canonical layout, or invalid: the generic decoder decides (and words the error).
  return scanTree(text, what) ?? decodeTreeGeneric(text, what);
}

/** The generic decoder: any tree Go's decoder accepts (exported for the tests). */
export function decodeTreeGeneric(text: string, what: string): Tree {
  const doc = parseJson(text, what, { rawMembersOf: RAW_MEMBERS });
  const top: JsonObject = fieldObject(doc, what, '(top level)');
  let nodes: TreeNode[] | undefined;
  // Every occurrence is decoded (as Go does: an invalid earlier one fails the tree); the last wins.
  for (const [key, v] of jsonMembers(top)) {
    if (treeField(key) !== 'nodes') continue;
    const arr = fieldArray(v, what, 'nodes') ?? [];
    nodes = new Array<TreeNode>(arr.length);
    for (let i = 0; i < arr.length; i++) nodes[i] = decodeNode(arr[i]!, what);
  }
  if (nodes === undefined) throw corrupt(what, 'tree has no "nodes" key');
  return { nodes };
}
