import { randomUUID } from 'node:crypto';
import type { Queryable } from '../db/db.js';
import type { AppContext } from '../http/context.js';
import { HttpError } from '../http/errors.js';
import { camelize } from '../http/rows.js';
import { displayPhone, phoneDigitVariants } from '../phone/phone.js';
import { rolledToMovedBack, visitRollupLock } from '../reports/rollup.js';
import type { Site } from '../sites/store.js';
import { classifyTraffic } from './channel.js';
import { describeDevice } from './device.js';
import {
  type LeasedNumber,
  type LeaseRequest,
  leasePoolNumber,
  leasePoolNumberCtes,
  shareLeastBadNumber,
  touchLease,
  touchLeaseCtes,
} from './leases.js';
import { chooseNumberSource, HEARTBEAT_SECONDS, holdUntil, type PoolRef } from './number-choice.js';
import { matchStaticRule, type StaticRuleConditions } from './static-rules.js';

/** A visit ends after 30 minutes without activity (the common web-analytics session rule). */
export const VISIT_TIMEOUT_MS = 30 * 60_000;

/** What a new visit's number is chosen from: the site's static rules and pools. */
export interface NumberSources {
  rules: Array<{ id: string; priority: number; conditions: StaticRuleConditions; number_id: string }>;
  pools: PoolRef[];
}

/** A site as a page load needs it: with its number sources. */
export type WidgetSite = Site & { numberSources: NumberSources };

/** The site of a widget key with its number sources, in one statement. */
export async function findWidgetSite(db: Queryable, siteKey: string): Promise<WidgetSite | null> {
  const rows = await db.query(
    `SELECT s.*, json_build_object(
              'rules', (SELECT coalesce(json_agg(json_build_object('id', id, 'priority', priority,
                                                                   'conditions', conditions, 'number_id', number_id)), '[]')
                          FROM static_rules WHERE account_id = s.account_id AND site_id = s.id),
              'pools', (SELECT coalesce(json_agg(json_build_object('id', id, 'region', region)), '[]')
                          FROM pools WHERE account_id = s.account_id AND site_id = s.id)) AS number_sources
       FROM sites s WHERE s.site_key = $1`,
    [siteKey],
  );
  return rows[0] ? camelize<WidgetSite>(rows[0]) : null;
}

export interface PageHit {
  site: WidgetSite;
  visitorId: string | null;
  visitId: string | null;
  url: string;
  referrer: string | null;
  title: string | null;
  gaClientId: string | null;
  ymUid: string | null;
  /** GA4 "<container>:<session id>,…" from the widget. */
  gaSessions: string | null;
  ip: string;
  userAgent: string | undefined;
}

export interface ShownNumber {
  e164: string;
  display: string;
  digits: string[];
}

export interface PageHitResult {
  visitor: string;
  visit: string;
  number: ShownNumber | null;
  replace: Array<{ e164: string; digits: string[] }>;
  heartbeatSeconds: number;
  /** No number yet: the widget asks POST /t/lease once one of the site's numbers is visible. */
  deferred: boolean;
}

interface VisitRow {
  id: string;
  visitor_id: string;
  last_seen_at: Date;
  number_id: string | null;
  number_method: string;
  e164: string | null;
  /** The visit's pool: chosen at its start, or (visits older than lazy leasing) its number's pool. */
  pool_id: string | null;
}

/** The number a visit shows, or none yet: `deferred` until the widget asks for it (site `leaseOn: visible`). */
interface VisitNumber {
  e164: string | null;
  deferred: boolean;
}

/**
 * A page load of the widget: continues the visit (records the page view, keeps its number) or starts a
 * new one (classifies traffic, looks up region and device, chooses and leases a number). A site with
 * `leaseOn: visible` leases pool numbers only on POST /t/lease (recordLeaseRequest), so a page that never
 * shows a number never takes one from the pool.
 */
