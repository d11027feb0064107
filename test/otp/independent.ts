/**
 * An Aegis vault reader written for the tests from otp-formats.md C.1–C.2 with node:crypto only
 * (scrypt, AES-256-GCM), sharing no code with src/core/otp: what Aegis' docs/decrypt.py does.
 * Used to prove that the vaults Coffer writes open outside Coffer.
 */
import * as crypto from 'node:crypto';

export function independentDecrypt(fileText: string, password: string): unknown {
  const file = JSON.parse(fileText);
  if (file.version !== 1) throw new Error('bad version');
  if (file.header.slots === null) return file.db;
  let master: Buffer | undefined;
  for (const slot of file.header.slots) {
    if (slot.type !== 1) continue;
    const kek = crypto.scryptSync(Buffer.from(password, 'utf8'), Buffer.from(slot.salt, 'hex'), 32, { N: slot.n, r: slot.r, p: slot.p, maxmem: 256 * 1024 * 1024 });
    const d = crypto.createDecipheriv('aes-256-gcm', kek, Buffer.from(slot.key_params.nonce, 'hex'));
    d.setAuthTag(Buffer.from(slot.key_params.tag, 'hex'));
    try {
      master = Buffer.concat([d.update(Buffer.from(slot.key, 'hex')), d.final()]);
      break;
    } catch {
      // wrong password for this slot
    }
  }
  if (!master) throw new Error('no slot opens');
  const d = crypto.createDecipheriv('aes-256-gcm', master, Buffer.from(file.header.params.nonce, 'hex'));
  d.setAuthTag(Buffer.from(file.header.params.tag, 'hex'));
  const plain = Buffer.concat([d.update(Buffer.from(file.db, 'base64')), d.final()]);
  return JSON.parse(plain.toString('utf8'));
}

/** The slots' scrypt parameters and nonces, for checks that a vault uses real parameters and fresh nonces. */
export function vaultHeader(fileText: string): { slots: { n: number; r: number; p: number; salt: string; key_params: { nonce: string } }[]; params: { nonce: string } } {
  return JSON.parse(fileText).header;
}
