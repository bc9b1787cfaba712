import { randomUUID } from 'node:crypto';
import type { Queryable } from '../db/db.js';

export interface LeaseRequest {
  accountId: string;
  siteId: string;
  poolId: string;
  visitId: string;
  visitorId: string;
  now: Date;
  heldUntil: Date;
  /** The site's choice among free numbers: least recently released (default) or random. */
  selection?: 'lru' | 'random';
}

export interface LeasedNumber {
  numberId: string;
  e164: string;
  shared: boolean;
}

/**
 * Where a lease statement finds its values: parameter references (`$3`) or literals. The lease statements
 * of this file take theirs from `leaseParams` (`OWN_PARAMS`); a visit's insert embeds the lease CTEs with
 * its own numbering.
 */
export interface LeaseSqlParams {
  account: string;
  pool: string;
  now: string;
  heldUntil: string;
  visit: string;
  lease: string;
  site: string;
  visitor: string;
  shared: string;
}

const OWN_PARAMS: LeaseSqlParams = {
  account: '$1',
  pool: '$2',
  now: '$3',
  heldUntil: '$4',
  visit: '$5',
  lease: '$6',
  site: '$7',
  visitor: '$8',
  shared: '$9',
};

function leaseParams(req: LeaseRequest, shared: boolean): unknown[] {
  return [
    req.accountId,
    req.poolId,
    req.now,
    req.heldUntil,
    req.visitId,
    randomUUID(),
    req.siteId,
    req.visitorId,
    shared,
  ];
}

/** The CTE recording the lease on the number the CTE `leased` returns. */
function leaseInsertCte(p: LeaseSqlParams): string {
  return `lease AS (
  INSERT INTO leases (account_id, id, site_id, number_id, visit_id, visitor_id, started_at, last_seen_at,
    held_until, shared)
  SELECT ${p.account}, ${p.lease}::uuid, ${p.site}::uuid, id, ${p.visit}::uuid, ${p.visitor}::text,
         ${p.now}::timestamptz, ${p.now}::timestamptz, ${p.heldUntil}::timestamptz, ${p.shared}::boolean
    FROM leased)`;
}

/** The CTE recording the number the CTE `leased` returns as the visit's (an existing visit). */
const VISIT_NUMBER = `visit_number AS (
  UPDATE visits SET number_id = leased.id, number_method = 'pool' FROM leased
   WHERE visits.account_id = $1 AND visits.id = $5::uuid)`;

async function recordLeased(
  q: Queryable,
  sql: string,
  params: unknown[],
  shared: boolean,
): Promise<LeasedNumber | null> {
  const rows = await q.query<{ id: string; e164: string }>(sql, params);
  return rows[0] ? { numberId: rows[0].id, e164: rows[0].e164, shared } : null;
}

/**
 * Leases a number of the pool for the visit in one atomic statement, which also records the lease: the
 * returning visitor's number when `stickiness` is on (if the number its earlier visit held is still held by
 * that visitor, the lease moves to the new visit; if it is free again, the visitor gets it back, so a late
 * caller who read the number earlier still reaches this visitor), else a free number. Free numbers are taken
 * least-recently-released first (oldest held_until, never-held first), so a number rests as long as possible
 * before reuse (or at random: the naive baseline the simulator measures against). SKIP LOCKED lets
 * concurrent claims each take a different row without waiting. Null: the pool is exhausted.
 */
export function leasePoolNumber(q: Queryable, req: LeaseRequest & { stickiness: boolean }) {
  return recordLeased(
    q,
    `WITH ${leasePoolNumberCtes(OWN_PARAMS, req)}, ${VISIT_NUMBER} SELECT id, e164 FROM leased`,
    leaseParams(req, false),
    false,
  );
}

/**
 * `leasePoolNumber`'s CTEs without the visit's update: `leased` (the number, if any) and `lease` (its
 * record). `onlyIf`: a condition for leasing at all.
 */
