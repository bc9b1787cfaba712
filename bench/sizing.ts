/**
 * Pool sizing model speed: `sizePool` (what GET /api/v1/sites/{id}/sizing computes per pool, what-if table
 * included) on the demand of a seeded simulator trace, with sharing and with the default number.
 *
 *   npx tsx bench/sizing.ts [--days 7] [--visitors-per-day 40000] [--seed 1] [--freeze-min 15]
 *                           [--rounds 3] [--baseline GIT_REF] [--pg] [--endpoint] [--pg-url URL]
 *
 * The demand is the trace's paid visits as `simulate --sizes` builds it (`traceDemands`); the current pool
 * is the trace's peak at the freeze time. --baseline loads src/pool-sizing/model.ts (and with --pg store.ts)
 * as they were at GIT_REF (written next to the current ones for the run, then removed) and times them
 * alternately with the current ones in the same process, so both see the same machine load; it also checks
 * the two give identical results. --pg also writes the demand as lease rows (one visit and lease each, numbers assigned as a pool
 * of the peak would) into a throwaway schema on PostgreSQL at --pg-url (default DEFAULT_PG of bench/common.ts) and
 * times the endpoint's history read (`poolDemands`, `singleHolderCalls`) against the model, to split a
 * sizing call's time. --endpoint writes the same rows and times GET /api/v1/sites/{id}/sizing through the
 * app (in process, `inject`) with each exhaustion policy: computed (`fresh=true`) and served from the stored
 * result, alternately; and the model as the inventory pass ran it before it stored its results (no what-if
 * freezes) against the full model it runs now. Only ratios within one run mean much on a shared machine.
 * Results go into BENCHMARKS.md by hand.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual, parseArgs } from 'node:util';
import { createApiKey } from '../src/accounts/keys.js';
import { buildApp } from '../src/app.js';
import { ManualClock } from '../src/clock.js';
import { loadConfig } from '../src/config.js';
import { type Db, openDb } from '../src/db/db.js';
import { migrate } from '../src/db/migrate.js';
import * as current from '../src/pool-sizing/model.js';
import { poolDemands, singleHolderCalls } from '../src/pool-sizing/store.js';
import { traceDemands } from '../src/simulate/cli.js';
import { peakOverlap } from '../src/simulate/min-pool.js';
import { generateTrace } from '../src/simulate/traffic.js';
import { DEFAULT_PG, pgReachable, redact } from './common.js';

type SizePool = typeof current.sizePool;

const { values } = parseArgs({
  options: {
    days: { type: 'string', default: '7' },
    'visitors-per-day': { type: 'string', default: '40000' },
    seed: { type: 'string', default: '1' },
    'freeze-min': { type: 'string', default: '15' },
    rounds: { type: 'string', default: '3' },
    baseline: { type: 'string' },
    pg: { type: 'boolean', default: false },
    endpoint: { type: 'boolean', default: false },
    'pg-url': { type: 'string', default: DEFAULT_PG },
  },
});
const days = Number(values.days);
const visitorsPerDay = Number(values['visitors-per-day']);
const freezeMinutes = Number(values['freeze-min']);
const rounds = Number(values.rounds);

const trace = generateTrace({ seed: Number(values.seed), days, visitorsPerDay });
const { demands, calls } = traceDemands(trace, freezeMinutes);
const poolSize = peakOverlap(current.holdsAt(demands, freezeMinutes)).peak;
const timing = current.callTimingOf(calls);

type PoolDemands = typeof poolDemands;

/** Loads src/pool-sizing/<name>.ts as it was at `ref`, from a copy written beside it for the import. */
async function loadAt<T>(ref: string, name: string): Promise<T> {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const source = execFileSync('git', ['show', `${ref}:src/pool-sizing/${name}.ts`], {
    cwd: root,
    encoding: 'utf8',
  });
  const file = `${root}src/pool-sizing/${name}-baseline-${process.pid}.ts`;
  writeFileSync(file, source);
  try {
    return (await import(file)) as T;
  } finally {
    rmSync(file);
  }
}

/** Wall time, and the CPU time of this process, which other work on a shared machine disturbs less. */
function timed(sizePool: SizePool, policy: current.ExhaustionPolicy) {
  const began = performance.now();
  const cpu = process.cpuUsage();
  const result = sizePool({
    demands,
    poolSize,
    freezeMinutes,
    exhaustionPolicy: policy,
    callTiming: timing,
    target: 0.99,
  });
  const { user, system } = process.cpuUsage(cpu);
  return { ms: performance.now() - began, cpuMs: (user + system) / 1000, result };
}

const models: [string, SizePool][] = [['current', current.sizePool]];
if (values.baseline)
  models.unshift([
    `baseline ${values.baseline}`,
    (await loadAt<typeof current>(values.baseline, 'model')).sizePool,
  ]);
const baselineRead = values.baseline
  ? (await loadAt<{ poolDemands: PoolDemands }>(values.baseline, 'store')).poolDemands
  : undefined;

