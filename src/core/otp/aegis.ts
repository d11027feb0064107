/**
 * @module otp/aegis
 * The Aegis vault file (otp-formats.md C): plain or encrypted. An encrypted vault's 32-byte
 * master key is wrapped once per slot with AES-256-GCM under scrypt(password, slot salt, slot
 * n/r/p); the db JSON is encrypted with AES-256-GCM under the master key. Tags sit apart from
 * ciphertexts (`key_params.tag`, `header.params.tag`). Every encryption draws a fresh nonce.
 * Crypto comes from @noble/ciphers (GCM) and the caller's scrypt (native on Node, @noble in a
 * browser): no home-made primitives.
 */
import { gcm } from '@noble/ciphers/aes.js';
import { fromBase64, fromHex, toBase64, toHex, utf8Decode, utf8Encode } from '../bytes.js';
import { CofferError } from '../errors.js';
import { uuidV4 } from './entry.js';
import { isJsonObject, parseJson, stringifyJson, type Json, type JsonObject } from './json.js';

export interface ScryptParams {
  readonly N: number;
  readonly r: number;
  readonly p: number;
}

/** Aegis' defaults; the only parameters a real vault is written with. */
export const AEGIS_SCRYPT: ScryptParams = { N: 32768, r: 8, p: 1 };

/** What the codec needs from its host: scrypt and random bytes (a CryptoSuite fits). */
export interface OtpCrypto {
  scrypt(password: Uint8Array, salt: Uint8Array, params: { N: number; r: number; p: number; dkLen: number }): Promise<Uint8Array>;
  randomBytes(n: number): Uint8Array;
}

/** An opened encrypted vault's key: the master key and the slots that wrap it. */
export interface VaultKey {
  readonly master: Uint8Array;
  /** The header's slots as JSON, written back as they are. */
  readonly slots: readonly JsonObject[];
}

export interface ParsedVault {
  readonly encrypted: boolean;
  /** The whole file as JSON (file-level unknown fields included). */
  readonly file: JsonObject;
}

function bad(what: string, problem: string): CofferError {
  return new CofferError('bad-input', `${what}: ${problem}`);
}

function hexField(v: Json | undefined, bytes: number, what: string, field: string): Uint8Array {
  if (typeof v !== 'string' || v.length !== bytes * 2 || !/^[0-9a-fA-F]*$/.test(v)) throw bad(what, `${field} is not ${bytes} bytes of hex`);
  return fromHex(v.toLowerCase());
}

/** Reads the JSON shape of a vault file without opening it. */
export function parseAegisFile(text: string, what: string): ParsedVault {
  const file = parseJson(text, what);
  if (!isJsonObject(file) || !isJsonObject(file.header) || !('db' in file)) throw bad(what, 'not an Aegis vault (no header/db)');
  if (file.version !== 1) throw bad(what, `unsupported vault version ${stringifyJson(file.version ?? null).slice(0, 20)}`);
  const { slots, params } = file.header;
  if (slots === null && params === null) {
    if (!isJsonObject(file.db)) throw bad(what, 'a plain vault needs a db object');
    return { encrypted: false, file };
  }
  if (!Array.isArray(slots) || !isJsonObject(params) || typeof file.db !== 'string') throw bad(what, 'damaged header (slots, params or db missing)');
  return { encrypted: true, file };
}

function gcmOpen(key: Uint8Array, nonce: Uint8Array, ct: Uint8Array, tag: Uint8Array): Uint8Array | undefined {
  const sealed = new Uint8Array(ct.length + tag.length);
  sealed.set(ct);
  sealed.set(tag, ct.length);
  try {
    return gcm(key, nonce).decrypt(sealed);
  } catch {
    return undefined;
  }
}

function gcmSeal(key: Uint8Array, nonce: Uint8Array, plain: Uint8Array): { ct: Uint8Array; tag: Uint8Array } {
  const out = gcm(key, nonce).encrypt(plain);
  return { ct: out.subarray(0, out.length - 16), tag: out.subarray(out.length - 16) };
}

/** Refuses scrypt parameters that would exhaust memory or time (a hostile file could ask for any). */
function checkScrypt(N: Json | undefined, r: Json | undefined, p: Json | undefined, what: string): ScryptParams {
  const ok = (v: Json | undefined): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 1;
  if (!ok(N) || !ok(r) || !ok(p) || N < 2 || (N & (N - 1)) !== 0) throw bad(what, 'invalid scrypt parameters in a slot');
  if (128 * r * N > 1024 * 1024 * 1024 || r * p >= 1 << 30 || p > 64) throw bad(what, `scrypt parameters too large (n=${N}, r=${r}, p=${p})`);
  return { N, r, p };
}

/**
 * Opens an encrypted vault with a password: tries every password slot with its own scrypt
 * parameters. Throws `wrong-password` when no slot opens, `corrupt`/`bad-input` when the file
 * is damaged. Returns the db object and the key (to write the vault again under the same slots).
 */
