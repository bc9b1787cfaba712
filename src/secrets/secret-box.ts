import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Encrypts third-party credentials (OAuth tokens, API secrets) before they are stored, with AES-256-GCM
 * under the server's secret key, so a database dump alone does not hand out ad-account or CRM access.
 * Sealed values look like `v1:<base64 iv|tag|ciphertext>`; the version prefix leaves room for rotation.
 */
export interface SecretBox {
  seal(plaintext: string): string;
  open(sealed: string): string;
}

const IV_BYTES = 12;
const TAG_BYTES = 16;

export function secretBox(secretKey: string): SecretBox {
  // Any long passphrase works: SHA-256 turns it into the 32-byte AES key.
  const key = createHash('sha256').update(secretKey, 'utf8').digest();
  return {
    seal(plaintext) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return `v1:${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64')}`;
    },
    open(sealed) {
      if (!sealed.startsWith('v1:')) throw new Error('Unknown sealed secret format');
      const raw = Buffer.from(sealed.slice(3), 'base64');
      const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV_BYTES));
      decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString(
        'utf8',
      );
    },
  };
}

/**
 * The key `ringtrace start` uses when RINGTRACE_SECRET_KEY is unset: kept in the data folder, created on
 * first use. Several servers sharing one PostgreSQL database must all be given the same
 * RINGTRACE_SECRET_KEY instead.
 */
export function secretKeyFromDataDir(dataDir: string): string {
  const file = join(dataDir, 'secret-key');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const key = randomBytes(32).toString('base64url');
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(file, `${key}\n`, { mode: 0o600 });
  return key;
}
