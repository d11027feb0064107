/**
 * `coffer kit`: makes a new recovery key, adds it as a key file (user `coffer-recovery`, host
 * `coffer-kit-<id>`) to the primary and every copy, records the key IDs in the config and the
 * settings record, and writes the kit (txt or html; --split 2of3 for SLIP-39 shares).
 * `coffer kit --join SHARE-FILE...` rebuilds the key; `coffer kit --verify KIT` opens every
 * copy the kit names with its key. Design: ../shared/design/no-lockout.md §4, §5.
 *
 * Also the helpers the drill, secret and recover commands share: reading a kit file (exit 2
 * before any access when it is damaged or the key is mistyped) and opening a copy with it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { toBase64, toHex } from '../../core/bytes.js';
import { CofferError, isCofferError } from '../../core/errors.js';
import { copyKindOf, redactUrl, type CopyEntry } from '../../core/engine/settings/settings.js';
import { readSecrets } from '../../core/engine/secrets/secrets.js';
import { renderKitHtml } from '../../core/kit/kit-html.js';
import { renderKitPdf } from '../../core/kit/kit-pdf.js';
import { keySha8, parseKit, renderKitText, SPLIT_2OF3, type Kit, type KitCopy } from '../../core/kit/kit-text.js';
import { formatRecoveryKey, generateRecoveryKey, parseRecoveryKey } from '../../core/kit/recovery-key.js';
import { combineMnemonics, splitMnemonic } from '../../core/kit/slip39.js';
import { addKey, openRepository } from '../../core/repository/open.js';
import { decodeKeyFile } from '../../core/format/key-file.js';
import type { Repository } from '../../core/repository/repository.js';
import { emptyConfig, loadConfig, saveConfig, type CofferConfig, type KitInfo } from '../../node/config.js';
import { copyBackend } from '../../node/open-copy.js';
import { flag, str, type Command } from '../command.js';
import { newKeyKdf, type Cli } from '../context.js';
import { promptHidden } from '../prompt.js';
import { openCopyFor, openPrimary, primaryLocation, publishSettings } from './copies.js';
import { addOtpVaultPassword } from '../../core/otp/store.js';
import { AEGIS_SCRYPT } from '../../core/otp/aegis.js';
import { latestRecordEntry } from '../../core/engine/records/records.js';
import { syncCopy } from '../../core/engine/sync/sync.js';
import { loadMasterIndex } from '../../core/repository/master-index.js';
import { loadSnapshots } from '../../core/repository/snapshots.js';

export const RECOVERY_USER = 'coffer-recovery';

export const sha256 = (d: Uint8Array): Uint8Array => new Uint8Array(createHash('sha256').update(d).digest());

function isoNow(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Reads and checks a kit file: 'bad-input' (exit 2) when unreadable, damaged or mistyped. */
export function readKitFile(file: string): Kit {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new CofferError('bad-input', `cannot read kit ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return parseKit(text, sha256);
}

/**
 * The recovery key of a kit: its Recovery-Key line, else COFFER_RECOVERY_KEY, else asked on the
 * terminal (a split kit). Checked against the kit's Recovery-Key-Sha256-8 before any access.
 */
export async function kitKey(cli: Cli, kit: Kit): Promise<string> {
  if (kit.recoveryKey) return kit.recoveryKey;
  let typed = cli.env.COFFER_RECOVERY_KEY;
  if (!typed) {
    if (!cli.io.stdinIsTTY) {
      throw new CofferError('bad-input', 'this kit carries no recovery key (a split kit): rebuild it with "coffer kit --join", or set COFFER_RECOVERY_KEY');
    }
    typed = await promptHidden('enter the recovery key: ');
  }
  const key = parseRecoveryKey(typed).key;
  if (keySha8(key, sha256) !== kit.keySha8) throw new CofferError('bad-input', 'this recovery key is not the one of this kit (Recovery-Key-Sha256-8 differs; nothing was contacted)');
  return key;
}

/** A config-style entry for a kit's copy (for opening its backend). */
export function entryOfKitCopy(c: KitCopy): CopyEntry {
  const options: Record<string, string> = {};
  for (const o of c.options) {
    const i = o.indexOf('=');
    if (i > 0) options[o.slice(0, i)] = o.slice(i + 1);
  }
  return {
    name: c.name,
    url: c.url,
    kind: copyKindOf(c.url),
    repositoryId: c.repositoryId,
    addedAt: '',
    chunkerPolynomial: '',
    credentials: { env: c.needsEnv, inUrl: false },
    options,
    policy: { excludeTags: [], onlyTags: [] },
  };
}

/** The kit's copy `name`; 'bad-input' when the kit does not name it. */
export function kitCopy(kit: Kit, name: string): KitCopy {
  const c = kit.copies.find((x) => x.name === name);
  if (!c) throw new CofferError('bad-input', `the kit names no copy "${name}" (it names: ${kit.copies.map((x) => x.name).join(', ') || 'none'})`);
  return c;
}

/** Opens one copy of a kit with its recovery key (the kit's key file first). */
export async function openKitCopy(cli: Cli, c: KitCopy, key: string, env: NodeJS.ProcessEnv = cli.env): Promise<Repository> {
  const backend = copyBackend(entryOfKitCopy(c), { env });
  try {
    const repo = await openRepository(backend, await cli.platform(), { password: key, ...(c.keyId ? { keyHint: c.keyId } : {}), ...cli.repositoryOptions() }, { signal: cli.signal });
    if (c.repositoryId && repo.config.id !== c.repositoryId) {
      throw new CofferError('corrupt', `copy ${c.name}: repository ID ${repo.config.id.slice(0, 8)} is not the kit's ${c.repositoryId.slice(0, 8)}`);
    }
    return repo;
  } catch (e) {
    await backend.close?.().catch(() => undefined);
    if (isCofferError(e, 'wrong-password')) throw new CofferError('wrong-password', `copy ${c.name}: the kit's recovery key opens no key file (removed, or another repository)`);
    throw e;
  }
}

