import { createHmac, randomBytes } from 'node:crypto';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { createAccount, createApiKey } from '../src/accounts/keys.js';
import { buildApp } from '../src/app.js';
import { ManualClock } from '../src/clock.js';
import { type Config, loadConfig } from '../src/config.js';
import { type Db, openDb } from '../src/db/db.js';
import { migrate } from '../src/db/migrate.js';
import { signBody } from '../src/telephony/generic.js';
import { wholeCallEvents } from '../src/telephony/generic-call.js';

/**
 * A fresh database for one test file: in-memory PGlite, or (TEST_DATABASE_URL set) a new schema in the
 * PostgreSQL test database, so the same suite runs on both.
 */
export async function testDb(poolSize = 10): Promise<Db> {
  const url = process.env.TEST_DATABASE_URL;
  const db = url
    ? await openDb({ url, schema: `t_${randomBytes(6).toString('hex')}`, poolSize })
    : await openDb({});
  await migrate(db);
  return db;
}

export interface TestEnv {
  db: Db;
  app: FastifyInstance;
  clock: ManualClock;
  accountId: string;
  key: string;
  /** inject() with the account's API key. */
  api: (
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    url: string,
    body?: unknown,
  ) => Promise<LightMyRequestResponse>;
  close: () => Promise<void>;
}

/** `appDb`: the database the app is given, wrapping the test's own (e.g. to count statements). */
export async function testEnv(
  start = '2026-11-02T09:00:00Z',
  poolSize = 10,
  config: Partial<Config> = {},
  appDb: (db: Db) => Db = (db) => db,
): Promise<TestEnv> {
  const db = await testDb(poolSize);
  const clock = new ManualClock(start);
  const app = await buildApp({
    config: loadConfig({}, { logLevel: 'silent', ...config }),
    db: appDb(db),
    clock,
  });
  const accountId = await createAccount(db, clock, 'Test account');
  const { key } = await createApiKey(db, clock, accountId, 'test');
  const api: TestEnv['api'] = (method, url, body) =>
    app.inject({ method, url, headers: { authorization: `Bearer ${key}` }, payload: body as object });
  return {
    db,
    app,
    clock,
    accountId,
    key,
    api,
    close: async () => {
      await app.close();
      await db.close();
    },
  };
}

export const MOSCOW_IP = '77.88.55.242';
export const PERM_IP = '46.146.0.1';
export const CHROME_UA =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36';

/** A widget page load as the browser sends it (text/plain JSON). */
export function postVisit(
  app: FastifyInstance,
  body: Record<string, unknown>,
  ip = MOSCOW_IP,
  ua = CHROME_UA,
) {
  return app.inject({
    method: 'POST',
    url: '/t/visit',
    remoteAddress: ip,
    headers: { 'content-type': 'text/plain;charset=UTF-8', 'user-agent': ua },
    payload: JSON.stringify(body),
  });
}

export function postPing(app: FastifyInstance, body: Record<string, unknown>) {
  return app.inject({
    method: 'POST',
    url: '/t/ping',
    headers: { 'content-type': 'text/plain;charset=UTF-8' },
    payload: JSON.stringify(body),
  });
}

/** The widget's lease request (site `leaseOn: visible`), as the browser sends it. */
export function postLease(app: FastifyInstance, body: Record<string, unknown>) {
  return app.inject({
    method: 'POST',
    url: '/t/lease',
    headers: { 'content-type': 'text/plain;charset=UTF-8' },
    payload: JSON.stringify(body),
  });
}

/** Sends generic-webhook events signed with the integration's secret. */
export function postCallEvents(
  app: FastifyInstance,
  integration: { id: string; secret: string },
  events: unknown,
) {
  const raw = JSON.stringify(events);
  return app.inject({
    method: 'POST',
    url: `/hooks/generic/${integration.id}`,
    headers: {
      'content-type': 'application/json',
      'x-ringtrace-signature': signBody(integration.secret, raw),
    },
    payload: raw,
  });
}

/** A site with a home pool of `poolSize` numbers, a default number, a static number and a generic integration. */
export async function setupSite(
  env: TestEnv,
  options: { poolSize?: number; site?: Record<string, unknown> } = {},
) {
  const site = (
    await env.api('POST', '/api/v1/sites', {
      name: 'Диваны на заказ',
      defaultNumber: '+7 (495) 123-45-67',
      replaceNumbers: ['+7 (495) 123-45-67'],
      ...options.site,
    })
  ).json();
  const pool: string[] = [];
  for (let i = 0; i < (options.poolSize ?? 3); i++) {
    const res = await env.api('POST', `/api/v1/sites/${site.id}/numbers`, {
      number: `+749977788${String(i).padStart(2, '0')}`,
      kind: 'pool',
    });
    if (res.statusCode !== 201) throw new Error(`pool number ${i}: ${res.body}`);
    pool.push(res.json().e164);
  }
  const staticNumber = (
    await env.api('POST', `/api/v1/sites/${site.id}/numbers`, { number: '+74951110000', kind: 'static' })
  ).json();
  const integration = (
    await env.api('POST', '/api/v1/integrations', { kind: 'generic', name: 'PBX' })
  ).json();
  return { site, pool, staticNumber, integration };
}

let callSeq = 0;
/** Events of one whole call: started, optionally answered after `waitSeconds`, ended after `talkSeconds`. */
export function callEvents(opts: {
  from: string;
  to: string;
  at: Date;
  answered?: boolean;
  waitSeconds?: number;
  talkSeconds?: number;
  group?: string;
  employee?: string;
}) {
  const callId = `call-${++callSeq}-${randomBytes(3).toString('hex')}`;
  const events = wholeCallEvents({
    callId,
    from: opts.from,
    to: opts.to,
    at: opts.at.getTime(),
    answered: opts.answered !== false,
    waitSeconds: opts.waitSeconds ?? 5,
    talkSeconds: opts.talkSeconds ?? 60,
    employee: opts.employee ?? 'Анна',
    group: opts.group ?? 'Продажи',
  });
  return { callId, events };
}

/**
 * A visit to `url` at `at`, then a whole answered call from `from` to the number it was shown, starting a
 * minute later and posted through the site's generic integration five minutes after `at`.
 */
export async function callAfterVisit(
  env: TestEnv,
  s: Awaited<ReturnType<typeof setupSite>>,
  opts: { url: string; from: string; at: string; talkSeconds?: number; recordingUrl?: string },
): Promise<{ callId: string; trackingNumber: string }> {
  const start = Date.parse(opts.at);
  env.clock.set(opts.at);
  const visit = (await postVisit(env.app, { site: s.site.siteKey, url: opts.url })).json();
  const trackingNumber: string = visit.number.e164;
  const { events } = callEvents({
    from: opts.from,
    to: trackingNumber,
    at: new Date(start + 60_000),
    talkSeconds: opts.talkSeconds,
  });
  if (opts.recordingUrl) events[events.length - 1].recordingUrl = opts.recordingUrl;
  env.clock.set(new Date(start + 300_000));
  const res = await postCallEvents(env.app, s.integration, events);
  if (res.statusCode !== 200) throw new Error(`call events answered ${res.statusCode}: ${res.body}`);
  return { callId: res.json().calls[0], trackingNumber };
}

/** Signs like Twilio: HMAC-SHA1 (auth token) of the full URL + sorted name/value pairs, base64. */
export function twilioSign(token: string, url: string, params: Record<string, string>): string {
  const data = Object.keys(params)
    .sort()
    .reduce((acc, k) => acc + k + params[k], url);
  return createHmac('sha1', token).update(data).digest('base64');
}
