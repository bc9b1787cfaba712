// Ground-truth traffic for the number pool simulator (issue 3, item 1). Pure and seeded: the same parameters
// give the same trace. A trace is what people do (page loads, leaving, calls) and, for every call, the visit
// that truly caused it; what the product makes of it is measured by run.ts. docs/simulator.md explains every
// parameter.

import { mixSeed, Rng, weightedTimeSampler } from './rng.js';

export type TraceChannel = 'paid' | 'organic' | 'direct';
/** When a call happens relative to the visit that caused it. */
export type CallTiming = 'during' | 'soon' | 'quarter' | 'hours' | 'days';

export interface TrafficParams {
  /** Same seed, same trace. */
  seed: number;
  /** The first simulated day starts at this instant's local midnight (ISO date or date-time, UTC if no zone). */
  start: string;
  days: number;
  /** Average visits (sessions) per day, bots included; spread over the days by `weekly`. */
  visitorsPerDay: number;
  /** The site's local time, for the daily and weekly profiles. Default +180: Moscow (UTC+3 all year). */
  utcOffsetMinutes: number;
  /**
   * Relative traffic by local hour, 0–23. Default: the demo's profile (quiet at night, busy 10:00–22:00),
   * the usual shape of Russian B2C web traffic; an assumption, not a measurement.
   */
  hourly: readonly number[];
  /** Relative traffic by local weekday, Monday first. Default: weekdays even, weekend 15% lower (assumption). */
  weekly: readonly number[];
  /**
   * Visit duration: lognormal (heavy right tail), first page load to leaving. Median 60 s, sigma 1.4 gives a
   * mean of about 2.7 min and 1 visit in 8 longer than 5 min, in line with the 2–3 min average session that
   * web analytics commonly report (assumption).
   */
  durationMedianSeconds: number;
  durationSigma: number;
  /** Visits longer than this are cut (a tab left open is ended by the visit timeout anyway). */
  maxDurationMinutes: number;
  /** Mean page loads per visit (1 + geometric). Default 3: a typical "pages per visit" of a shop. */
  pagesPerVisit: number;
  /**
   * Channel mix of human visits. Only `paid` visits get pool numbers (the site's dynamic channels); organic
   * and direct visitors see the default number. Default 45/35/20: a site that buys ads (why it tracks calls);
   * the demo's mix is close to it.
   */
  channelMix: Readonly<Record<TraceChannel, number>>;
  /**
   * Share of human visits made by a visitor who came before (same cookie, new visit at least
   * `visitTimeoutMinutes` after its previous one ended). The returning visitor is drawn uniformly from the
   * earlier visitors. Default 0.2 (web analytics commonly report 15–30% returning; assumption).
   */
  returningShare: number;
  /** A visit that starts this long after the visitor's previous visit ended is a new visit (30 min). */
  visitTimeoutMinutes: number;
  /**
   * Share of visits made by crawlers that announce themselves (bot user agent). Default 0.05, as the demo.
   * Disguised bots are not modelled yet.
   */
  botShare: number;
  /**
   * Share of visits whose leave beacon (pagehide) reaches the server; the others just stop heartbeating, so
   * the server holds their number 60 s longer. Default 0.9: sendBeacon is reliable on desktop, lost when a
   * mobile browser is killed in the background (assumption).
   */
  leaveBeaconShare: number;
  /**
   * Share of human visits that lead to a call (first call). Default 0.04: 2–5% of visits call for service
   * businesses is the common range; the demo uses 3–9% by channel (assumption).
   */
  callShare: number;
  /**
   * When the visit's call happens (weights). `during`: while on the page; `soon`: shortly after leaving
   * (exponential, mean `soonMeanMinutes`); `quarter`: 15–20 min after leaving (the seed article's real
   * estate and medicine case: people talk it over, then call); `hours`: hours later (lognormal, median
   * `hoursMedian`); `days`: 1–`daysMax` days later. No vendor publishes this distribution (market.md b: the
   * CoMagic study "10 minutes, 2 hours or a week?" is not retrievable); default 50/20/10/12/8 is an
   * assumption that puts 70–80% of calls inside a 15-minute freeze. Run with other weights to see the effect.
   */
  callTiming: Readonly<Record<CallTiming, number>>;
  soonMeanMinutes: number;
  hoursMedian: number;
  daysMax: number;
  /** Share of answered calls (a missed caller often calls back soon). Default 0.85. */
  answeredShare: number;
  /**
   * Share of callers who call again about the same visit, dialing the number from their call log: a missed
   * caller 2–30 min later, an answered one 1–5 days later. Default 0.15 (assumption).
   */
  repeatCallShare: number;
  /**
   * Heartbeat model: the widget beats every 30 s while the page is visible; only the beat before the longest
   * silence matters for the lease (held until last beat + 60 s + freeze), so the trace emits a ping only
   * when a visit is silent (no page load) for this long, and one just before a call made from the open page
   * (so the call sees the visit as active, as it would with 30 s beats). 5 min is the shortest freeze a
   * site may set, so the lease never lapses during a visit.
   */
  keepAliveMinutes: number;
  /**
   * When the tracked number first appears on screen, for lazy leasing (site `leaseOn: visible`): at the
   * first page load (a number in the header), after scrolling (`scroll`: lognormal from the first page load,
   * median `scrollMedianSeconds`, sigma 1; later than the visit's end means never), or `never` (the visitor
   * leaves without reaching it). A visit that calls has seen the number by its call (or by leaving, for a
   * call after it). Default load 0.5, scroll 0.3, never 0.2: an assumption (the number in the header on
   * desktop, in the footer or behind a menu on mobile); no vendor publishes this. Drawn from a stream of its
   * own, so the rest of a seed's trace is the same whatever these are.
   */
  numberVisibility: Readonly<Record<NumberVisibility, number>>;
  scrollMedianSeconds: number;
}