/**
 * Copies one record snapshot just written to the primary into every reachable copy (as the same
 * snapshot, like sync). Returns the copies that did not get it (the next sync brings it).
 */
export async function pushRecordToCopies(cli: Cli, primary: Repository, config: CofferConfig | undefined, recordId: string, what: string): Promise<string[]> {
  const failed: string[] = [];
  if (!config?.copies.length) return failed;
  const index = await loadMasterIndex(primary, { signal: cli.signal });
  const snaps = await loadSnapshots(primary, { signal: cli.signal });
  for (const c of config.copies) {
    try {
      const repo = await openCopyFor(cli, c, true);
      try {
        await syncCopy({ repo: primary, index }, snaps, repo, { policy: c.policy, owner: cli.lockOwner(), signal: cli.signal, skipStructure: true, only: (e) => e.id === recordId });
      } finally {
        await repo.backend.close?.();
      }
    } catch (e) {
      if (isCofferError(e, 'cancelled')) throw e;
      failed.push(c.name);
      cli.warn(`coffer: copy ${c.name} did not get the ${what} now (${(e as Error).message}); the next sync brings it`);
    }
  }
  return failed;
}

function writeOut(cli: Cli, file: string | undefined, text: string | Uint8Array): void {
  if (!file) {
    cli.io.stdout.write(text);
    return;
  }
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  fs.writeFileSync(file, text, { mode: 0o600 });
}

type KitFormat = 'txt' | 'html' | 'pdf';

function formatOf(values: Record<string, unknown>, output: string | undefined): KitFormat {
  const byName = output && /\.html?$/i.test(output) ? 'html' : output && /\.pdf$/i.test(output) ? 'pdf' : 'txt';
  const f = str(values.format as string | undefined) ?? byName;
  if (f !== 'txt' && f !== 'html' && f !== 'pdf') throw new CofferError('bad-input', `unknown kit format "${f}" (txt, html or pdf)`);
  return f;
}

function render(kit: Kit, format: KitFormat): string | Uint8Array {
  if (format === 'pdf') return renderKitPdf(kit, sha256);
  return format === 'html' ? renderKitHtml(kit, sha256) : renderKitText(kit, sha256);
}

