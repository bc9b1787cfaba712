import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';

/**
 * The thin database port used by every domain: plain SQL in the PostgreSQL dialect, the same on the
 * embedded PGlite and on a PostgreSQL server.
 */
export interface Queryable {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
}

export interface Db extends Queryable {
  readonly kind: 'pglite' | 'postgres';
  /** Run statements that take no parameters (migrations). */
  exec(sql: string): Promise<void>;
  tx<T>(fn: (q: Queryable) => Promise<T>): Promise<T>;
  /**
   * LISTEN on a channel: `onPayload` gets every NOTIFY payload (sent with `pg_notify` on commit) from any
   * connection to the database, so several server processes hear each other. Resolves to an unlisten.
   */
  listen(channel: string, onPayload: (payload: string) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

export interface DbOptions {
  /** PostgreSQL connection string; without it PGlite is used. */
  url?: string;
  /** PGlite data folder; omitted means in memory. */
  dataDir?: string;
  /** PostgreSQL schema to use (created if missing); lets tests share one database. */
  schema?: string;
  poolSize?: number;
  /**
   * PostgreSQL: commit without waiting for the WAL flush (synchronous_commit off). Only for throwaway
   * databases such as the simulator's, where a crash may lose the last commits and nothing else changes.
   */
  asyncCommit?: boolean;
}

export async function openDb(options: DbOptions): Promise<Db> {
  return options.url ? openPostgres(options.url, options) : openPglite(options.dataDir);
}

async function openPglite(dataDir?: string): Promise<Db> {
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const lite = await PGlite.create(dataDir);
  return {
    kind: 'pglite',
    async query<T>(sql: string, params?: unknown[]) {
      return (await lite.query<T>(sql, params)).rows;
    },
    async exec(sql: string) {
      await lite.exec(sql);
    },
    tx<T>(fn: (q: Queryable) => Promise<T>) {
      return lite.transaction((t) =>
        fn({
          async query<R>(sql: string, params?: unknown[]) {
            return (await t.query<R>(sql, params)).rows;
          },
        }),
      );
    },
    async listen(channel, onPayload) {
      return lite.listen(channel, onPayload);
    },
    async close() {
      await lite.close();
    },
  };
}

async function openPostgres(url: string, options: DbOptions): Promise<Db> {
  const schema = options.schema;
  if (schema && !/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`bad schema name ${schema}`);
  if (schema) {
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await admin.end();
  }
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? 10,
    options:
      [schema ? `-c search_path=${schema}` : '', options.asyncCommit ? '-c synchronous_commit=off' : '']
        .filter(Boolean)
        .join(' ') || undefined,
  });
  // An idle client's network error must not crash the process; the pool replaces it.
  pool.on('error', () => {});
  const statement = preparedStatements();
  return {
    kind: 'postgres',
    async query<T>(sql: string, params?: unknown[]) {
      return (await pool.query(statement(sql, params))).rows as T[];
    },
    async exec(sql: string) {
      await pool.query(sql);
    },
    async tx<T>(fn: (q: Queryable) => Promise<T>) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await fn({
          async query<R>(sql: string, params?: unknown[]) {
            return (await client.query(statement(sql, params))).rows as R[];
          },
        });
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        throw err;
      } finally {
        client.release();
      }
    },
    async listen(channel, onPayload) {
      return listenPostgres(url, channel, onPayload);
    },
    async close() {
      await pool.end();
    },
  };
}

/** Distinct statement texts prepared per connection at most; later ones run unnamed (parsed every time). */
const MAX_PREPARED_STATEMENTS = 1000;

/**
 * Parameterised statements run as named prepared statements: PostgreSQL parses (and, once the plan cache
 * settles on a generic plan, plans) each of them once per connection instead of on every execution, which
 * is most of the server's work for the short statements of the hot paths (page hits, pings, claims).
 * Names are per SQL text; the cap bounds the server memory per connection should some code build
 * statement texts with values in them.
 */
function preparedStatements(): (sql: string, params?: unknown[]) => pg.QueryConfig {
  const names = new Map<string, string>();
  return (text, values) => {
    if (!values?.length) return { text };
    let name = names.get(text);
    if (name === undefined && names.size < MAX_PREPARED_STATEMENTS) {
      name = `rt${names.size}`;
      names.set(text, name);
    }
    return { name, text, values };
  };
}

/**
 * A LISTEN needs a connection of its own, outside the pool. When it drops (a server restart), it is
 * reopened with backoff; notifications sent while it was down are lost, which is acceptable for the
 * live views that use it (they reload on reconnect).
 */
async function listenPostgres(
  url: string,
  channel: string,
  onPayload: (payload: string) => void,
): Promise<() => Promise<void>> {
  if (!/^[a-z_][a-z0-9_]*$/.test(channel)) throw new Error(`bad channel name ${channel}`);
  let client: pg.Client | null = null;
  let closed = false;
  let retryMs = 500;
  const connect = async (): Promise<void> => {
    const c = new pg.Client({ connectionString: url });
    c.on('notification', (n) => {
      if (n.channel === channel) onPayload(n.payload ?? '');
    });
    c.on('error', () => {
      if (closed || client !== c) return;
      client = null;
      setTimeout(() => void reconnect(), retryMs);
      retryMs = Math.min(retryMs * 2, 30_000);
    });
    await c.connect();
    await c.query(`LISTEN ${channel}`);
    client = c;
    retryMs = 500;
  };
  const reconnect = async () => {
    if (closed) return;
    await connect().catch(() => {
      setTimeout(() => void reconnect(), retryMs);
      retryMs = Math.min(retryMs * 2, 30_000);
    });
  };
  await connect();
  return async () => {
    closed = true;
    const c = client;
    client = null;
    await c?.end().catch(() => {});
  };
}