export function leasePoolNumberCtes(
  p: LeaseSqlParams,
  opts: { stickiness: boolean; selection?: 'lru' | 'random'; onlyIf?: string },
): string {
  const order = opts.selection === 'random' ? 'random()' : 'held_until NULLS FIRST, id';
  const claimed = (
    onlyIf: string,
  ) => `UPDATE numbers SET held_until = ${p.heldUntil}, current_visit_id = ${p.visit}
        WHERE account_id = ${p.account} AND (held_until IS NULL OR held_until <= ${p.now})
          AND id = (SELECT id FROM numbers
                     WHERE account_id = ${p.account} AND pool_id = ${p.pool}
                       AND (held_until IS NULL OR held_until <= ${p.now}) AND ${onlyIf}
                     ORDER BY ${order}
                     LIMIT 1 FOR UPDATE SKIP LOCKED)
        RETURNING id, e164`;
  const onlyIf = opts.onlyIf ?? 'true';
  if (!opts.stickiness) return `leased AS (${claimed(onlyIf)}), ${leaseInsertCte(p)}`;
  // When the lease moves, the earlier visit's lease ends now, so attribution hands later calls to the new
  // visit. Numbers are looked up by id through scalar subqueries, which the generic plan makes primary-key
  // lookups (joins on the number were planned as scans of the pool's numbers in its claim index). A free
  // number is only looked for (and locked) when the visitor's own is not to be had.
  return `last AS (
       SELECT l.number_id, l.visit_id FROM leases l
        WHERE l.account_id = ${p.account} AND l.site_id = ${p.site} AND l.visitor_id = ${p.visitor}
          AND NOT l.shared AND ${onlyIf}
          AND (SELECT n.pool_id FROM numbers n WHERE n.account_id = l.account_id AND n.id = l.number_id) = ${p.pool}
        ORDER BY l.started_at DESC LIMIT 1),
     reclaimed AS (
       UPDATE numbers SET held_until = greatest(held_until, ${p.heldUntil}), current_visit_id = ${p.visit}
        WHERE account_id = ${p.account} AND id = (SELECT number_id FROM last) AND pool_id = ${p.pool}
          AND (held_until IS NULL OR held_until <= ${p.now} OR current_visit_id = (SELECT visit_id FROM last))
        RETURNING id, e164),
     ended AS (
       UPDATE leases SET held_until = ${p.now}
        WHERE account_id = ${p.account} AND visit_id = (SELECT visit_id FROM last)
          AND number_id = (SELECT number_id FROM last) AND held_until > ${p.now}
          AND (SELECT visit_id FROM last) <> ${p.visit} AND EXISTS (SELECT 1 FROM reclaimed)),
     claimed AS (${claimed(`${onlyIf} AND NOT EXISTS (SELECT 1 FROM reclaimed)`)}),
     leased AS (SELECT id, e164 FROM reclaimed UNION ALL SELECT id, e164 FROM claimed),
     ${leaseInsertCte(p)}`;
}

/** Overflow sharing: the pool is exhausted, so the number that frees soonest is shared with this visit. */
export function shareLeastBadNumber(q: Queryable, req: LeaseRequest): Promise<LeasedNumber | null> {
  return recordLeased(
    q,
    `WITH leased AS (
       UPDATE numbers SET held_until = greatest(held_until, $4)
        WHERE account_id = $1 AND id = (SELECT id FROM numbers WHERE account_id = $1 AND pool_id = $2
                                        ORDER BY held_until NULLS FIRST, id LIMIT 1)
        RETURNING id, e164),
     ${leaseInsertCte(OWN_PARAMS)},
     ${VISIT_NUMBER}
     SELECT id, e164 FROM leased`,
    leaseParams(req, true),
    true,
  );
}

/**
 * A lease touch as two CTEs: `touched`, the visit's live leases extended (heartbeat, page view) or, on
 * leave, shortened to the freeze time, and `held`, their numbers held until the latest of their leases
 * ends (several when shared). Parameters: $1 account, $2 visit, $3 now, $4 held until, $5 left; `onlyIf`
 * is a further condition on the touch. Statements embedding it number their own parameters from $6.
 */
export function touchLeaseCtes(onlyIf = 'true'): string {
  // Within one statement `held` still reads the leases before `touched` changed them, so the touched
  // leases' new end is taken from $4 and only the other visits' leases are read.
  return `touched AS (
       UPDATE leases SET last_seen_at = $3, held_until = $4, left_at = CASE WHEN $5 THEN $3::timestamptz END
        WHERE account_id = $1 AND visit_id = $2 AND held_until > $3 AND ${onlyIf}
        RETURNING number_id),
     held AS (
       UPDATE numbers n SET held_until = greatest($4, (SELECT max(l.held_until) FROM leases l
                                                        WHERE l.account_id = n.account_id AND l.number_id = n.id
                                                          AND l.visit_id <> $2))
        WHERE n.account_id = $1 AND n.id IN (SELECT number_id FROM touched))`;
}

/**
 * Extends the visit's live lease (heartbeat, page view) or, on leave, shortens it to the freeze time, in
 * one statement. Returns false when the visit holds no live lease any more.
 */
export async function touchLease(
  q: Queryable,
  accountId: string,
  visitId: string,
  now: Date,
  heldUntil: Date,
  left: boolean,
): Promise<boolean> {
  const [row] = await q.query<{ touched: number }>(
    `WITH ${touchLeaseCtes()} SELECT count(*)::int AS touched FROM touched`,
    [accountId, visitId, now, heldUntil, left],
  );
  return row.touched > 0;
}
