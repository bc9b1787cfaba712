// Replays a ground-truth trace through the real code path (issue 3, item 2): the site is set up through the
// REST API, page loads and pings call the same functions the widget endpoints call (recordPageHit,
// recordPing), calls arrive as signed events on the generic telephony webhook, all on a manual clock. Then
// the product's attribution is compared with the truth.

import type { FastifyInstance } from 'fastify';
import { createAccount, createApiKey } from '../accounts/keys.js';
import { buildApp } from '../app.js';
import { ManualClock } from '../clock.js';
import { type Config, loadConfig } from '../config.js';
import type { Db } from '../db/db.js';
import { createContext } from '../http/context.js';
import { signBody } from '../telephony/generic.js';
import { wholeCallEvents } from '../telephony/generic-call.js';
import { type Geo, openGeo } from '../tracking/geo.js';
import { findWidgetSite, recordLeaseRequest, recordPageHit, recordPing } from '../tracking/visits.js';
import { baselineHold, peakHeldNumbers, peakOverlap } from './min-pool.js';
import { runWindowed } from './schedule.js';
import type { CallTiming, Trace, TraceAction, TraceCall, TraceVisit } from './traffic.js';

/**
 * `naive`: any free number (random), no returning-visitor stickiness, the default number when the pool is
 * exhausted. `smart`: the product's policy: least recently released first, stickiness, and overflow sharing
 * with ranked candidates when exhausted.
 */
export type Policy = 'naive' | 'smart';

/**
 * The lease techniques the simulator can switch one by one, each a real product setting or code path:
 * - `lru`: least recently released free number first (site numberSelection 'lru'; off: 'random');
 * - `stickiness`: a returning visitor keeps or gets back its number (site visitorStickiness);
 * - `sharing`: on exhaustion share the number that frees soonest and rank the holders at call time (site
 *   exhaustionPolicy 'share'; off: the default number);
 * - `activity`: the widget's heartbeats and leave beacon hold the number while the page is open and free it
 *   a freeze time after leaving (off: the server sees page loads only, so a number is held from the last
 *   page load for the heartbeat grace plus the freeze);
 * - `bot-exclusion`: crawlers are recognised by their user agent and shown the default number (off: they
 *   arrive with a browser's user agent, as disguised bots do, and take pool numbers like people);
 * - `lazy`: a number is leased only once it comes into view (site leaseOn 'visible', the widget's
 *   POST /t/lease at the trace's `visibleAt`; off: leaseOn 'load', leased at the first page load).
 */
export const TECHNIQUES = ['lru', 'stickiness', 'sharing', 'activity', 'bot-exclusion', 'lazy'] as const;
export type Technique = (typeof TECHNIQUES)[number];

/**
 * The techniques of a policy: `smart` is the product's defaults (every technique but lazy leasing, which a
 * site turns on); `naive` keeps only the widget's own (activity, bots).
 */
export function policyTechniques(policy: Policy): Technique[] {
  return policy === 'smart' ? TECHNIQUES.filter((t) => t !== 'lazy') : ['activity', 'bot-exclusion'];
}

export interface RunOptions {
  db: Db;
  trace: Trace;
  freezeMinutes: number;
  /** Pool numbers to create. */
  pool: number;
  policy: Policy;
  /** The techniques switched on; default: the policy's (`policyTechniques`). */
  techniques?: readonly Technique[];
  /** Overrides the techniques' exhaustion behaviour (`sharing`). */
  exhaustion?: 'default' | 'share';
  /**
   * Actions run at once (PostgreSQL; PGlite has one connection, so 1 there). 1: strictly in trace order.
   * More: actions of different visitors less than `windowMs` apart may run concurrently (`runWindowed`).
   */
  concurrency?: number;
  /** Default 5000 ms; see docs/simulator.md for its effect on results. */
  windowMs?: number;
  /** The site's late-call grace window (default 120, the product default). */
  lateGraceMinutes?: number;
  config?: Config;
  geo?: Geo;
  /** Called every `progressEvery` actions (for long CLI runs). */
  onProgress?: (done: number, total: number) => void;
  progressEvery?: number;
}

