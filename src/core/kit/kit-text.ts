/**
 * @module kit/kit-text
 * The recovery kit's text form (../shared/design/no-lockout.md §5): fixed `Key: value` machine
 * lines at column 0 (`^([A-Z][A-Za-z0-9.-]*): (.*)$`) that programs read, prose around them that
 * parsers ignore, and `Kit-Sum` (first 8 hex of SHA-256 over the machine lines above it, joined
 * by \n) so a damaged or hand-edited kit is refused before anything is contacted.
 *
 * A key typed by hand is accepted: the sum is checked with the key in its canonical form, and
 * a kit printed without a key (a split kit) may have a `Recovery-Key:` line added by hand.
 * Pure: the caller passes SHA-256 (the platform's), so this runs in the browser too.
 */
import { toHex, utf8Encode } from '../bytes.js';
import { CofferError } from '../errors.js';
import { parseRecoveryKey } from './recovery-key.js';

export const KIT_FORMAT = 1;
export const SPLIT_2OF3 = '2of3 SLIP-39';
const LINE_RE = /^([A-Z][A-Za-z0-9.-]*): (.*)$/;

export type Sha256 = (data: Uint8Array) => Uint8Array;

export interface KitCopy {
  readonly name: string;
  readonly url: string;
  readonly repositoryId: string;
  readonly keyId: string;
  /** restic backend options `k=v`. */
  readonly options: readonly string[];
  /** Environment variables needed to reach it (names only). */
  readonly needsEnv: readonly string[];
  /** Free text: what else a stranger needs. */
  readonly needs: readonly string[];
}

export interface KitSecret {
  readonly name: string;
  readonly size: number;
  /** Only with `--print-secrets`. */
  readonly valueBase64?: string;
}

export interface Kit {
  readonly id: string;
  /** RFC 3339 UTC. */
  readonly created: string;
  /** Canonical key; absent in split kits. */
  readonly recoveryKey?: string;
  /** First 8 hex of SHA-256 of the canonical key. */
  readonly keySha8: string;
  readonly split: 'none' | typeof SPLIT_2OF3;
  /** SLIP-39 shares by number (1-3); a share file carries one. */
  readonly shares: ReadonlyMap<number, string>;
  readonly copies: readonly KitCopy[];
  readonly secrets: readonly KitSecret[];
}

export function keySha8(key: string, sha256: Sha256): string {
  return toHex(sha256(utf8Encode(key))).slice(0, 8);
}

function kitSum(lines: readonly string[], sha256: Sha256): string {
  return toHex(sha256(utf8Encode(lines.join('\n')))).slice(0, 8);
}

function oneLine(v: string, what: string): string {
  if (/[\r\n]/.test(v)) throw new CofferError('internal', `kit: ${what} holds a line break`);
  return v;
}

/** The machine lines of a kit (without Kit-Sum). */
export function kitLines(kit: Kit): string[] {
  const l: string[] = [];
  const add = (k: string, v: string | number) => l.push(`${k}: ${oneLine(String(v), k)}`);
  add('Kit-Format', KIT_FORMAT);
  add('Kit-ID', kit.id);
  add('Created', kit.created);
  if (kit.recoveryKey !== undefined) add('Recovery-Key', kit.recoveryKey);
  add('Recovery-Key-Sha256-8', kit.keySha8);
  add('Split', kit.split);
  for (const [n, words] of [...kit.shares].sort((a, b) => a[0] - b[0])) add(`Share.${n}`, words);
  add('Copies', kit.copies.length);
  kit.copies.forEach((c, i) => {
    const p = `Copy.${i + 1}.`;
    add(p + 'Name', c.name);
    add(p + 'URL', c.url);
    add(p + 'Repository-ID', c.repositoryId);
    add(p + 'Key-ID', c.keyId);
    for (const o of c.options) add(p + 'Option', o);
    if (c.needsEnv.length) add(p + 'Needs-Env', c.needsEnv.join(' '));
    for (const n of c.needs) add(p + 'Needs', n);
  });
  add('Secrets', kit.secrets.length);
  kit.secrets.forEach((s, i) => {
    add(`Secret.${i + 1}`, `${s.name} (${s.size} bytes)`);
    if (s.valueBase64 !== undefined) add(`Secret.${i + 1}.Value-Base64`, s.valueBase64);
  });
  return l;
}

/** The machine lines followed by `Kit-Sum`. */
export function kitLinesWithSum(kit: Kit, sha256: Sha256): string[] {
  const lines = kitLines(kit);
  return [...lines, `Kit-Sum: ${kitSum(lines, sha256)}`];
}

export const HOW_TO = [
  'HOW TO RESTORE WITH COFFER: npx coffer drill --kit THIS-FILE --all   (proves every copy opens and restores), then',
  '  coffer recover --kit THIS-FILE --copy NAME   (a new configuration and primary from that copy; work goes on)',
  'HOW TO RESTORE WITH PLAIN RESTIC (if Coffer is gone): install restic; export the Needs-Env variables; then',
  '  restic -r URL snapshots   (type the Recovery-Key exactly as printed, with dashes, when asked for the password)',
  '  restic -r URL restore ID --target DIR   (ID from the list; snapshots of host "coffer" are Coffer\'s own records)',
  "  Coffer's own files: restic -r URL snapshots --tag coffer-internal; the kept secrets:",
  '  restic -r URL dump latest --tag coffer-secrets /index.json   (then /NAME for each secret);',
  '  the 2FA vault (opens in Aegis with the Recovery-Key): restic -r URL dump latest --tag coffer-otp /vault.json',
];

