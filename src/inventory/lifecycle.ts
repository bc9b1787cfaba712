import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { Db, Queryable } from '../db/db.js';
import { type PeriodicWorker, runPeriodically } from '../jobs/periodic.js';
import type { ExhaustionPolicy } from '../pool-sizing/model.js';
import { sizeAndStorePool } from '../pool-sizing/results.js';
import { countExhaustions } from '../pool-sizing/store.js';
import type { Logger } from '../webhooks/worker.js';

/*
 * Number lifecycle over the platform's shared inventory (issue 3, item 6; DESIGN §1, §4 отстойник).
 *
 *   available ──grow──▶ assigned ──idle N days / removed by the account──▶ quarantined ──M days──▶ available
 *
 * A periodic pass (`runInventoryDue`), driven by the injected clock, so tests move days by hand:
 * 1. assigned numbers the account removed from their pool (number, pool or site deleted) go to quarantine;
 * 2. assigned numbers with no impression (no lease started or held in the window) and no call for the
 *    account's idle period (default 14 days) leave their pool for quarantine;
 * 3. quarantined numbers whose rest (default 30 days) is over become available;
 * 4. auto-grow pools that had exhaustion events since the last pass, or that the sizing model finds
 *    under-sized, get available numbers of their region up to the recommended size (capped); the sizing
 *    is stored for the sizing API as a by-product (src/pool-sizing/results.ts).
 * The hot path (visits, claims) is untouched: the pass reads the exhaustion events claims already record.
 * Every state change is one row of inventory_transitions, written in the same transaction as the change.
 */

export type InventoryState = 'available' | 'assigned' | 'quarantined';

export type TransitionReason =
  | 'added'
  | 'pool_exhausted'
  | 'pool_undersized'
  | 'idle'
  | 'removed_from_pool'
  | 'quarantine_ended';

export type InventoryConfig = Pick<
  Config,
  'idleReleaseDays' | 'quarantineDays' | 'poolMaxSize' | 'sizingMaxAgeSeconds'
>;

export interface InventoryDeps {
  db: Db;
  clock: Clock;
  config: InventoryConfig;
  log?: Logger;
}

/**
 * The lease history the sizing model reads, and the accuracy a grown pool is sized for: the sizing API's
 * defaults, so the result the pass stores answers the default request.
 */
export const GROW_SIZING_DAYS = 7;
export const GROW_TARGET = 0.99;

const DAY_MS = 86_400_000;

export interface Transition {
  e164: string;
  from: InventoryState | null;
  to: InventoryState;
  reason: TransitionReason;
  accountId?: string | null;
  siteId?: string | null;
  poolId?: string | null;
  details?: Record<string, unknown>;
}

export async function recordTransition(q: Queryable, t: Transition, at: Date): Promise<void> {
  await q.query(
    `INSERT INTO inventory_transitions (e164, from_state, to_state, reason, details, at, account_id, site_id, pool_id)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)`,
    [
      t.e164,
      t.from,
      t.to,
      t.reason,
      JSON.stringify(t.details ?? {}),
      at,
      t.accountId ?? null,
      t.siteId ?? null,
      t.poolId ?? null,
    ],
  );
}

export interface NewInventoryNumber {
  e164: string;
  region: string | null;
}

/** Adds numbers to the inventory as available; returns the ones added and the ones already there. */
export async function addInventoryNumbers(
  db: Db,
  numbers: readonly NewInventoryNumber[],
  now: Date,
): Promise<{ added: string[]; existing: string[] }> {
  return db.tx(async (q) => {
    const added: string[] = [];
    const existing: string[] = [];
    for (const n of numbers) {
      const rows = await q.query(
        `INSERT INTO inventory_numbers (e164, region, state, state_since, created_at) VALUES ($1,$2,'available',$3,$3)
         ON CONFLICT (e164) DO NOTHING RETURNING e164`,
        [n.e164, n.region, now],
      );
      if (rows.length === 0) {
        existing.push(n.e164);
        continue;
      }
      added.push(n.e164);
      await recordTransition(q, { e164: n.e164, from: null, to: 'available', reason: 'added' }, now);
    }
    return { added, existing };
  });
}

