import type { Queryable } from '../db/db.js';
import { type Flow, flowSchema } from './model.js';

export interface StoredFlow {
  id: string;
  siteId: string;
  name: string;
  isDefault: boolean;
  version: number;
  definition: Flow;
  createdAt: Date;
  updatedAt: Date;
}

interface FlowRow {
  id: string;
  site_id: string;
  name: string;
  is_default: boolean;
  version: number;
  definition: unknown;
  created_at: Date;
  updated_at: Date;
}

export const flowColumns = 'id, site_id, name, is_default, version, definition, created_at, updated_at';

export function toStoredFlow(row: FlowRow): StoredFlow {
  return {
    id: row.id,
    siteId: row.site_id,
    name: row.name,
    isDefault: row.is_default,
    version: row.version,
    // Stored definitions were validated on save; parsing again fills defaults added since.
    definition: flowSchema.parse(row.definition),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export async function findFlow(q: Queryable, accountId: string, flowId: string): Promise<StoredFlow | null> {
  const rows = await q.query<FlowRow>(
    `SELECT ${flowColumns} FROM call_flows WHERE account_id = $1 AND id = $2`,
    [accountId, flowId],
  );
  return rows[0] ? toStoredFlow(rows[0]) : null;
}

/** The flow that answers calls to a tracking number, with the time zone its schedules run in. */
export async function flowForNumber(
  q: Queryable,
  accountId: string,
  e164: string,
): Promise<{ siteId: string | null; timeZone: string | null; flow: StoredFlow | null }> {
  const rows = await q.query<FlowRow & { number_site_id: string | null; time_zone: string | null }>(
    `SELECT n.site_id AS number_site_id, s.time_zone, f.id, f.site_id, f.name, f.is_default, f.version,
            f.definition, f.created_at, f.updated_at
       FROM numbers n
       LEFT JOIN sites s ON s.account_id = n.account_id AND s.id = n.site_id
       LEFT JOIN call_flows f ON f.account_id = n.account_id AND f.site_id = n.site_id AND f.is_default
      WHERE n.account_id = $1 AND n.e164 = $2`,
    [accountId, e164],
  );
  const row = rows[0];
  if (!row) return { siteId: null, timeZone: null, flow: null };
  return {
    siteId: row.number_site_id,
    timeZone: row.time_zone,
    flow: row.id ? toStoredFlow(row) : null,
  };
}

/** A flow with the time zone of its site, for stepping a call that is already in it. */
export async function flowWithTimeZone(
  q: Queryable,
  accountId: string,
  flowId: string,
): Promise<{ flow: StoredFlow; timeZone: string } | null> {
  const rows = await q.query<FlowRow & { time_zone: string }>(
    `SELECT f.id, f.site_id, f.name, f.is_default, f.version, f.definition, f.created_at, f.updated_at, s.time_zone
       FROM call_flows f JOIN sites s ON s.account_id = f.account_id AND s.id = f.site_id
      WHERE f.account_id = $1 AND f.id = $2`,
    [accountId, flowId],
  );
  return rows[0] ? { flow: toStoredFlow(rows[0]), timeZone: rows[0].time_zone } : null;
}
