/**
 * `coffer otp`: the 2FA vault kept inside the repository (docs/otp.md, otp-formats.md F).
 * import | add | list | code | remove | rename | show | export. The vault is an encrypted Aegis
 * vault in the newest `coffer-otp` record; it opens with the password that opened the
 * repository. Every change writes a new record; a failed import or a refused input writes
 * nothing. Secrets are never printed except by `show` and `export`, which exist to move them.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CofferError } from '../../core/errors.js';
import type { Repository } from '../../core/repository/repository.js';
import { AEGIS_SCRYPT, newVaultKey, plainAegisVault, sealAegisVault } from '../../core/otp/aegis.js';
import { base32Decode } from '../../core/otp/base32.js';
import { hotp, secondsLeft, steam, totp } from '../../core/otp/codes.js';
import { checkEntry, counterJson, entryLabel, MAX_COUNTER, MAX_PERIOD, type EntryType, type OtpEntry } from '../../core/otp/entry.js';
import { readImportSources, type ImportSource } from '../../core/otp/import.js';
import { stringifyJson, type Json, type JsonObject } from '../../core/otp/json.js';
import { loadOtpVault, saveOtpVault, type StoredVault } from '../../core/otp/store.js';
import { formatOtpauthUri, parseOtpauthUri } from '../../core/otp/uri.js';
import { cloneJson, findEntries, findOne, groupNames, mergeImport, vaultItems, type ImportBatch, type ImportedEntry } from '../../core/otp/vault.js';
import { nodeCrypto } from '../../node/crypto-node.js';
import { drawQrTerminal } from '../../node/otp-qr-draw.js';
import { isImage, readQrImage } from '../../node/otp-qr-read.js';
import { flag, str, type Command, type Values } from '../command.js';
import type { Cli } from '../context.js';
import { promptHidden } from '../prompt.js';

const SUBCOMMANDS = ['import', 'add', 'list', 'code', 'remove', 'rename', 'show', 'export'] as const;

/** An open repository, the password that opened it (it also opens the vault) and the vault. */
interface OtpSession {
  readonly repo: Repository;
  readonly password: string;
  readonly vault: StoredVault;
}

async function ask(q: string): Promise<string> {
  try {
    return await promptHidden(q);
  } catch (e) {
    if ((e as { interrupted?: boolean }).interrupted) throw new CofferError('cancelled', 'interrupted');
    throw e;
  }
}

/** Opens the repository and the vault with the same password (asked once). */
async function openSession(cli: Cli): Promise<OtpSession> {
  const repo = await cli.openRepository();
  const password = await cli.password(); // asked once: openRepository's prompt is reused
  const vault = await loadOtpVault(repo, password, { signal: cli.signal });
  return { repo, password, vault };
}

async function save(cli: Cli, s: OtpSession, db: JsonObject): Promise<StoredVault> {
  return saveOtpVault(s.repo, s.vault, db, s.password, { owner: cli.lockOwner(), signal: cli.signal, scrypt: AEGIS_SCRYPT });
}

