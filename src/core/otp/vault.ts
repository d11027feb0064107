/**
 * @module otp/vault
 * The vault's contents: an Aegis `db` object (version 3) kept as JSON, so that every field
 * Aegis stores, known or not, survives (otp-formats.md C.4). Helpers read checked views of its
 * entries, merge an import into a copy (all or nothing, duplicates skipped: F.3), and find
 * entries by a query. Nothing here touches storage or crypto.
 */
import { CofferError } from '../errors.js';
import { aegisEntry, badEntry, entryFromAegis, entryLabel, sameEntry, uuidV4, type OtpEntry } from './entry.js';
import { isJsonObject, parseJson, stringifyJson, type Json, type JsonObject } from './json.js';

export type Random = (n: number) => Uint8Array;

/** One entry read from an import source. */
export interface ImportedEntry {
  readonly entry: OtpEntry;
  /** Aegis sources: the original db entry, kept whole (icons, notes, unknown fields). */
  readonly raw?: JsonObject;
  /** Group names. */
  readonly groups: readonly string[];
  /** Where it came from, for messages ("aegis.json entry 3"). */
  readonly source: string;
}

/** What an import source gave. */
export interface ImportBatch {
  readonly format: string;
  readonly entries: readonly ImportedEntry[];
  /** Aegis sources: the source's groups (uuid, name, unknown fields), in order. */
  readonly groups?: readonly JsonObject[];
  /** Aegis sources: the source db, for its db-level fields. */
  readonly db?: JsonObject;
  readonly warnings: readonly string[];
}

const KNOWN_DB_FIELDS = new Set(['version', 'entries', 'groups', 'icons_optimized']);

export function emptyDb(): JsonObject {
  return { version: 3, entries: [], groups: [], icons_optimized: true };
}

export function cloneJson<T extends Json>(v: T): T {
  return parseJson(stringifyJson(v), 'clone') as T;
}

export function dbEntries(db: JsonObject): JsonObject[] {
  return db.entries as JsonObject[];
}

export function dbGroups(db: JsonObject): JsonObject[] {
  return db.groups as JsonObject[];
}

/**
 * Checks a db read from an Aegis file and brings it to version 3 (C.3: version 1 has no
 * groups; version 2 names one group per entry). Refuses what Aegis refuses. Returns a new object
 * when it had to change something, else the same one.
 */
export function upgradeDb(db: Json, what: string, random: Random): JsonObject {
  if (!isJsonObject(db)) throw badEntry(what, 'db is not a JSON object');
  const version = db.version;
  if (version !== 1 && version !== 2 && version !== 3) throw badEntry(what, `unsupported db version ${stringifyJson(version ?? null).slice(0, 20)}`);
  if (!Array.isArray(db.entries)) throw badEntry(what, 'db has no entries list');
  const out = version === 3 ? db : cloneJson(db);
  if (version === 3) {
    if (out.groups === undefined) out.groups = [];
    if (!Array.isArray(out.groups) || !out.groups.every((g) => isJsonObject(g) && typeof g.uuid === 'string' && typeof g.name === 'string')) {
      throw badEntry(what, 'damaged groups list');
    }
  } else {
    const groups: JsonObject[] = [];
    for (const e of out.entries as Json[]) {
      if (!isJsonObject(e)) continue;
      const name = e.group;
      delete e.group;
      e.groups = [];
      if (version === 2 && typeof name === 'string' && name !== '') {
        let g = groups.find((x) => x.name === name);
        if (!g) groups.push((g = { uuid: uuidV4(random), name }));
        e.groups = [g.uuid as string];
      }
    }
    out.version = 3;
    out.groups = groups;
  }
  const known = new Set(dbGroups(out).map((g) => g.uuid as string));
  (out.entries as Json[]).forEach((e, i) => {
    entryFromAegis(e, `${what} entry ${i + 1}`);
    const raw = e as JsonObject;
    if (typeof raw.uuid !== 'string' || raw.uuid === '') raw.uuid = uuidV4(random);
    if (raw.groups === undefined) raw.groups = [];
    if (!Array.isArray(raw.groups) || !raw.groups.every((g) => typeof g === 'string')) throw badEntry(`${what} entry ${i + 1}`, 'damaged groups');
    // A membership of a group that does not exist is dropped, as Aegis does.
    raw.groups = (raw.groups as string[]).filter((g) => known.has(g));
  });
  return out;
}

/** The names of the groups an entry belongs to. */
export function groupNames(db: JsonObject, raw: JsonObject): string[] {
  const byUuid = new Map(dbGroups(db).map((g) => [g.uuid as string, g.name as string]));
  return ((raw.groups as string[] | undefined) ?? []).map((u) => byUuid.get(u)).filter((n): n is string => n !== undefined);
}

