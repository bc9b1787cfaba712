/**
 * POST /t/visit throughput and latency: Ringtrace on PGlite and on PostgreSQL, with a bare Fastify route
 * measured in the same run as the reference.
 *
 *   npx tsx bench/visit-throughput.ts [--duration 10] [--connections 20] [--pg postgres://...]
 *
 * --duration is the measured time per target and scenario, split into --rounds slices (default 5).
 * Other options: --warmup SECONDS (default 2), --pool NUMBERS (default 12000), --max-requests N per
 * measurement (default 500000), --pg-pool CONNECTIONS (default 10, as `ringtrace start`),
 * --targets bare,pglite,postgres, --scenarios new,mixed, --no-pg, --log-level error (server logs, to
 * see why requests fail; 'silent' by default so logging is not part of the measurement).
 *
 * Layout: this process is the orchestrator and the load generator; every server under test runs in its
 * own child process (this same file with --serve). On a 2-core machine a generator inside the server's
 * event loop would steal the very CPU being measured and queue its own timers behind the handlers, so
 * latencies would be inflated by the tool itself; as a separate process it at least has its own event
 * loop and the OS schedules the two fairly. Each (target, scenario) pair gets its own server and fresh
 * database, so one scenario's rows (leases, visits) do not slow another. Only one server is under load
 * at a time; the servers take turns in short interleaved slices (see main) so noise is shared out. The
 * numbers are only meaningful as ratios within one run: absolute req/s on a shared 2-core machine move
 * by tens of percent between runs.
 *
 * Pool size: a number stays leased about 16 minutes after a visit (freeze plus heartbeat grace), far longer
 * than a run, so every new paid visit of warm-up plus measurement takes a fresh number. The pool must
 * outlast that or the run measures the cheaper exhaustion path instead (counted from pool_exhaustions
 * and printed). The claim reads one entry of an index in claim order, so a big pool costs nothing per
 * visit. 12000 fits 12 s of new visits at up to 1000 per second.
 *
 * Results go into BENCHMARKS.md by hand; nothing here is asserted in tests.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import Fastify, { type FastifyInstance } from 'fastify';
import pg from 'pg';
import {
  cpuMicros,
  DEFAULT_PG,
  fmt,
  machineBusyMicros,
  percentile,
  pgReachable,
  portOf,
  postgresMicros,
  redact,
  setupApi,
  sleep,
} from './common.js';

type Target = 'bare' | 'pglite' | 'postgres';
type Scenario = 'new' | 'mixed';

const CHROME_UA =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36';

// ---------------------------------------------------------------------------------------------------
// Child: one server under test.

/** Messages between orchestrator and server child over the fork IPC channel. */
type ToChild = { type: 'stats' } | { type: 'cpu' } | { type: 'close' };
type FromChild =
  | { type: 'ready'; port: number; siteKey: string; setupMs: number }
  | { type: 'cpu'; micros: number }
  | { type: 'stats'; stats: DbStats | null }
  | { type: 'closed' }
  | { type: 'failed'; error: string };

interface DbStats {
  visits: number;
  pageViews: number;
  leases: number;
  poolVisits: number;
  exhaustions: number;
  freeNumbers: number;
}

