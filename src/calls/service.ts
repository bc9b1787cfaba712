import { randomUUID } from 'node:crypto';
import { enqueueCallConversions } from '../conversions/enqueue.js';
import type { Queryable } from '../db/db.js';
import type { AppContext } from '../http/context.js';
import { phoneRegion } from '../phone/phone.js';
import { announceCall } from '../realtime/call-stream.js';
import { findSite, type Site } from '../sites/store.js';
import { trackCallChanges } from '../webhooks/events.js';
import { type Attribution, attributeCall, type LeaseCandidate, RECENT_HOLDERS_HOURS } from './attribution.js';
import { type ClassSettings, classifyCallerCalls } from './classify.js';
import { type CallEvent, reduceCall } from './reducer.js';

/**
 * The visit fields reports group calls and leads by; a call carries them as `visit_<field>` (migration 025),
 * copied from its attributed visit whenever the call is written, and so does a lead (migration 030), so
 * reports never join calls or leads to visits.
 */
export const VISIT_REPORT_FIELDS = [
  'channel',
  'source',
  'medium',
  'campaign',
  'keyword',
  'content',
  'landing_url',
  'region',
  'city',
  'device_type',
] as const;
type VisitReportRow = Record<(typeof VISIT_REPORT_FIELDS)[number], string | null>;

export interface StoredEvent {
  type: CallEvent['type'];
  occurred_at: Date;
  payload: Record<string, unknown>;
}

/**
 * Rebuilds one call from its stored events, attributes it and reclassifies the caller's calls. Runs
 * under a per-call lock so concurrent events of one call never write a stale projection.
 */