export interface VaultItem {
  readonly index: number;
  readonly raw: JsonObject;
  readonly entry: OtpEntry;
}

export function vaultItems(db: JsonObject): VaultItem[] {
  return dbEntries(db).map((raw, index) => ({ index, raw, entry: entryFromAegis(raw, `vault entry ${index + 1}`) }));
}

export interface MergeResult {
  readonly db: JsonObject;
  readonly added: readonly ImportedEntry[];
  readonly duplicates: readonly ImportedEntry[];
}

/**
 * Merges `batch` into a copy of `db`: duplicates (same type, secret, issuer and account as an
 * entry already there or earlier in the batch) are skipped; Aegis entries keep their uuid unless
 * another entry has it; groups are matched by name (a new one keeps the source's uuid when free).
 * On a db with no entries yet, the source's unknown db-level fields are adopted.
 */
export function mergeImport(db: JsonObject, batch: ImportBatch, random: Random): MergeResult {
  const out = cloneJson(db);
  const entries = dbEntries(out);
  const groups = dbGroups(out);
  const seen: OtpEntry[] = vaultItems(out).map((i) => i.entry);
  const uuids = new Set(entries.map((e) => e.uuid as string));
  const added: ImportedEntry[] = [];
  const duplicates: ImportedEntry[] = [];
  const sourceGroups = new Map((batch.groups ?? []).map((g) => [g.name as string, g]));
  if (batch.db && entries.length === 0) {
    for (const [k, v] of Object.entries(batch.db)) if (!KNOWN_DB_FIELDS.has(k) && !(k in out)) out[k] = cloneJson(v);
  }

  const groupUuid = (name: string): string => {
    const have = groups.find((g) => g.name === name);
    if (have) return have.uuid as string;
    const src = sourceGroups.get(name);
    const taken = new Set(groups.map((g) => g.uuid as string));
    const g: JsonObject = src ? cloneJson(src) : { uuid: '', name };
    if (typeof g.uuid !== 'string' || g.uuid === '' || taken.has(g.uuid)) g.uuid = uuidV4(random);
    groups.push(g);
    return g.uuid as string;
  };

  for (const item of batch.entries) {
    if (seen.some((e) => sameEntry(e, item.entry))) {
      duplicates.push(item);
      continue;
    }
    seen.push(item.entry);
    const gu = item.groups.map(groupUuid);
    let raw: JsonObject;
    if (item.raw) {
      raw = cloneJson(item.raw);
      raw.groups = gu;
      if (isJsonObject(raw.info) && raw.info.algo !== item.entry.algorithm) raw.info.algo = item.entry.algorithm; // Aegis' MD5 repair
      if (typeof raw.uuid !== 'string' || uuids.has(raw.uuid)) raw.uuid = uuidV4(random);
    } else {
      let u = uuidV4(random);
      while (uuids.has(u)) u = uuidV4(random);
      raw = aegisEntry(item.entry, u, gu);
    }
    uuids.add(raw.uuid as string);
    entries.push(raw);
    added.push(item);
  }
  if (batch.db && batch.db.icons_optimized === false && added.some((a) => a.raw && a.raw.icon != null)) out.icons_optimized = false;
  return { db: out, added, duplicates };
}

/**
 * Entries matching a query: a uuid, or text found in the issuer or account (case-insensitive).
 * When some entries match exactly (issuer, account, or "issuer:account"), only those are returned.
 */
export function findEntries(db: JsonObject, query: string): VaultItem[] {
  const q = query.toLowerCase();
  const items = vaultItems(db);
  const byUuid = items.filter((i) => (i.raw.uuid as string).toLowerCase() === q);
  if (byUuid.length) return byUuid;
  const exact = items.filter((i) => [i.entry.issuer, i.entry.name, `${i.entry.issuer}:${i.entry.name}`, entryLabel(i.entry)].some((s) => s.toLowerCase() === q));
  if (exact.length) return exact;
  return items.filter((i) => i.entry.issuer.toLowerCase().includes(q) || i.entry.name.toLowerCase().includes(q));
}

/** Exactly one entry for a command that changes it; otherwise a clear error listing the matches. */
export function findOne(db: JsonObject, query: string): VaultItem {
  const hits = findEntries(db, query);
  if (hits.length === 1) return hits[0]!;
  if (hits.length === 0) throw new CofferError('usage', `no OTP entry matches ${JSON.stringify(query)}`);
  throw new CofferError('usage', `${hits.length} OTP entries match ${JSON.stringify(query)}: ${hits.map((h) => entryLabel(h.entry)).join(', ')} (be more precise, or use the uuid)`);
}
