// `ringtrace simulate`: generate a seeded trace, replay it through the real code path on a fresh database,
// print the measured accuracy (one JSON object with --json).

import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { type Db, openDb } from '../db/db.js';
import { migrate } from '../db/migrate.js';
import {
  activeEnd,
  callTimingOf,
  type Demand,
  type ExhaustionPolicy,
  sizePool,
} from '../pool-sizing/model.js';
import {
  minPoolOf,
  type Policy,
  policyTechniques,
  runSimulation,
  type SimulationResult,
  TECHNIQUES,
  type Technique,
} from './run.js';
import { generateTrace, type Trace } from './traffic.js';

export const simulateUsage = `usage: ringtrace simulate [--days D] [--visitors-per-day V] [--freeze-min F]
  [--pool N|min|0.5min|0.75min|1.1min|1.5min|ctm|utmstat|callmatrix|seed10] [--policy naive|smart]
  [--techniques all|none|t1,t2,…] [--exhaustion default|share] [--matrix] [--concurrency C] [--window-ms W]
  [--keep-alive-min K] [--call-share C] [--seed S] [--json] [--sizes]

Generates D days of V visits a day (seeded), replays them through the real widget and webhook code on a
fresh in-memory PGlite database (or a new schema of DATABASE_URL, dropped afterwards) and prints how many
calls were attributed to the visit that truly caused them. --pool min is the theoretical minimum pool
(peak numbers held at once under the baseline lease policy); ctm = paid visits per day / 20, utmstat =
visits per day / 100 + 1, callmatrix = paid visits of the busiest hour / 4, seed10 = 10% of the paid
visits of the busiest day (market rules of thumb). Techniques: ${TECHNIQUES.join(', ')} (default: the
policy's). --matrix replays the same trace with all techniques, each one switched off, and none, and prints
a table. --concurrency (PostgreSQL only, default 8) runs actions of different visitors less than
--window-ms (default 5000) apart at once. --sizes prints the pool sizes of the trace (minimum, rules of
thumb, the sizing model's pools for 99% of visits served and for 99% of in-freeze calls right, with
sharing and with the default number, over the trace's holds) without replaying it. --keep-alive-min (default 5,
at most 5) is the longest silence of an open page in the trace: 0.5 replays the widget's real 30 s beats.
--call-share (default 0.04) is the share of human visits that call: more calls measure accuracy more finely
on the same visits.`;

export class SimulateUsageError extends Error {}

export interface SimulateArgs {
  days: number;
  visitorsPerDay: number;
  freezeMinutes: number;
  pool: string;
  policy: Policy;
  /** null: the policy's. */
  techniques: Technique[] | null;
  exhaustion?: 'default' | 'share';
  matrix: boolean;
  sizes: boolean;
  keepAliveMinutes: number;
  /** Share of human visits that call (traffic `callShare`); the visits are the same whatever it is. */
  callShare: number;
  concurrency: number;
  windowMs: number;
  seed: number;
  json: boolean;
}