async function serve(
  target: Target,
  opts: { pg: string; pool: number; pgPool: number; logLevel: string },
): Promise<void> {
  const send = (m: FromChild) => process.send!(m);
  const started = performance.now();
  if (target === 'bare') {
    const app = bareApp();
    await app.listen({ host: '127.0.0.1', port: 0 });
    send({ type: 'ready', port: portOf(app), siteKey: 'bare', setupMs: performance.now() - started });
    process.on('message', async (m: ToChild) => {
      if (m.type === 'stats') send({ type: 'stats', stats: null });
      if (m.type === 'cpu') send({ type: 'cpu', micros: cpuMicros() });
      if (m.type === 'close') {
        await app.close();
        send({ type: 'closed' });
        process.disconnect();
      }
    });
    return;
  }

  // Imported here, not at the top, so the bare child does not load (and pay memory for) the whole app.
  const { buildApp } = await import('../src/app.js');
  const { loadConfig } = await import('../src/config.js');
  const { openDb } = await import('../src/db/db.js');
  const { migrate } = await import('../src/db/migrate.js');
  const { createAccount, createApiKey } = await import('../src/accounts/keys.js');
  const { systemClock } = await import('../src/clock.js');

  const dataDir = target === 'pglite' ? mkdtempSync(join(tmpdir(), 'ringtrace-bench-')) : undefined;
  const schema = target === 'postgres' ? `bench_${randomBytes(5).toString('hex')}` : undefined;
  const db =
    target === 'pglite'
      ? await openDb({ dataDir })
      : await openDb({ url: opts.pg, schema, poolSize: opts.pgPool });
  await migrate(db);
  // The empty env keeps a developer's DATABASE_URL or LOG_LEVEL from leaking into the measurement.
  const app = await buildApp({
    config: loadConfig({}, { logLevel: opts.logLevel as 'silent' | 'error' }),
    db,
  });

  const accountId = await createAccount(db, systemClock, 'Bench account');
  const { key } = await createApiKey(db, systemClock, accountId, 'bench');
  const api = setupApi(app, key);
  const site = await api('/api/v1/sites', {
    name: 'Диваны на заказ',
    defaultNumber: '+7 (495) 123-45-67',
    replaceNumbers: ['+7 (495) 123-45-67'],
    dynamicChannels: ['paid_search', 'paid_social', 'display'],
  });
  // Through the API, as an operator would add them; inject() skips the socket, not the route.
  for (let i = 0; i < opts.pool; i++) {
    await api(`/api/v1/sites/${site.id}/numbers`, {
      number: `+74997${String(i).padStart(6, '0')}`,
      kind: 'pool',
    });
  }

  // A server that has run for a while has planner statistics; freshly filled tables have none (and
  // autovacuum may be off, as on the test server), which picks a poor plan for the lease lookups.
  // Measure the steady state, not the first minutes of a new install.
  await db.exec('ANALYZE');

  await app.listen({ host: '127.0.0.1', port: 0 });
  send({ type: 'ready', port: portOf(app), siteKey: site.siteKey, setupMs: performance.now() - started });

  const count = async (sql: string) => Number((await db.query<{ n: string }>(sql))[0].n);
  process.on('message', async (m: ToChild) => {
    if (m.type === 'cpu') send({ type: 'cpu', micros: cpuMicros() });
    if (m.type === 'stats') {
      const now = new Date();
      send({
        type: 'stats',
        stats: {
          visits: await count('SELECT count(*) AS n FROM visits'),
          pageViews: await count('SELECT count(*) AS n FROM page_views'),
          leases: await count('SELECT count(*) AS n FROM leases'),
          poolVisits: await count(`SELECT count(*) AS n FROM visits WHERE number_method = 'pool'`),
          exhaustions: await count('SELECT count(*) AS n FROM pool_exhaustions'),
          freeNumbers: Number(
            (
              await db.query<{ n: string }>(
                `SELECT count(*) AS n FROM numbers WHERE kind = 'pool' AND (held_until IS NULL OR held_until <= $1)`,
                [now],
              )
            )[0].n,
          ),
        },
      });
    }
    if (m.type === 'close') {
      await app.close();
      await db.close();
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
      if (schema) {
        const admin = new pg.Client({ connectionString: opts.pg });
        await admin.connect();
        await admin.query(`DROP SCHEMA ${schema} CASCADE`);
        await admin.end();
      }
      send({ type: 'closed' });
      process.disconnect();
    }
  });
}

/**
 * The reference: the same HTTP stack and the same text/plain JSON parsing as Ringtrace's app, a response
 * of the same shape, and nothing else (no validation, no database). The gap to it is Ringtrace's own cost.
 */
function bareApp(): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: 256 * 1024 });
  app.addContentTypeParser('text/plain', { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, JSON.parse(body as string));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
  app.post('/t/visit', async (req, reply) => {
    const body = req.body as { visitor?: string; visit?: string };
    reply.header('access-control-allow-origin', '*');
    return {
      visitor: body.visitor ?? randomUUID(),
      visit: body.visit ?? randomUUID(),
      number: { e164: '+74997000000', display: '+7 499 700-00-00', digits: ['74997000000', '84997000000'] },
      replace: [{ e164: '+74951234567', digits: ['74951234567', '84951234567'] }],
      heartbeatSeconds: 30,
    };
  });
  return app;
}

