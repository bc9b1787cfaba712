import type { Clock } from '../clock.js';
import type { Queryable } from '../db/db.js';
import { callTimingOf, type ExhaustionPolicy, sizePool } from './model.js';
import { countExhaustions, poolDemands, singleHolderCalls } from './store.js';

const DAY_MS = 86_400_000;

/** A pool as the sizing model sees it: what the answer depends on besides the lease history. */
export interface SizedPool {
  accountId: string;
  siteId: string;
  poolId: string;
  /** Numbers in the pool now. */
  size: number;
  freezeMinutes: number;
  exhaustionPolicy: ExhaustionPolicy;
}

/** The request's parameters: the last `days` days of history, and the call-accuracy target. */
export interface SizingParams {
  days: number;
  target: number;
}

export type PoolSizing = Awaited<ReturnType<typeof computePoolSizing>>;

/** Sizes the pool over the `days` days of lease history up to `to` (what the sizing API returns per pool). */
async function computePoolSizing(q: Queryable, pool: SizedPool, params: SizingParams, to: Date) {
  const { accountId, siteId, poolId } = pool;
  const from = new Date(to.getTime() - params.days * DAY_MS);
  const [demands, exhaustions, calls] = await Promise.all([
    poolDemands(q, accountId, siteId, poolId, from, to),
    countExhaustions(q, accountId, siteId, poolId, from, to),
    singleHolderCalls(q, accountId, siteId, poolId, from, to),
  ]);
  const s = sizePool({
    demands,
    poolSize: pool.size,
    freezeMinutes: pool.freezeMinutes,
    exhaustionPolicy: pool.exhaustionPolicy,
    callTiming: callTimingOf(calls),
    target: params.target,
  });
  return {
    from: from.toISOString(),
    to: to.toISOString(),
    days: params.days,
    visits: s.demands,
    poolSize: s.poolSize,
    freezeMinutes: s.freezeMinutes,
    exhaustionPolicy: s.exhaustionPolicy,
    callsDuringVisit: calls.active,
    callsInFreezeAfterVisit: calls.frozen,
    duringVisitShare: s.duringVisitShare,
    targetAccuracy: s.targetAccuracy,
    peakHeld: s.peakHeld,
    recommended: s.recommended,
    recommendedServed: s.recommendedServed,
    callAccuracyAtCurrentSize: s.callAccuracyAtCurrentSize,
    servedShareAtCurrentSize: s.servedShareAtCurrentSize,
    unservedAtCurrentSize: s.unservedAtCurrentSize,
    exhaustions,
    undersized: s.undersized,
    byFreeze: s.byFreeze,
    whatIf: s.whatIf,
  };
}

/** Sizes the pool over the history up to `to` and stores the result; `computedAt` is when it was done. */
export async function sizeAndStorePool(
  q: Queryable,
  clock: Clock,
  pool: SizedPool,
  params: SizingParams,
  maxAgeSeconds: number,
  to: Date,
): Promise<{ sizing: PoolSizing; computedAt: Date }> {
  const sizing = await computePoolSizing(q, pool, params, to);
  const computedAt = clock.now();
  await storePoolSizing(q, pool, params, sizing, computedAt, maxAgeSeconds);
  return { sizing, computedAt };
}

/**
 * Keeps a computed sizing for `storedPoolSizing`. A slower computation finishing after a newer one does not
 * replace it; the pool's rows too old to be served are dropped, so arbitrary targets cannot pile up.
 */
async function storePoolSizing(
  q: Queryable,
  pool: SizedPool,
  params: SizingParams,
  sizing: PoolSizing,
  computedAt: Date,
  maxAgeSeconds: number,
): Promise<void> {
  await q.query(
    `INSERT INTO pool_sizing_results (account_id, pool_id, site_id, days, target, pool_size, freeze_minutes,
                                      exhaustion_policy, history_from, history_to, computed_at, result)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)
     ON CONFLICT (account_id, pool_id, days, target) DO UPDATE
        SET site_id = excluded.site_id, pool_size = excluded.pool_size, freeze_minutes = excluded.freeze_minutes,
            exhaustion_policy = excluded.exhaustion_policy, history_from = excluded.history_from,
            history_to = excluded.history_to, computed_at = excluded.computed_at, result = excluded.result
      WHERE pool_sizing_results.history_to <= excluded.history_to`,
    [
      pool.accountId,
      pool.poolId,
      pool.siteId,
      params.days,
      params.target,
      pool.size,
      pool.freezeMinutes,
      pool.exhaustionPolicy,
      new Date(sizing.from),
      new Date(sizing.to),
      computedAt,
      JSON.stringify(sizing),
    ],
  );
  await q.query(
    `DELETE FROM pool_sizing_results WHERE account_id = $1 AND pool_id = $2 AND history_to <= $3`,
    [pool.accountId, pool.poolId, new Date(new Date(sizing.to).getTime() - maxAgeSeconds * 1000)],
  );
}

/**
 * The stored sizing of the pool for these parameters, if it was computed with the pool's current size, freeze
 * time and exhaustion policy and its history ends less than `maxAgeSeconds` before `now` (not after it).
 */
export async function storedPoolSizing(
  q: Queryable,
  pool: SizedPool,
  params: SizingParams,
  now: Date,
  maxAgeSeconds: number,
): Promise<{ sizing: PoolSizing; computedAt: Date } | undefined> {
  const [row] = await q.query<{ computed_at: Date; result: PoolSizing }>(
    `SELECT computed_at, result FROM pool_sizing_results
      WHERE account_id = $1 AND site_id = $2 AND pool_id = $3 AND days = $4 AND target = $5
        AND pool_size = $6 AND freeze_minutes = $7 AND exhaustion_policy = $8
        AND history_to > $9 AND history_to <= $10`,
    [
      pool.accountId,
      pool.siteId,
      pool.poolId,
      params.days,
      params.target,
      pool.size,
      pool.freezeMinutes,
      pool.exhaustionPolicy,
      new Date(now.getTime() - maxAgeSeconds * 1000),
      now,
    ],
  );
  return row && { sizing: row.result, computedAt: new Date(row.computed_at) };
}
