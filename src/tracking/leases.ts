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
 * Claims a free number of the pool for the visit in one atomic statement. Free numbers are taken
 * least-recently-released first (oldest held_until, never-held first), so a number rests as long as
 * possible before reuse (or at random: the naive baseline the simulator measures against). SKIP LOCKED
 * lets concurrent claims each take a different row without waiting.
 */
export async function claimFreeNumber(q: Queryable, req: LeaseRequest): Promise<LeasedNumber | null> {
  const order = req.selection === 'random' ? 'random()' : 'held_until NULLS FIRST, id';
  const rows = await q.query<{ id: string; e164: string }>(
    `UPDATE numbers SET held_until = $4, current_visit_id = $5
      WHERE account_id = $1 AND (held_until IS NULL OR held_until <= $3)
        AND id = (SELECT id FROM numbers
                   WHERE account_id = $1 AND pool_id = $2 AND (held_until IS NULL OR held_until <= $3)
                   ORDER BY ${order}
                   LIMIT 1 FOR UPDATE SKIP LOCKED)
      RETURNING id, e164`,
    [req.accountId, req.poolId, req.now, req.heldUntil, req.visitId],
  );
  if (!rows[0]) return null;
  await insertLease(q, req, rows[0].id, false);
  return { numberId: rows[0].id, e164: rows[0].e164, shared: false };
}

/**
 * A returning visitor keeps its number: if the number its earlier visit held is still held by that
 * visitor, the lease moves to the new visit; if it is free again, the visitor gets it back. Either way
 * a late caller who read the number earlier still reaches this visitor.
 */
export async function reclaimVisitorNumber(q: Queryable, req: LeaseRequest): Promise<LeasedNumber | null> {
  const last = await q.query<{ number_id: string; lease_id: string; visit_id: string }>(
    `SELECT l.number_id, l.id AS lease_id, l.visit_id FROM leases l
       JOIN numbers n ON n.account_id = l.account_id AND n.id = l.number_id
      WHERE l.account_id = $1 AND l.site_id = $2 AND l.visitor_id = $3 AND n.pool_id = $4 AND NOT l.shared
      ORDER BY l.started_at DESC LIMIT 1`,
    [req.accountId, req.siteId, req.visitorId, req.poolId],
  );
  if (!last[0]) return null;
  const { number_id: numberId, visit_id: previousVisit } = last[0];
  const rows = await q.query<{ e164: string }>(
    `UPDATE numbers SET held_until = greatest(held_until, $5), current_visit_id = $4
      WHERE account_id = $1 AND id = $2 AND pool_id = $6
        AND (held_until IS NULL OR held_until <= $3 OR current_visit_id = $7)
      RETURNING e164`,
    [req.accountId, numberId, req.now, req.visitId, req.heldUntil, req.poolId, previousVisit],
  );
  if (!rows[0]) return null;
  if (previousVisit !== req.visitId) {
    // The earlier visit's lease ends now, so attribution hands later calls to the new visit.
    await q.query(
      `UPDATE leases SET held_until = $3 WHERE account_id = $1 AND visit_id = $2 AND number_id = $4 AND held_until > $3`,
      [req.accountId, previousVisit, req.now, numberId],
    );
  }
  await insertLease(q, req, numberId, false);
  return { numberId, e164: rows[0].e164, shared: false };
}

/** Overflow sharing: the pool is exhausted, so the number that frees soonest is shared with this visit. */
export async function shareLeastBadNumber(q: Queryable, req: LeaseRequest): Promise<LeasedNumber | null> {
  const rows = await q.query<{ id: string; e164: string }>(
    `UPDATE numbers SET held_until = greatest(held_until, $3)
      WHERE account_id = $1 AND id = (SELECT id FROM numbers WHERE account_id = $1 AND pool_id = $2
                                      ORDER BY held_until NULLS FIRST, id LIMIT 1)
      RETURNING id, e164`,
    [req.accountId, req.poolId, req.heldUntil],
  );
  if (!rows[0]) return null;
  await insertLease(q, req, rows[0].id, true);
  return { numberId: rows[0].id, e164: rows[0].e164, shared: true };
}

async function insertLease(
  q: Queryable,
  req: LeaseRequest,
  numberId: string,
  shared: boolean,
): Promise<void> {
  await q.query(
    `INSERT INTO leases (account_id, id, site_id, number_id, visit_id, visitor_id, started_at, last_seen_at,
       held_until, shared)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$7,$8,$9)`,
    [
      req.accountId,
      randomUUID(),
      req.siteId,
      numberId,
      req.visitId,
      req.visitorId,
      req.now,
      req.heldUntil,
      shared,
    ],
  );
}

/**
 * Extends the visit's live lease (heartbeat, page view) or, on leave, shortens it to the freeze time.
 * Returns false when the visit holds no live lease any more.
 */
export async function touchLease(
  q: Queryable,
  accountId: string,
  visitId: string,
  now: Date,
  heldUntil: Date,
  left: boolean,
): Promise<boolean> {
  const leases = await q.query<{ id: string; number_id: string; shared: boolean }>(
    `UPDATE leases SET last_seen_at = $3, held_until = $4, left_at = CASE WHEN $5 THEN $3::timestamptz END
      WHERE account_id = $1 AND visit_id = $2 AND held_until > $3
      RETURNING id, number_id, shared`,
    [accountId, visitId, now, heldUntil, left],
  );
  if (leases.length === 0) return false;
  // The number stays held until the latest of its leases ends (several when shared).
  await q.query(
    `UPDATE numbers n SET held_until = (SELECT max(l.held_until) FROM leases l
                                          WHERE l.account_id = n.account_id AND l.number_id = n.id)
      WHERE n.account_id = $1 AND n.id = ANY($2::uuid[])`,
    [accountId, leases.map((l) => l.number_id)],
  );
  return true;
}