// ---------------------------------------------------------------------------------------------------
// Orchestrator and load generator.

/** One server under test in one scenario, and what its measurement slices added up to. */
interface Slot {
  target: Target;
  scenario: Scenario;
  child: ServerChild;
  port: number;
  siteKey: string;
  setupMs: number;
  requests: number;
  errors: number;
  errorSample: string | null;
  seconds: number;
  latenciesMs: number[];
  /** req/s of each round's slice, to show drift and noise across the run. */
  roundRates: number[];
  stats: DbStats | null;
  /** CPU microseconds used while this slot was measured: server child, this generator, PostgreSQL, machine. */
  cpu: { server: number; generator: number; postgres: number | null; machine: number | null };
}

class ServerChild {
  private waiters: Array<(m: FromChild) => void> = [];
  private constructor(readonly proc: ChildProcess) {
    proc.on('message', (m: FromChild) => {
      const w = this.waiters.shift();
      if (w) w(m);
    });
  }

  static async start(target: Target, argv: string[]): Promise<{ child: ServerChild; ready: FromChild }> {
    // fork() reuses this process's execArgv, which carries tsx's loader, so the child runs TypeScript too.
    const proc = fork(fileURLToPath(import.meta.url), ['--serve', target, ...argv], { stdio: 'inherit' });
    const child = new ServerChild(proc);
    const ready = await new Promise<FromChild>((resolve, reject) => {
      child.waiters.push(resolve);
      proc.once('exit', (code) => reject(new Error(`${target} server exited with ${code} before ready`)));
    });
    if (ready.type === 'failed') throw new Error(`${target} server failed: ${ready.error}`);
    return { child, ready };
  }

  request(m: ToChild): Promise<FromChild> {
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      this.proc.send(m);
    });
  }

  async cpu(): Promise<number> {
    const m = await this.request({ type: 'cpu' });
    if (m.type !== 'cpu') throw new Error(`expected cpu, got ${m.type}`);
    return m.micros;
  }

  async close(): Promise<void> {
    const exited = new Promise((resolve) => this.proc.once('exit', resolve));
    await this.request({ type: 'close' });
    await Promise.race([exited, sleep(5000)]);
    if (this.proc.exitCode === null) this.proc.kill();
  }
}

function delta(after: number | null, before: number | null): number | null {
  // A process that exits between the two readings takes its CPU time with it: never report below zero.
  return after !== null && before !== null ? Math.max(0, after - before) : null;
}

function sum(a: number | null, b: number | null): number | null {
  return a !== null && b !== null ? a + b : null;
}

interface Visit {
  visitor: string;
  visit: string;
}

/** A paid landing: utm tags of a Yandex Direct ad, so the visit is paid_search and gets a pool number. */
function landingUrl(n: number): string {
  return (
    `https://divany.example/catalog/sofas?utm_source=yandex&utm_medium=cpc&utm_campaign=sofas_msk` +
    `&utm_content=ad${n % 50}&utm_term=%D0%B4%D0%B8%D0%B2%D0%B0%D0%BD&yclid=${1000000 + n}`
  );
}

function post(
  agent: http.Agent,
  port: number,
  body: string,
): Promise<{ status: number; json: () => unknown; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        agent,
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/t/visit',
        headers: {
          'content-type': 'text/plain;charset=UTF-8',
          'content-length': Buffer.byteLength(body),
          'user-agent': CHROME_UA,
          origin: 'https://divany.example',
          referer: 'https://yandex.ru/',
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, text, json: () => JSON.parse(text) });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Closed-loop load: `connections` workers, each with one keep-alive socket and one request in flight,
 * until the deadline or the request cap. In the mixed scenario every worker alternates a new paid landing
 * with a page view continuing the visit it started last, so half the requests are page views.
 */
