/**
 * @module format/snapshot
 * Snapshot documents (spec §13), the JSON inside `snapshots/<id>` (an unpacked file, §7).
 * Compact, no trailing newline; keys in restic's order (omit = Go omitempty):
 *
 *   time, parent(omit absent), tree, paths(never omitted), hostname(omit ""), username(omit ""),
 *   uid(omit 0), gid(omit 0), excludes(omit empty), tags(omit empty), original(omit absent),
 *   program_version(omit ""), summary(omit absent):
 *     {backup_start, backup_end, files_new, files_changed, files_unmodified, dirs_new,
 *      dirs_changed, dirs_unmodified, data_blobs, tree_blobs, data_added, data_added_packed,
 *      total_files_processed, total_bytes_processed}   (all always present)
 *
 * Decoding ignores unknown keys (forward compatibility) and requires `tree`.
 */
import { utf8Encode } from '../bytes.js';
import { corrupt } from '../errors.js';
import { formatGoTime, GO_ZERO_TIME, parseGoTime } from './go-time.js';
import {
  fieldArray,
  fieldInt,
  fieldMatcher,
  jsonMembers,
  fieldObject,
  fieldOptionalId,
  fieldString,
  fieldUint,
  goJsonString,
  parseJsonBytes,
  type JsonValue,
} from './json.js';
import type { GoTime, Id, Snapshot, SnapshotSummary } from './types.js';

const SUMMARY_COUNTS = [
  ['filesNew', 'files_new'],
  ['filesChanged', 'files_changed'],
  ['filesUnmodified', 'files_unmodified'],
  ['dirsNew', 'dirs_new'],
  ['dirsChanged', 'dirs_changed'],
  ['dirsUnmodified', 'dirs_unmodified'],
  ['dataBlobs', 'data_blobs'],
  ['treeBlobs', 'tree_blobs'],
  ['dataAdded', 'data_added'],
  ['dataAddedPacked', 'data_added_packed'],
  ['totalFilesProcessed', 'total_files_processed'],
  ['totalBytesProcessed', 'total_bytes_processed'],
] as const satisfies readonly (readonly [keyof SnapshotSummary, string])[];

/** Go `int` in restic's SnapshotSummary (the other counters are unsigned): negative values are read. */
const SIGNED_COUNTS: ReadonlySet<string> = new Set(['data_blobs', 'tree_blobs']);

function strings(a: readonly string[]): string {
  return '[' + a.map(goJsonString).join(',') + ']';
}

export function encodeSnapshot(s: Snapshot): Uint8Array {
  let j = '{"time":"' + formatGoTime(s.time) + '"';
  if (s.parent !== undefined) j += ',"parent":"' + s.parent + '"';
  j += ',"tree":"' + s.tree + '"';
  j += ',"paths":' + strings(s.paths);
  if (s.hostname) j += ',"hostname":' + goJsonString(s.hostname);
  if (s.username) j += ',"username":' + goJsonString(s.username);
  if (s.uid) j += ',"uid":' + s.uid;
  if (s.gid) j += ',"gid":' + s.gid;
  if (s.excludes && s.excludes.length > 0) j += ',"excludes":' + strings(s.excludes);
  if (s.tags && s.tags.length > 0) j += ',"tags":' + strings(s.tags);
  if (s.original !== undefined) j += ',"original":"' + s.original + '"';
  if (s.programVersion) j += ',"program_version":' + goJsonString(s.programVersion);
  if (s.summary) {
    const m = s.summary;
    j += ',"summary":{"backup_start":"' + formatGoTime(m.backupStart) + '","backup_end":"' + formatGoTime(m.backupEnd) + '"';
    for (const [k, json] of SUMMARY_COUNTS) j += ',"' + json + '":' + m[k];
    j += '}';
  }
  return utf8Encode(j + '}');
}

const snapshotField = fieldMatcher([
  'time', 'parent', 'tree', 'paths', 'hostname', 'username', 'uid', 'gid', 'excludes', 'tags', 'original',
  'program_version', 'summary',
] as const);
const summaryField = fieldMatcher(['backup_start', 'backup_end', ...SUMMARY_COUNTS.map(([, j]) => j)]);