export interface PassSummary {
  assigned: { e164: string; accountId: string; poolId: string; reason: TransitionReason }[];
  quarantined: {
    e164: string;
    accountId: string;
    reason: TransitionReason;
    kept: 'retired' | 'deleted' | 'gone';
  }[];
  available: string[];
}

/** One lifecycle pass at `now`. Safe to run from several processes: every step re-checks under a row lock. */
export async function runInventoryDue(
  deps: InventoryDeps,
  now: Date = deps.clock.now(),
): Promise<PassSummary> {
  const summary: PassSummary = { assigned: [], quarantined: [], available: [] };
  await releaseRemoved(deps, now, summary);
  await releaseIdle(deps, now, summary);
  await endQuarantines(deps, now, summary);
  await growPools(deps, now, summary);
  return summary;
}

interface AssignedRow {
  e164: string;
  account_id: string;
  site_id: string | null;
  pool_id: string | null;
  number_id: string;
}

/**
 * Takes an assigned number out of its account: the numbers row leaves its pool and is deleted when nothing
 * refers to it (no lease, visit or call), otherwise retired (kept, so attribution history stays intact);
 * the inventory number goes to quarantine. `guard` is extra SQL the numbers row must satisfy (idleness),
 * re-checked under the row lock; false when the number no longer qualifies.
 */
async function quarantine(
  deps: InventoryDeps,
  row: AssignedRow,
  now: Date,
  reason: TransitionReason,
  details: Record<string, unknown>,
  summary: PassSummary,
  guard?: { sql: string; params: unknown[] },
): Promise<boolean> {
  const until = new Date(now.getTime() + deps.config.quarantineDays * DAY_MS);
  return deps.db.tx(async (q) => {
    const locked = await q.query(
      `SELECT 1 FROM inventory_numbers WHERE e164 = $1 AND state = 'assigned' AND account_id = $2 AND number_id = $3
       FOR UPDATE`,
      [row.e164, row.account_id, row.number_id],
    );
    if (locked.length === 0) return false;
    let kept: 'retired' | 'deleted' | 'gone' = 'gone';
    const exists = await q.query<{ id: string }>(
      'SELECT id FROM numbers WHERE account_id = $1 AND id = $2 AND retired_at IS NULL FOR UPDATE',
      [row.account_id, row.number_id],
    );
    if (exists.length > 0) {
      if (guard) {
        const ok = await q.query(
          `SELECT 1 FROM numbers n WHERE n.account_id = $1 AND n.id = $2 AND ${guard.sql}`,
          [row.account_id, row.number_id, ...guard.params],
        );
        if (ok.length === 0) return false;
      }
      const [history] = await q.query<{ used: boolean }>(
        `SELECT EXISTS (SELECT 1 FROM leases l WHERE l.account_id = $1 AND l.number_id = $2)
             OR EXISTS (SELECT 1 FROM visits v WHERE v.account_id = $1 AND v.number_id = $2)
             OR EXISTS (SELECT 1 FROM calls c WHERE c.account_id = $1 AND (c.number_id = $2 OR c.tracking_number = $3))
             OR EXISTS (SELECT 1 FROM static_rules r WHERE r.account_id = $1 AND r.number_id = $2) AS used`,
        [row.account_id, row.number_id, row.e164],
      );
      if (history.used) {
        await q.query(
          `UPDATE numbers SET pool_id = NULL, retired_at = $3, current_visit_id = NULL WHERE account_id = $1 AND id = $2`,
          [row.account_id, row.number_id, now],
        );
        kept = 'retired';
      } else {
        await q.query('DELETE FROM numbers WHERE account_id = $1 AND id = $2', [
          row.account_id,
          row.number_id,
        ]);
        kept = 'deleted';
      }
    }
    await q.query(
      `UPDATE inventory_numbers SET state = 'quarantined', quarantined_until = $2, state_since = $3, account_id = NULL,
              site_id = NULL, pool_id = NULL, number_id = NULL, assigned_at = NULL
        WHERE e164 = $1`,
      [row.e164, until, now],
    );
    await recordTransition(
      q,
      {
        e164: row.e164,
        from: 'assigned',
        to: 'quarantined',
        reason,
        accountId: row.account_id,
        siteId: row.site_id,
        poolId: row.pool_id,
        details: { ...details, numberRow: kept, quarantinedUntil: until.toISOString() },
      },
      now,
    );
    summary.quarantined.push({ e164: row.e164, accountId: row.account_id, reason, kept });
    return true;
  });
}