async function load(opts: {
  port: number;
  siteKey: string;
  scenario: Scenario;
  connections: number;
  seconds: number;
  maxRequests: number;
  record: boolean;
}): Promise<{
  requests: number;
  errors: number;
  errorSample: string | null;
  seconds: number;
  latenciesMs: number[];
}> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: opts.connections });
  const latencies: number[] = [];
  let requests = 0;
  let errors = 0;
  let errorSample: string | null = null;
  let seq = 0;
  const t0 = performance.now();
  const deadline = t0 + opts.seconds * 1000;

  const worker = async () => {
    let last: Visit | null = null;
    let pageView = false;
    while (performance.now() < deadline && requests + errors < opts.maxRequests) {
      const n = seq++;
      const continuing = opts.scenario === 'mixed' && pageView && last !== null;
      const body = JSON.stringify(
        continuing
          ? {
              site: opts.siteKey,
              url: `https://divany.example/catalog/sofas/item-${n % 500}`,
              referrer: 'https://divany.example/catalog/sofas',
              visitor: last!.visitor,
              visit: last!.visit,
            }
          : { site: opts.siteKey, url: landingUrl(n), referrer: 'https://yandex.ru/' },
      );
      const start = performance.now();
      try {
        const res = await post(agent, opts.port, body);
        const end = performance.now();
        if (res.status !== 200) {
          errors++;
          errorSample ??= `${res.status} ${res.text.slice(0, 200)}`;
          continue;
        }
        requests++;
        if (opts.record) latencies.push(end - start);
        if (opts.scenario === 'mixed') {
          if (!continuing) last = res.json() as Visit;
          pageView = !pageView;
        }
      } catch (err) {
        errors++;
        errorSample ??= String(err);
      }
    }
  };
  await Promise.all(Array.from({ length: opts.connections }, worker));
  const seconds = (performance.now() - t0) / 1000;
  agent.destroy();
  return { requests, errors, errorSample, seconds, latenciesMs: latencies };
}

