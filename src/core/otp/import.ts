/**
 * @module otp/import
 * Reads import sources, recognising the format from the content (otp-formats.md F.3): an Aegis
 * vault (JSON with header and db), a 2FAS backup (JSON with schemaVersion and services), or text
 * lines of `otpauth-migration://` and `otpauth://` URIs (also what QR codes decode to).
 * Nothing is merged here: the caller merges every batch into a copy of the vault and stores it
 * only when all sources were read (all or nothing).
 */
import { badEntry, entryFromAegis } from './entry.js';
import { openAegisVault, parseAegisFile, type OtpCrypto } from './aegis.js';
import { missingParts, parseMigrationUri, type MigrationPart } from './google.js';
import { isJsonObject, parseJson, type JsonObject } from './json.js';
import { isTwoFasJson, readTwoFas } from './twofas.js';
import { parseOtpauthUri } from './uri.js';
import { dbEntries, dbGroups, groupNames, upgradeDb, type ImportBatch, type ImportedEntry } from './vault.js';

export interface ImportSource {
  /** How the source is named in messages (a file name, "QR code in photo.png"). */
  readonly name: string;
  readonly text: string;
}

/** Asks for the password of an encrypted source (once per source). */
export type PasswordFor = (source: string) => Promise<string>;

async function readAegis(src: ImportSource, crypto: OtpCrypto, password: PasswordFor): Promise<ImportBatch> {
  const parsed = parseAegisFile(src.text, src.name);
  const rawDb = parsed.encrypted ? (await openAegisVault(parsed, await password(src.name), crypto, src.name)).db : (parsed.file.db as JsonObject);
  const db = upgradeDb(rawDb, src.name, (n) => crypto.randomBytes(n));
  const entries: ImportedEntry[] = dbEntries(db).map((raw, i) => ({
    entry: entryFromAegis(raw, `${src.name} entry ${i + 1}`),
    raw,
    groups: groupNames(db, raw),
    source: `${src.name} entry ${i + 1}`,
  }));
  return { format: parsed.encrypted ? 'aegis (encrypted)' : 'aegis (plain)', entries, groups: dbGroups(db), db, warnings: [] };
}

/**
 * Reads every source into batches: one per JSON file, one for all URI lines together (so that
 * the parts of a Google export given in several files are counted as one batch).
 */
export async function readImportSources(sources: readonly ImportSource[], crypto: OtpCrypto, password: PasswordFor): Promise<ImportBatch[]> {
  const batches: ImportBatch[] = [];
  const uriEntries: ImportedEntry[] = [];
  const parts: MigrationPart[] = [];
  const formats = new Set<string>();
  for (const src of sources) {
    const trimmed = src.text.replace(/^\uFEFF/, '').trim();
    if (trimmed === '') throw badEntry(src.name, 'empty input');
    if (trimmed.startsWith('{')) {
      const j = parseJson(trimmed, src.name);
      if (isJsonObject(j) && 'header' in j && 'db' in j) batches.push(await readAegis(src, crypto, password));
      else if (isTwoFasJson(j)) batches.push(await readTwoFas(j, src.name, () => password(src.name)));
      else throw badEntry(src.name, 'unrecognised JSON (neither an Aegis vault nor a 2FAS backup)');
      continue;
    }
    const lines = trimmed.split(/\r?\n/);
    lines.forEach((line, i) => {
      const l = line.trim();
      if (l === '' || l.startsWith('#')) return;
      const what = lines.length > 1 ? `${src.name} line ${i + 1}` : src.name;
      if (/^otpauth-migration:/i.test(l)) {
        parts.push(parseMigrationUri(l, what));
        formats.add('google-migration');
      } else if (/^otpauth:/i.test(l)) {
        const entry = parseOtpauthUri(l, what);
        uriEntries.push({ entry, groups: [], source: what });
        formats.add('otpauth');
      } else throw badEntry(what, 'not an otpauth:// or otpauth-migration:// URI, nor an Aegis or 2FAS file');
    });
  }
  if (uriEntries.length || parts.length) {
    batches.push({ format: [...formats].join('+'), entries: [...parts.flatMap((p) => p.entries), ...uriEntries], warnings: missingParts(parts) });
  }
  return batches;
}