export interface Tally {
  count: number;
  correct: number;
}

export interface SimulationResult {
  policy: Policy;
  techniques: Technique[];
  exhaustionPolicy: 'default' | 'share';
  freezeMin: number;
  pool: number;
  /** Peak numbers held at once under the baseline lease policy, from the trace alone. */
  minPool: number;
  visits: number;
  /** Visits of dynamically tracked channels by people: the ones that need pool numbers. */
  paidVisits: number;
  actions: number;
  /** Calls caused by paid visits: the population attribution accuracy is measured on. */
  calls: number;
  /** Of those, calls during the visit or within the freeze time after leaving. */
  callsInFreeze: number;
  correctInFreeze: number;
  /** null when there is no such call. */
  accuracyInFreeze: number | null;
  correct: number;
  accuracyAll: number | null;
  /** Attributed to another visit. */
  wrong: number;
  /** No visit attributed. */
  unattributed: number;
  /** Attributed to another visit of the same visitor (counted in `wrong`). */
  sameVisitor: number;
  /** Calls caused by organic/direct visits: they dial the default number and are not in `calls`. */
  untrackedCalls: number;
  byMethod: Record<string, Tally>;
  byTiming: Record<string, Tally>;
  /** For calls at a confidence in the bucket, how many were right. */
  calibration: Array<{ bucket: string; count: number; correct: number; share: number | null }>;
  exhaustions: number;
  /** Peak numbers actually held at once, from the lease history. */
  peakHeld: number;
  /**
   * The product's recommended pool for 99% of visits served, from the recorded lease history over the
   * simulated days (`GET /api/v1/sites/{id}/sizing`).
   */
  recommendedPool: number | null;
  concurrency: number;
  /** Replayed actions per second of wall time (the action phase only). */
  actionsPerSecond: number;
  /** Wall time of the replay (setup, actions, metrics). */
  seconds: number;
}

const DOMAIN = 'sim.ringtrace.test';
const DEFAULT_NUMBER = '+74951234567';
const HUMAN_UA =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36';
const BOT_UA = 'Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)';
const HUMAN_IP = '77.88.55.242';
const BOT_IP = '5.255.253.1';

/** The site settings behind the techniques. */
export function siteSettings(techniques: readonly Technique[], exhaustion?: 'default' | 'share') {
  return {
    numberSelection: techniques.includes('lru') ? ('lru' as const) : ('random' as const),
    visitorStickiness: techniques.includes('stickiness'),
    exhaustionPolicy:
      exhaustion ?? (techniques.includes('sharing') ? ('share' as const) : ('default' as const)),
    leaseOn: techniques.includes('lazy') ? ('visible' as const) : ('load' as const),
  };
}

/** The theoretical minimum pool of a trace: the peak of baseline holds of paid human visits. */
export function minPoolOf(trace: Trace, freezeMinutes: number): { peak: number; at: number } {
  return peakOverlap(trace.visits.filter(needsPoolNumber).map((v) => baselineHold(v, freezeMinutes)));
}

function needsPoolNumber(v: TraceVisit): boolean {
  return v.channel === 'paid' && !v.bot;
}

/** Pool number i as a Moscow 499 number. */
export function poolNumber(i: number): string {
  return `+7499${String(3_500_000 + i).padStart(7, '0')}`;
}

