/** Helpers shared by the benchmarks in bench/: CPU accounting, percentiles, the PostgreSQL bench database. */
import { readdirSync, readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';

export const DEFAULT_PG = 'postgres://postgres@127.0.0.1:5432/ringtrace_bench';

export function cpuMicros(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

/** USER_HZ: /proc counts CPU time in ticks of 1/100 s on every mainstream Linux build. */
const TICK_MICROS = 10_000;

/** Busy CPU time of the whole machine so far, in microseconds, from /proc/stat; null off Linux. */
export function machineBusyMicros(): number | null {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal: everything but idle and iowait is busy.
    return (fields[0] + fields[1] + fields[2] + fields[5] + fields[6] + (fields[7] ?? 0)) * TICK_MICROS;
  } catch {
    return null;
  }
}

/**
 * CPU time so far of every process named postgres (server and backends), in microseconds; null off
 * Linux. The bench's pool connections live through warm-up and measurement, so the difference across
 * the measurement is the PostgreSQL work it caused, plus whatever other clients of the server did.
 */
export function postgresMicros(): number | null {
  try {
    let ticks = 0;
    for (const pid of readdirSync('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      let stat: string;
      try {
        stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      } catch {
        continue; // exited meanwhile
      }
      // The command name is parenthesized and may hold spaces; the numeric fields follow the last ')'.
      const close = stat.lastIndexOf(')');
      if (stat.slice(stat.indexOf('(') + 1, close) !== 'postgres') continue;
      const rest = stat.slice(close + 2).split(' ');
      ticks += Number(rest[11]) + Number(rest[12]); // utime, stime (fields 14 and 15 of proc(5))
    }
    return ticks * TICK_MICROS;
  } catch {
    return null;
  }
}

export function portOf(app: FastifyInstance): number {
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('server has no TCP address');
  return address.port;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  // Nearest-rank: the smallest latency at or below which p% of the requests completed.
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1];
}

export async function pgReachable(url: string): Promise<string | null> {
  const client = new pg.Client({ connectionString: url });
  try {
    await client.connect();
    const rows = await client.query<{ server_version: string }>('SHOW server_version');
    return rows.rows[0].server_version;
  } catch (err) {
    // The default bench database may simply not exist yet: create it through the maintenance database.
    if ((err as { code?: string }).code === '3D000') {
      const target = new URL(url);
      const name = target.pathname.slice(1);
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) return null;
      target.pathname = '/postgres';
      const admin = new pg.Client({ connectionString: target.toString() });
      try {
        await admin.connect();
        await admin.query(`CREATE DATABASE ${name}`);
      } catch {
        return null;
      } finally {
        await admin.end().catch(() => {});
      }
      return pgReachable(url);
    }
    return null;
  } finally {
    await client.end().catch(() => {});
  }
}

export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

export const fmt = (n: number, digits = 1) =>
  Number.isFinite(n)
    ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
    : '—';

/** A POST through the app with an API key, for setting a bench up through the product's own API. */
export function setupApi(app: FastifyInstance, key: string) {
  return async (url: string, payload: object) => {
    const res = await app.inject({
      method: 'POST',
      url,
      headers: { authorization: `Bearer ${key}` },
      payload,
    });
    if (res.statusCode >= 300) throw new Error(`setup ${url}: ${res.statusCode} ${res.body}`);
    return res.json();
  };
}