export async function recordPageHit(ctx: AppContext, hit: PageHit): Promise<PageHitResult> {
  const { site } = hit;
  const now = ctx.clock.now();
  const visitorId = hit.visitorId ?? randomUUID();
  // A continuing page hit is one statement outside a transaction, and so is a new visit (mostly); a pool
  // visit whose lease the hit did not extend takes a transaction.
  const visit = hit.visitId ? await continueVisit(ctx.db, site, hit, hit.visitId, visitorId, now) : null;
  const result = !visit
    ? await startVisit(ctx, hit, visitorId, now)
    : (shownWithoutLease(site, visit) ??
      (await ctx.db.tx(async (q) => {
        // Read under the visit's lock: a number another tab leased meanwhile may be in neither this hit's
        // snapshot nor the visit row it returned.
        const locked = await lockVisit(q, site, visit.id);
        if (locked?.number_method !== 'pool' || !locked.pool_id)
          return { visitId: visit.id, e164: locked?.e164 ?? null, deferred: false };
        const shown = await keepOrLease(q, site, locked, locked.pool_id, now, site.leaseOn === 'load');
        return { visitId: visit.id, ...shown };
      })));
  return {
    visitor: visitorId,
    visit: result.visitId,
    number: result.e164 ? shownNumber(result.e164) : null,
    replace: site.replaceNumbers.map((e164) => ({ e164, digits: shownNumber(e164).digits })),
    heartbeatSeconds: HEARTBEAT_SECONDS,
    deferred: result.deferred,
  };
}

export interface LeaseRequestInput {
  visitorId: string;
  visitId: string;
}

/**
 * POST /t/lease: one of the site's numbers is now on screen (or touched), so the visit gets its number.
 * Idempotent: a visit that already holds a live lease gets the same number back (the lease is extended,
 * as by a heartbeat). Static and default visits get the number they already have.
 */
export async function recordLeaseRequest(
  ctx: AppContext,
  site: Site,
  input: LeaseRequestInput,
): Promise<{ visit: string; number: ShownNumber | null }> {
  const now = ctx.clock.now();
  const e164 = await ctx.db.tx(async (q) => {
    const visit = await lockVisit(q, site, input.visitId);
    if (!visit || visit.visitor_id !== input.visitorId)
      throw new HttpError(404, 'unknown_visit', `visit: ${input.visitId} is not a visit of this visitor`);
    await q.query('UPDATE visits SET last_seen_at = $3, left_at = NULL WHERE account_id = $1 AND id = $2', [
      site.accountId,
      visit.id,
      now,
    ]);
    if (visit.number_method === 'pool' && visit.pool_id)
      return (await keepOrLease(q, site, visit, visit.pool_id, now, true)).e164;
    return visit.number_method === 'default' ? site.defaultNumber : visit.e164;
  });
  return { visit: input.visitId, number: e164 ? shownNumber(e164) : null };
}

/**
 * The page hit of a visit continues it when the visit is this visitor's and was seen within the visit
 * timeout (otherwise null: a new visit starts). One statement updates the visit, records the page view and
 * extends the live lease of a pool visit. `touched`: a live lease was extended. Updating the visit row
 * locks it, and a hit that waited there for another tab's transaction returns that tab's number_id but
 * reads the leases from its own earlier snapshot, so it may miss the lease just made: `shownWithoutLease`
 * sends such a hit to a transaction that reads the visit again under the lock.
 */