export async function openAegisVault(parsed: ParsedVault, password: string, crypto: OtpCrypto, what: string): Promise<{ db: JsonObject; key: VaultKey }> {
  if (!parsed.encrypted) throw new CofferError('internal', 'openAegisVault on a plain vault');
  const header = parsed.file.header as JsonObject;
  const slots = header.slots as Json[];
  const pw = utf8Encode(password);
  let master: Uint8Array | undefined;
  let unrepaired = false;
  let passwordSlots = 0;
  for (const s of slots) {
    if (!isJsonObject(s) || typeof s.type !== 'number') throw bad(what, 'damaged slot');
    if (s.type === 0 || s.type === 2) continue; // raw / biometric: keys only the phone has
    if (s.type !== 1) throw bad(what, `unrecognized slot type ${s.type}`);
    passwordSlots++;
    if (!isJsonObject(s.key_params)) throw bad(what, 'damaged slot (no key_params)');
    const params = checkScrypt(s.n, s.r, s.p, what);
    const salt = hexField(s.salt, 32, what, 'slot salt');
    const wrapped = hexField(s.key, 32, what, 'slot key');
    const nonce = hexField(s.key_params.nonce, 12, what, 'slot nonce');
    const tag = hexField(s.key_params.tag, 16, what, 'slot tag');
    const kek = await crypto.scrypt(pw, salt, { ...params, dkLen: 32 });
    master = gcmOpen(kek, nonce, wrapped, tag);
    if (master) break;
    if (s.repaired === false) unrepaired = true;
  }
  if (passwordSlots === 0) throw bad(what, 'the vault has no password slot (re-export it from Aegis with a password)');
  if (!master) {
    throw new CofferError('wrong-password', `${what}: wrong password (no password slot opens with it)${unrepaired ? '; if the password is right, re-save this vault in a recent Aegis' : ''}`);
  }
  const params = header.params as JsonObject;
  let ct: Uint8Array;
  try {
    ct = fromBase64(parsed.file.db as string);
  } catch {
    throw bad(what, 'db is not base64');
  }
  const plain = gcmOpen(master, hexField(params.nonce, 12, what, 'db nonce'), ct, hexField(params.tag, 16, what, 'db tag'));
  if (!plain) throw new CofferError('corrupt', `${what}: the vault opens but its contents fail authentication (damaged or tampered file)`);
  const db = parseJson(utf8Decode(plain), `${what} (decrypted db)`);
  if (!isJsonObject(db)) throw bad(what, 'the decrypted db is not a JSON object');
  return { db, key: { master, slots: slots.filter(isJsonObject) } };
}

/** A password slot wrapping `master` (fresh salt and nonce), as Coffer writes them. */
export async function passwordSlot(master: Uint8Array, password: string, params: ScryptParams, crypto: OtpCrypto, opts: { isBackup?: boolean } = {}): Promise<JsonObject> {
  if (password === '') throw new CofferError('usage', 'an empty password cannot protect the OTP vault');
  const salt = crypto.randomBytes(32);
  const nonce = crypto.randomBytes(12);
  const kek = await crypto.scrypt(utf8Encode(password), salt, { ...params, dkLen: 32 });
  const { ct, tag } = gcmSeal(kek, nonce, master);
  return {
    type: 1,
    uuid: uuidV4((n) => crypto.randomBytes(n)),
    key: toHex(ct),
    key_params: { nonce: toHex(nonce), tag: toHex(tag) },
    n: params.N,
    r: params.r,
    p: params.p,
    salt: toHex(salt),
    repaired: true,
    is_backup: opts.isBackup ?? false,
  };
}

/** A new key: a fresh random master key and one password slot per password. */
export async function newVaultKey(passwords: readonly string[], params: ScryptParams, crypto: OtpCrypto): Promise<VaultKey> {
  const master = crypto.randomBytes(32);
  const slots: JsonObject[] = [];
  for (const pw of passwords) slots.push(await passwordSlot(master, pw, params, crypto));
  return { master, slots };
}

/**
 * Adds a password slot to a vault key (same master key, so the db needs no re-encryption):
 * how the recovery key of a kit, or a new repository password, comes to open the vault.
 */
export async function addPasswordSlot(key: VaultKey, password: string, params: ScryptParams, crypto: OtpCrypto): Promise<VaultKey> {
  return { master: key.master, slots: [...key.slots, await passwordSlot(key.master, password, params, crypto)] };
}

/** Replaces every password slot by slots for `passwords` (other slot types are dropped too). */
export async function rewrapPasswordSlots(key: VaultKey, passwords: readonly string[], params: ScryptParams, crypto: OtpCrypto): Promise<VaultKey> {
  const slots: JsonObject[] = [];
  for (const pw of passwords) slots.push(await passwordSlot(key.master, pw, params, crypto));
  return { master: key.master, slots };
}

/** The encrypted vault file text for `db` under `key` (a fresh db nonce every time). */
export function sealAegisVault(db: JsonObject, key: VaultKey, crypto: OtpCrypto): string {
  const nonce = crypto.randomBytes(12);
  const { ct, tag } = gcmSeal(key.master, nonce, utf8Encode(stringifyJson(db)));
  const file: JsonObject = {
    version: 1,
    header: { slots: key.slots.map((s) => s), params: { nonce: toHex(nonce), tag: toHex(tag) } },
    db: toBase64(ct),
  };
  return stringifyJson(file) + '\n';
}

/** A plain vault file (only on explicit request: it holds every secret in clear). */
export function plainAegisVault(db: JsonObject): string {
  return '{"version":1,"header":{"slots":null,"params":null},"db":' + stringifyJson(db) + '}\n';
}