export async function runSimulation(opts: RunOptions): Promise<SimulationResult> {
  const began = performance.now();
  const { db, trace, freezeMinutes } = opts;
  const techniques = TECHNIQUES.filter((t) => (opts.techniques ?? policyTechniques(opts.policy)).includes(t));
  const settings = siteSettings(techniques, opts.exhaustion);
  const concurrency = db.kind === 'postgres' ? Math.max(1, opts.concurrency ?? 1) : 1;
  const activity = techniques.includes('activity');
  const lazy = techniques.includes('lazy');
  const userAgentOf = (v: TraceVisit) => (v.bot && techniques.includes('bot-exclusion') ? BOT_UA : HUMAN_UA);
  // The app's clock: setup, calls and metrics. Page loads, number requests and pings get a context whose
  // clock reads their own instant, so they can run concurrently without a shared time (nor the cost of
  // AsyncLocalStorage on every promise); calls run one at a time, each with the app's clock at its instant.
  const clock = new ManualClock(new Date(trace.start - 3_600_000));
  const config = opts.config ?? loadConfig({}, { logLevel: 'silent' });
  const geo = opts.geo ?? (await openGeo());
  const app = await buildApp({ config, db, clock, geo });
  try {
    const setup = await setupSite(app, db, clock, {
      freezeMinutes,
      lateGraceMinutes: opts.lateGraceMinutes ?? 120,
      pool: opts.pool,
      ...settings,
    });
    const site = await findWidgetSite(db, setup.siteKey);
    if (!site) throw new Error('simulate: the site just created is missing');
    const ctx = createContext({ config, db, clock, geo });

    const serverVisit: Array<string | null> = trace.visits.map(() => null);
    const shown: Array<string | null> = trace.visits.map(() => null);
    const dialed: Array<string | null> = trace.calls.map(() => null);
    const replay = async (action: TraceAction): Promise<void> => {
      if (action.kind === 'call') {
        clock.set(new Date(action.at));
        const call = trace.calls[action.call];
        const to =
          call.repeatOf !== null
            ? (dialed[call.repeatOf] ?? DEFAULT_NUMBER)
            : (shown[call.visit] ?? DEFAULT_NUMBER);
        dialed[call.index] = to;
        await postCall(app, setup.integration, call, to);
        return;
      }
      const v = trace.visits[action.visit];
      const at = new Date(action.at);
      const actx = { ...ctx, clock: { now: () => at } };
      if (action.kind === 'page') {
        // The route looks the site (and its rules and pools) up per request; they do not change during a run,
        // so the site is reused.
        const res = await recordPageHit(actx, {
          site,
          visitorId: trace.visitors[v.visitor].id,
          visitId: serverVisit[v.index],
          url: pageUrl(v, action.page),
          referrer: pageReferrer(v, action.page),
          title: null,
          gaClientId: null,
          ymUid: null,
          gaSessions: null,
          ip: v.bot ? BOT_IP : HUMAN_IP,
          userAgent: userAgentOf(v),
        });
        serverVisit[v.index] = res.visit;
        shown[v.index] = res.number?.e164 ?? null;
        return;
      }
      const id = serverVisit[v.index];
      if (!id) throw new Error(`simulate: ${action.kind} before the first page of visit ${v.index}`);
      if (action.kind === 'lease') {
        const res = await recordLeaseRequest(actx, site, {
          visitorId: trace.visitors[v.visitor].id,
          visitId: id,
        });
        shown[v.index] = res.number?.e164 ?? null;
      } else await recordPing(actx, site, id, action.kind === 'leave');
    };
    // The number coming into view matters only to lazy leasing. Without the activity technique the widget
    // sends no heartbeats or leave beacons: only page loads, lease requests and calls.
    const actions = trace.actions.filter((a) =>
      a.kind === 'lease' ? lazy : activity || a.kind === 'page' || a.kind === 'call',
    );
    let lastCall = Promise.resolve();
    const every = opts.progressEvery ?? 10_000;
    const upkeep = tableUpkeep(db);
    const replayBegan = performance.now();
    await runWindowed(actions, {
      concurrency,
      windowMs: opts.windowMs ?? 5_000,
      // One visitor's actions stay in order: its visits share a number (stickiness) and its calls a caller.
      keyOf: (a) => trace.visits[a.kind === 'call' ? trace.calls[a.call].visit : a.visit].visitor,
      run: (a) => {
        if (a.kind !== 'call') return replay(a);
        // Calls also run one after another: each sets the app's clock, which the webhook reads.
        lastCall = lastCall.then(() => replay(a));
        return lastCall;
      },
      onDone: (done) => {
        if (done % every === 0) opts.onProgress?.(done, actions.length);
        upkeep.after(done);
      },
    });
    await upkeep.settled();
    const replaySeconds = (performance.now() - replayBegan) / 1000;

    const lastAt = actions.length ? actions[actions.length - 1].at : trace.end;
    clock.set(new Date(lastAt));
    const metrics = await measure(db, setup, trace, serverVisit, freezeMinutes);
    const recommendedPool = await recommendedPoolSize(app, setup, lastAt - trace.start);
    return {
      policy: opts.policy,
      techniques,
      exhaustionPolicy: settings.exhaustionPolicy,
      freezeMin: freezeMinutes,
      pool: opts.pool,
      minPool: minPoolOf(trace, freezeMinutes).peak,
      visits: trace.visits.length,
      paidVisits: trace.visits.filter(needsPoolNumber).length,
      actions: actions.length,
      ...metrics,
      recommendedPool,
      concurrency,
      actionsPerSecond: Math.round(actions.length / Math.max(replaySeconds, 1e-3)),
      seconds: round((performance.now() - began) / 1000, 2),
    };
  } finally {
    await app.close();
  }
}