async function continueVisit(
  q: Queryable,
  site: Site,
  hit: PageHit,
  visitId: string,
  visitorId: string,
  now: Date,
): Promise<(VisitRow & { touched: boolean }) | null> {
  // GA4 starts a new session after its own timeout; a conversion joins the latest one.
  const rows = await q.query<VisitRow & { touched: number }>(
    `WITH visit AS (
       UPDATE visits SET last_seen_at = $3, left_at = NULL, page_views = page_views + 1,
         ga_sessions = coalesce($9, ga_sessions)
        WHERE account_id = $1 AND site_id = $6 AND id = $2 AND visitor_id = $7 AND last_seen_at > $8
        RETURNING id, visitor_id, last_seen_at, number_id, number_method, pool_id),
     page AS (
       INSERT INTO page_views (account_id, id, visit_id, url, title, at)
       SELECT $1, $10, id, $11, $12, $3 FROM visit),
     ${touchLeaseCtes(
       `EXISTS (SELECT 1 FROM visit LEFT JOIN numbers n ON n.account_id = $1 AND n.id = visit.number_id
                 WHERE visit.number_method = 'pool' AND visit.number_id IS NOT NULL
                   AND coalesce(visit.pool_id, n.pool_id) IS NOT NULL)`,
     )}
     SELECT visit.id, visit.visitor_id, visit.last_seen_at, visit.number_id, visit.number_method, n.e164,
            coalesce(visit.pool_id, n.pool_id) AS pool_id, (SELECT count(*) FROM touched)::int AS touched
       FROM visit LEFT JOIN numbers n ON n.account_id = $1 AND n.id = visit.number_id`,
    [
      site.accountId,
      visitId,
      now,
      holdUntil(now, site.freezeMinutes, false),
      false,
      site.id,
      visitorId,
      new Date(now.getTime() - VISIT_TIMEOUT_MS),
      hit.gaSessions,
      randomUUID(),
      hit.url,
      hit.title,
    ],
  );
  return rows[0] ? { ...rows[0], touched: rows[0].touched > 0 } : null;
}

/**
 * What a continued visit shows when that needs no lease made or read again: a number not from a pool, the
 * lease the hit extended, or (site `leaseOn: visible`) none yet while the visit has never had a number.
 * Otherwise null.
 */
function shownWithoutLease(
  site: Site,
  visit: VisitRow & { touched: boolean },
): ({ visitId: string } & VisitNumber) | null {
  if (visit.number_method !== 'pool' || !visit.pool_id || visit.touched)
    return { visitId: visit.id, e164: visit.e164, deferred: false };
  if (visit.number_id === null && site.leaseOn === 'visible')
    return { visitId: visit.id, e164: null, deferred: true };
  return null;
}

/**
 * Reads a visit of the site for the rest of the transaction. Two tabs of one visit loading pages or asking
 * for its number at once must not lease two numbers, so the visit is locked first, then read in a statement
 * of its own (on PostgreSQL a locking join would show the other tab's new number_id without its number).
 */
async function lockVisit(q: Queryable, site: Site, visitId: string): Promise<VisitRow | null> {
  await q.query('SELECT 1 FROM visits WHERE account_id = $1 AND site_id = $2 AND id = $3 FOR UPDATE', [
    site.accountId,
    site.id,
    visitId,
  ]);
  const rows = await q.query<VisitRow>(
    `SELECT v.id, v.visitor_id, v.last_seen_at, v.number_id, v.number_method, n.e164,
            coalesce(v.pool_id, n.pool_id) AS pool_id
       FROM visits v LEFT JOIN numbers n ON n.account_id = v.account_id AND n.id = v.number_id
      WHERE v.account_id = $1 AND v.site_id = $2 AND v.id = $3`,
    [site.accountId, site.id, visitId],
  );
  return rows[0] ?? null;
}

/**
 * A pool visit's number: its live lease (extended), else a new lease when `lease` is set, else none yet.
 */
async function keepOrLease(
  q: Queryable,
  site: Site,
  visit: VisitRow,
  poolId: string,
  now: Date,
  lease: boolean,
): Promise<VisitNumber> {
  const held = holdUntil(now, site.freezeMinutes, false);
  if (visit.number_id && (await touchLease(q, site.accountId, visit.id, now, held, false)))
    return { e164: visit.e164, deferred: false };
  return leaseOrDefer(q, site, visit, poolId, now, lease);
}

/** A pool visit without a live lease: a new lease when `lease` is set, else none yet. */
async function leaseOrDefer(
  q: Queryable,
  site: Site,
  visit: VisitRow,
  poolId: string,
  now: Date,
  lease: boolean,
): Promise<VisitNumber> {
  if (!lease) return { e164: null, deferred: true };
  return {
    e164: await leaseVisitNumber(q, site, visit.id, visit.visitor_id, poolId, now),
    deferred: false,
  };
}

