/**
 * The routing decision at a fixed call rate: how long Ringtrace takes to answer "where does this call go"
 * (log the call, attribute it to a visit, step the site's call flow) while calls arrive at --rate per
 * second, on PostgreSQL.
 *
 *   npx tsx bench/routing.ts [--rate 100] [--duration 30] [--history 20000] [--live 2000] [--pg postgres://…]
 *
 * The server runs in a child process (this file with --serve) on a fresh schema of the bench database,
 * set up through the product's own paths: a site with a pool, three employees in a group, a default flow
 * (schedule → simultaneous ring group → hang-up) and a Kamailio integration; then --history visits spread
 * over the past 7 days (their leases are long expired: the lease history attribution searches) and --live
 * visits that hold their numbers now. The generator then sends calls open-loop: call i is sent at
 * t0 + i/rate whether or not earlier answers came back, so a slow server meets a growing queue instead
 * of a politely waiting client. Each call dials the number of a random live visit, so attribution does
 * real work (lease lookup, caller history, classification). The route is Kamailio's
 * (`POST /hooks/kamailio/:id/route`); Twilio and the Asterisk route run the same attribution and step.
 *
 * Reported: client latency (send → full answer) and server time (Fastify's reply.elapsedTime, request
 * received → response sent) as p50/p95/p99/max, the achieved rate, errors, and CPU per call.
 * Nothing is asserted; the numbers go into BENCHMARKS.md by hand.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import {
  cpuMicros,
  DEFAULT_PG,
  machineBusyMicros,
  percentile,
  pgReachable,
  portOf,
  postgresMicros,
  redact,
  setupApi,
  sleep,
} from './common.js';

interface Ready {
  type: 'ready';
  port: number;
  integrationId: string;
  token: string;
  liveNumbers: string[];
  setupSeconds: number;
  rows: Record<string, number>;
}
type FromChild = Ready | { type: 'server'; elapsedMs: number[]; cpuMicros: number } | { type: 'closed' };
type ToChild = { type: 'server' } | { type: 'close' };

const DAY = 86_400_000;

async function serve(opts: { pg: string; history: number; live: number; pool: number }): Promise<void> {
  const send = (m: FromChild) => process.send?.(m);
  const started = performance.now();
  const { buildApp } = await import('../src/app.js');
  const { loadConfig } = await import('../src/config.js');
  const { openDb } = await import('../src/db/db.js');
  const { migrate } = await import('../src/db/migrate.js');
  const { createAccount, createApiKey } = await import('../src/accounts/keys.js');

  const schema = `bench_${randomBytes(5).toString('hex')}`;
  const db = await openDb({ url: opts.pg, schema, poolSize: 10 });
  await migrate(db);
  // Setup runs in the past (history), then the clock rejoins real time for the measured calls.
  let offsetMs = -7 * DAY;
  const clock = { now: () => new Date(Date.now() + offsetMs) };
  const app = await buildApp({ config: loadConfig({}, { logLevel: 'silent' }), db, clock });
  const elapsed: number[] = [];
  app.addHook('onResponse', async (req, reply) => {
    if (req.url.endsWith('/route')) elapsed.push(reply.elapsedTime);
  });
  const accountId = await createAccount(db, clock, 'Bench');
  const { key } = await createApiKey(db, clock, accountId, 'bench');
  const api = setupApi(app, key);
  const site = await api('/api/v1/sites', {
    name: 'Диваны на заказ',
    timeZone: 'Europe/Moscow',
    defaultNumber: '+7 (495) 123-45-67',
    replaceNumbers: ['+7 (495) 123-45-67'],
  });
  for (let i = 0; i < opts.pool; i++) {
    await api(`/api/v1/sites/${site.id}/numbers`, {
      number: `+74997${String(i).padStart(6, '0')}`,
      kind: 'pool',
    });
  }
  const members: string[] = [];
  for (const [name, uri] of [
    ['Анна', 'sip:101@pbx.example.com'],
    ['Борис', 'sip:102@pbx.example.com'],
    ['Вера', 'sip:103@pbx.example.com'],
  ]) {
    members.push((await api('/api/v1/employees', { name, endpoints: [{ kind: 'sip', uri }] })).id);
  }
  const group = await api('/api/v1/employee-groups', { name: 'Продажи', members });
  await api(`/api/v1/sites/${site.id}/flows`, {
    name: 'Офис',
    isDefault: true,
    flow: {
      start: 'hours',
      nodes: {
        hours: {
          kind: 'schedule',
          hours: [{ days: [1, 2, 3, 4, 5, 6, 7], from: '00:00', to: '24:00' }],
          open: 'sales',
          closed: 'end',
        },
        sales: { kind: 'ringGroup', strategy: 'simultaneous', groupId: group.id, next: 'end' },
        end: { kind: 'hangup' },
      },
    },
  });
  const kamailio = await api('/api/v1/integrations/kamailio', { name: 'Kamailio' });

  const visit = async (n: number) => {
    const res = await app.inject({
      method: 'POST',
      url: '/t/visit',
      remoteAddress: '77.88.55.242',
      headers: {
        'content-type': 'text/plain;charset=UTF-8',
        'user-agent':
          'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/130.0.0.0 Safari/537.36',
      },
      payload: JSON.stringify({
        site: site.siteKey,
        url: `https://divany.example/?utm_source=yandex&utm_medium=cpc&utm_campaign=c${n % 40}&utm_term=диван+${n % 300}`,
      }),
    });
    if (res.statusCode !== 200) throw new Error(`visit: ${res.statusCode} ${res.body}`);
    return res.json() as { number: { e164: string } | null };
  };
  // History: visits spread evenly over the past week, each leaving its lease behind.
  for (let i = 0; i < opts.history; i++) {
    offsetMs = -7 * DAY + Math.floor((i / opts.history) * (7 * DAY - 3_600_000));
    await visit(i);
  }
  offsetMs = 0;
  const liveNumbers: string[] = [];
  for (let i = 0; i < opts.live; i++) {
    const v = await visit(opts.history + i);
    if (v.number) liveNumbers.push(v.number.e164);
  }
  await db.exec('ANALYZE');
  await app.listen({ host: '127.0.0.1', port: 0 });
  const count = async (table: string) =>
    Number((await db.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`))[0].n);
  const rows: Record<string, number> = {};
  for (const t of ['visits', 'leases', 'calls', 'numbers']) rows[t] = await count(t);
  elapsed.length = 0;
  send({
    type: 'ready',
    port: portOf(app),
    integrationId: kamailio.id,
    token: kamailio.token,
    liveNumbers,
    setupSeconds: (performance.now() - started) / 1000,
    rows,
  });
  process.on('message', async (m: ToChild) => {
    if (m.type === 'server') send({ type: 'server', elapsedMs: elapsed.splice(0), cpuMicros: cpuMicros() });
    if (m.type === 'close') {
      await app.close();
      await db.close();
      const admin = new pg.Client({ connectionString: opts.pg });
      await admin.connect();
      await admin.query(`DROP SCHEMA ${schema} CASCADE`);
      await admin.end();
      send({ type: 'closed' });
      process.disconnect();
    }
  });
}

function ask(proc: ChildProcess, m: ToChild): Promise<FromChild> {
  return new Promise((resolve) => {
    proc.once('message', resolve);
    proc.send(m);
  });
}

function routeCall(
  agent: http.Agent,
  ready: Ready,
  n: number,
): Promise<{ status: number; ms: number; body: string }> {
  const body = JSON.stringify({
    callId: `bench-${n}-${randomBytes(4).toString('hex')}`,
    fromTag: randomBytes(4).toString('hex'),
    caller: `+7916${String(1_000_000 + (n % 8_999_999)).padStart(7, '0')}`,
    callee: ready.liveNumbers[n % ready.liveNumbers.length],
    inviteTs: (Date.now() / 1000).toFixed(6),
  });
  const start = performance.now();
  return new Promise((resolve) => {
    const req = http.request(
      {
        agent,
        host: '127.0.0.1',
        port: ready.port,
        method: 'POST',
        path: `/hooks/kamailio/${ready.integrationId}/route`,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          'x-ringtrace-token': ready.token,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            ms: performance.now() - start,
            body: Buffer.concat(chunks).toString(),
          }),
        );
      },
    );
    req.on('error', (err) => resolve({ status: 0, ms: performance.now() - start, body: String(err) }));
    req.end(body);
  });
}

const stats = (values: number[]) => {
  const sorted = Float64Array.from(values).sort();
  return {
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] ?? Number.NaN,
  };
};
const f = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '—');

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      serve: { type: 'boolean', default: false },
      rate: { type: 'string', default: '100' },
      duration: { type: 'string', default: '30' },
      warmup: { type: 'string', default: '5' },
      history: { type: 'string', default: '20000' },
      live: { type: 'string', default: '2000' },
      pool: { type: 'string', default: '2500' },
      pg: { type: 'string', default: DEFAULT_PG },
    },
  });
  const history = Number(values.history);
  const live = Number(values.live);
  const pool = Number(values.pool);
  if (values.serve) return serve({ pg: values.pg, history, live, pool });

  const pgVersion = await pgReachable(values.pg);
  if (!pgVersion) throw new Error(`PostgreSQL at ${redact(values.pg)} is not reachable`);
  const rate = Number(values.rate);
  const seconds = Number(values.duration);
  const warmup = Number(values.warmup);
  const proc = fork(
    fileURLToPath(import.meta.url),
    [
      '--serve',
      '--pg',
      values.pg,
      '--history',
      String(history),
      '--live',
      String(live),
      '--pool',
      String(pool),
    ],
    { stdio: 'inherit' },
  );
  const ready = await new Promise<Ready>((resolve, reject) => {
    proc.once('message', (m: FromChild) => (m.type === 'ready' ? resolve(m) : reject(new Error(m.type))));
    proc.once('exit', (code) => reject(new Error(`server exited with ${code} before ready`)));
  });
  console.log(
    `setup ${ready.setupSeconds.toFixed(0)} s: ${JSON.stringify(ready.rows)}; ${ready.liveNumbers.length} live visits hold a number`,
  );

  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const run = async (duration: number, offset: number) => {
    const total = Math.round(rate * duration);
    const t0 = performance.now();
    const pending: Array<Promise<{ status: number; ms: number; body: string }>> = [];
    for (let i = 0; i < total; i++) {
      const due = t0 + (i * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 1) await sleep(wait);
      pending.push(routeCall(agent, ready, offset + i));
    }
    const results = await Promise.all(pending);
    return { results, wall: (performance.now() - t0) / 1000 };
  };
  await run(warmup, 0);
  await ask(proc, { type: 'server' }); // drop the warm-up's server timings
  const before = { server: (await ask(proc, { type: 'server' })) as Extract<FromChild, { type: 'server' }> };
  const cpuGen0 = cpuMicros();
  const pg0 = postgresMicros();
  const machine0 = machineBusyMicros();
  const { results, wall } = await run(seconds, Math.round(rate * warmup));
  const machine1 = machineBusyMicros();
  const pg1 = postgresMicros();
  const cpuGen1 = cpuMicros();
  const after = (await ask(proc, { type: 'server' })) as Extract<FromChild, { type: 'server' }>;

  const ok = results.filter((r) => r.status === 200 && r.body.includes('"target"'));
  const errors = results.length - ok.length;
  const client = stats(ok.map((r) => r.ms));
  const server = stats(after.elapsedMs);
  const n = results.length;
  // A process that exits between two readings takes its CPU time with it: a negative delta is unknown.
  const perCall = (micros: number | null) =>
    micros === null || micros < 0 ? '—' : (micros / 1000 / n).toFixed(2);
  console.log(
    `\nRouting decisions at ${rate}/s for ${seconds} s (Kamailio route), PostgreSQL ${pgVersion}, ${availableParallelism()} CPUs`,
  );
  console.log('\n| measure | p50 ms | p95 ms | p99 ms | max ms |\n|---|---:|---:|---:|---:|');
  console.log(
    `| server time (reply.elapsedTime) | ${f(server.p50)} | ${f(server.p95)} | ${f(server.p99)} | ${f(server.max)} |`,
  );
  console.log(
    `| client latency | ${f(client.p50)} | ${f(client.p95)} | ${f(client.p99)} | ${f(client.max)} |`,
  );
  console.log(
    `\ncalls sent ${n}, routed ${ok.length}, errors ${errors}, achieved ${(n / wall).toFixed(1)} calls/s over ${wall.toFixed(1)} s`,
  );
  console.log(
    `CPU ms per call: server ${perCall(after.cpuMicros - before.server.cpuMicros)}, generator ${perCall(cpuGen1 - cpuGen0)}, ` +
      `PostgreSQL ${perCall(pg0 !== null && pg1 !== null ? pg1 - pg0 : null)}, machine ${perCall(machine0 !== null && machine1 !== null ? machine1 - machine0 : null)}`,
  );
  const firstError = results.find((r) => !(r.status === 200 && r.body.includes('"target"')));
  if (firstError) console.log(`first error: ${firstError.status} ${firstError.body.slice(0, 200)}`);
  agent.destroy();
  await ask(proc, { type: 'close' });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