/**
 * What autovacuum does on a server, done by the replay itself: its schema is new and grows fast, and a
 * server may run with autovacuum off (the bench machine does). Unanalyzed, the planner reads a visit or a
 * caller's calls through an index over all the site's rows; unvacuumed, the numbers rows (updated by every
 * lease and touch) bloat their claim index. One pass at a time, in the background of the replay: the growing
 * tables each time the replay has done 1.5 times the actions of the last pass, the numbers every 10,000.
 */
function tableUpkeep(db: Db) {
  let running: Promise<void> = Promise.resolve();
  let busy = false;
  let nextAnalyze = 1_000;
  const start = (...statements: string[]) => {
    busy = true;
    running = (async () => {
      for (const sql of statements) await db.exec(sql);
    })().finally(() => {
      busy = false;
    });
  };
  return {
    after(done: number) {
      if (db.kind !== 'postgres' || busy) return;
      if (done >= nextAnalyze) {
        nextAnalyze = Math.ceil(done * 1.5);
        start('VACUUM (ANALYZE) visits, leases, numbers, calls', 'ANALYZE page_views');
      } else if (done % 10_000 === 0) start('VACUUM numbers');
    },
    settled: () => running,
  };
}

/** The product's own pool recommendation (99% of visits served) from the lease history of the whole run. */
async function recommendedPoolSize(
  app: FastifyInstance,
  setup: Setup,
  spanMs: number,
): Promise<number | null> {
  const days = Math.min(90, Math.max(1, Math.ceil(spanMs / 86_400_000)));
  const res = await app.inject({
    method: 'GET',
    url: `/api/v1/sites/${setup.siteId}/sizing?days=${days}&target=0.99`,
    headers: { authorization: `Bearer ${setup.apiKey}` },
  });
  if (res.statusCode !== 200) throw new Error(`simulate: sizing answered ${res.statusCode}: ${res.body}`);
  const pools = (res.json() as { pools: Array<{ recommended: number }> }).pools;
  return pools[0]?.recommended ?? null;
}

interface Setup {
  accountId: string;
  apiKey: string;
  siteId: string;
  siteKey: string;
  integration: { id: string; secret: string };
}

