import type { Queryable } from '../db/db.js';
import { loadDirectory, resolveFlow } from './directory.js';
import { type Flow, flowSchema } from './model.js';

export interface StoredFlow {
  id: string;
  siteId: string;
  name: string;
  isDefault: boolean;
  /** Branch regions: calls attributed to visits from these regions (or countries) take this flow. */
  regions: string[];
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
  regions: string[];
  version: number;
  definition: unknown;
  created_at: Date;
  updated_at: Date;
}

export const flowColumns =
  'id, site_id, name, is_default, regions, version, definition, created_at, updated_at';

export function toStoredFlow(row: FlowRow): StoredFlow {
  return {
    id: row.id,
    siteId: row.site_id,
    name: row.name,
    isDefault: row.is_default,
    regions: row.regions,
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

/** Where a call comes from, for choosing a branch's flow: its visit's region and country, its pool's region. */
interface CallPlace {
  region: string | null;
  country: string | null;
  pool_region: string | null;
}

/** The site of a tracking number and the flows that may answer its calls: the default one and branches. */
export interface NumberRoute {
  siteId: string | null;
  timeZone: string | null;
  flows: StoredFlow[];
}

/** One round trip: the number's site, its time zone and its candidate flows; null for a number not ours. */
export async function numberRoute(
  q: Queryable,
  accountId: string,
  e164: string,
): Promise<NumberRoute | null> {
  const rows = await q.query<Partial<FlowRow> & { number_site_id: string | null; time_zone: string | null }>(
    `SELECT n.site_id AS number_site_id, s.time_zone, f.id, f.site_id, f.name, f.is_default, f.regions, f.version,
            f.definition, f.created_at, f.updated_at
       FROM numbers n
       LEFT JOIN sites s ON s.account_id = n.account_id AND s.id = n.site_id
       LEFT JOIN call_flows f ON f.account_id = n.account_id AND f.site_id = n.site_id
        AND (f.is_default OR cardinality(f.regions) > 0)
      WHERE n.account_id = $1 AND n.e164 = $2`,
    [accountId, e164],
  );
  if (rows.length === 0) return null;
  return {
    siteId: rows[0].number_site_id,
    timeZone: rows[0].time_zone,
    flows: rows.filter((r) => r.id).map((r) => toStoredFlow(r as FlowRow)),
  };
}

/**
 * The flow that answers a call on a number's route, ready to step: the flow of the branch serving the
 * call's region (the attributed visit's region, else its country, else the region of the number's pool),
 * otherwise the site's default flow; employees and groups resolved to the endpoints to dial now. The
 * call's place is looked up only when the site has branches.
 */
export async function flowForCall(
  q: Queryable,
  accountId: string,
  route: NumberRoute,
  callId?: string,
): Promise<StoredFlow | null> {
  const branches = route.flows.filter((f) => f.regions.length > 0);
  const [place] =
    callId && branches.length > 0
      ? await q.query<CallPlace>(
          `SELECT v.region, v.country, p.region AS pool_region FROM calls c
             LEFT JOIN visits v ON v.account_id = c.account_id AND v.id = c.visit_id
             LEFT JOIN numbers n ON n.account_id = c.account_id AND n.id = c.number_id
             LEFT JOIN pools p ON p.account_id = n.account_id AND p.id = n.pool_id
            WHERE c.account_id = $1 AND c.id = $2`,
          [accountId, callId],
        )
      : [];
  const flow = branchFlow(branches, place) ?? route.flows.find((f) => f.isDefault) ?? null;
  return flow && resolved(q, accountId, flow);
}

/** numberRoute and flowForCall in one: for adapters that log the call before asking where it goes. */
export async function flowForNumber(
  q: Queryable,
  accountId: string,
  e164: string,
  callId?: string,
): Promise<{ siteId: string | null; timeZone: string | null; flow: StoredFlow | null }> {
  const route = await numberRoute(q, accountId, e164);
  if (!route) return { siteId: null, timeZone: null, flow: null };
  return {
    siteId: route.siteId,
    timeZone: route.timeZone,
    flow: await flowForCall(q, accountId, route, callId),
  };
}

function branchFlow(flows: StoredFlow[], place: CallPlace | undefined): StoredFlow | undefined {
  if (!place) return undefined;
  for (const where of [place.region, place.country, place.pool_region]) {
    if (!where) continue;
    const match = flows.find((f) => f.regions.some((r) => r.toLowerCase() === where.toLowerCase()));
    if (match) return match;
  }
  return undefined;
}

async function resolved(q: Queryable, accountId: string, flow: StoredFlow): Promise<StoredFlow> {
  return {
    ...flow,
    definition: resolveFlow(flow.definition, await loadDirectory(q, accountId, flow.definition)),
  };
}

/** A flow with the time zone of its site, resolved for stepping a call that is already in it. */
export async function flowWithTimeZone(
  q: Queryable,
  accountId: string,
  flowId: string,
): Promise<{ flow: StoredFlow; timeZone: string } | null> {
  const rows = await q.query<FlowRow & { time_zone: string }>(
    `SELECT f.id, f.site_id, f.name, f.is_default, f.regions, f.version, f.definition, f.created_at, f.updated_at,
            s.time_zone
       FROM call_flows f JOIN sites s ON s.account_id = f.account_id AND s.id = f.site_id
      WHERE f.account_id = $1 AND f.id = $2`,
    [accountId, flowId],
  );
  return rows[0]
    ? { flow: await resolved(q, accountId, toStoredFlow(rows[0])), timeZone: rows[0].time_zone }
    : null;
}