/** The whole text kit. */
export function renderKitText(kit: Kit, sha256: Sha256): string {
  const head = 'COFFER RECOVERY KIT — keep this sheet safe; whoever holds it can read your backups.';
  const split =
    kit.split === 'none'
      ? []
      : ['', 'This kit is split: any 2 of the 3 shares rebuild the Recovery-Key: coffer kit --join SHARE-FILE SHARE-FILE'];
  return [head, ...kitLinesWithSum(kit, sha256), ...split, '', ...HOW_TO, ''].join('\n');
}

/** The machine lines of a text or html kit, in order. */
export function machineLines(text: string): { key: string; value: string; line: string }[] {
  let body = text;
  const pre = /<pre class="kit-lines"[^>]*>([\s\S]*?)<\/pre>/g;
  if (/<html[\s>]/i.test(text)) {
    // html kit: the machine lines sit in <pre class="kit-lines"> blocks (one per page).
    body = [...text.matchAll(pre)].map((m) => unescapeHtml(m[1]!)).join('\n');
  }
  const out: { key: string; value: string; line: string }[] = [];
  for (const raw of body.split(/\r?\n/)) {
    const line = raw.replace(/[ \t]+$/, '');
    const m = LINE_RE.exec(line);
    if (m) out.push({ key: m[1]!, value: m[2]!, line });
  }
  return out;
}

function unescapeHtml(s: string): string {
  return s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');
}

function bad(what: string): CofferError {
  return new CofferError('bad-input', `kit: ${what} (nothing was contacted)`);
}

/**
 * Reads a kit (text or html). Checks Kit-Sum and the key's checksum; throws 'bad-input' (exit 2)
 * with a message naming the problem. Multi-page html kits repeat the lines per page: the first
 * page's set (up to its Kit-Sum) is read, shares of every page are collected.
 */
export function parseKit(text: string, sha256: Sha256): Kit {
  const all = machineLines(text);
  if (all.length === 0 || all[0]!.key !== 'Kit-Format') {
    if (!all.some((l) => l.key === 'Kit-Format')) throw bad('this is not a Coffer recovery kit (no Kit-Format line)');
  }
  const start = all.findIndex((l) => l.key === 'Kit-Format');
  const end = all.findIndex((l, i) => i > start && l.key === 'Kit-Sum');
  if (end < 0) throw bad('no Kit-Sum line: the kit is incomplete');
  const lines = all.slice(start, end);
  const get = (k: string) => lines.find((l) => l.key === k)?.value;
  if (get('Kit-Format') !== String(KIT_FORMAT)) throw bad(`unsupported Kit-Format ${JSON.stringify(get('Kit-Format'))}`);

  // The key first: a typo is reported as such (with its group), not as a damaged kit.
  const keyLine = lines.find((l) => l.key === 'Recovery-Key');
  const key = keyLine ? parseRecoveryKey(keyLine.value).key : undefined;
  const expected = all[end]!.value.trim().toLowerCase();
  const canonicalLines = lines.map((l) => (l === keyLine ? `Recovery-Key: ${key}` : l.line));
  const ok = kitSum(canonicalLines, sha256) === expected || (keyLine !== undefined && kitSum(lines.filter((l) => l !== keyLine).map((l) => l.line), sha256) === expected);
  if (!ok) throw bad('Kit-Sum mismatch: the kit is damaged or was edited');

  const id = get('Kit-ID');
  const created = get('Created');
  const sha8 = get('Recovery-Key-Sha256-8');
  if (!id || !/^[0-9a-f]{6,64}$/.test(id)) throw bad('Kit-ID missing or invalid');
  if (!created) throw bad('Created missing');
  if (!sha8) throw bad('Recovery-Key-Sha256-8 missing');
  if (key !== undefined && keySha8(key, sha256) !== sha8.toLowerCase()) {
    throw bad('the Recovery-Key does not match Recovery-Key-Sha256-8: it belongs to another kit');
  }
  const split = get('Split') ?? 'none';
  if (split !== 'none' && split !== SPLIT_2OF3) throw bad(`unsupported Split ${JSON.stringify(split)}`);

  const shares = new Map<number, string>();
  for (const l of all) {
    const m = /^Share\.([1-9])$/.exec(l.key);
    if (m) shares.set(Number(m[1]), l.value.trim());
  }

  const copies: KitCopy[] = [];
  const n = Number(get('Copies') ?? '0');
  for (let i = 1; i <= n; i++) {
    const p = `Copy.${i}.`;
    const of = (k: string) => lines.filter((l) => l.key === p + k).map((l) => l.value);
    const name = of('Name')[0];
    const url = of('URL')[0];
    if (!name || !url) throw bad(`Copy.${i} has no Name or URL`);
    copies.push({
      name,
      url,
      repositoryId: of('Repository-ID')[0] ?? '',
      keyId: of('Key-ID')[0] ?? '',
      options: of('Option'),
      needsEnv: of('Needs-Env').flatMap((v) => v.split(/\s+/).filter(Boolean)),
      needs: of('Needs'),
    });
  }
  const secrets: KitSecret[] = [];
  const ns = Number(get('Secrets') ?? '0');
  for (let i = 1; i <= ns; i++) {
    const m = /^(.*) \((\d+) bytes\)$/.exec(get(`Secret.${i}`) ?? '');
    if (!m) continue;
    const v = get(`Secret.${i}.Value-Base64`);
    secrets.push({ name: m[1]!, size: Number(m[2]), ...(v !== undefined ? { valueBase64: v } : {}) });
  }
  return { id, created, ...(key !== undefined ? { recoveryKey: key } : {}), keySha8: sha8.toLowerCase(), split, shares, copies, secrets };
}
