import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Clock } from '../clock.js';
import type { Db } from '../db/db.js';
import { createUser } from './store.js';

export const DEMO_EMAIL = 'demo@ringtrace.local';

/**
 * The first dashboard user of a freshly bootstrapped account, with a random password printed on first
 * start and written to data/admin-credentials.txt (beside admin-api-key.txt).
 */
export async function bootstrapFirstUser(
  db: Db,
  clock: Clock,
  dataDir: string,
  accountId: string,
): Promise<{ email: string; password: string; file: string }> {
  const password = randomBytes(9).toString('base64url');
  await createUser(db, clock, { accountId, email: DEMO_EMAIL, password, name: 'Demo', locale: 'ru' });
  const file = join(dataDir, 'admin-credentials.txt');
  writeFileSync(file, `email: ${DEMO_EMAIL}\npassword: ${password}\n`, { mode: 0o600 });
  return { email: DEMO_EMAIL, password, file };
}