/** The site, its pool and a generic telephony integration, created through the REST API like a customer would. */
async function setupSite(
  app: FastifyInstance,
  db: Db,
  clock: ManualClock,
  s: {
    freezeMinutes: number;
    lateGraceMinutes: number;
    pool: number;
    numberSelection: 'lru' | 'random';
    visitorStickiness: boolean;
    exhaustionPolicy: 'default' | 'share';
    leaseOn: 'load' | 'visible';
  },
): Promise<Setup> {
  const accountId = await createAccount(db, clock, 'Simulation');
  const { key } = await createApiKey(db, clock, accountId, 'simulator');
  const api = async <T>(url: string, body: unknown): Promise<T> => {
    const res = await app.inject({
      method: 'POST',
      url,
      headers: { authorization: `Bearer ${key}` },
      payload: body as object,
    });
    if (res.statusCode >= 300)
      throw new Error(`simulate: POST ${url} answered ${res.statusCode}: ${res.body}`);
    return res.json() as T;
  };
  const site = await api<{ id: string; siteKey: string }>('/api/v1/sites', {
    name: 'Simulated site',
    domains: [DOMAIN],
    defaultNumber: DEFAULT_NUMBER,
    replaceNumbers: [DEFAULT_NUMBER],
    freezeMinutes: s.freezeMinutes,
    lateGraceMinutes: s.lateGraceMinutes,
    dynamicChannels: ['paid_search', 'paid_social', 'display'],
    exhaustionPolicy: s.exhaustionPolicy,
    numberSelection: s.numberSelection,
    visitorStickiness: s.visitorStickiness,
    leaseOn: s.leaseOn,
  });
  for (let i = 0; i < s.pool; i++) {
    await api(`/api/v1/sites/${site.id}/numbers`, { number: poolNumber(i), kind: 'pool' });
  }
  const integration = await api<{ id: string; secret: string }>('/api/v1/integrations', {
    kind: 'generic',
    name: 'Simulated PBX',
  });
  return { accountId, apiKey: key, siteId: site.id, siteKey: site.siteKey, integration };
}

function pageUrl(v: TraceVisit, page: number): string {
  if (page > 0) return `https://${DOMAIN}/p/${page}`;
  return v.channel === 'paid'
    ? `https://${DOMAIN}/?utm_source=yandex&utm_medium=cpc&utm_campaign=sim`
    : `https://${DOMAIN}/`;
}

function pageReferrer(v: TraceVisit, page: number): string | null {
  if (page > 0) return `https://${DOMAIN}/`;
  return v.channel === 'direct' ? null : 'https://yandex.ru/';
}

/** The call as a PBX reports it: one signed batch (started, answered, ended) at the moment it starts. */
async function postCall(
  app: FastifyInstance,
  integration: { id: string; secret: string },
  call: TraceCall,
  to: string,
): Promise<void> {
  const callId = `sim-call-${call.index}`;
  const events = wholeCallEvents({
    callId,
    from: call.caller,
    to,
    at: call.at,
    answered: call.answered,
    // An answered call rings 5 s; an unanswered one rings 20 s before the caller gives up.
    waitSeconds: call.answered ? 5 : 20,
    talkSeconds: call.talkSeconds,
  });
  const raw = JSON.stringify(events);
  const res = await app.inject({
    method: 'POST',
    url: `/hooks/generic/${integration.id}`,
    headers: {
      'content-type': 'application/json',
      'x-ringtrace-signature': signBody(integration.secret, raw),
    },
    payload: raw,
  });
  if (res.statusCode !== 200) throw new Error(`simulate: webhook answered ${res.statusCode}: ${res.body}`);
}

const CALIBRATION_BUCKETS: ReadonlyArray<readonly [string, number, number]> = [
  ['1', 1, Number.POSITIVE_INFINITY],
  ['0.9–1', 0.9, 1],
  ['0.7–0.9', 0.7, 0.9],
  ['0.5–0.7', 0.5, 0.7],
  ['0.2–0.5', 0.2, 0.5],
  ['0–0.2', 0, 0.2],
];

