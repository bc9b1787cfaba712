/**
 * Report speed at issue 4's scale: one site with 1,000,000 visits and 50,000 calls on PostgreSQL, and the
 * server time of the requests the dashboard's overview makes plus a set of report requests.
 *
 *   npx tsx bench/reports.ts [--pg postgres://...] [--reps 20] [--visits 1000000] [--calls 50000] [--fresh]
 *                            [--paths raw,rollup]
 *
 * The data is written with bulk SQL by report-data.ts, not through HTTP (see there why).
 *
 * The data lives in the schema `reports_bench` of the database (created if missing) and is kept between
 * runs; --fresh (or other --visits/--calls than the stored ones) rebuilds it.
 *
 * Every request goes through app.inject() against buildApp on that PostgreSQL database, one at a time
 * after one unmeasured warm-up, --reps times; the time is from inject() to the parsed response (no
 * socket, so this is server time). Each request is measured on both paths (--paths) in the same run: on
 * raw rows (the site's rollup removed) and after building the daily rollup (src/reports/rollup.ts),
 * which also times the rollup build.
 *
 * Results go into BENCHMARKS.md by hand; nothing here is asserted in tests.
 */
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { createAccount, createApiKey } from '../src/accounts/keys.js';
import { buildApp } from '../src/app.js';
import { ManualClock } from '../src/clock.js';
import { loadConfig } from '../src/config.js';
import { openDb } from '../src/db/db.js';
import { migrate } from '../src/db/migrate.js';
import { dropVisitRollup, refreshVisitRollups } from '../src/reports/rollup.js';
import { fmt, percentile, pgReachable, redact } from './common.js';
import { DAYS, FIRST_DAY, generateReportData } from './report-data.js';

const SCHEMA = 'reports_bench';
/** The data covers the 90 local days before NOW (Moscow time). */
const NOW = '2026-10-30T09:00:00Z';

interface Dataset {
  accountId: string;
  key: string;
  siteId: string;
  visits: number;
  calls: number;
}

interface Request {
  name: string;
  url: string;
}

function requests(siteId: string): { overview: Request[]; reports: Request[] } {
  const q = (params: Record<string, string | number>) =>
    new URLSearchParams(Object.entries({ siteId, ...params }).map(([k, v]) => [k, String(v)])).toString();
  // The overview as the dashboard opens it: the last 30 days compared with the 30 before.
  const last30 = { from: '2026-09-30', to: '2026-10-29' };
  const prev30 = { from: '2026-08-31', to: '2026-09-29' };
  const all = { from: FIRST_DAY, to: '2026-10-29' };
  const series = 'interval=day&metrics=calls,targeted';
  return {
    overview: [
      {
        name: 'channel, 30 d + compare',
        url: `channel?${q({ ...last30, compare: 'previous', limit: 100 })}`,
      },
      {
        name: 'keyword top 10, 30 d + compare',
        url: `keyword?${q({ ...last30, compare: 'previous', sort: 'calls', limit: 10 })}`,
      },
      {
        name: 'campaign top 10, 30 d + compare',
        url: `campaign?${q({ ...last30, compare: 'previous', sort: 'calls', limit: 10 })}`,
      },
      { name: 'timeseries calls,targeted, 30 d', url: `timeseries?${q(last30)}&${series}` },
      { name: 'timeseries calls,targeted, previous 30 d', url: `timeseries?${q(prev30)}&${series}` },
    ],
    reports: [
      { name: 'channel, 90 d', url: `channel?${q(all)}` },
      { name: 'campaign, 90 d', url: `campaign?${q(all)}` },
      { name: 'keyword, 90 d', url: `keyword?${q(all)}` },
      { name: 'region, 90 d', url: `region?${q(all)}` },
      { name: 'device, 90 d', url: `device?${q(all)}` },
      { name: 'landing_page, 90 d', url: `landing_page?${q(all)}` },
      { name: 'timeseries day, all metrics, 90 d', url: `timeseries?${q(all)}` },
      { name: 'week, 90 d', url: `week?${q(all)}` },
      { name: 'date, 90 d + compare', url: `date?${q({ ...all, compare: 'previous' })}` },
      { name: 'source, 90 d + compare', url: `source?${q({ ...all, compare: 'previous' })}` },
      {
        name: 'campaign, channel=paid_search, 90 d',
        url: `campaign?${q({ ...all, channel: 'paid_search' })}`,
      },
      {
        name: 'keyword, source=yandex & device=mobile, 90 d',
        url: `keyword?${q({ ...all, source: 'yandex', device: 'mobile' })}`,
      },
      { name: 'region, class=targeted, 90 d', url: `region?${q({ ...all, class: 'targeted' })}` },
      { name: 'hour_of_day, 90 d', url: `hour_of_day?${q(all)}` },
      { name: 'tracking_number, 90 d', url: `tracking_number?${q(all)}` },
      { name: 'employee, 90 d', url: `employee?${q(all)}` },
    ],
  };
}

