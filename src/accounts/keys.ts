import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { Queryable } from '../db/db.js';

/** API keys are random 32-byte secrets; only their SHA-256 is stored, so a leaked database leaks no key. */
export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export async function createApiKey(
  db: Queryable,
  clock: Clock,
  accountId: string,
  name = 'default',
): Promise<{ id: string; key: string; prefix: string }> {
  const key = `rt_${randomBytes(24).toString('base64url')}`;
  const id = randomUUID();
  const prefix = key.slice(0, 10);
  await db.query(
    'INSERT INTO api_keys (account_id, id, name, prefix, key_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6)',
    [accountId, id, name, prefix, hashKey(key), clock.now()],
  );
  return { id, key, prefix };
}

export async function createAccount(db: Queryable, clock: Clock, name: string): Promise<string> {
  const id = randomUUID();
  await db.query('INSERT INTO accounts (id, name, created_at) VALUES ($1, $2, $3)', [id, name, clock.now()]);
  return id;
}

/** The account a presented key belongs to, or null for an unknown or revoked key. */
export async function accountForKey(db: Queryable, key: string): Promise<string | null> {
  const rows = await db.query<{ account_id: string }>(
    'SELECT account_id FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL',
    [hashKey(key)],
  );
  return rows[0]?.account_id ?? null;
}
