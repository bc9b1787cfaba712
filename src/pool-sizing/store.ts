import type { Queryable } from '../db/db.js';
import { activeEnd, type Demand } from './model.js';

export interface PoolRow {
  id: string;
  name: string;
  region: string | null;
  size: number;
}

/** The site's pools with their current number counts. */
export async function sitePools(
  q: Queryable,
  accountId: string,
  siteId: string,
  poolId?: string,
): Promise<PoolRow[]> {
  return q.query<PoolRow>(
    `SELECT p.id, p.name, p.region,
            (SELECT count(*)::int FROM numbers n WHERE n.account_id = p.account_id AND n.pool_id = p.id) AS size
       FROM pools p
      WHERE p.account_id = $1 AND p.site_id = $2 AND ($3::uuid IS NULL OR p.id = $3::uuid)
      ORDER BY p.created_at, p.id`,
    [accountId, siteId, poolId ?? null],
  );
}

/**
 * The pool's demand that started in [from, to): every own (not shared) lease of its numbers, and every
 * visit that found the pool exhausted (its first exhaustion; shared leases are these visits too).
 *
 * A lease handed over to the same visitor's next visit ends at the handover whatever the freeze, and an
 * unserved visit's need ends when it later got a lease of its own.
 */
export async function poolDemands(
  q: Queryable,
  accountId: string,
  siteId: string,
  poolId: string,
  from: Date,
  to: Date,
): Promise<Demand[]> {
  // Tens of thousands of rows a day: instants come back as epoch milliseconds (float8 parses to a number,
  // without a Date per value), cut to the millisecond as a Date would be.
  const ms = (column: string) => `floor(extract(epoch FROM ${column}) * 1000)::float8`;
  const leases = await q.query<{
    start: number;
    last_seen: number;
    left_at: number | null;
    cut: number | null;
  }>(
    `SELECT ${ms('l.started_at')} AS start, ${ms('l.last_seen_at')} AS last_seen, ${ms('l.left_at')} AS left_at,
            CASE WHEN EXISTS (SELECT 1 FROM leases h
                               WHERE h.account_id = l.account_id AND h.number_id = l.number_id
                                 AND h.started_at = l.held_until AND h.visitor_id = l.visitor_id
                                 AND h.visit_id <> l.visit_id)
                 THEN ${ms('l.held_until')} END AS cut
       FROM leases l JOIN numbers n ON n.account_id = l.account_id AND n.id = l.number_id
      WHERE l.account_id = $1 AND n.pool_id = $2 AND NOT l.shared AND l.started_at >= $3 AND l.started_at < $4
      ORDER BY l.started_at, l.id`,
    [accountId, poolId, from, to],
  );
  const unserved = await q.query<{
    at: number;
    last_seen: number;
    left_at: number | null;
    next_lease: number | null;
  }>(
    `SELECT DISTINCT ON (e.visit_id) ${ms('e.at')} AS at, ${ms('v.last_seen_at')} AS last_seen, ${ms('v.left_at')} AS left_at,
            ${ms(`(SELECT min(l.started_at) FROM leases l
                    WHERE l.account_id = e.account_id AND l.visit_id = e.visit_id AND NOT l.shared
                      AND l.started_at > e.at)`)} AS next_lease
       FROM pool_exhaustions e JOIN visits v ON v.account_id = e.account_id AND v.id = e.visit_id
      WHERE e.account_id = $1 AND e.site_id = $2 AND e.pool_id = $3 AND e.at >= $4 AND e.at < $5
      ORDER BY e.visit_id, e.at`,
    [accountId, siteId, poolId, from, to],
  );
  const demands: Demand[] = leases.map((l) => ({
    start: l.start,
    activeEnd: activeEnd(l.last_seen, l.left_at),
    cutAt: l.cut,
  }));
  // Leases first: at equal starts the recorded claim went to the lease holder.
  unserved.sort((a, b) => a.at - b.at);
  for (const u of unserved) {
    demands.push({
      start: u.at,
      activeEnd: Math.max(u.at, activeEnd(u.last_seen, u.left_at)),
      cutAt: u.next_lease,
    });
  }
  return demands;
}

/** Exhaustion events of the pool in [from, to). */
export async function countExhaustions(
  q: Queryable,
  accountId: string,
  siteId: string,
  poolId: string,
  from: Date,
  to: Date,
): Promise<number> {
  const rows = await q.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pool_exhaustions
      WHERE account_id = $1 AND site_id = $2 AND pool_id = $3 AND at >= $4 AND at < $5`,
    [accountId, siteId, poolId, from, to],
  );
  return rows[0].n;
}

/**
 * The pool's calls in [from, to) that one lease held at the call's instant, split by whether that visit
 * was on the page (attributed `active`) or frozen: how the site's calls fall in a hold (`callTimingOf`).
 */
export async function singleHolderCalls(
  q: Queryable,
  accountId: string,
  siteId: string,
  poolId: string,
  from: Date,
  to: Date,
): Promise<{ active: number; frozen: number }> {
  const rows = await q.query<{ active: number; frozen: number }>(
    `SELECT count(*) FILTER (WHERE c.candidates->0->'reasons' @> '["active"]')::int AS active,
            count(*) FILTER (WHERE c.candidates->0->'reasons' @> '["frozen"]')::int AS frozen
       FROM calls c JOIN numbers n ON n.account_id = c.account_id AND n.id = c.number_id
      WHERE c.account_id = $1 AND c.site_id = $2 AND n.pool_id = $3 AND c.method = 'dynamic'
        AND jsonb_array_length(c.candidates) = 1 AND c.started_at >= $4 AND c.started_at < $5`,
    [accountId, siteId, poolId, from, to],
  );
  return rows[0];
}