/** Assigned numbers whose numbers row is gone or out of any pool (deleted by the account, pool or site deleted). */
async function releaseRemoved(deps: InventoryDeps, now: Date, summary: PassSummary): Promise<void> {
  const rows = await deps.db.query<AssignedRow>(
    `SELECT i.e164, i.account_id, i.site_id, i.pool_id, i.number_id FROM inventory_numbers i
      WHERE i.state = 'assigned'
        AND NOT EXISTS (SELECT 1 FROM numbers n WHERE n.account_id = i.account_id AND n.id = i.number_id
                          AND n.pool_id IS NOT NULL AND n.retired_at IS NULL)
      ORDER BY i.e164`,
  );
  for (const row of rows) await quarantine(deps, row, now, 'removed_from_pool', {}, summary);
}

/**
 * Assigned numbers idle for the account's idle period: assigned at least that long ago, not held now,
 * no lease started or held within the period, no call to them within it.
 */
async function releaseIdle(deps: InventoryDeps, now: Date, summary: PassSummary): Promise<void> {
  const rows = await deps.db.query<AssignedRow & { idle_days: number }>(
    `SELECT i.e164, i.account_id, i.site_id, i.pool_id, i.number_id,
            coalesce(s.idle_release_days, $2::int) AS idle_days
       FROM inventory_numbers i
       LEFT JOIN account_inventory_settings s ON s.account_id = i.account_id
      WHERE i.state = 'assigned'
        AND i.assigned_at <= $1::timestamptz - make_interval(days => coalesce(s.idle_release_days, $2::int))
      ORDER BY i.e164`,
    [now, deps.config.idleReleaseDays],
  );
  for (const row of rows) {
    const since = new Date(now.getTime() - row.idle_days * DAY_MS);
    await quarantine(
      deps,
      row,
      now,
      'idle',
      { idleDays: row.idle_days, idleSince: since.toISOString() },
      summary,
      {
        sql: `(n.held_until IS NULL OR n.held_until <= $3)
            AND NOT EXISTS (SELECT 1 FROM leases l WHERE l.account_id = n.account_id AND l.number_id = n.id
                              AND (l.started_at >= $4 OR l.held_until > $4))
            AND NOT EXISTS (SELECT 1 FROM calls c WHERE c.account_id = n.account_id AND c.started_at >= $4
                              AND (c.number_id = n.id OR c.tracking_number = n.e164))`,
        params: [now, since],
      },
    );
  }
}

async function endQuarantines(deps: InventoryDeps, now: Date, summary: PassSummary): Promise<void> {
  const rows = await deps.db.tx((q) =>
    q.query<{ e164: string }>(
      `WITH ended AS (
         UPDATE inventory_numbers SET state = 'available', quarantined_until = NULL, state_since = $1
          WHERE state = 'quarantined' AND quarantined_until <= $1
          RETURNING e164)
       INSERT INTO inventory_transitions (e164, from_state, to_state, reason, details, at)
       SELECT e164, 'quarantined', 'available', 'quarantine_ended', '{}', $1 FROM ended ORDER BY e164
       RETURNING e164`,
      [now],
    ),
  );
  summary.available.push(...rows.map((r) => r.e164));
}

interface GrowPool {
  account_id: string;
  id: string;
  site_id: string;
  region: string | null;
  home_region: string | null;
  freeze_minutes: number;
  exhaustion_policy: ExhaustionPolicy;
  max_size: number | null;
  checked_at: Date | null;
  size: number;
}

