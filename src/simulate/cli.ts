// `ringtrace simulate`: generate a seeded trace, replay it through the real code path on a fresh database,
// print the measured accuracy (one JSON object with --json).

import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { type Db, openDb } from '../db/db.js';
import { migrate } from '../db/migrate.js';
import { minPoolOf, type Policy, runSimulation } from './run.js';
import { generateTrace } from './traffic.js';

export const simulateUsage = `usage: ringtrace simulate [--days D] [--visitors-per-day V] [--freeze-min F]
  [--pool N|min|0.5min|0.75min|1.1min|1.5min|ctm|utmstat] [--policy naive|smart] [--exhaustion default|share]
  [--seed S] [--json]

Generates D days of V visits a day (seeded), replays them through the real widget and webhook code on a
fresh in-memory PGlite database (or a new schema of DATABASE_URL, dropped afterwards) and prints how many
calls were attributed to the visit that truly caused them. --pool min is the theoretical minimum pool
(peak numbers held at once under the baseline lease policy); ctm = paid visits per day / 20, utmstat =
visits per day / 100 + 1 (market rules of thumb).`;

export class SimulateUsageError extends Error {}

export interface SimulateArgs {
  days: number;
  visitorsPerDay: number;
  freezeMinutes: number;
  pool: string;
  policy: Policy;
  exhaustion?: 'default' | 'share';
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
  if (!/^(\d+|(\d+(\.\d+)?)?min|ctm|utmstat)$/.test(values.pool))
    throw new SimulateUsageError(
      `--pool: ${values.pool} is not N, min, <factor>min, ctm or utmstat\n\n${simulateUsage}`,
    );
  return {
    days: num('days', values.days, 1 / 24, 366),
    visitorsPerDay: num('visitors-per-day', values['visitors-per-day'], 0, 10_000_000),
    freezeMinutes: Math.round(num('freeze-min', values['freeze-min'], 5, 30)),
    pool: values.pool,
    policy,
    exhaustion,
    seed: Math.floor(num('seed', values.seed, 0, 2 ** 32 - 1)),
    json: values.json,
  };
}

/** Resolves --pool against the trace: a number, a multiple of the minimum, or a rule of thumb. */
export function resolvePool(
  spec: string,
  minPool: number,
  perDay: { visits: number; paidVisits: number },
): number {
  if (/^\d+$/.test(spec)) return Number(spec);
  if (spec === 'ctm') return Math.ceil(perDay.paidVisits / 20);
  if (spec === 'utmstat') return Math.ceil(perDay.visits / 100) + 1;
  const factor = spec === 'min' ? 1 : Number(spec.slice(0, -3));
  return Math.max(0, Math.round(factor * minPool));
}

export async function simulateCommand(args: string[], databaseUrl: string | undefined): Promise<void> {
  const a = parseSimulateArgs(args);
  const began = performance.now();
  const trace = generateTrace({ seed: a.seed, days: a.days, visitorsPerDay: a.visitorsPerDay });
  const minPool = minPoolOf(trace, a.freezeMinutes).peak;
  const paid = trace.visits.filter((v) => v.channel === 'paid' && !v.bot).length;
  const pool = resolvePool(a.pool, minPool, {
    visits: trace.visits.length / a.days,
    paidVisits: paid / a.days,
  });
  const schema = databaseUrl ? `sim_${randomBytes(6).toString('hex')}` : undefined;
  const db: Db = await openDb(databaseUrl ? { url: databaseUrl, schema } : {});
  try {
    await migrate(db);
    const result = await runSimulation({
      db,
      trace,
      freezeMinutes: a.freezeMinutes,
      pool,
      policy: a.policy,
      exhaustion: a.exhaustion,
      onProgress: a.json ? undefined : (done, total) => process.stderr.write(`\r${done} / ${total} actions`),
    });
    if (!a.json) process.stderr.write('\n');
    const out = {
      days: a.days,
      visitorsPerDay: a.visitorsPerDay,
      seed: a.seed,
      poolSpec: a.pool,
      db: db.kind,
      ...result,
      seconds: Math.round((performance.now() - began) / 10) / 100,
      replaySeconds: result.seconds,
    };
    if (a.json) console.log(JSON.stringify(out));
    else printSummary(out);
  } finally {
    if (schema) await db.exec(`DROP SCHEMA ${schema} CASCADE`).catch(() => {});
    await db.close();
  }
}

function printSummary(r: Awaited<ReturnType<typeof runSimulation>> & Record<string, unknown>): void {
  const pct = (x: number | null) => (x === null ? '—' : `${(x * 100).toFixed(2)}%`);
  console.log(
    [
      `policy ${r.policy} (exhaustion: ${r.exhaustionPolicy}), freeze ${r.freezeMin} min, pool ${r.pool} (minimum ${r.minPool})`,
      `visits ${r.visits} (paid ${r.paidVisits}), actions ${r.actions}, ${r.seconds} s`,
      `calls ${r.calls}: in freeze ${r.callsInFreeze}, right ${r.correctInFreeze} (${pct(r.accuracyInFreeze)}); all right ${r.correct} (${pct(r.accuracyAll)}), wrong ${r.wrong}, unattributed ${r.unattributed}`,
      `exhaustions ${r.exhaustions}, peak held ${r.peakHeld}`,
      `by method: ${Object.entries(r.byMethod)
        .map(([m, t]) => `${m} ${t.correct}/${t.count}`)
        .join(', ')}`,
      `by timing: ${Object.entries(r.byTiming)
        .map(([m, t]) => `${m} ${t.correct}/${t.count}`)
        .join(', ')}`,
    ].join('\n'),
  );
}