interface Timing {
  p50: number;
  p95: number;
  max: number;
}

async function measure(app: FastifyInstance, key: string, url: string, reps: number): Promise<Timing> {
  const get = async () => {
    const res = await app.inject({
      method: 'GET',
      url: `/api/v1/reports/${url}`,
      headers: { authorization: `Bearer ${key}` },
    });
    if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode} ${res.body}`);
    res.json();
  };
  await get();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await get();
    times.push(performance.now() - t0);
  }
  const sorted = Float64Array.from(times).sort();
  return { p50: percentile(sorted, 50), p95: percentile(sorted, 95), max: sorted[sorted.length - 1] };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      pg: { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/ringtrace_bench' },
      reps: { type: 'string', default: '20' },
      visits: { type: 'string', default: '1000000' },
      calls: { type: 'string', default: '50000' },
      fresh: { type: 'boolean', default: false },
      paths: { type: 'string', default: 'raw,rollup' },
    },
  });
  const reps = Number(values.reps);
  const size = { visits: Number(values.visits), calls: Number(values.calls) };
  if (!(reps >= 1 && reps <= 1000) || !(size.visits >= 1000 && size.visits <= 5_000_000))
    throw new Error('bounds: 1 ≤ --reps ≤ 1000, 1000 ≤ --visits ≤ 5000000');
  if (!(size.calls >= 100 && size.calls <= size.visits / 2))
    throw new Error('bounds: 100 ≤ --calls ≤ visits / 2');
  const pgVersion = await pgReachable(values.pg!);
  if (!pgVersion) throw new Error(`PostgreSQL at ${redact(values.pg!)} is not reachable`);

  const clock = new ManualClock(NOW);
  let db = await openDb({ url: values.pg, schema: SCHEMA, poolSize: 4 });
  const stored = await db
    .query<{ value: Dataset }>(`SELECT value FROM bench_dataset`)
    .then((rows) => rows[0]?.value)
    .catch(() => undefined);
  let dataset: Dataset;
  let generationSeconds: number | null = null;
  if (!values.fresh && stored && stored.visits === size.visits && stored.calls === size.calls) {
    await migrate(db);
    dataset = stored;
    process.stderr.write(`reusing the data in schema ${SCHEMA}\n`);
  } else {
    await db.exec(`DROP SCHEMA ${SCHEMA} CASCADE`);
    await db.close();
    db = await openDb({ url: values.pg, schema: SCHEMA, poolSize: 4 });
    await migrate(db);
    const app = await buildApp({ config: loadConfig({}, { logLevel: 'silent' }), db, clock });
    const t0 = performance.now();
    const accountId = await createAccount(db, clock, 'Bench account');
    const { key } = await createApiKey(db, clock, accountId, 'bench');
    process.stderr.write('generating… ');
    const { siteId } = await generateReportData(db, app, key, {
      ...size,
      progress: (step) => process.stderr.write(`${step}; `),
    });
    await db.exec('ANALYZE');
    generationSeconds = (performance.now() - t0) / 1000;
    await app.close();
    dataset = { accountId, key, siteId, ...size };
    await db.exec('CREATE TABLE bench_dataset (value jsonb NOT NULL)');
    await db.query('INSERT INTO bench_dataset (value) VALUES ($1)', [JSON.stringify(dataset)]);
  }
  const app = await buildApp({ config: loadConfig({}, { logLevel: 'silent' }), db, clock });
  const count = async (table: string) =>
    Number((await db.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`))[0].n);
  const counts = {
    visits: await count('visits'),
    page_views: await count('page_views'),
    calls: await count('calls'),
    leads: await count('leads'),
    deals: await count('deals'),
    ad_costs: await count('ad_costs'),
  };

  const { overview, reports } = requests(dataset.siteId);
  const all = [...overview, ...reports];
  const scope = { accountId: dataset.accountId, siteId: dataset.siteId };

  const paths = values.paths!.split(',');
  const measureAll = async (label: string) => {
    process.stderr.write(`${label}: `);
    const timings: Timing[] = [];
    for (const r of all) {
      timings.push(await measure(app, dataset.key, r.url, reps));
      process.stderr.write('.');
    }
    process.stderr.write('\n');
    return timings;
  };
  await dropVisitRollup(db, scope);
  const raw = paths.includes('raw') ? await measureAll('raw rows') : null;
  let rolled: Timing[] | null = null;
  let rollupSeconds = 0;
  const rollupTables = [
    'visit_daily',
    'visit_daily_sources',
    'visit_daily_keys',
    'visit_daily_key_totals',
    'visit_daily_numbers',
  ] as const;
  const rollupRows: Partial<Record<(typeof rollupTables)[number], number>> = {};
  if (paths.includes('rollup')) {
    process.stderr.write('building the rollup… ');
    const t0 = performance.now();
    while (await refreshVisitRollups(db, clock.now())) {}
    rollupSeconds = (performance.now() - t0) / 1000;
    for (const table of rollupTables) rollupRows[table] = await count(table);
    // Each run rebuilds the whole rollup, which a live site does once; without compaction the dead rows of
    // earlier runs (and autovacuum may be off, as on the bench server) would make each run slower than the last.
    await db.exec(`VACUUM (FULL, ANALYZE) ${rollupTables.join(', ')}`);
    process.stderr.write(`${rollupSeconds.toFixed(1)} s\n`);
    rolled = await measureAll('rollup');
  }
  await app.close();
  await db.close();

  console.log(
    `\nReports over one site — ${Object.entries(counts)
      .map(([t, n]) => `${n.toLocaleString('en-US')} ${t}`)
      .join(', ')}; rollup rows: ${Object.entries(rollupRows)
      .map(([t, n]) => `${n?.toLocaleString('en-US')} ${t}`)
      .join(', ')}\n`,
  );
  if (generationSeconds !== null) console.log(`Data generation: ${generationSeconds.toFixed(0)} s`);
  if (rolled) console.log(`Rollup build (all ${DAYS} days): ${rollupSeconds.toFixed(1)} s\n`);
  console.log(`Server time per request in ms, ${reps} repetitions after one warm-up:\n`);
  console.log('| request | raw p50 | raw p95 | raw max | rollup p50 | rollup p95 | rollup max |');
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  all.forEach((r, i) => {
    const section = i < overview.length ? 'overview: ' : '';
    const cells = (t: Timing | undefined) =>
      t ? `${fmt(t.p50, 0)} | ${fmt(t.p95, 0)} | ${fmt(t.max, 0)}` : '— | — | —';
    console.log(`| ${section}${r.name} | ${cells(raw?.[i])} | ${cells(rolled?.[i])} |`);
  });
  console.log(`\nnode ${process.version}; PostgreSQL ${pgVersion}; ${availableParallelism()} CPUs`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