function readFileArg(file: string, what: string): Uint8Array {
  try {
    return file === '-' ? fs.readFileSync(0) : fs.readFileSync(file);
  } catch (e) {
    throw new CofferError('bad-input', `cannot read ${what} ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

function readPasswordFile(file: string, what: string): string {
  return new TextDecoder().decode(readFileArg(file, what)).replace(/\r?\n$/, '');
}

/** A password for an encrypted import source: --import-password-file, COFFER_IMPORT_PASSWORD, or the terminal. */
function importPasswords(cli: Cli, values: Values): (source: string) => Promise<string> {
  const file = str(values['import-password-file']);
  const given = file !== undefined ? readPasswordFile(file, 'import password file') : cli.env.COFFER_IMPORT_PASSWORD;
  return async (source) => {
    if (given !== undefined) return given;
    if (!cli.io.stdinIsTTY) throw new CofferError('usage', `${source} is encrypted: give its password with --import-password-file FILE or COFFER_IMPORT_PASSWORD, or run on a terminal`);
    return ask(`enter password for ${path.basename(source)}: `);
  };
}

/** Files to import sources: images become the texts of their QR codes. */
function importSourcesFromFiles(files: readonly string[]): ImportSource[] {
  const out: ImportSource[] = [];
  for (const f of files) {
    const name = f === '-' ? 'stdin' : f;
    const bytes = readFileArg(f, 'file');
    if (isImage(bytes)) {
      const codes = readQrImage(bytes, name);
      out.push({ name: `QR code${codes.length > 1 ? 's' : ''} in ${name}`, text: codes.join('\n') });
    } else {
      const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
      out.push({ name, text });
    }
  }
  return out;
}

function describeCounts(cli: Cli, added: readonly ImportedEntry[], duplicates: readonly ImportedEntry[]): void {
  for (const d of duplicates) cli.warn(`skipped duplicate: ${entryLabel(d.entry)} (${d.source})`);
  cli.info(`${added.length} ${added.length === 1 ? 'entry' : 'entries'} added${duplicates.length ? `, ${duplicates.length} duplicate${duplicates.length === 1 ? '' : 's'} skipped` : ''}`);
}

async function mergeAndSave(cli: Cli, s: OtpSession, batches: readonly ImportBatch[]): Promise<{ added: ImportedEntry[]; duplicates: ImportedEntry[] }> {
  let db = s.vault.db;
  const added: ImportedEntry[] = [];
  const duplicates: ImportedEntry[] = [];
  const random = (n: number) => s.repo.platform.crypto.randomBytes(n);
  for (const b of batches) {
    const r = mergeImport(db, b, random);
    db = r.db;
    added.push(...r.added);
    duplicates.push(...r.duplicates);
  }
  if (added.length > 0) await save(cli, s, db);
  return { added, duplicates };
}

async function runImport(cli: Cli, values: Values, files: string[]): Promise<number> {
  if (files.length === 0) throw new CofferError('usage', 'give the files to import (coffer otp import FILE...)');
  // Read every input before opening anything: a refused file costs no password prompt.
  // Read and check every input (and its password) before opening the repository: a refused
  // file or a wrong import password costs nothing and changes nothing.
  const sources = importSourcesFromFiles(files);
  const batches = await readImportSources(sources, nodeCrypto, importPasswords(cli, values));
  for (const b of batches) for (const w of b.warnings) cli.warn(`warning: ${w}`);
  const s = await openSession(cli);
  const { added, duplicates } = await mergeAndSave(cli, s, batches);
  if (cli.json) cli.out(stringifyJson({ added: added.map((a) => summary(a.entry)), duplicates: duplicates.map((d) => summary(d.entry)), formats: batches.map((b) => b.format) }));
  else describeCounts(cli, added, duplicates);
  return 0;
}

function summary(e: OtpEntry): JsonObject {
  return { issuer: e.issuer, account: e.name, type: e.type };
}

function warnSecretInArgs(cli: Cli, what: string): void {
  cli.warn(`warning: ${what} on the command line can be seen by other users (ps) and stays in your shell history; use --secret-file FILE, or --secret-file - to read it from stdin`);
}

function intOption(v: string | undefined, name: string, min: number, max: number): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d{1,10}$/.test(v) || Number(v) < min || Number(v) > max) throw new CofferError('bad-input', `invalid --${name} "${v.slice(0, 20)}" (${min} to ${max})`);
  return Number(v);
}

function entryFromFlags(cli: Cli, values: Values): OtpEntry {
  const account = str(values.account);
  if (account === undefined) throw new CofferError('usage', 'give --account (and --issuer, --secret-file) or an otpauth:// URI');
  const issuer = str(values.issuer) ?? '';
  const what = `new entry (${entryLabel({ issuer, name: account })})`;
  let secretText: string;
  if (str(values['secret-file']) !== undefined) {
    secretText = new TextDecoder().decode(readFileArg(str(values['secret-file'])!, 'secret file')).trim();
  } else if (str(values.secret) !== undefined) {
    warnSecretInArgs(cli, '--secret');
    secretText = str(values.secret)!;
  } else throw new CofferError('usage', 'give the secret with --secret-file FILE (or - for stdin)');
  const secret = base32Decode(secretText);
  if (!secret) throw new CofferError('bad-input', `${what}: bad secret (not base32)`);
  const typeText = (str(values.type) ?? 'totp').toLowerCase();
  if (typeText !== 'totp' && typeText !== 'hotp' && typeText !== 'steam') throw new CofferError('bad-input', `${what}: unsupported type "${typeText.slice(0, 20)}" (totp, hotp or steam)`);
  const type = typeText as EntryType;
  const algoText = (str(values.algorithm) ?? 'SHA1').toUpperCase();
  if (algoText !== 'SHA1' && algoText !== 'SHA256' && algoText !== 'SHA512') throw new CofferError('bad-input', `${what}: unsupported algorithm "${algoText.slice(0, 20)}" (SHA1, SHA256 or SHA512)`);
  const digits = intOption(str(values.digits), 'digits', 1, 10) ?? 6;
  if (type === 'steam') return checkEntry({ type, issuer, name: account, secret, algorithm: 'SHA1', digits: 5, period: intOption(str(values.period), 'period', 1, MAX_PERIOD) ?? 30 }, what);
  if (type === 'hotp') {
    const c = str(values.counter) ?? '0';
    if (!/^\d{1,19}$/.test(c) || BigInt(c) > MAX_COUNTER) throw new CofferError('bad-input', `invalid --counter "${c.slice(0, 20)}" (0 to 2^63-1)`);
    return checkEntry({ type, issuer, name: account, secret, algorithm: algoText, digits, counter: BigInt(c) }, what);
  }
  return checkEntry({ type, issuer, name: account, secret, algorithm: algoText, digits, period: intOption(str(values.period), 'period', 1, MAX_PERIOD) ?? 30 }, what);
}

async function runAdd(cli: Cli, values: Values, args: string[]): Promise<number> {
  let batch: ImportBatch;
  if (flag(values.qr)) {
    if (args.length !== 1) throw new CofferError('usage', 'give one image: coffer otp add --qr IMAGE');
    const sources = importSourcesFromFiles(args);
    const batches = await readImportSources(sources, nodeCrypto, importPasswords(cli, values));
    for (const b of batches) for (const w of b.warnings) cli.warn(`warning: ${w}`);
    batch = { format: 'qr', entries: batches.flatMap((b) => b.entries), warnings: [] };
  } else if (args.length > 0) {
    if (args.length !== 1) throw new CofferError('usage', "give one URI (quote it: coffer otp add 'otpauth://...'), or - to read it from stdin");
    const uri = args[0] === '-' ? new TextDecoder().decode(readFileArg('-', 'stdin')).trim() : args[0]!;
    if (args[0] !== '-') cli.warn("warning: a URI with its secret on the command line can be seen by other users (ps) and stays in your shell history; use \"coffer otp add -\" to read it from stdin");
    batch = { format: 'otpauth', entries: [{ entry: parseOtpauthUri(uri, 'the URI'), groups: [], source: 'the URI' }], warnings: [] };
  } else {
    batch = { format: 'flags', entries: [{ entry: entryFromFlags(cli, values), groups: [], source: 'the command line' }], warnings: [] };
  }
  if (batch.entries.length === 0) throw new CofferError('bad-input', 'nothing to add');
  const s = await openSession(cli);
  const { added, duplicates } = await mergeAndSave(cli, s, [batch]);
  for (const a of added) cli.info(`added ${entryLabel(a.entry)} (${a.entry.type})`);
  for (const d of duplicates) cli.warn(`already in the vault, not added again: ${entryLabel(d.entry)}`);
  return 0;
}

function paramText(e: OtpEntry): string {
  return e.type === 'hotp' ? `counter ${e.counter}` : `${e.period} s`;
}

async function runList(cli: Cli): Promise<number> {
  const s = await openSession(cli);
  const items = vaultItems(s.vault.db);
  if (cli.json) {
    const rows: Json[] = items.map(({ raw, entry: e }) => ({
      uuid: raw.uuid as string,
      type: e.type,
      issuer: e.issuer,
      account: e.name,
      algorithm: e.algorithm,
      digits: e.digits,
      ...(e.type === 'hotp' ? { counter: counterJson(e.counter!) } : { period: e.period! }),
      groups: groupNames(s.vault.db, raw),
      favorite: raw.favorite === true,
    }));
    cli.out(stringifyJson(rows));
    return 0;
  }
  if (items.length === 0) {
    cli.info('the OTP vault is empty (add entries with "coffer otp import" or "coffer otp add")');
    return 0;
  }
  const header = ['Issuer', 'Account', 'Type', 'Algorithm', 'Digits', 'Period/Counter', 'Groups'];
  const rows = items.map(({ raw, entry: e }) => [e.issuer, e.name, e.type, e.algorithm, String(e.digits), paramText(e), groupNames(s.vault.db, raw).join(', ')]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  cli.out(line(header));
  cli.out('-'.repeat(line(widths.map((w) => '-'.repeat(w))).length));
  for (const r of rows) cli.out(line(r));
  cli.info(`${items.length} ${items.length === 1 ? 'entry' : 'entries'}`);
  return 0;
}

function parseAt(v: string | undefined): bigint {
  if (v === undefined) return BigInt(Math.floor(Date.now() / 1000));
  if (!/^\d{1,19}$/.test(v)) throw new CofferError('bad-input', `invalid --at "${v.slice(0, 24)}" (Unix seconds)`);
  return BigInt(v);
}

async function runCode(cli: Cli, values: Values, args: string[]): Promise<number> {
  if (args.length !== 1) throw new CofferError('usage', 'give one query (coffer otp code QUERY): text of the issuer or account');
  const at = parseAt(str(values.at));
  const s = await openSession(cli);
  const hits = findEntries(s.vault.db, args[0]!);
  if (hits.length === 0) throw new CofferError('usage', `no OTP entry matches ${JSON.stringify(args[0])}`);
  // HOTP: store counter + 1 before showing the code, so a code is never shown twice.
  let db = s.vault.db;
  const hotps = hits.filter((h) => h.entry.type === 'hotp');
  if (hotps.length > 0) {
    db = cloneJson(db);
    const entries = db.entries as JsonObject[];
    for (const h of hotps) {
      const info = entries[h.index]!.info as JsonObject;
      if (h.entry.counter! >= MAX_COUNTER) throw new CofferError('bad-input', `${entryLabel(h.entry)}: the HOTP counter is at its maximum`);
      info.counter = counterJson(h.entry.counter! + 1n);
    }
    await save(cli, s, db);
  }
  const results: JsonObject[] = [];
  for (const h of hits) {
    const e = h.entry;
    const r: JsonObject = { issuer: e.issuer, account: e.name, type: e.type };
    if (e.type === 'totp') {
      r.code = totp(e.secret, at, e.algorithm as 'SHA1', e.digits, e.period!);
      r.secondsLeft = secondsLeft(at, e.period!);
    } else if (e.type === 'steam') {
      r.code = steam(e.secret, at, e.period);
      r.secondsLeft = secondsLeft(at, e.period!);
    } else if (e.type === 'hotp') {
      r.code = hotp(e.secret, e.counter!, e.algorithm as 'SHA1', e.digits);
      r.counter = counterJson(e.counter!);
    } else r.error = `Coffer cannot compute ${e.type} codes yet (the entry is kept and exported unchanged)`;
    results.push(r);
  }
  if (cli.json) {
    cli.out(stringifyJson(results));
  } else {
    for (const r of results) {
      const label = entryLabel({ issuer: r.issuer as string, name: r.account as string });
      if (r.code === undefined) cli.out(`${label}: ${r.error as string}`);
      else if (r.type === 'hotp') cli.out(`${label}  ${r.code as string}  (counter ${String(r.counter)}, next code uses ${String(BigInt(r.counter as number) + 1n)})`);
      else cli.out(`${label}  ${r.code as string}  (${String(r.secondsLeft)} s left)`);
    }
  }
  // Non-zero only when nothing could be computed (e.g. the only match is an mOTP entry).
  return results.some((r) => r.code !== undefined) ? 0 : 1;
}

async function runRemove(cli: Cli, args: string[]): Promise<number> {
  if (args.length !== 1) throw new CofferError('usage', 'give one query (coffer otp remove QUERY)');
  const s = await openSession(cli);
  const hit = findOne(s.vault.db, args[0]!);
  const db = cloneJson(s.vault.db);
  (db.entries as JsonObject[]).splice(hit.index, 1);
  await save(cli, s, db);
  cli.info(`removed ${entryLabel(hit.entry)} (older vault records keep it: see docs/otp.md to undo)`);
  return 0;
}

async function runRename(cli: Cli, values: Values, args: string[]): Promise<number> {
  if (args.length !== 1) throw new CofferError('usage', 'give one query (coffer otp rename QUERY [--issuer NEW] [--account NEW])');
  const issuer = str(values.issuer);
  const account = str(values.account);
  if (issuer === undefined && account === undefined) throw new CofferError('usage', 'give --issuer NEW and/or --account NEW');
  const s = await openSession(cli);
  const hit = findOne(s.vault.db, args[0]!);
  const db = cloneJson(s.vault.db);
  const raw = (db.entries as JsonObject[])[hit.index]!;
  if (issuer !== undefined) raw.issuer = issuer;
  if (account !== undefined) raw.name = account;
  await save(cli, s, db);
  cli.info(`renamed ${entryLabel(hit.entry)} to ${entryLabel({ issuer: raw.issuer as string, name: raw.name as string })}`);
  return 0;
}

async function runShow(cli: Cli, values: Values, args: string[]): Promise<number> {
  if (args.length !== 1) throw new CofferError('usage', 'give one query (coffer otp show QUERY --uri|--qr)');
  if (flag(values.uri) === flag(values.qr)) throw new CofferError('usage', 'give --uri or --qr');
  const s = await openSession(cli);
  const hit = findOne(s.vault.db, args[0]!);
  const uri = formatOtpauthUri(hit.entry);
  if (!uri) throw new CofferError('usage', `${entryLabel(hit.entry)}: ${hit.entry.type} entries have no otpauth:// form (export the vault to Aegis instead)`);
  if (flag(values.uri)) cli.out(uri);
  else cli.io.stdout.write(drawQrTerminal(uri, { invert: flag(values.invert) }));
  return 0;
}

async function exportPassword(cli: Cli, values: Values): Promise<string> {
  const file = str(values['export-password-file']);
  let pw = file !== undefined ? readPasswordFile(file, 'export password file') : cli.env.COFFER_EXPORT_PASSWORD;
  if (pw === undefined) {
    if (!cli.io.stdinIsTTY) throw new CofferError('usage', 'no export password: use --export-password-file FILE or COFFER_EXPORT_PASSWORD, or run on a terminal (or --plain for an unencrypted file)');
    const a = await ask('enter password for the exported vault: ');
    const b = await ask('enter password again: ');
    if (a !== b) throw new CofferError('usage', 'passwords do not match');
    pw = a;
  }
  if (pw === '') throw new CofferError('usage', 'an empty export password is not allowed (use --plain for an unencrypted file)');
  return pw;
}

async function runExport(cli: Cli, values: Values, args: string[]): Promise<number> {
  if (args.length > 0) throw new CofferError('usage', 'unexpected arguments (coffer otp export --format aegis|otpauth --output FILE)');
  const format = str(values.format) ?? 'aegis';
  if (format !== 'aegis' && format !== 'otpauth') throw new CofferError('usage', `unknown --format "${format}" (aegis or otpauth)`);
  const output = str(values.output);
  if (!output) throw new CofferError('usage', 'give --output FILE');
  const plain = flag(values.plain);
  if (format === 'otpauth' && !plain) throw new CofferError('usage', 'otpauth URIs hold the secrets in clear: add --plain to confirm');
  if (fs.existsSync(output)) throw new CofferError('usage', `${output} exists; choose another name or remove it first`);
  const password = plain ? undefined : await exportPassword(cli, values);
  const s = await openSession(cli);
  let text: string;
  if (format === 'otpauth') {
    const lines: string[] = [];
    for (const { entry } of vaultItems(s.vault.db)) {
      const uri = formatOtpauthUri(entry);
      if (uri) lines.push(uri);
      else cli.warn(`warning: ${entryLabel(entry)} (${entry.type}) has no otpauth:// form and is not exported; export to Aegis to keep it`);
    }
    text = lines.join('\n') + (lines.length ? '\n' : '');
  } else if (plain) {
    text = plainAegisVault(s.vault.db);
  } else {
    const crypto = s.repo.platform.crypto;
    text = sealAegisVault(s.vault.db, await newVaultKey([password!], AEGIS_SCRYPT, crypto), crypto);
  }
  try {
    fs.writeFileSync(output, text, { mode: 0o600, flag: 'wx' });
  } catch (e) {
    throw new CofferError('usage', `cannot write ${output}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (plain) cli.warn(`warning: ${output} holds every secret in clear; delete it once imported`);
  cli.info(`exported ${vaultItems(s.vault.db).length} entries to ${output} (${format}${plain ? ', plain' : ', encrypted'})`);
  return 0;
}

const command: Command = {
  name: 'otp',
  summary: 'Keep 2FA (OTP) secrets in an encrypted Aegis vault inside the repository.',
  usage: 'import FILE... | add URI|--qr IMAGE|--account A --secret-file F | list | code QUERY | remove QUERY | rename QUERY | show QUERY --uri|--qr | export --output FILE',
  help: `Subcommands:
  import FILE...            Aegis vault (plain or encrypted), 2FAS backup (plain or encrypted),
                            Google Authenticator export (otpauth-migration:// lines, or a PNG/JPEG
                            of its QR codes), or a text file of otpauth:// URIs; - reads stdin.
                            All or nothing; duplicates are reported and skipped.
  add URI | - | --qr IMAGE  add one entry from an otpauth:// URI (- reads it from stdin) or a QR image
  add --account A [--issuer I] --secret-file F|- [--type totp|hotp|steam] [--algorithm SHA1|SHA256|SHA512]
      [--digits N] [--period S] [--counter N]     (--secret S works but shows the secret in ps)
  list [--json]             entries without their secrets
  code QUERY [--at UNIX_SECONDS] [--json]
                            current code(s) of the entries whose issuer or account match QUERY
                            (HOTP: shows the code for the stored counter, then advances it)
  remove QUERY              remove one entry (older vault records keep it)
  rename QUERY [--issuer I] [--account A]
  show QUERY --uri | --qr [--invert]
                            the otpauth:// URI, or a QR code in the terminal to scan with a phone
  export [--format aegis|otpauth] --output FILE [--plain] [--export-password-file P]
                            an encrypted Aegis vault (password from P, $COFFER_EXPORT_PASSWORD or
                            asked twice); --plain writes it unencrypted (otpauth needs --plain)
Options:
      --import-password-file F  password of encrypted import files (else $COFFER_IMPORT_PASSWORD or asked)
The vault opens with the password that opens the repository. See docs/otp.md.`,
  options: {
    'import-password-file': { type: 'string' },
    'export-password-file': { type: 'string' },
    qr: { type: 'boolean' },
    uri: { type: 'boolean' },
    invert: { type: 'boolean' },
    issuer: { type: 'string' },
    account: { type: 'string' },
    secret: { type: 'string' },
    'secret-file': { type: 'string' },
    type: { type: 'string' },
    algorithm: { type: 'string' },
    digits: { type: 'string' },
    period: { type: 'string' },
    counter: { type: 'string' },
    at: { type: 'string' },
    format: { type: 'string' },
    output: { type: 'string', short: 'o' },
    plain: { type: 'boolean' },
  },
  async run(cli, values, positionals) {
    const [sub, ...args] = positionals;
    if (!sub || !(SUBCOMMANDS as readonly string[]).includes(sub)) {
      throw new CofferError('usage', `${sub ? `unknown subcommand "${sub}"` : 'give a subcommand'}: ${SUBCOMMANDS.join(', ')} (see "coffer otp --help")`);
    }
    switch (sub) {
      case 'import':
        return runImport(cli, values, args);
      case 'add':
        return runAdd(cli, values, args);
      case 'list':
        return runList(cli);
      case 'code':
        return runCode(cli, values, args);
      case 'remove':
        return runRemove(cli, args);
      case 'rename':
        return runRename(cli, values, args);
      case 'show':
        return runShow(cli, values, args);
      default:
        return runExport(cli, values, args);
    }
  },
};

export default command;