console.log(
  `demands ${demands.length}, pool ${poolSize}, freeze ${freezeMinutes} min, what-if freezes ${current.WHAT_IF_FREEZES.join('/')}; load ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
/** Per policy and model: the best wall and CPU times over the rounds. */
const best = new Map<string, { ms: number; cpuMs: number }>();
for (const policy of ['share', 'default'] as const) {
  for (let round = 0; round < rounds; round++) {
    // Alternate the order so neither model always runs first (warm-up, GC debt).
    const order = round % 2 === 0 ? models : [...models].reverse();
    const results = order.map(([name, sizePool]) => {
      const { ms, cpuMs, result } = timed(sizePool, policy);
      const key = `${policy}\t${name}`;
      const prior = best.get(key) ?? { ms: Number.POSITIVE_INFINITY, cpuMs: Number.POSITIVE_INFINITY };
      best.set(key, { ms: Math.min(prior.ms, ms), cpuMs: Math.min(prior.cpuMs, cpuMs) });
      console.log(
        `${policy}\t${name}\tround ${round + 1}\t${ms.toFixed(0)} ms\tcpu ${cpuMs.toFixed(0)} ms\trecommended ${result.recommended}`,
      );
      return result;
    });
    if (results.length === 2 && !isDeepStrictEqual(results[0], results[1]))
      throw new Error(`${policy}: the baseline and the current model disagree`);
  }
}
console.log('\npolicy\tmodel\tbest wall ms\tbest cpu ms');
for (const [key, { ms, cpuMs }] of best) console.log(`${key}\t${ms.toFixed(0)}\t${cpuMs.toFixed(0)}`);
console.log(
  `load after ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);

if (values.pg || values.endpoint) {
  const url = values['pg-url'];
  const version = await pgReachable(url);
  if (!version) throw new Error(`PostgreSQL not reachable at ${redact(url)}`);
  const schema = `bench_sizing_${process.pid}`;
  const db = await openDb({ url, schema, asyncCommit: true });
  try {
    await migrate(db);
    const seeded = await seed(db);
    console.log(`\nPostgreSQL ${version} (${redact(url)}), ${seeded.leases} leases`);
    if (values.pg) await historyRead(db, seeded);
    if (values.endpoint) await endpoint(db, seeded);
  } finally {
    await db.exec(`DROP SCHEMA ${schema} CASCADE`).catch(() => {});
    await db.close();
  }
}

interface Seeded {
  account: string;
  site: string;
  pool: string;
  leases: number;
  /** Just before the first demand and just after the last. */
  from: Date;
  to: Date;
}

/** The trace's demand as one site's pool of the peak, one visit and lease per demand. */
async function seed(db: Db): Promise<Seeded> {
  const [account, site, pool] = [randomUUID(), randomUUID(), randomUUID()];
  const t0 = new Date(Math.min(...demands.map((d) => d.start)));
  await db.query('INSERT INTO accounts (id, name) VALUES ($1, $2)', [account, 'bench']);
  await db.query(
    'INSERT INTO sites (account_id, id, name, site_key, freeze_minutes, created_at) VALUES ($1,$2,$3,$4,$5,$6)',
    [account, site, 'bench', `bench-${process.pid}`, freezeMinutes, t0],
  );
  await db.query('INSERT INTO pools (account_id, id, site_id, name, created_at) VALUES ($1,$2,$3,$4,$5)', [
    account,
    pool,
    site,
    'Home',
    t0,
  ]);
  const numbers = Array.from({ length: poolSize }, () => randomUUID());
  await db.query(
    `INSERT INTO numbers (account_id, id, site_id, e164, kind, pool_id, created_at)
     SELECT $1, id, $2, '+7495' || lpad(i::text, 7, '0'), 'pool', $3, $4 FROM unnest($5::uuid[]) WITH ORDINALITY AS n(id, i)`,
    [account, site, pool, t0, numbers],
  );
  // Numbers as a pool of the peak hands them out: each hold takes one whose previous hold has ended.
  const freeze = freezeMinutes * 60_000;
  const order = demands.map((_, i) => i).sort((a, b) => demands[a].start - demands[b].start);
  const freesAt = new Float64Array(poolSize);
  const rows = order.map((i) => {
    const d = demands[i];
    const n = freesAt.findIndex((t) => t <= d.start);
    freesAt[n] = d.activeEnd + freeze;
    return { number: numbers[n], ...d };
  });
  for (let from = 0; from < rows.length; from += 20_000) {
    const chunk = rows.slice(from, from + 20_000);
    const visits = chunk.map(() => randomUUID());
    const iso = (t: number) => new Date(t).toISOString();
    await db.query(
      `INSERT INTO visits (account_id, id, site_id, visitor_id, started_at, last_seen_at, left_at, channel, landing_url, number_method)
       SELECT $1, v, $2, v::text, s, e, e, 'paid', 'https://bench.example/', 'dynamic' FROM unnest($3::uuid[], $4::timestamptz[], $5::timestamptz[]) AS x(v, s, e)`,
      [account, site, visits, chunk.map((r) => iso(r.start)), chunk.map((r) => iso(r.activeEnd))],
    );
    await db.query(
      `INSERT INTO leases (account_id, id, site_id, number_id, visit_id, visitor_id, started_at, last_seen_at, left_at, held_until)
       SELECT $1, gen_random_uuid(), $2, n, v, v::text, s, e, e, e + $6::interval
         FROM unnest($3::uuid[], $4::uuid[], $5::timestamptz[], $7::timestamptz[]) AS x(n, v, s, e)`,
      [
        account,
        site,
        chunk.map((r) => r.number),
        visits,
        chunk.map((r) => iso(r.start)),
        `${freezeMinutes} minutes`,
        chunk.map((r) => iso(r.activeEnd)),
      ],
    );
  }
  await db.query('ANALYZE');
  const from = new Date(t0.getTime() - 1);
  const to = new Date(Math.max(...demands.map((d) => d.start)) + 1);
  return { account, site, pool, leases: rows.length, from, to };
}