export type NumberVisibility = 'load' | 'scroll' | 'never';

export const DEFAULT_TRAFFIC: TrafficParams = {
  seed: 1,
  start: '2026-11-02T00:00:00+03:00',
  days: 1,
  visitorsPerDay: 2000,
  utcOffsetMinutes: 180,
  hourly: [
    0.15, 0.08, 0.05, 0.04, 0.04, 0.06, 0.15, 0.35, 0.6, 0.85, 1.0, 1.1, 1.15, 1.15, 1.1, 1.1, 1.05, 1.0, 1.0,
    1.05, 1.1, 1.0, 0.75, 0.4,
  ],
  weekly: [1, 1, 1, 1, 1, 0.85, 0.85],
  durationMedianSeconds: 60,
  durationSigma: 1.4,
  maxDurationMinutes: 180,
  pagesPerVisit: 3,
  channelMix: { paid: 0.45, organic: 0.35, direct: 0.2 },
  returningShare: 0.2,
  visitTimeoutMinutes: 30,
  botShare: 0.05,
  leaveBeaconShare: 0.9,
  callShare: 0.04,
  callTiming: { during: 0.5, soon: 0.2, quarter: 0.1, hours: 0.12, days: 0.08 },
  soonMeanMinutes: 2,
  hoursMedian: 3,
  daysMax: 7,
  answeredShare: 0.85,
  repeatCallShare: 0.15,
  keepAliveMinutes: 5,
  numberVisibility: { load: 0.5, scroll: 0.3, never: 0.2 },
  scrollMedianSeconds: 20,
};

export interface TraceVisitor {
  /** The widget's visitor cookie. */
  id: string;
  /** The phone the visitor calls from (E.164). */
  phone: string;
}

export interface TraceVisit {
  index: number;
  visitor: number;
  channel: TraceChannel;
  bot: boolean;
  /** First page load (epoch ms). */
  start: number;
  /** Leaving (epoch ms). */
  end: number;
  /** Page load times, the first one at `start`. */
  pages: number[];
  /** Whether the leave beacon reaches the server (else the visit just stops heartbeating at `end`). */
  leaveBeacon: boolean;
  /** When the number first appears on screen (lazy leasing asks for it then); null: never. */
  visibleAt: number | null;
}