export async function processCall(
  ctx: Pick<AppContext, 'db' | 'clock'>,
  accountId: string,
  integrationId: string,
  providerCallId: string,
): Promise<string> {
  return ctx.db.tx(async (q) => {
    if (ctx.db.kind === 'postgres') {
      await q.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`${integrationId}:${providerCallId}`]);
    }
    const events = await q.query<StoredEvent>(
      `SELECT type, occurred_at, payload FROM call_events
        WHERE account_id = $1 AND integration_id = $2 AND provider_call_id = $3 ORDER BY received_at, id`,
      [accountId, integrationId, providerCallId],
    );
    const state = reduceCall(events.map((e, seq) => toCallEvent(e, seq)));
    const changes = await trackCallChanges(q, accountId, { integrationId, providerCallId });
    const number = state.trackingNumber
      ? (
          await q.query<{ id: string; site_id: string | null; kind: 'pool' | 'static' | 'default' }>(
            'SELECT id, site_id, kind FROM numbers WHERE account_id = $1 AND e164 = $2',
            [accountId, state.trackingNumber],
          )
        )[0]
      : undefined;
    // A callback's call belongs to the visit that asked for it, whatever number it showed.
    const [callback] = await q.query<{ lead_id: string; site_id: string; visit_id: string }>(
      `SELECT lead_id, site_id, visit_id FROM callbacks
        WHERE account_id = $1 AND integration_id = $2 AND provider_call_id = $3`,
      [accountId, integrationId, providerCallId],
    );
    const siteId = callback?.site_id ?? number?.site_id;
    const site = siteId ? await findSite(q, accountId, siteId) : null;
    const attribution: Attribution | null = callback
      ? { method: 'callback', confidence: 1, visitId: callback.visit_id, candidates: [] }
      : site && number
        ? await attribute(q, site, number, state.caller, state.startedAt)
        : null;
    const staticRule =
      number?.kind === 'static' && !callback
        ? (
            await q.query<{ id: string }>(
              'SELECT id FROM static_rules WHERE account_id = $1 AND number_id = $2 ORDER BY priority DESC LIMIT 1',
              [accountId, number.id],
            )
          )[0]
        : undefined;
    // The attributed visit's report fields, copied onto the call, and the page it was on when it called.
    const visit = attribution?.visitId
      ? (
          await q.query<VisitReportRow & { call_page_url: string | null }>(
            `SELECT ${VISIT_REPORT_FIELDS.map((f) => `v.${f}`).join(', ')},
                    (SELECT p.url FROM page_views p WHERE p.account_id = v.account_id AND p.visit_id = v.id AND p.at <= $3
                      ORDER BY p.at DESC LIMIT 1) AS call_page_url
               FROM visits v WHERE v.account_id = $1 AND v.id = $2`,
            [accountId, attribution.visitId, state.startedAt],
          )
        )[0]
      : undefined;
    const rows = await q.query<{ id: string }>(
      `INSERT INTO calls (account_id, id, integration_id, provider_call_id, site_id, number_id, caller, tracking_number,
         status, started_at, answered_at, ended_at, wait_seconds, talk_seconds, employee, group_name, recording_url,
         visit_id, method, confidence, candidates, static_rule_id, call_page_url, updated_at, closed_by, origin, lead_id,
         legs, transfers, finished_by, ${VISIT_REPORT_FIELDS.map((f) => `visit_${f}`).join(', ')})
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23,$24,$25,$26,$27,$28,$29,
         $30, ${VISIT_REPORT_FIELDS.map((_, i) => `$${31 + i}`).join(', ')})
       ON CONFLICT (account_id, integration_id, provider_call_id) DO UPDATE SET
         site_id = EXCLUDED.site_id, number_id = EXCLUDED.number_id, caller = EXCLUDED.caller,
         tracking_number = EXCLUDED.tracking_number, status = EXCLUDED.status, started_at = EXCLUDED.started_at,
         answered_at = EXCLUDED.answered_at, ended_at = EXCLUDED.ended_at, wait_seconds = EXCLUDED.wait_seconds,
         talk_seconds = EXCLUDED.talk_seconds, employee = EXCLUDED.employee, group_name = EXCLUDED.group_name,
         recording_url = EXCLUDED.recording_url, visit_id = EXCLUDED.visit_id, method = EXCLUDED.method,
         confidence = EXCLUDED.confidence, candidates = EXCLUDED.candidates, static_rule_id = EXCLUDED.static_rule_id,
         call_page_url = EXCLUDED.call_page_url, updated_at = EXCLUDED.updated_at, closed_by = EXCLUDED.closed_by,
         origin = EXCLUDED.origin, lead_id = EXCLUDED.lead_id, legs = EXCLUDED.legs, transfers = EXCLUDED.transfers,
         finished_by = EXCLUDED.finished_by,
         ${VISIT_REPORT_FIELDS.map((f) => `visit_${f} = EXCLUDED.visit_${f}`).join(', ')}
       RETURNING id`,
      [
        accountId,
        randomUUID(),
        integrationId,
        providerCallId,
        site?.id ?? null,
        number?.id ?? null,
        state.caller,
        state.trackingNumber,
        state.status,
        state.startedAt,
        state.answeredAt,
        state.endedAt,
        state.waitSeconds,
        state.talkSeconds,
        state.employee,
        state.group,
        state.recordingUrl,
        attribution?.visitId ?? null,
        attribution?.method ?? 'none',
        attribution?.confidence ?? 0,
        JSON.stringify(attribution?.candidates ?? []),
        staticRule?.id ?? null,
        visit?.call_page_url ?? null,
        ctx.clock.now(),
        state.closedBy,
        callback ? 'callback' : 'inbound',
        callback?.lead_id ?? null,
        JSON.stringify(state.legs),
        JSON.stringify(state.transfers),
        state.finishedBy,
        ...VISIT_REPORT_FIELDS.map((f) => visit?.[f] ?? null),
      ],
    );
    if (site) await changes.captureCaller(site.id, state.caller, rows[0].id);
    if (site) await reclassifyCaller(q, site, state.caller, rows[0].id);
    await changes.emit(ctx.clock.now(), rows[0].id);
    // Only an ended call can qualify as a conversion (its talk time, so its class, is final then).
    if (site && state.status !== 'ringing' && state.status !== 'answered') {
      await enqueueCallConversions(q, ctx.clock, accountId, site.id, rows[0].id);
    }
    await announceCall(q, accountId, rows[0].id);
    return rows[0].id;
  });
}