/**
 * Leases a pool number for a visit that has none (the lease statement records it on the visit); on
 * exhaustion without sharing the visit shows the default. `lease`: how the number is got; a new visit whose
 * insert already found the pool exhausted goes straight to `afterExhaustion`.
 */
async function leaseVisitNumber(
  q: Queryable,
  site: Site,
  visitId: string,
  visitorId: string,
  poolId: string,
  now: Date,
  lease: typeof leaseFromPool = leaseFromPool,
): Promise<string | null> {
  const leased = await lease(q, site, leaseRequest(site, poolId, visitId, visitorId, now));
  // The visit's number is a report key (visit_daily_numbers): a visit of a rolled-up day moves rolled_to back,
  // under the rollup's lock as a visit's insert does.
  await q.query(`SELECT ${visitRollupLock('$1')}`, [site.id]);
  await q.query(
    `WITH visit AS (
       UPDATE visits SET number_id = $3, number_method = $4 WHERE account_id = $1 AND id = $2 RETURNING started_at),
     ${rolledToMovedBack('$1', '$5', '(SELECT started_at FROM visit)')}
     SELECT 1`,
    [site.accountId, visitId, leased?.numberId ?? null, leased ? 'pool' : 'default', site.id],
  );
  return leased?.e164 ?? site.defaultNumber;
}

async function startVisit(
  ctx: AppContext,
  hit: PageHit,
  visitorId: string,
  now: Date,
): Promise<{ visitId: string } & VisitNumber> {
  const { site } = hit;
  const traffic = classifyTraffic({ landingUrl: hit.url, referrer: hit.referrer, siteDomains: site.domains });
  const device = describeDevice(hit.userAgent);
  const geo = ctx.geo.lookup(hit.ip);
  const { rules, pools } = site.numberSources;
  const rule = matchStaticRule(rules, { traffic, landingUrl: hit.url });
  const source = chooseNumberSource({
    isBot: device.isBot,
    channel: traffic.channel,
    staticRule: rule ? { id: rule.id, numberId: rule.number_id } : null,
    dynamicChannels: site.dynamicChannels,
    multiRegional: site.multiRegional,
    pools,
    visitRegion: geo.region,
    visitCountry: geo.country,
  });
  const visitId = randomUUID();
  const channel = traffic.channel === 'internal' ? 'direct' : traffic.channel;
  const lease = source.kind === 'pool' && site.leaseOn === 'load';
  const params = [
    site.accountId,
    visitId,
    site.id,
    visitorId,
    now,
    channel,
    traffic.source,
    traffic.medium,
    traffic.campaign,
    traffic.content,
    traffic.keyword,
    traffic.gclid,
    traffic.yclid,
    traffic.fbclid,
    hit.gaClientId,
    hit.ymUid,
    hit.referrer || null,
    hit.url,
    hit.ip,
    geo.country,
    geo.region,
    geo.city,
    device.deviceType,
    device.browser,
    device.os,
    device.isBot,
    source.kind,
    source.kind === 'static' ? source.ruleId : null,
    source.kind === 'static' ? source.numberId : null,
    source.kind === 'pool' ? source.poolId : null,
    hit.gaSessions,
    randomUUID(),
    hit.title,
    ...(lease ? [holdUntil(now, site.freezeMinutes, false), randomUUID()] : []),
  ];
  const leasing = lease ? { stickiness: site.visitorStickiness, selection: site.numberSelection } : null;
  // A visit of a day the report rollup has not reached: one statement, no transaction (see
  // insertVisitSql). A visit of a rolled-up day (a clock in the past) takes the rollup's lock first.
  const inserted =
    (await insertVisit(ctx.db, insertVisitSql(leasing, 'open-day'), params)) ??
    (await ctx.db.tx(async (q) => {
      await q.query(`SELECT ${visitRollupLock('$1')}`, [site.id]);
      return insertVisit(q, insertVisitSql(leasing, 'locked'), params);
    }));
  if (!inserted) throw new Error('startVisit: the locked insert of a visit inserted nothing');
  if (source.kind === 'static')
    return { visitId, e164: inserted.e164 ?? site.defaultNumber, deferred: false };
  if (source.kind === 'default') return { visitId, e164: site.defaultNumber, deferred: false };
  if (!lease) return { visitId, e164: null, deferred: true };
  if (inserted.e164) return { visitId, e164: inserted.e164, deferred: false };
  // No number was free: record the exhaustion and apply the site's policy.
  const e164 = await ctx.db.tx((q) =>
    leaseVisitNumber(q, site, visitId, visitorId, source.poolId, now, afterExhaustion),
  );
  return { visitId, e164, deferred: false };
}