function timeOf(v: JsonValue, what: string, field: string): GoTime {
  if (v === null) return GO_ZERO_TIME;
  if (typeof v !== 'string') throw corrupt(what, `field "${field}" should be a time string`);
  return parseGoTime(v, `${what}: field "${field}"`);
}

function stringList(v: JsonValue, what: string, field: string): string[] {
  return (fieldArray(v, what, field) ?? []).map((x) => fieldString(x, what, `${field}[]`));
}

/** `base`: the summary decoded from an earlier occurrence of the key, which Go decodes into (merges). */
function decodeSummary(v: JsonValue, what: string, base?: SnapshotSummary): SnapshotSummary {
  const o = fieldObject(v, what, 'summary');
  const out: Record<string, number | GoTime> = { backupStart: GO_ZERO_TIME, backupEnd: GO_ZERO_TIME };
  for (const [k] of SUMMARY_COUNTS) out[k] = 0;
  if (base) Object.assign(out, base);
  for (const [key, val] of jsonMembers(o)) {
    const f = summaryField(key);
    if (f === undefined) continue;
    if (f === 'backup_start') out.backupStart = timeOf(val, what, 'summary.backup_start');
    else if (f === 'backup_end') out.backupEnd = timeOf(val, what, 'summary.backup_end');
    else {
      const k = SUMMARY_COUNTS.find(([, j]) => j === f)![0];
      out[k] = SIGNED_COUNTS.has(f) ? fieldInt(val, what, `summary.${f}`) : fieldUint(val, what, `summary.${f}`);
    }
  }
  return out as unknown as SnapshotSummary;
}

/** Parses snapshot JSON. Throws CofferError 'corrupt' naming `what`. */
export function decodeSnapshot(json: Uint8Array, what: string): Snapshot {
  const o = fieldObject(parseJsonBytes(json, what), what, '(top level)');
  let time: GoTime = GO_ZERO_TIME;
  let tree: Id | undefined;
  let paths: string[] = [];
  const s: { -readonly [K in keyof Snapshot]?: Snapshot[K] } = {};
  for (const [key, v] of jsonMembers(o)) {
    switch (snapshotField(key)) {
      case 'time': time = timeOf(v, what, 'time'); break;
      case 'parent': s.parent = fieldOptionalId(v, what, 'parent'); break;
      case 'tree': tree = fieldOptionalId(v, what, 'tree'); break;
      case 'paths': paths = stringList(v, what, 'paths'); break;
      case 'hostname': s.hostname = fieldString(v, what, 'hostname'); break;
      case 'username': s.username = fieldString(v, what, 'username'); break;
      case 'uid': s.uid = fieldUint(v, what, 'uid', 0xffffffff); break;
      case 'gid': s.gid = fieldUint(v, what, 'gid', 0xffffffff); break;
      case 'excludes': s.excludes = stringList(v, what, 'excludes'); break;
      case 'tags': s.tags = stringList(v, what, 'tags'); break;
      case 'original': s.original = fieldOptionalId(v, what, 'original'); break;
      case 'program_version': s.programVersion = fieldString(v, what, 'program_version'); break;
      case 'summary': s.summary = v === null ? undefined : decodeSummary(v, what, s.summary); break;
      default: break;
    }
  }
  if (tree === undefined) throw corrupt(what, 'snapshot has no tree');
  const out: { -readonly [K in keyof Snapshot]?: Snapshot[K] } = { time };
  if (s.parent !== undefined) out.parent = s.parent;
  out.tree = tree;
  out.paths = paths;
  // Zero values are dropped so that decode -> encode is the identity on restic's output.
  if (s.hostname) out.hostname = s.hostname;
  if (s.username) out.username = s.username;
  if (s.uid) out.uid = s.uid;
  if (s.gid) out.gid = s.gid;
  if (s.excludes && s.excludes.length > 0) out.excludes = s.excludes;
  if (s.tags && s.tags.length > 0) out.tags = s.tags;
  if (s.original !== undefined) out.original = s.original;
  if (s.programVersion) out.programVersion = s.programVersion;
  if (s.summary !== undefined) out.summary = s.summary;
  return out as Snapshot;
}