/** A stored event's payload as the reducer reads it (adapters store normalized field names). */
export function toCallEvent(e: StoredEvent, seq: number): CallEvent {
  const p = e.payload as Record<string, string | number | null | undefined>;
  const date = (v: unknown) => (typeof v === 'string' ? new Date(v) : null);
  return {
    type: e.type,
    occurredAt: e.occurred_at,
    seq,
    from: (p.from as string) ?? null,
    to: (p.to as string) ?? null,
    employee: (p.employee as string) ?? null,
    group: (p.group as string) ?? null,
    status: (p.status as CallEvent['status']) ?? null,
    startedAt: date(p.startedAt),
    answeredAt: date(p.answeredAt),
    endedAt: date(p.endedAt),
    talkSeconds: typeof p.talkSeconds === 'number' ? p.talkSeconds : null,
    waitSeconds: typeof p.waitSeconds === 'number' ? p.waitSeconds : null,
    recordingUrl: (p.recordingUrl as string) ?? null,
    synthetic: e.payload.synthetic === true,
    legId: (p.legId as string) ?? null,
    legKind: (p.legKind as CallEvent['legKind']) ?? null,
    target: (p.target as string) ?? null,
    transfer: (e.payload.transfer as CallEvent['transfer']) ?? null,
  };
}

interface LeaseRow {
  visit_id: string;
  visitor_id: string;
  started_at: Date;
  last_seen_at: Date;
  left_at: Date | null;
  held_until: Date;
  country: string | null;
}

const leaseColumns = `l.visit_id, l.visitor_id, l.started_at, l.last_seen_at, l.left_at, l.held_until, v.country
  FROM leases l JOIN visits v ON v.account_id = l.account_id AND v.id = l.visit_id`;

async function attribute(
  q: Queryable,
  site: Site,
  number: { id: string; kind: 'pool' | 'static' | 'default' },
  caller: string | null,
  at: Date,
) {
  const a = site.accountId;
  const leasesAt =
    number.kind === 'pool'
      ? await q.query<LeaseRow>(
          `SELECT ${leaseColumns} WHERE l.account_id = $1 AND l.number_id = $2 AND l.started_at <= $3
             AND l.held_until >= $3`,
          [a, number.id, at],
        )
      : [];
  const lastBefore =
    number.kind === 'pool' && leasesAt.length === 0
      ? await q.query<LeaseRow>(
          `SELECT ${leaseColumns} WHERE l.account_id = $1 AND l.number_id = $2 AND l.held_until < $3
            ORDER BY l.held_until DESC LIMIT 1`,
          [a, number.id, at],
        )
      : [];
  const [recent] =
    number.kind === 'pool'
      ? await q.query<{ n: number }>(
          `SELECT count(DISTINCT visitor_id)::int AS n FROM leases WHERE account_id = $1 AND number_id = $2
             AND held_until >= $3::timestamptz - make_interval(hours => $4) AND started_at <= $3`,
          [a, number.id, at, RECENT_HOLDERS_HOURS],
        )
      : [];
  const linked = caller
    ? await q.query<{ visitor_id: string }>(
        `SELECT DISTINCT v.visitor_id FROM calls c JOIN visits v ON v.account_id = c.account_id AND v.id = c.visit_id
          WHERE c.account_id = $1 AND c.site_id = $2 AND c.caller = $3 AND c.started_at < $4
            AND c.method IN ('dynamic', 'late')`,
        [a, site.id, caller, at],
      )
    : [];
  const visitorIds = linked.map((r) => r.visitor_id);
  const historyVisit = visitorIds.length
    ? await q.query<{ id: string }>(
        `SELECT id FROM visits WHERE account_id = $1 AND site_id = $2 AND visitor_id = ANY($3::text[])
           AND started_at <= $4 ORDER BY started_at DESC LIMIT 1`,
        [a, site.id, visitorIds, at],
      )
    : [];
  const toCandidate = (r: LeaseRow): LeaseCandidate => ({
    visitId: r.visit_id,
    visitorId: r.visitor_id,
    startedAt: r.started_at,
    lastSeenAt: r.last_seen_at,
    leftAt: r.left_at,
    heldUntil: r.held_until,
    visitCountry: r.country,
  });
  return attributeCall({
    at,
    numberKind: number.kind,
    leasesAt: leasesAt.map(toCandidate),
    lastLeaseBefore: lastBefore[0] ? toCandidate(lastBefore[0]) : null,
    lateGraceMinutes: site.lateGraceMinutes,
    callerVisitorIds: visitorIds,
    historyVisitId: historyVisit[0]?.id ?? null,
    callerCountry: caller ? phoneRegion(caller) : null,
    recentHolders: recent?.n ?? 0,
  });
}