/** Null when the visit was not inserted (`open-day`: its day is rolled up). */
async function insertVisit(
  q: Queryable,
  sql: string,
  params: unknown[],
): Promise<{ e164: string | null } | null> {
  const [row] = await q.query<{ inserted: boolean; e164: string | null }>(sql, params);
  return row.inserted ? { e164: row.e164 } : null;
}

/**
 * The statement inserting a visit, its first page view and, with `leasing`, its lease of a pool number;
 * returns whether it inserted the visit and the number it shows (leased or static).
 *
 * The report rollup (src/reports/rollup.ts) must count every visit of a day it has rolled up. It rolls up
 * only days that ended `ROLLUP_SETTLE_MS` ago, so a visit starting now is on a day it has not reached:
 * `open-day` inserts only if the site's `rolled_to` in this statement's snapshot is not past the visit's
 * day, and a rollup pass could then miss the visit only if this single statement ran longer than the settle
 * time. Otherwise (a clock in the past: the demo loader, tests) nothing is inserted, and the `locked` form
 * runs in a transaction that took the rollup's lock in an earlier statement (a statement waiting for the
 * lock would still read `rolled_to` from the snapshot it began with), and moves `rolled_to` back.
 *
 * Parameters: $1 account, $2 visit, $3 site, $4 visitor, $5 now, $6…$31 the visit's fields, $32 page view
 * id, $33 title; with `leasing`, $34 lease held until and $35 lease id.
 */
function insertVisitSql(
  leasing: { stickiness: boolean; selection: 'lru' | 'random' } | null,
  mode: 'open-day' | 'locked',
): string {
  const openDay =
    mode === 'open-day'
      ? `NOT EXISTS (SELECT 1 FROM visit_rollup_sites WHERE account_id = $1 AND site_id = $3
                      AND rolled_to > ($5::timestamptz AT TIME ZONE time_zone)::date)`
      : 'true';
  const leaseCtes = leasing
    ? `${leasePoolNumberCtes(
        {
          account: '$1',
          pool: '$30',
          now: '$5',
          heldUntil: '$34',
          visit: '$2',
          lease: '$35',
          site: '$3',
          visitor: '$4',
          shared: 'false',
        },
        { ...leasing, onlyIf: '(SELECT ok FROM open_day)' },
      )},`
    : '';
  return `WITH open_day AS (SELECT ${openDay} AS ok),
     ${leaseCtes}
     visit AS (
       INSERT INTO visits (account_id, id, site_id, visitor_id, started_at, last_seen_at, channel, source, medium,
         campaign, content, keyword, gclid, yclid, fbclid, ga_client_id, ym_uid, referrer, landing_url, ip, country,
         region, city, device_type, browser, os, is_bot, number_method, static_rule_id, number_id, pool_id,
         page_views, ga_sessions)
       SELECT $1, $2, $3, $4, $5, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22,
              $23, $24, $25, $26, $27, $28, ${leasing ? 'coalesce((SELECT id FROM leased), $29::uuid)' : '$29'}, $30, 1, $31
         FROM open_day WHERE ok
       RETURNING id),
     page AS (INSERT INTO page_views (account_id, id, visit_id, url, title, at) SELECT $1, $32, id, $18, $33, $5 FROM visit)
     ${mode === 'locked' ? `, ${rolledToMovedBack('$1', '$3', '$5')}` : ''}
     SELECT (SELECT ok FROM open_day) AS inserted,
            ${leasing ? '(SELECT e164 FROM leased)' : '(SELECT e164 FROM numbers WHERE account_id = $1 AND id = $29)'} AS e164`;
}

