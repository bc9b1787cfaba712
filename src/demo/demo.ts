import type { Config } from '../config.js';
import type { Db } from '../db/db.js';

export async function loadDemo(_opts: { config: Config; db: Db; accountId: string }) {
  return { siteName: 'demo', visits: 0, calls: 0 };
}