function classSettings(site: Site): ClassSettings {
  return {
    targetedThresholdSeconds: site.targetedThresholdSeconds,
    countUniqueness: site.countUniqueness,
    uniquenessWindowDays: site.uniquenessWindowDays,
    leadGroups: site.leadGroups,
  };
}

interface ClassRow {
  id: string;
  started_at: Date;
  status: CallEvent['status'] & string;
  answered_at: Date | null;
  talk_seconds: number | null;
  group_name: string | null;
}

/** Recomputes the classes of every call of one caller to a site (uniqueness depends on the history). */
async function reclassifyCaller(
  q: Queryable,
  site: Site,
  caller: string | null,
  callId: string,
): Promise<void> {
  const rows = caller
    ? await q.query<ClassRow>(
        `SELECT id, started_at, status, answered_at, talk_seconds, group_name FROM calls
          WHERE account_id = $1 AND site_id = $2 AND caller = $3`,
        [site.accountId, site.id, caller],
      )
    : await q.query<ClassRow>(
        `SELECT id, started_at, status, answered_at, talk_seconds, group_name FROM calls
          WHERE account_id = $1 AND id = $2`,
        [site.accountId, callId],
      );
  await saveClasses(q, site, rows);
}

async function saveClasses(q: Queryable, site: Site, rows: ClassRow[]): Promise<void> {
  const classes = classifyCallerCalls(
    rows.map((r) => ({
      id: r.id,
      startedAt: r.started_at,
      status: r.status as never,
      answeredAt: r.answered_at,
      talkSeconds: r.talk_seconds,
      group: r.group_name,
    })),
    classSettings(site),
  );
  for (const [id, c] of classes) {
    await q.query(
      `UPDATE calls SET is_unique = $3, is_targeted = $4, is_unique_targeted = $5, is_first_targeted = $6,
         is_repeat = $7, is_missed = $8 WHERE account_id = $1 AND id = $2`,
      [site.accountId, id, c.unique, c.targeted, c.uniqueTargeted, c.firstTargeted, c.repeat, c.missed],
    );
  }
}

/** After the site's classification settings change, every stored call is classified again. */
export async function reclassifySite(ctx: AppContext, accountId: string, siteId: string): Promise<void> {
  await ctx.db.tx(async (q) => {
    const site = await findSite(q, accountId, siteId);
    if (!site) return;
    const changes = await trackCallChanges(q, accountId, { siteId });
    const rows = await q.query<ClassRow & { caller: string | null }>(
      `SELECT id, caller, started_at, status, answered_at, talk_seconds, group_name FROM calls
        WHERE account_id = $1 AND site_id = $2 ORDER BY caller, started_at`,
      [accountId, siteId],
    );
    const byCaller = new Map<string, ClassRow[]>();
    for (const row of rows) {
      const key = row.caller ?? `anonymous:${row.id}`;
      const group = byCaller.get(key);
      if (group) group.push(row);
      else byCaller.set(key, [row]);
    }
    for (const group of byCaller.values()) await saveClasses(q, site, group);
    await changes.emit(ctx.clock.now());
  });
}