export interface TraceCall {
  index: number;
  at: number;
  /** Ground truth: the visit that caused the call (whose number the caller dials). */
  visit: number;
  caller: string;
  timing: CallTiming | 'repeat';
  /** A repeat call dials the number of this earlier call. */
  repeatOf: number | null;
  answered: boolean;
  talkSeconds: number;
}

export type TraceAction =
  | { at: number; kind: 'page'; visit: number; page: number }
  | { at: number; kind: 'ping'; visit: number }
  /** The number came into view: the widget's POST /t/lease (replayed only with lazy leasing). */
  | { at: number; kind: 'lease'; visit: number }
  | { at: number; kind: 'leave'; visit: number }
  | { at: number; kind: 'call'; call: number };

export interface Trace {
  /** Start of the simulated period (epoch ms). */
  start: number;
  /** End of the simulated period (calls may come later). */
  end: number;
  visitors: TraceVisitor[];
  visits: TraceVisit[];
  calls: TraceCall[];
  /** Everything in time order. */
  actions: TraceAction[];
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

export function trafficParams(overrides: Partial<TrafficParams> = {}): TrafficParams {
  const p: TrafficParams = { ...DEFAULT_TRAFFIC, ...overrides };
  const problems: string[] = [];
  const share = (name: keyof TrafficParams) => {
    const v = p[name] as number;
    if (!(v >= 0 && v <= 1)) problems.push(`${name} must be within 0..1`);
  };
  for (const name of [
    'returningShare',
    'botShare',
    'leaveBeaconShare',
    'callShare',
    'answeredShare',
    'repeatCallShare',
  ] as const)
    share(name);
  if (!(p.days > 0)) problems.push('days must be positive');
  if (!(p.visitorsPerDay >= 0)) problems.push('visitorsPerDay must not be negative');
  if (p.hourly.length !== 24) problems.push('hourly needs 24 weights');
  if (!(p.scrollMedianSeconds > 0)) problems.push('scrollMedianSeconds must be positive');
  if (p.weekly.length !== 7) problems.push('weekly needs 7 weights');
  if (!(p.pagesPerVisit >= 1)) problems.push('pagesPerVisit must be at least 1');
  if (!(p.keepAliveMinutes > 0 && p.keepAliveMinutes <= 5))
    problems.push('keepAliveMinutes must be in (0, 5]');
  if (Number.isNaN(Date.parse(p.start))) problems.push('start must be an ISO date');
  if (problems.length) throw new Error(`traffic parameters: ${problems.join('; ')}`);
  return p;
}

/** The phone of the i-th simulated visitor: Moscow mobile ranges, unique per visitor. */
function visitorPhone(i: number): string {
  const codes = ['916', '915', '925', '926', '903', '905', '909', '977', '985', '999'];
  return `+7${codes[Math.floor(i / 10_000_000) % codes.length]}${String(i % 10_000_000).padStart(7, '0')}`;
}

/** Local midnight of the day `start` falls on, in the site's time zone. */
function localMidnight(start: string, offsetMinutes: number): number {
  const t = Date.parse(start) + offsetMinutes * MINUTE;
  return Math.floor(t / DAY) * DAY - offsetMinutes * MINUTE;
}

/** Inverse-CDF sampler of instants over [from, from + days) following the daily and weekly profile. */
function timeSampler(p: TrafficParams, from: number): (u: number) => number {
  return weightedTimeSampler(from, Math.round(p.days * 24 * 60), (t) => {
    const local = new Date(t + p.utcOffsetMinutes * MINUTE);
    const weekday = (local.getUTCDay() + 6) % 7;
    return p.hourly[local.getUTCHours()] * p.weekly[weekday];
  });
}

/** Generates a seeded trace. Each visit draws from its own random stream, derived from (seed, index). */
export function generateTrace(overrides: Partial<TrafficParams> = {}): Trace {
  const p = trafficParams(overrides);
  const start = localMidnight(p.start, p.utcOffsetMinutes);
  const end = start + Math.round(p.days * DAY);
  const when = timeSampler(p, start);
  const total = Math.round(p.days * p.visitorsPerDay);
  const timing = new Rng(mixSeed(p.seed, 0));
  const starts = Array.from({ length: total }, () => when(timing.float())).sort((a, b) => a - b);

  const visitors: TraceVisitor[] = [];
  /** Human visitors and when their latest visit ends, for drawing returning visitors. */
  const lastEnd: number[] = [];
  const humans: number[] = [];
  const visits: TraceVisit[] = [];
  const calls: TraceCall[] = [];
  const channels = Object.entries(p.channelMix) as Array<[TraceChannel, number]>;
  const timings = Object.entries(p.callTiming) as Array<[CallTiming, number]>;

  starts.forEach((at, index) => {
    const rng = new Rng(mixSeed(p.seed, index + 1));
    const bot = rng.chance(p.botShare);
    let visitor = -1;
    if (!bot && humans.length > 0 && rng.chance(p.returningShare)) {
      for (let tries = 0; tries < 5 && visitor < 0; tries++) {
        const candidate = humans[Math.floor(rng.float() * humans.length)];
        if (lastEnd[candidate] + p.visitTimeoutMinutes * MINUTE <= at) visitor = candidate;
      }
    }
    if (visitor < 0) {
      visitor = visitors.length;
      visitors.push({ id: `sim-${String(visitor).padStart(8, '0')}`, phone: visitorPhone(visitor) });
      lastEnd.push(at);
      if (!bot) humans.push(visitor);
    }
    const channel = rng.weighted(channels);
    const duration = bot
      ? rng.int(2, 30) * 1000
      : Math.min(
          p.maxDurationMinutes * MINUTE,
          Math.max(5_000, Math.round(rng.lognormal(p.durationMedianSeconds, p.durationSigma) * 1000)),
        );
    const endAt = at + duration;
    const pageCount = bot ? rng.int(1, 5) : Math.min(50, 1 + geometric(rng, p.pagesPerVisit - 1));
    const pages = [at];
    for (let i = 1; i < pageCount; i++) pages.push(at + 1 + Math.floor(rng.float() * (duration - 1)));
    pages.sort((a, b) => a - b);
    lastEnd[visitor] = Math.max(lastEnd[visitor], endAt);
    const visit: TraceVisit = {
      index,
      visitor,
      channel,
      bot,
      start: at,
      end: endAt,
      pages,
      leaveBeacon: rng.chance(p.leaveBeaconShare),
      visibleAt: null,
    };
    visits.push(visit);
    if (bot || !rng.chance(p.callShare)) return;

    const kind = rng.weighted(timings);
    const callAt = callTime(rng, p, kind, visit);
    const answered = rng.chance(p.answeredShare);
    const first: TraceCall = {
      index: calls.length,
      at: callAt,
      visit: index,
      caller: visitors[visitor].phone,
      timing: kind,
      repeatOf: null,
      answered,
      talkSeconds: answered ? Math.max(5, Math.round(rng.lognormal(90, 0.8))) : 0,
    };
    calls.push(first);
    if (!rng.chance(p.repeatCallShare)) return;
    const callEnd = callAt + (first.talkSeconds + 10) * 1000;
    const again = answered ? callEnd + rng.float() * 4 * DAY + DAY : callEnd + rng.int(2, 30) * MINUTE;
    const repeatAnswered = rng.chance(p.answeredShare);
    calls.push({
      index: calls.length,
      at: Math.round(again),
      visit: index,
      caller: first.caller,
      timing: 'repeat',
      repeatOf: first.index,
      answered: repeatAnswered,
      talkSeconds: repeatAnswered ? Math.max(5, Math.round(rng.lognormal(90, 0.8))) : 0,
    });
  });

  drawVisibility(p, visits, calls);
  return { start, end, visitors, visits, calls, actions: buildActions(visits, calls, p.keepAliveMinutes) };
}

/** Sets each visit's `visibleAt` (see `numberVisibility`), from a random stream separate from the rest. */
function drawVisibility(p: TrafficParams, visits: TraceVisit[], calls: readonly TraceCall[]): void {
  const kinds = Object.entries(p.numberVisibility) as Array<[NumberVisibility, number]>;
  for (const v of visits) {
    const rng = new Rng(mixSeed(p.seed ^ VISIBILITY_STREAM, v.index + 1));
    const kind = rng.weighted(kinds);
    const at =
      kind === 'load'
        ? v.start
        : kind === 'scroll'
          ? v.start + Math.round(rng.lognormal(p.scrollMedianSeconds, 1) * 1000)
          : Number.POSITIVE_INFINITY;
    v.visibleAt = at <= v.end ? at : null;
  }
  // A caller dialed the number, so it was on screen by the call (or by leaving, for a call after that).
  for (const c of calls) {
    if (c.repeatOf !== null) continue;
    const v = visits[c.visit];
    const seen = Math.min(c.at, v.end);
    if (v.visibleAt === null || v.visibleAt > seen) v.visibleAt = seen;
  }
}

/** Distinguishes the visibility stream from the visit streams of the same seed. */
const VISIBILITY_STREAM = 0x5f3759df;

/** Number of failures before the first success, with the given mean. */
function geometric(rng: Rng, mean: number): number {
  if (mean <= 0) return 0;
  const q = mean / (1 + mean);
  return Math.floor(Math.log(1 - rng.float()) / Math.log(q));
}

function callTime(rng: Rng, p: TrafficParams, kind: CallTiming, visit: TraceVisit): number {
  const { start, end } = visit;
  switch (kind) {
    case 'during':
      return start + Math.floor(rng.float() * (end - start));
    case 'soon':
      return end + Math.round(rng.exp(p.soonMeanMinutes * MINUTE));
    case 'quarter':
      return end + Math.round((15 + 5 * rng.float()) * MINUTE);
    case 'hours':
      return (
        end + Math.round(Math.min(24 * HOUR, Math.max(30 * MINUTE, rng.lognormal(p.hoursMedian * HOUR, 0.8))))
      );
    case 'days':
      return end + Math.round((1 + rng.float() * (p.daysMax - 1)) * DAY);
  }
}

/**
 * At equal times: page loads, then the number coming into view, pings, calls, leaving (a call at the last
 * moment is "during").
 */
const ORDER: Record<TraceAction['kind'], number> = { page: 0, lease: 1, ping: 2, call: 3, leave: 4 };

/**
 * Expands visits and calls into the time-ordered actions the runner replays: every page load, the moment
 * the number comes into view, a keep-alive
 * ping whenever a visit is silent for `keepAliveMinutes`, a ping at the moment of a call made during the
 * visit, and the leave beacon (or, when it is lost, the last heartbeat) at the end.
 */
export function buildActions(
  visits: readonly TraceVisit[],
  calls: readonly TraceCall[],
  keepAliveMinutes = DEFAULT_TRAFFIC.keepAliveMinutes,
): TraceAction[] {
  const keepAlive = keepAliveMinutes * MINUTE;
  const actions: TraceAction[] = [];
  const duringCalls = new Map<number, number[]>();
  for (const call of calls) {
    const v = visits[call.visit];
    if (call.at >= v.start && call.at <= v.end) {
      const list = duringCalls.get(v.index) ?? [];
      list.push(call.at);
      duringCalls.set(v.index, list);
    }
    actions.push({ at: call.at, kind: 'call', call: call.index });
  }
  for (const v of visits) {
    v.pages.forEach((at, page) => {
      actions.push({ at, kind: 'page', visit: v.index, page });
    });
    if (v.visibleAt !== null) actions.push({ at: v.visibleAt, kind: 'lease', visit: v.index });
    const pings = duringCalls.get(v.index) ?? [];
    for (const at of pings) actions.push({ at, kind: 'ping', visit: v.index });
    const signs = [...v.pages, ...pings, v.end].sort((a, b) => a - b);
    for (let i = 1; i < signs.length; i++) {
      for (let t = signs[i - 1] + keepAlive; t < signs[i]; t += keepAlive) {
        actions.push({ at: t, kind: 'ping', visit: v.index });
      }
    }
    actions.push(
      v.leaveBeacon
        ? { at: v.end, kind: 'leave', visit: v.index }
        : { at: v.end, kind: 'ping', visit: v.index },
    );
  }
  // Stable sort keeps insertion order among equal (time, kind).
  return actions.sort((a, b) => a.at - b.at || ORDER[a.kind] - ORDER[b.kind]);
}