/** Pools with auto-grow on: set explicitly, or by default when the pool holds platform numbers. */
export const autoGrowSql = `coalesce(s.auto_grow, EXISTS (
  SELECT 1 FROM numbers pn WHERE pn.account_id = p.account_id AND pn.pool_id = p.id AND pn.ownership = 'platform'))`;

/**
 * Grows auto-grow pools. A pool is looked at when it recorded an exhaustion in the sizing window (a pool
 * whose recorded claims were all served cannot be under-sized at its current size); it grows when it
 * recorded exhaustions since the last pass or the sizing model finds it under-sized, to the recommended
 * size for 99% of in-freeze calls attributed right over the last 7 days under the site's exhaustion
 * policy (with sharing that can be below the current size: then it does not grow), capped by the pool's maxSize (or RINGTRACE_POOL_MAX_SIZE).
 */
async function growPools(deps: InventoryDeps, now: Date, summary: PassSummary): Promise<void> {
  const pools = await deps.db.query<GrowPool>(
    `SELECT p.account_id, p.id, p.site_id, p.region, st.home_region, st.freeze_minutes, st.exhaustion_policy, s.max_size, s.checked_at,
            (SELECT count(*)::int FROM numbers n WHERE n.account_id = p.account_id AND n.pool_id = p.id) AS size
       FROM pools p
       JOIN sites st ON st.account_id = p.account_id AND st.id = p.site_id
       LEFT JOIN pool_settings s ON s.account_id = p.account_id AND s.pool_id = p.id
      WHERE ${autoGrowSql}
      ORDER BY p.created_at, p.id`,
  );
  const from = new Date(now.getTime() - GROW_SIZING_DAYS * DAY_MS);
  for (const pool of pools) {
    try {
      await growPool(deps, pool, from, now, summary);
    } catch (err) {
      deps.log?.error({ err, pool: pool.id }, 'pool growth failed');
    }
  }
}

async function growPool(deps: InventoryDeps, pool: GrowPool, from: Date, now: Date, summary: PassSummary) {
  const { db } = deps;
  const inWindow = await countExhaustions(db, pool.account_id, pool.site_id, pool.id, from, now);
  let target = pool.size;
  let reason: TransitionReason = 'pool_undersized';
  let details: Record<string, unknown> = {};
  if (inWindow > 0) {
    const since = pool.checked_at && new Date(pool.checked_at) > from ? new Date(pool.checked_at) : from;
    const fresh = await countExhaustions(db, pool.account_id, pool.site_id, pool.id, since, now);
    // The full sizing the API returns for these parameters, what-if table included, stored so the API
    // serves it while it is young.
    const { sizing } = await sizeAndStorePool(
      db,
      deps.clock,
      {
        accountId: pool.account_id,
        siteId: pool.site_id,
        poolId: pool.id,
        size: pool.size,
        freezeMinutes: pool.freeze_minutes,
        exhaustionPolicy: pool.exhaustion_policy,
      },
      { days: GROW_SIZING_DAYS, target: GROW_TARGET },
      deps.config.sizingMaxAgeSeconds,
      now,
    );
    const cap = pool.max_size ?? deps.config.poolMaxSize;
    if (fresh > 0 || sizing.undersized) target = Math.min(sizing.recommended, cap);
    reason = fresh > 0 ? 'pool_exhausted' : 'pool_undersized';
    details = {
      exhaustionsSinceLastPass: fresh,
      exhaustionsInWindow: inWindow,
      poolSizeBefore: pool.size,
      recommended: sizing.recommended,
      peakHeld: sizing.peakHeld,
      maxSize: cap,
      targetSize: target,
    };
  }
  const need = target - pool.size;
  if (need > 0) await assign(deps, pool, need, reason, details, now, summary);
  await db.query(
    `INSERT INTO pool_settings (account_id, pool_id, checked_at, updated_at) VALUES ($1,$2,$3,$3)
     ON CONFLICT (account_id, pool_id) DO UPDATE SET checked_at = excluded.checked_at`,
    [pool.account_id, pool.id, now],
  );
}