/** Writes the kit (and, when split with --output, FILE.share1..3 each holding one share). */
function emitKit(cli: Cli, kit: Kit, format: KitFormat, output: string | undefined): void {
  writeOut(cli, output, render(kit, format));
  if (output && kit.split !== 'none') {
    for (const [n, words] of kit.shares) writeOut(cli, `${output}.share${n}`, render({ ...kit, shares: new Map([[n, words]]) }, format));
  }
}

async function makeKit(cli: Cli, values: Record<string, unknown>): Promise<number> {
  const output = str(values.output as string | undefined);
  const format = formatOf(values, output);
  const split = str(values.split as string | undefined);
  if (split !== undefined && split !== '2of3') throw new CofferError('bad-input', `--split ${split}: only 2of3 is supported`);
  // Without copies there is no config yet: the kit then covers the primary alone.
  const config = loadConfig(cli.env) ?? emptyConfig(primaryLocation(cli, undefined));
  const platform = await cli.platform();
  const primary = await openPrimary(cli, config);
  const password = await cli.password();
  const kdf = await newKeyKdf(cli);
  const { key, bytes } = generateRecoveryKey((n) => platform.crypto.randomBytes(n));
  const id = toHex(platform.crypto.randomBytes(6));
  const owner = { username: RECOVERY_USER, hostname: `coffer-kit-${id}` };
  const kitCopies: Record<string, { repositoryId: string; keyId: string }> = {};
  kitCopies.primary = { repositoryId: primary.config.id, keyId: await addKey(primary.backend, platform, primary.key, key, kdf, owner, { signal: cli.signal }) };
  cli.warn(`added the recovery key to the primary (key ${kitCopies.primary.keyId.slice(0, 8)})`);
  const copies: KitCopy[] = [];
  const noCreds = flag(values['no-credentials'] as boolean | undefined);
  for (const c of config.copies) {
    let repo: Repository;
    try {
      repo = await openCopyFor(cli, c);
    } catch (e) {
      throw new CofferError(isCofferError(e) ? e.code : 'internal', `copy ${c.name} could not be opened (${(e as Error).message}); no kit was written: fix it or remove the copy, then run "coffer kit" again`);
    }
    try {
      const keyId = await addKey(repo.backend, platform, repo.key, key, kdf, owner, { signal: cli.signal });
      kitCopies[c.name] = { repositoryId: repo.config.id, keyId };
      const hasPw = c.credentials.inUrl || /^rest:[a-z]+:\/\/[^/@:]*:[^/@]*@/i.test(c.url);
      copies.push({
        name: c.name,
        url: noCreds ? redactUrl(c.url) : c.url,
        repositoryId: repo.config.id,
        keyId,
        options: Object.entries(c.options).map(([k, v]) => `${k}=${v}`),
        needsEnv: c.credentials.env,
        needs: noCreds && hasPw ? ['the REST password (printed as ***)'] : [],
      });
      cli.warn(`added the recovery key to copy ${c.name} (key ${keyId.slice(0, 8)})`);
    } finally {
      await repo.backend.close?.();
    }
  }
  const secrets = await readSecrets(primary, { signal: cli.signal });
  const printSecrets = flag(values['print-secrets'] as boolean | undefined);
  const created = isoNow();
  let kit: Kit = {
    id,
    created,
    recoveryKey: key,
    keySha8: keySha8(key, sha256),
    split: 'none',
    shares: new Map(),
    copies,
    secrets: secrets.index.map((s) => ({ name: s.name, size: s.size, ...(printSecrets ? { valueBase64: toBase64(secrets.values.get(s.name)!) } : {}) })),
  };
  if (split) {
    const shares = splitMnemonic(bytes, { threshold: 2, count: 3, random: (n) => platform.crypto.randomBytes(n) });
    const { recoveryKey: _omit, ...rest } = kit;
    void _omit;
    kit = { ...rest, split: SPLIT_2OF3, shares: new Map(shares.map((s, i) => [i + 1, s])) };
  }
  // The kit first: if it cannot be written, the config does not claim a kit the user lacks.
  emitKit(cli, kit, format, output);
  // The OTP vault gets a password slot for the recovery key, so the kit opens it too.
  try {
    if (await addOtpVaultPassword(primary, password, key, { owner: cli.lockOwner(), signal: cli.signal, scrypt: AEGIS_SCRYPT })) {
      const rec = await latestRecordEntry(primary, 'otp', { signal: cli.signal });
      if (rec) await pushRecordToCopies(cli, primary, config, rec.id, 'OTP vault');
      cli.warn('the OTP vault opens with the recovery key too');
    }
  } catch (e) {
    if (isCofferError(e, 'cancelled')) throw e;
    cli.warn(`coffer: the OTP vault could not get a slot for the recovery key (${(e as Error).message}); run "coffer kit" again later`);
  }
  const info: KitInfo = { id, createdAt: created, copies: kitCopies };
  const next: CofferConfig = { ...config, kit: info };
  saveConfig(next, cli.env);
  const failed = await publishSettings(cli, primary, next);
  if (output) cli.warn(`kit ${id} written to ${output}${split ? ` (and ${output}.share1, .share2, .share3)` : ''}; print it and keep it safe`);
  if (failed.length) cli.warn(`coffer: the settings record could not be written to ${failed.join(', ')}; the next sync will`);
  return 0;
}

