// Helpers shared by the benchmarks in bench/.
import pg from 'pg';

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

export const fmt = (n: number, digits = 1) =>
  Number.isFinite(n)
    ? n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
    : '—';

export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}