async function measure(
  db: Db,
  setup: Setup,
  trace: Trace,
  serverVisit: ReadonlyArray<string | null>,
  freezeMinutes: number,
) {
  const rows = await db.query<{
    provider_call_id: string;
    visit_id: string | null;
    method: string;
    confidence: number;
  }>('SELECT provider_call_id, visit_id, method, confidence FROM calls WHERE account_id = $1', [
    setup.accountId,
  ]);
  const byCall = new Map(rows.map((r) => [r.provider_call_id, r]));
  const visitIndex = new Map<string, number>();
  serverVisit.forEach((id, i) => {
    if (id) visitIndex.set(id, i);
  });
  const freezeMs = freezeMinutes * 60_000;
  const tally = (map: Record<string, Tally>, key: string, ok: boolean) => {
    const t = map[key] ?? { count: 0, correct: 0 };
    map[key] = t;
    t.count++;
    if (ok) t.correct++;
  };
  const byMethod: Record<string, Tally> = {};
  const byTiming: Record<CallTiming | 'repeat', Tally> = {} as never;
  const buckets = CALIBRATION_BUCKETS.map(([bucket]) => ({ bucket, count: 0, correct: 0 }));
  let calls = 0;
  let callsInFreeze = 0;
  let correctInFreeze = 0;
  let correct = 0;
  let wrong = 0;
  let unattributed = 0;
  let sameVisitor = 0;
  let untrackedCalls = 0;
  for (const call of trace.calls) {
    const truth = trace.visits[call.visit];
    if (!needsPoolNumber(truth)) {
      untrackedCalls++;
      continue;
    }
    const row = byCall.get(`sim-call-${call.index}`);
    if (!row) throw new Error(`simulate: call ${call.index} was not recorded`);
    calls++;
    const attributed = row.visit_id ? visitIndex.get(row.visit_id) : undefined;
    const ok = attributed === call.visit;
    const inFreeze = call.at >= truth.start && call.at <= truth.end + freezeMs;
    if (ok) correct++;
    else if (attributed === undefined) unattributed++;
    else {
      wrong++;
      if (trace.visits[attributed].visitor === truth.visitor) sameVisitor++;
    }
    if (inFreeze) {
      callsInFreeze++;
      if (ok) correctInFreeze++;
    }
    tally(byMethod, row.method, ok);
    tally(byTiming, call.timing, ok);
    const i = CALIBRATION_BUCKETS.findIndex(([, lo, hi]) => row.confidence >= lo && row.confidence < hi);
    buckets[i].count++;
    if (ok) buckets[i].correct++;
  }
  const [ex] = await db.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM pool_exhaustions WHERE account_id = $1 AND site_id = $2',
    [setup.accountId, setup.siteId],
  );
  const leases = await db.query<{ number_id: string; started_at: Date; held_until: Date }>(
    'SELECT number_id, started_at, held_until FROM leases WHERE account_id = $1 AND site_id = $2',
    [setup.accountId, setup.siteId],
  );
  const peakHeld = peakHeldNumbers(
    leases.map((l) => ({
      numberId: l.number_id,
      start: l.started_at.getTime(),
      end: l.held_until.getTime(),
    })),
  ).peak;
  return {
    calls,
    callsInFreeze,
    correctInFreeze,
    accuracyInFreeze: ratio(correctInFreeze, callsInFreeze),
    correct,
    accuracyAll: ratio(correct, calls),
    wrong,
    unattributed,
    sameVisitor,
    untrackedCalls,
    byMethod,
    byTiming,
    calibration: buckets.map((b) => ({ ...b, share: b.count ? round(b.correct / b.count, 4) : null })),
    exhaustions: ex.n,
    peakHeld,
  };
}

function ratio(a: number, b: number): number | null {
  return b === 0 ? null : round(a / b, 4);
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
