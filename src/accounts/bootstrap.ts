import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Clock } from '../clock.js';
import type { Db } from '../db/db.js';
import { bootstrapFirstUser } from '../users/bootstrap.js';
import { createAccount, createApiKey } from './keys.js';

/**
 * On the first start of an empty database: an account, an admin API key and a dashboard user, printed and
 * written to the data folder, so a newcomer can call the API and log in at once.
 */
export async function bootstrapFirstAccount(
  db: Db,
  clock: Clock,
  dataDir: string,
): Promise<{
  accountId: string;
  key: string;
  keyFile: string;
  user: { email: string; password: string; file: string };
} | null> {
  const existing = await db.query('SELECT 1 FROM accounts LIMIT 1');
  if (existing.length > 0) return null;
  const accountId = await createAccount(db, clock, 'My company');
  const { key } = await createApiKey(db, clock, accountId, 'admin');
  const keyFile = join(dataDir, 'admin-api-key.txt');
  writeFileSync(keyFile, `${key}\n`, { mode: 0o600 });
  const user = await bootstrapFirstUser(db, clock, dataDir, accountId);
  return { accountId, key, keyFile, user };
}