export function parseSimulateArgs(args: string[]): SimulateArgs {
  const { values } = parseArgs({
    args,
    options: {
      days: { type: 'string', default: '1' },
      'visitors-per-day': { type: 'string', default: '2000' },
      'freeze-min': { type: 'string', default: '15' },
      pool: { type: 'string', default: 'min' },
      policy: { type: 'string', default: 'smart' },
      exhaustion: { type: 'string' },
      techniques: { type: 'string' },
      matrix: { type: 'boolean', default: false },
      sizes: { type: 'boolean', default: false },
      'keep-alive-min': { type: 'string', default: '5' },
      'call-share': { type: 'string', default: '0.04' },
      concurrency: { type: 'string', default: '8' },
      'window-ms': { type: 'string', default: '5000' },
      seed: { type: 'string', default: '1' },
      json: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const num = (name: string, value: string, min: number, max: number) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < min || n > max)
      throw new SimulateUsageError(
        `--${name}: ${value} is not a number in ${min}..${max}\n\n${simulateUsage}`,
      );
    return n;
  };
  const policy = values.policy;
  if (policy !== 'naive' && policy !== 'smart')
    throw new SimulateUsageError(`--policy: ${policy} is not naive or smart\n\n${simulateUsage}`);
  const exhaustion = values.exhaustion;
  if (exhaustion !== undefined && exhaustion !== 'default' && exhaustion !== 'share')
    throw new SimulateUsageError(`--exhaustion: ${exhaustion} is not default or share\n\n${simulateUsage}`);
  if (!/^(\d+|(\d+(\.\d+)?)?min|ctm|utmstat|callmatrix|seed10)$/.test(values.pool))
    throw new SimulateUsageError(
      `--pool: ${values.pool} is not N, min, <factor>min, ctm, utmstat, callmatrix or seed10\n\n${simulateUsage}`,
    );
  return {
    days: num('days', values.days, 1 / 24, 366),
    visitorsPerDay: num('visitors-per-day', values['visitors-per-day'], 0, 10_000_000),
    freezeMinutes: Math.round(num('freeze-min', values['freeze-min'], 5, 30)),
    pool: values.pool,
    policy,
    techniques: values.techniques === undefined ? null : parseTechniques(values.techniques),
    exhaustion,
    matrix: values.matrix,
    sizes: values.sizes,
    keepAliveMinutes: num('keep-alive-min', values['keep-alive-min'], 0.25, 5),
    callShare: num('call-share', values['call-share'], 0, 1),
    concurrency: Math.floor(num('concurrency', values.concurrency, 1, 64)),
    windowMs: num('window-ms', values['window-ms'], 0, 3_600_000),
    seed: Math.floor(num('seed', values.seed, 0, 2 ** 32 - 1)),
    json: values.json,
  };
}

function parseTechniques(list: string): Technique[] {
  if (list === 'all') return [...TECHNIQUES];
  if (list === 'none') return [];
  const names = list.split(',').map((t) => t.trim());
  for (const name of names)
    if (!(TECHNIQUES as readonly string[]).includes(name))
      throw new SimulateUsageError(
        `--techniques: ${name} is not one of all, none, ${TECHNIQUES.join(', ')}\n\n${simulateUsage}`,
      );
  return names as Technique[];
}

/** What the rules of thumb are computed from. */
export interface TrafficStats {
  /** Average visits per day, bots included. */
  visits: number;
  /** Average paid human visits per day. */
  paidVisits: number;
  /** Paid human visits starting in the busiest clock hour. */
  peakHourPaidVisits: number;
  /** Paid human visits of the busiest day. */
  peakDayPaidVisits: number;
}

export function trafficStats(trace: Trace, days: number): TrafficStats {
  const paid = trace.visits.filter((v) => v.channel === 'paid' && !v.bot);
  const busiest = (bucketMs: number) => {
    const counts = new Map<number, number>();
    for (const v of paid) {
      const k = Math.floor((v.start - trace.start) / bucketMs);
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
    return Math.max(0, ...counts.values());
  };
  return {
    visits: trace.visits.length / days,
    paidVisits: paid.length / days,
    peakHourPaidVisits: busiest(3_600_000),
    peakDayPaidVisits: busiest(86_400_000),
  };
}

/** Resolves --pool against the trace: a number, a multiple of the minimum, or a rule of thumb. */
export function resolvePool(spec: string, minPool: number, stats: TrafficStats): number {
  if (/^\d+$/.test(spec)) return Number(spec);
  if (spec === 'ctm') return Math.ceil(stats.paidVisits / 20);
  if (spec === 'utmstat') return Math.ceil(stats.visits / 100) + 1;
  if (spec === 'callmatrix') return Math.ceil(stats.peakHourPaidVisits / 4);
  if (spec === 'seed10') return Math.ceil(stats.peakDayPaidVisits / 10);
  const factor = spec === 'min' ? 1 : Number(spec.slice(0, -3));
  return Math.max(0, Math.round(factor * minPool));
}

/**
 * The demand the product's sizing model would read if the recorded leases were exactly the trace's paid,
 * human visits (leave or last heartbeat + 60 s, plus the freeze; no stickiness hand-overs), and the trace's
 * calls in those holds counted as the product counts its single-holder calls (on the page vs frozen).
 */
export function traceDemands(trace: Trace, freezeMinutes: number) {
  const demandOf = new Map<number, Demand>();
  for (const v of trace.visits)
    if (v.channel === 'paid' && !v.bot)
      demandOf.set(v.index, { start: v.start, activeEnd: activeEnd(v.end, v.leaveBeacon ? v.end : null) });
  const calls = { active: 0, frozen: 0 };
  for (const c of trace.calls) {
    const d = demandOf.get(c.visit);
    if (!d || c.at < d.start) continue;
    if (c.at < d.activeEnd) calls.active++;
    else if (c.at < d.activeEnd + freezeMinutes * 60_000) calls.frozen++;
  }
  return { demands: [...demandOf.values()], calls };
}

/**
 * The pool sizes of a trace without replaying it: the theoretical minimum, the rules of thumb, and what
 * the product's sizing model asks for when the recorded leases are exactly the trace's visits (leave or last
 * heartbeat + 60 s, plus the freeze; no stickiness hand-overs): `modelNeeded99`, 99% of visits served;
 * `modelCalls99Share` / `modelCalls99Default`, 99% of in-freeze calls right with overflow sharing / the
 * default number, with the share of calls made on the page counted from the trace's calls in their holds
 * as the product counts its single-holder calls (`duringVisitShare`).
 */
export function traceSizes(trace: Trace, days: number, freezeMinutes: number) {
  const stats = trafficStats(trace, days);
  const minPool = minPoolOf(trace, freezeMinutes).peak;
  const { demands, calls } = traceDemands(trace, freezeMinutes);
  const sized = (exhaustionPolicy: ExhaustionPolicy) =>
    sizePool({
      demands,
      poolSize: 0,
      freezeMinutes,
      exhaustionPolicy,
      callTiming: callTimingOf(calls),
      target: 0.99,
      freezes: [],
    });
  const share = sized('share');
  return {
    visits: trace.visits.length,
    paidVisits: demands.length,
    freezeMin: freezeMinutes,
    minPool,
    modelNeeded99: share.recommendedServed,
    modelCalls99Share: share.recommended,
    modelCalls99Default: sized('default').recommended,
    duringVisitShare: Math.round(share.duringVisitShare * 1000) / 1000,
    ...Object.fromEntries(
      (['ctm', 'utmstat', 'callmatrix', 'seed10'] as const).map((spec) => [
        spec,
        resolvePool(spec, minPool, stats),
      ]),
    ),
  };
}

export async function simulateCommand(args: string[], databaseUrl: string | undefined): Promise<void> {
  const a = parseSimulateArgs(args);
  const began = performance.now();
  const trace = generateTrace({
    seed: a.seed,
    days: a.days,
    visitorsPerDay: a.visitorsPerDay,
    keepAliveMinutes: a.keepAliveMinutes,
    callShare: a.callShare,
  });
  if (a.sizes) {
    console.log(JSON.stringify(traceSizes(trace, a.days, a.freezeMinutes)));
    return;
  }
  const minPool = minPoolOf(trace, a.freezeMinutes).peak;
  const pool = resolvePool(a.pool, minPool, trafficStats(trace, a.days));
  const base = a.techniques ?? policyTechniques(a.policy);
  // The matrix: everything on, each technique off in turn, nothing on.
  const variants: Technique[][] = a.matrix
    ? [[...TECHNIQUES], ...TECHNIQUES.map((off) => TECHNIQUES.filter((t) => t !== off)), []]
    : [base];
  const results: SimulationResult[] = [];
  for (const techniques of variants) {
    const result = await runOnFreshDb(databaseUrl, a.concurrency, (db) =>
      runSimulation({
        db,
        trace,
        freezeMinutes: a.freezeMinutes,
        pool,
        policy: a.policy,
        techniques,
        exhaustion: a.exhaustion,
        concurrency: a.concurrency,
        windowMs: a.windowMs,
        onProgress: a.json
          ? undefined
          : (done, total) => process.stderr.write(`\r${done} / ${total} actions`),
      }),
    );
    if (!a.json) process.stderr.write('\n');
    const out = {
      days: a.days,
      visitorsPerDay: a.visitorsPerDay,
      seed: a.seed,
      poolSpec: a.pool,
      db: databaseUrl ? ('postgres' as const) : ('pglite' as const),
      ...result,
      seconds: a.matrix ? result.seconds : Math.round((performance.now() - began) / 10) / 100,
      replaySeconds: result.seconds,
    };
    results.push(out);
    if (a.json) console.log(JSON.stringify(out));
    else if (!a.matrix) printSummary(out);
  }
  if (a.matrix && !a.json) printMatrix(results);
}

async function runOnFreshDb<T>(
  databaseUrl: string | undefined,
  concurrency: number,
  fn: (db: Db) => Promise<T>,
): Promise<T> {
  const schema = databaseUrl ? `sim_${randomBytes(6).toString('hex')}` : undefined;
  const db: Db = await openDb(
    databaseUrl
      ? // A throwaway schema: commits need not wait for the disk.
        { url: databaseUrl, schema, poolSize: Math.max(10, concurrency + 2), asyncCommit: true }
      : {},
  );
  try {
    await migrate(db);
    return await fn(db);
  } finally {
    if (schema) await db.exec(`DROP SCHEMA ${schema} CASCADE`).catch(() => {});
    await db.close();
  }
}

/** The technique matrix as a Markdown table, each row against the all-on row. */
export function matrixTable(results: readonly SimulationResult[]): string {
  const pct = (x: number | null) => (x === null ? '—' : `${(x * 100).toFixed(2)}%`);
  const all = results[0];
  const label = (r: SimulationResult) => {
    if (r.techniques.length === TECHNIQUES.length) return 'all techniques';
    if (r.techniques.length === 0) return 'none';
    const off = TECHNIQUES.filter((t) => !r.techniques.includes(t));
    return `all but ${off.join(', ')}`;
  };
  const delta = (x: number | null, y: number | null) =>
    x === null || y === null ? '—' : `${((x - y) * 100).toFixed(2)} pp`;
  return [
    '| techniques | right in freeze | accuracyInFreeze | Δ vs all | accuracyAll | Δ vs all | wrong | unattributed | exhaustions | seconds |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...results.map(
      (r) =>
        `| ${label(r)} | ${r.correctInFreeze}/${r.callsInFreeze} | ${pct(r.accuracyInFreeze)} | ${delta(r.accuracyInFreeze, all.accuracyInFreeze)} | ${pct(r.accuracyAll)} | ${delta(r.accuracyAll, all.accuracyAll)} | ${r.wrong} | ${r.unattributed} | ${r.exhaustions} | ${r.seconds} |`,
    ),
  ].join('\n');
}

function printMatrix(results: readonly SimulationResult[]): void {
  const r = results[0];
  console.log(
    `pool ${r.pool} (minimum ${r.minPool}), freeze ${r.freezeMin} min, ${r.visits} visits, ${r.calls} calls`,
  );
  console.log(matrixTable(results));
}

function printSummary(r: Awaited<ReturnType<typeof runSimulation>> & Record<string, unknown>): void {
  const pct = (x: number | null) => (x === null ? '—' : `${(x * 100).toFixed(2)}%`);
  console.log(
    [
      `policy ${r.policy} (exhaustion: ${r.exhaustionPolicy}), freeze ${r.freezeMin} min, pool ${r.pool} (minimum ${r.minPool})`,
      `visits ${r.visits} (paid ${r.paidVisits}), actions ${r.actions}, ${r.seconds} s`,
      `calls ${r.calls}: in freeze ${r.callsInFreeze}, right ${r.correctInFreeze} (${pct(r.accuracyInFreeze)}); all right ${r.correct} (${pct(r.accuracyAll)}), wrong ${r.wrong}, unattributed ${r.unattributed}`,
      `techniques: ${r.techniques.join(', ') || 'none'}`,
      `exhaustions ${r.exhaustions}, peak held ${r.peakHeld}, recommended pool ${r.recommendedPool}`,
      `${r.actionsPerSecond} actions/s (concurrency ${r.concurrency})`,
      `by method: ${Object.entries(r.byMethod)
        .map(([m, t]) => `${m} ${t.correct}/${t.count}`)
        .join(', ')}`,
      `by timing: ${Object.entries(r.byTiming)
        .map(([m, t]) => `${m} ${t.correct}/${t.count}`)
        .join(', ')}`,
    ].join('\n'),
  );
}