/** Shares from files: kits (their Share.N lines) or plain word lists. */
function readShares(files: readonly string[]): { shares: string[]; kit: Kit | undefined } {
  const shares = new Map<string, string>();
  let kit: Kit | undefined;
  for (const f of files) {
    let text: string;
    try {
      text = fs.readFileSync(f, 'utf8');
    } catch (e) {
      throw new CofferError('bad-input', `cannot read share file ${f}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    if (/^Kit-Format: /m.test(text) || /<html[\s>]/i.test(text)) {
      const k = parseKit(text, sha256);
      if (kit && k.id !== kit.id) throw new CofferError('bad-input', `share files of two different kits (${kit.id}, ${k.id})`);
      kit ??= k;
      for (const s of k.shares.values()) shares.set(s, s);
    } else {
      const words = text.trim().split(/\s+/).join(' ');
      if (words) shares.set(words, words);
    }
  }
  return { shares: [...shares.values()], kit };
}

async function joinKit(cli: Cli, files: string[], values: Record<string, unknown>): Promise<number> {
  const output = str(values.output as string | undefined);
  const format = formatOf(values, output);
  const { shares, kit } = readShares(files);
  if (shares.length < 2) throw new CofferError('bad-input', `need 2 shares, got ${shares.length}`);
  const key = formatRecoveryKey(combineMnemonics(shares));
  if (kit && keySha8(key, sha256) !== kit.keySha8) throw new CofferError('bad-input', 'the shares rebuild a key that is not this kit\'s (Recovery-Key-Sha256-8 differs)');
  if (!kit) {
    writeOut(cli, output, key + '\n');
    return 0;
  }
  emitKit(cli, { ...kit, recoveryKey: key, split: 'none', shares: new Map() }, format, output);
  if (output) cli.warn(`kit ${kit.id} rebuilt with its recovery key: ${output}`);
  return 0;
}

async function verifyKit(cli: Cli, file: string): Promise<number> {
  const kit = readKitFile(file);
  const key = await kitKey(cli, kit);
  const failed: string[] = [];
  const results: { name: string; ok: boolean; error?: string }[] = [];
  for (const c of kit.copies) {
    try {
      const repo = await openKitCopy(cli, c, key);
      await repo.backend.close?.();
      results.push({ name: c.name, ok: true });
      cli.warn(`${c.name}: opens with the kit's key`);
    } catch (e) {
      if (isCofferError(e, 'cancelled')) throw e;
      failed.push(c.name);
      results.push({ name: c.name, ok: false, error: (e as Error).message });
      cli.warn(`coffer: kit check failed for copy ${c.name}: ${(e as Error).message}`);
    }
  }
  // Stale: a copy in the config the kit does not name.
  const config = loadConfig(cli.env);
  const missing = config ? config.copies.filter((c) => !kit.copies.some((k) => k.name === c.name)).map((c) => c.name) : [];
  if (missing.length) cli.warn(`coffer: the kit is stale: it does not name ${missing.join(', ')}; run "coffer kit" again`);
  if (cli.json) cli.jsonLine({ kitId: kit.id, ok: failed.length === 0 && missing.length === 0, copies: results, missingCopies: missing });
  return failed.length || missing.length ? 1 : 0;
}

/** Removes an older kit's key files (user coffer-recovery, host coffer-kit-ID) from the primary and every copy. */
async function retireKit(cli: Cli, id: string): Promise<number> {
  if (!/^[0-9a-f]{6,64}$/.test(id)) throw new CofferError('bad-input', `invalid kit ID "${id}"`);
  const config = loadConfig(cli.env);
  if (config?.kit?.id === id) throw new CofferError('bad-input', `kit ${id} is the current kit: print a new one first ("coffer kit"), then retire this one`);
  const primary = await openPrimary(cli, config);
  const targets: { name: string; open: () => Promise<Repository> }[] = [
    { name: 'primary', open: async () => primary },
    ...(config?.copies ?? []).map((c) => ({ name: c.name, open: () => openCopyFor(cli, c) })),
  ];
  let removed = 0;
  const failed: string[] = [];
  for (const t of targets) {
    try {
      const repo = await t.open();
      for (const keyId of await repo.listIds('keys')) {
        const kf = decodeKeyFile(await repo.backend.get({ type: 'keys', name: keyId }, undefined, { signal: cli.signal }), `keys/${keyId}`);
        if (kf.username !== RECOVERY_USER || kf.hostname !== `coffer-kit-${id}`) continue;
        if (keyId === repo.keyId) continue; // never the key this session opened with
        await repo.backend.delete({ type: 'keys', name: keyId }, { signal: cli.signal });
        removed++;
        cli.warn(`${t.name}: removed key ${keyId.slice(0, 8)} of kit ${id}`);
      }
      if (repo !== primary) await repo.backend.close?.();
    } catch (e) {
      if (isCofferError(e, 'cancelled')) throw e;
      failed.push(t.name);
      cli.warn(`coffer: could not retire kit ${id} in ${t.name}: ${(e as Error).message}`);
    }
  }
  cli.info(`kit ${id}: ${removed} key file(s) removed${failed.length ? `; not reached: ${failed.join(', ')}` : ''}`);
  return failed.length ? 1 : 0;
}

const command: Command = {
  name: 'kit',
  summary: 'Print a recovery kit (a new recovery key added to the primary and every copy).',
  usage: '[--output FILE] [--format txt|html|pdf] [--split 2of3] [--print-secrets] [--no-credentials] | --join SHARE-FILE... | --verify KIT | --retire KIT-ID',
  help: `Options:
  -o, --output FILE        write the kit to FILE (default: stdout); with --split also FILE.share1..3
      --format F           txt (default), html (a printable page with a QR code) or pdf (the same
                           page as a PDF, with the text kit attached); also chosen by the
                           --output name's extension
      --split 2of3         no key on the kit: three SLIP-39 shares, any two rebuild it
      --print-secrets      print the kept secrets' values on the kit (base64)
      --no-credentials     print *** instead of passwords inside copy URLs
      --join               rebuild the recovery key (and the kit) from two share files
      --verify KIT         check that the kit's key still opens every copy it names
      --retire KIT-ID      remove an older kit's key files from the primary and every copy`,
  usageExitCode: 2,
  options: {
    output: { type: 'string', short: 'o' },
    format: { type: 'string' },
    split: { type: 'string' },
    'print-secrets': { type: 'boolean' },
    'no-credentials': { type: 'boolean' },
    join: { type: 'boolean' },
    verify: { type: 'string' },
    retire: { type: 'string' },
  },
  async run(cli, values, positionals) {
    if (flag(values.join)) return joinKit(cli, positionals, values);
    if (positionals.length) throw new CofferError('usage', `unexpected argument "${positionals[0]}" (see "coffer kit --help")`);
    const v = str(values.verify);
    if (v) return verifyKit(cli, v);
    const retire = str(values.retire);
    if (retire) return retireKit(cli, retire);
    return makeKit(cli, values);
  },
};

export default command;
