import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Db } from './db.js';

const migrationsDir = join(dirname(fileURLToPath(import.meta.url)), 'migrations');

/** Applies numbered SQL migrations (`NNN_name.sql`) not applied yet, each in its own transaction. */
export async function migrate(db: Db): Promise<string[]> {
  await db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
  const files = readdirSync(migrationsDir)
    .filter((f) => /^\d{3}_.+\.sql$/.test(f))
    .sort();
  const applied: string[] = [];
  for (const file of files) {
    const version = Number(file.slice(0, 3));
    const done = await db.tx(async (q) => {
      // Serializes concurrent starters on a shared PostgreSQL server.
      if (db.kind === 'postgres') await q.query('SELECT pg_advisory_xact_lock(727274)');
      const rows = await q.query('SELECT 1 FROM schema_migrations WHERE version = $1', [version]);
      if (rows.length > 0) return true;
      for (const statement of splitStatements(readFileSync(join(migrationsDir, file), 'utf8'))) {
        await q.query(statement);
      }
      await q.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [version, file]);
      return false;
    });
    if (!done) applied.push(file);
  }
  return applied;
}

/** Splits a migration file on semicolons at line ends; migrations keep one statement per `;\n`. */
function splitStatements(sql: string): string[] {
  return sql
    .split(/;\s*\n/)
    .map((s) => s.replace(/^\s*--.*$/gm, '').trim())
    .filter((s) => s.length > 0);
}
