/**
 * @module web/worker/remember
 * "Remember on this device": the repository's master key, encrypted (AES-256-GCM, WebCrypto)
 * under a wrapping key that WebCrypto generated as non-extractable, both kept in IndexedDB.
 * Script can ask the browser to decrypt with the wrapping key but can never read the key out,
 * so a copy of the profile's files alone does not give the master key to anyone who cannot also
 * run code as this origin in this browser. Forgetting deletes the record.
 */
import type { CryptoKey as MasterKey } from '../../core/format/types.js';

const DB = 'coffer';
const STORE = 'remembered';

interface Record {
  readonly wrap: CryptoKey;
  readonly iv: Uint8Array;
  readonly data: ArrayBuffer;
  readonly keyId: string;
}

function db(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const r = indexedDB.open(DB, 1);
    r.onupgradeneeded = () => r.result.createObjectStore(STORE);
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

async function tx<T>(mode: IDBTransactionMode, fn: (s: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const d = await db();
  try {
    return await new Promise<T>((resolve, reject) => {
      const t = d.transaction(STORE, mode);
      const req = fn(t.objectStore(STORE));
      t.oncomplete = () => resolve(req.result);
      t.onerror = () => reject(t.error);
      t.onabort = () => reject(t.error);
    });
  } finally {
    d.close();
  }
}

const buf = (b: Uint8Array): Uint8Array<ArrayBuffer> => new Uint8Array(b) as Uint8Array<ArrayBuffer>;

export async function remember(repo: string, key: MasterKey, keyId: string): Promise<void> {
  const wrap = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const plain = new Uint8Array(64);
  plain.set(key.encrypt, 0);
  plain.set(key.macK, 32);
  plain.set(key.macR, 48);
  const data = await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: new TextEncoder().encode(repo + '\0' + keyId) }, wrap, plain);
  plain.fill(0);
  const rec: Record = { wrap, iv, data, keyId };
  await tx('readwrite', (s) => s.put(rec, repo));
}

export async function recall(repo: string): Promise<{ key: MasterKey; keyId: string } | undefined> {
  const rec = (await tx('readonly', (s) => s.get(repo))) as Record | undefined;
  if (!rec) return undefined;
  const plain = new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-GCM', iv: buf(rec.iv), additionalData: new TextEncoder().encode(repo + '\0' + rec.keyId) }, rec.wrap, rec.data));
  return { key: { encrypt: plain.slice(0, 32), macK: plain.slice(32, 48), macR: plain.slice(48, 64) }, keyId: rec.keyId };
}

export async function isRemembered(repo: string): Promise<boolean> {
  return (await tx('readonly', (s) => s.count(repo))) > 0;
}

export async function forget(repo: string): Promise<void> {
  await tx('readwrite', (s) => s.delete(repo));
}