/** The history read and the model of one sizing call. */
async function historyRead(db: Db, { account, site, pool, from, to }: Seeded) {
  console.log(
    `round\t${baselineRead ? 'poolDemands baseline ms\t' : ''}poolDemands ms\tsingleHolderCalls ms\tsizePool share ms\tsizePool default ms`,
  );
  for (let round = 1; round <= rounds; round++) {
    const cells: number[] = [round];
    if (baselineRead) {
      const began = performance.now();
      const before = await baselineRead(db, account, site, pool, from, to);
      cells.push(performance.now() - began);
      if (!isDeepStrictEqual(before, await poolDemands(db, account, site, pool, from, to)))
        throw new Error('the baseline and the current history read disagree');
    }
    let began = performance.now();
    const read = await poolDemands(db, account, site, pool, from, to);
    cells.push(performance.now() - began);
    began = performance.now();
    await singleHolderCalls(db, account, site, pool, from, to);
    cells.push(performance.now() - began);
    const model = (exhaustionPolicy: current.ExhaustionPolicy) => {
      const t = performance.now();
      current.sizePool({ demands: read, poolSize, freezeMinutes, exhaustionPolicy, target: 0.99 });
      return performance.now() - t;
    };
    cells.push(model('share'), model('default'));
    console.log(cells.map((x) => x.toFixed(0)).join('\t'));
  }
}

/** GET /api/v1/sites/{id}/sizing computed and served from the stored result, per exhaustion policy. */
async function endpoint(db: Db, { account, site, to }: Seeded) {
  const clock = new ManualClock(to);
  const app = await buildApp({ config: loadConfig({}, { logLevel: 'silent' }), db, clock });
  try {
    const { key } = await createApiKey(db, clock, account, 'bench');
    const get = async (query: string) => {
      const began = performance.now();
      const res = await app.inject({
        method: 'GET',
        url: `/api/v1/sites/${site}/sizing?days=${days}${query}`,
        headers: { authorization: `Bearer ${key}` },
      });
      const ms = performance.now() - began;
      if (res.statusCode !== 200) throw new Error(`sizing answered ${res.statusCode}: ${res.body}`);
      const body = res.json();
      return { ms, cached: body.cached as boolean, pool: body.pools[0] };
    };
    console.log(
      `\nGET /api/v1/sites/{id}/sizing?days=${days} (in process); load ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    );
    console.log('policy\tround\tcomputed ms\tstored ms\tpass model before ms\tpass model now ms');
    for (const policy of ['share', 'default'] as const) {
      await db.query('UPDATE sites SET exhaustion_policy = $1 WHERE account_id = $2 AND id = $3', [
        policy,
        account,
        site,
      ]);
      await get('&fresh=true'); // warm-up, and a stored result for the first round's read
      for (let round = 1; round <= rounds; round++) {
        // Alternate the order so neither kind of request always runs first.
        const [first, second] = round % 2 === 1 ? ['&fresh=true', ''] : ['', '&fresh=true'];
        const a = await get(first);
        const b = await get(second);
        const [computed, stored] = a.cached ? [b, a] : [a, b];
        if (computed.cached || !stored.cached) throw new Error('expected one computed and one stored answer');
        if (!isDeepStrictEqual({ ...computed.pool, cached: true }, stored.pool))
          throw new Error(`${policy}: the stored answer differs from the computed one`);
        // The inventory pass's model: with no what-if freezes before it stored results, the full one now.
        const pass = (freezes?: number[]) => {
          const t = performance.now();
          current.sizePool({
            demands,
            poolSize,
            freezeMinutes,
            exhaustionPolicy: policy,
            callTiming: timing,
            target: 0.99,
            freezes,
          });
          return performance.now() - t;
        };
        const cells = [computed.ms, stored.ms, pass([]), pass()];
        console.log(
          `${policy}\t${round}\t${cells.map((x) => x.toFixed(0)).join('\t')}\tvisits ${computed.pool.visits}`,
        );
      }
    }
  } finally {
    await app.close();
  }
}