function leaseRequest(
  site: Site,
  poolId: string,
  visitId: string,
  visitorId: string,
  now: Date,
): LeaseRequest {
  return {
    accountId: site.accountId,
    siteId: site.id,
    poolId,
    visitId,
    visitorId,
    now,
    heldUntil: holdUntil(now, site.freezeMinutes, false),
    selection: site.numberSelection,
  };
}

/**
 * Returning visitor's number first (unless the site turned stickiness off), then a free one; on exhaustion
 * record the event and apply the policy.
 */
async function leaseFromPool(q: Queryable, site: Site, req: LeaseRequest): Promise<LeasedNumber | null> {
  return (
    (await leasePoolNumber(q, { ...req, stickiness: site.visitorStickiness })) ??
    afterExhaustion(q, site, req)
  );
}

/** The pool had no number for the visit: records the event and applies the site's exhaustion policy. */
async function afterExhaustion(q: Queryable, site: Site, req: LeaseRequest): Promise<LeasedNumber | null> {
  await q.query(
    `INSERT INTO pool_exhaustions (account_id, id, site_id, pool_id, visit_id, at, action)
     VALUES ($1,$2,$3,$4,$5,$6,$7)`,
    [site.accountId, randomUUID(), site.id, req.poolId, req.visitId, req.now, site.exhaustionPolicy],
  );
  return site.exhaustionPolicy === 'share' ? shareLeastBadNumber(q, req) : null;
}

/** Heartbeat or leave, in one statement: keeps the lease alive while the page is visible, then starts the freeze. */
export async function recordPing(
  ctx: AppContext,
  site: Site,
  visitId: string,
  left: boolean,
): Promise<{ alive: boolean }> {
  const now = ctx.clock.now();
  const held = holdUntil(now, site.freezeMinutes, left);
  const [row] = await ctx.db.query<{ visits: number; pool: boolean; touched: number }>(
    `WITH visit AS (
       UPDATE visits SET last_seen_at = $3, left_at = CASE WHEN $5 THEN $3::timestamptz END
        WHERE account_id = $1 AND site_id = $6 AND id = $2
        RETURNING number_method = 'pool' AS pool),
     ${touchLeaseCtes('EXISTS (SELECT 1 FROM visit)')}
     SELECT (SELECT count(*) FROM visit)::int AS visits, coalesce((SELECT pool FROM visit), false) AS pool,
            (SELECT count(*) FROM touched)::int AS touched`,
    [site.accountId, visitId, now, held, left, site.id],
  );
  if (row.visits === 0)
    throw new HttpError(404, 'unknown_visit', `visit: ${visitId} is not a visit of this site`);
  if (row.touched > 0 || !row.pool) return { alive: row.touched > 0 };
  // One statement reads the leases as they were when it began: a lease another tab's page hit made while
  // this one waited for the visit row is found by a statement of its own.
  return { alive: await touchLease(ctx.db, site.accountId, visitId, now, held, left) };
}

/**
 * Shown numbers by E.164, since formatting one parses it with libphonenumber (tens of microseconds) and
 * every page hit shows its number and the site's numbers to replace. Cleared when it outgrows any plausible
 * set of numbers in use.
 */
const shownNumbers = new Map<string, Readonly<ShownNumber>>();
const MAX_SHOWN_NUMBERS = 10_000;

export function shownNumber(e164: string): ShownNumber {
  let shown = shownNumbers.get(e164);
  if (!shown) {
    if (shownNumbers.size >= MAX_SHOWN_NUMBERS) shownNumbers.clear();
    shown = Object.freeze({ e164, display: displayPhone(e164), digits: phoneDigitVariants(e164) });
    shownNumbers.set(e164, shown);
  }
  return shown;
}