const targetLabel: Record<Target, string> = {
  bare: 'bare Fastify (reference)',
  pglite: 'Ringtrace on PGlite',
  postgres: 'Ringtrace on PostgreSQL',
};
const scenarioLabel: Record<Scenario, string> = {
  new: 'new paid visits',
  mixed: '50% new paid visits, 50% page views',
};

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      serve: { type: 'string' },
      duration: { type: 'string', default: '10' },
      rounds: { type: 'string', default: '5' },
      warmup: { type: 'string', default: '2' },
      connections: { type: 'string', default: '20' },
      pool: { type: 'string', default: '12000' },
      'max-requests': { type: 'string', default: '500000' },
      pg: { type: 'string', default: process.env.BENCH_DATABASE_URL ?? DEFAULT_PG },
      'pg-pool': { type: 'string', default: '10' },
      'log-level': { type: 'string', default: 'silent' },
      'no-pg': { type: 'boolean', default: false },
      targets: { type: 'string', default: 'bare,pglite,postgres' },
      scenarios: { type: 'string', default: 'new,mixed' },
    },
  });
  const pool = Number(values.pool);
  const pgPool = Number(values['pg-pool']);

  if (values.serve) {
    try {
      await serve(values.serve as Target, { pg: values.pg!, pool, pgPool, logLevel: values['log-level']! });
    } catch (err) {
      process.send!({ type: 'failed', error: String((err as Error).stack ?? err) } satisfies FromChild);
      process.exitCode = 1;
      process.disconnect();
    }
    return;
  }

  const duration = Number(values.duration);
  const rounds = Math.max(1, Math.floor(Number(values.rounds)));
  const warmup = Number(values.warmup);
  const connections = Number(values.connections);
  const maxRequests = Number(values['max-requests']);
  for (const [name, v] of Object.entries({
    duration,
    rounds,
    warmup,
    connections,
    pool,
    maxRequests,
    pgPool,
  })) {
    if (!Number.isFinite(v) || v < 0) throw new Error(`--${name} must be a non-negative number`);
  }
  // Hard bounds so a typo cannot turn the bench into a long-running load test.
  if (duration > 120 || rounds > 60 || warmup > 30 || connections > 500 || pool > 20000)
    throw new Error(
      'bounds: --duration ≤ 120, --rounds ≤ 60, --warmup ≤ 30, --connections ≤ 500, --pool ≤ 20000',
    );

  let targets = values.targets!.split(',').map((t) => t.trim()) as Target[];
  const scenarios = values.scenarios!.split(',').map((s) => s.trim()) as Scenario[];
  for (const t of targets) if (!(t in targetLabel)) throw new Error(`--targets: unknown target ${t}`);
  for (const s of scenarios) if (!(s in scenarioLabel)) throw new Error(`--scenarios: unknown scenario ${s}`);
  let pgVersion: string | null = null;
  if (targets.includes('postgres')) {
    pgVersion = values['no-pg'] ? null : await pgReachable(values.pg!);
    if (!pgVersion) {
      console.error(`PostgreSQL at ${redact(values.pg!)} is not reachable: skipping that target`);
      targets = targets.filter((t) => t !== 'postgres');
    }
  }

  const childArgv = [
    ...['--pool', String(pool), '--pg', values.pg!, '--pg-pool', String(pgPool)],
    ...['--log-level', values['log-level']!],
  ];
  // Every server is set up and warmed first; then the measurement is cut into rounds, and each round
  // gives every (scenario, target) a slice of duration / rounds seconds, in a rotating order. A burst of
  // outside load on a shared machine, or a slow drift, then lands on all targets alike instead of
  // skewing whichever one happened to run at the time, which keeps the ratios comparable.
  const slots: Slot[] = [];
  const sliceSeconds = duration / rounds;
  try {
    for (const scenario of scenarios) {
      for (const target of targets) {
        process.stderr.write(`${scenarioLabel[scenario]} / ${targetLabel[target]}: setting up… `);
        const { child, ready } = await ServerChild.start(target, childArgv);
        if (ready.type !== 'ready') throw new Error(`unexpected message ${ready.type}`);
        const slot: Slot = {
          target,
          scenario,
          child,
          port: ready.port,
          siteKey: ready.siteKey,
          setupMs: ready.setupMs,
          requests: 0,
          errors: 0,
          errorSample: null,
          seconds: 0,
          latenciesMs: [],
          roundRates: [],
          stats: null,
          cpu: { server: 0, generator: 0, postgres: 0, machine: 0 },
        };
        slots.push(slot);
        process.stderr.write(`${(ready.setupMs / 1000).toFixed(1)} s; warming up… `);
        if (warmup > 0) {
          await load({ ...loadOptions(slot), seconds: warmup, maxRequests, record: false });
        }
        process.stderr.write('ready\n');
      }
    }

    for (let round = 0; round < rounds; round++) {
      process.stderr.write(`round ${round + 1}/${rounds}:`);
      const order = slots.map((_, i) => slots[(i + round) % slots.length]);
      for (const slot of order) {
        const before = {
          server: await slot.child.cpu(),
          generator: cpuMicros(),
          postgres: postgresMicros(),
          machine: machineBusyMicros(),
        };
        const result = await load({
          ...loadOptions(slot),
          seconds: sliceSeconds,
          maxRequests: Math.ceil(maxRequests / rounds),
          record: true,
        });
        const after = { machine: machineBusyMicros(), postgres: postgresMicros() };
        slot.cpu.server += (await slot.child.cpu()) - before.server;
        slot.cpu.generator += cpuMicros() - before.generator;
        slot.cpu.postgres = sum(slot.cpu.postgres, delta(after.postgres, before.postgres));
        slot.cpu.machine = sum(slot.cpu.machine, delta(after.machine, before.machine));
        slot.requests += result.requests;
        slot.errors += result.errors;
        slot.errorSample ??= result.errorSample;
        slot.seconds += result.seconds;
        for (const ms of result.latenciesMs) slot.latenciesMs.push(ms);
        slot.roundRates.push(result.requests / result.seconds);
        process.stderr.write(` ${slot.scenario}/${slot.target} ${fmt(result.requests / result.seconds, 0)}`);
      }
      process.stderr.write('\n');
    }
    for (const slot of slots) {
      const stats = await slot.child.request({ type: 'stats' });
      slot.stats = stats.type === 'stats' ? stats.stats : null;
    }
  } finally {
    for (const slot of slots) await slot.child.close();
  }

  function loadOptions(slot: Slot) {
    return { port: slot.port, siteKey: slot.siteKey, scenario: slot.scenario, connections };
  }

  console.log(
    `\nPOST /t/visit — ${duration} s per target in ${rounds} interleaved rounds after ${warmup} s warm-up, ` +
      `${connections} connections, pool of ${pool} numbers, PostgreSQL pool of ${pgPool} connections\n`,
  );
  for (const scenario of scenarios) {
    const rows = slots.filter((r) => r.scenario === scenario);
    const bare = rows.find((r) => r.target === 'bare');
    const bareRate = bare ? bare.requests / bare.seconds : Number.NaN;
    console.log(`Scenario: ${scenarioLabel[scenario]}\n`);
    console.log(
      '| target | requests | req/s | p50 ms | p99 ms | ratio vs bare (req/s) | errors | pool exhaustions |',
    );
    console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
    for (const r of rows) {
      const rate = r.requests / r.seconds;
      const sorted = Float64Array.from(r.latenciesMs).sort();
      console.log(
        `| ${targetLabel[r.target]} | ${r.requests} | ${fmt(rate, 0)} | ${fmt(percentile(sorted, 50), 2)} | ` +
          `${fmt(percentile(sorted, 99), 2)} | ${r.target === 'bare' ? '1' : fmt(rate / bareRate, 3)} | ` +
          `${r.errors} | ${r.stats ? r.stats.exhaustions : '—'} |`,
      );
    }
    console.log('');
  }

  // Drift across rounds and what the database holds afterwards, to judge whether the numbers above
  // describe a steady state (every new paid visit should have leased a pool number).
  console.log(
    '| scenario | target | req/s by round | visits | page views | pool visits | leases | free numbers left |',
  );
  console.log('|---|---|---|---:|---:|---:|---:|---:|');
  for (const r of slots) {
    const s = r.stats;
    const byRound = r.roundRates.map((x) => fmt(x, 0)).join(' · ');
    console.log(
      `| ${r.scenario} | ${r.target} | ${byRound} | ${s?.visits ?? '—'} | ${s?.pageViews ?? '—'} | ` +
        `${s?.poolVisits ?? '—'} | ${s?.leases ?? '—'} | ${s?.freeNumbers ?? '—'} |`,
    );
  }
  // CPU per request: on 2 cores the sum is what bounds throughput, and its split says where time goes.
  // "Other" is everything else on the machine (other people's jobs, kernel work not charged to a
  // process); when it takes a sizeable share of a core the row was measured on a disturbed machine.
  console.log(
    '\n| scenario | target | cores busy | server ms/req | generator ms/req | PostgreSQL ms/req | other ms/req | other cores |',
  );
  console.log('|---|---|---:|---:|---:|---:|---:|---:|');
  const disturbed: string[] = [];
  for (const r of slots) {
    const per = (micros: number | null) =>
      micros === null ? '—' : fmt(micros / 1000 / Math.max(1, r.requests), 3);
    const { server, generator, postgres, machine } = r.cpu;
    const other = machine === null ? null : Math.max(0, machine - server - generator - (postgres ?? 0));
    const otherCores = other === null ? null : other / 1e6 / r.seconds;
    if (otherCores !== null && otherCores > 0.25) disturbed.push(`${r.scenario}/${r.target}`);
    console.log(
      `| ${r.scenario} | ${r.target} | ${machine === null ? '—' : fmt(machine / 1e6 / r.seconds, 2)} | ` +
        `${per(server)} | ${per(generator)} | ${per(postgres)} | ${per(other)} | ` +
        `${otherCores === null ? '—' : fmt(otherCores, 2)} |`,
    );
  }
  if (disturbed.length > 0) {
    console.log(
      `\nDisturbed: something outside the bench used over a quarter of a core during ${disturbed.join(', ')}; ` +
        'the interleaved rounds share such load out, but rerun on a quieter machine before trusting absolute numbers, ' +
        'and compare ratios only if "other cores" is similar across rows.',
    );
  }
  for (const r of slots) {
    if (r.errorSample) console.log(`\n${r.scenario}/${r.target} first error: ${r.errorSample}`);
  }
  console.log(
    `\nnode ${process.version}; PostgreSQL ${pgVersion ?? 'not measured'}; ` +
      `${availableParallelism()} CPUs`,
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