/**
 * Moves up to `need` available numbers into the pool: of the pool's region (case-insensitive), or any
 * region for the home pool (the site's home region first); longest-rested first. Numbers the account
 * already uses are skipped; a retired row of the same number in the account is brought back (its id and
 * lease history stay), otherwise a numbers row (kind pool, ownership platform) is created.
 */
async function assign(
  deps: InventoryDeps,
  pool: GrowPool,
  need: number,
  reason: TransitionReason,
  details: Record<string, unknown>,
  now: Date,
  summary: PassSummary,
): Promise<void> {
  await deps.db.tx(async (q) => {
    const picked = await q.query<{ e164: string; region: string | null }>(
      `SELECT i.e164, i.region FROM inventory_numbers i
        WHERE i.state = 'available'
          AND ($1::text IS NULL OR lower(i.region) = lower($1::text))
          AND NOT EXISTS (SELECT 1 FROM numbers n WHERE n.account_id = $3 AND n.e164 = i.e164 AND n.retired_at IS NULL)
        ORDER BY CASE WHEN $2::text IS NOT NULL AND lower(i.region) = lower($2::text) THEN 0 ELSE 1 END,
                 i.state_since, i.e164
        LIMIT $4 FOR UPDATE OF i SKIP LOCKED`,
      [pool.region, pool.region === null ? pool.home_region : null, pool.account_id, need],
    );
    for (const n of picked) {
      const revived = await q.query<{ id: string }>(
        `UPDATE numbers SET site_id = $3, pool_id = $4, region = $5, kind = 'pool', ownership = 'platform',
                retired_at = NULL, current_visit_id = NULL
          WHERE account_id = $1 AND e164 = $2 AND retired_at IS NOT NULL RETURNING id`,
        [pool.account_id, n.e164, pool.site_id, pool.id, n.region],
      );
      const numberId = revived[0]?.id ?? randomUUID();
      if (!revived[0]) {
        await q.query(
          `INSERT INTO numbers (account_id, id, site_id, e164, kind, pool_id, region, ownership, created_at)
           VALUES ($1,$2,$3,$4,'pool',$5,$6,'platform',$7)`,
          [pool.account_id, numberId, pool.site_id, n.e164, pool.id, n.region, now],
        );
      }
      await q.query(
        `UPDATE inventory_numbers SET state = 'assigned', account_id = $2, site_id = $3, pool_id = $4, number_id = $5,
                assigned_at = $6, state_since = $6, quarantined_until = NULL
          WHERE e164 = $1`,
        [n.e164, pool.account_id, pool.site_id, pool.id, numberId, now],
      );
      await recordTransition(
        q,
        {
          e164: n.e164,
          from: 'available',
          to: 'assigned',
          reason,
          accountId: pool.account_id,
          siteId: pool.site_id,
          poolId: pool.id,
          details,
        },
        now,
      );
      summary.assigned.push({ e164: n.e164, accountId: pool.account_id, poolId: pool.id, reason });
    }
    if (picked.length < need) {
      deps.log?.warn(
        { pool: pool.id, region: pool.region, wanted: need, got: picked.length },
        'inventory has too few available numbers for the pool',
      );
    }
  });
}

export type InventoryWorker = PeriodicWorker;

/** Starts the periodic lifecycle pass (called by `ringtrace start`); `stop()` waits for the pass in flight. */
export function startInventoryWorker(deps: InventoryDeps, intervalMs: number): InventoryWorker {
  return runPeriodically(
    async () => {
      const s = await runInventoryDue(deps);
      if (s.assigned.length + s.quarantined.length + s.available.length > 0) {
        deps.log?.info(
          { assigned: s.assigned.length, quarantined: s.quarantined.length, available: s.available.length },
          'number lifecycle pass',
        );
      }
      return intervalMs;
    },
    { errorDelayMs: intervalMs, onError: (err) => deps.log?.error({ err }, 'number lifecycle pass failed') },
  );
}
