import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount, createApiKey } from '../src/accounts/keys.js';
import { type Config, loadConfig } from '../src/config.js';
import { jobKinds } from '../src/jobs/kinds.js';
import { type JobKinds, runDueJobs } from '../src/jobs/queue.js';
import { secretBox } from '../src/secrets/secret-box.js';
import { callEvents, postCallEvents, postVisit, setupSite, type TestEnv, testEnv } from './helpers.js';
import { multipartForm, type StandInRequest, startStandIn } from './stand-in-server.js';

const MINUTE = 60_000;
const SECRET_KEY = 'c0nversions-test-key-0123456789abcdef';
const GA_CLIENT = '1197596843.1673515099';
const GA_SESSION = '1747132561';
const YM_UID = '1673515099123456789';
const CALL_URL = 'https://divany.example/sofas?gclid=Cj0KCQ-click-1&yclid=7771234';

const settings = {
  calls: { class: 'targeted', value: 1500.5 },
  leads: { types: ['form'], value: 300 },
  destinations: {
    ga4: { measurementId: 'G-TEST12345', apiSecret: 'ga-secret' },
    metrika: { counterId: '44147844', oauthToken: 'y0_metrika-token' },
    googleAds: {
      customerId: '123-456-7890',
      conversionActionId: '555',
      loginCustomerId: '111-222-3333',
      clientId: 'cid.apps.googleusercontent.com',
      developerToken: 'dev-token',
      clientSecret: 'client-secret',
      refreshToken: '1//refresh-token',
    },
  },
};

interface Delivery {
  id: string;
  destination: string;
  name: string;
  callId: string | null;
  leadId: string | null;
  job: {
    id: string;
    status: string;
    attempts: number;
    nextAttemptAt: string | null;
    lastError: string | null;
    attemptLog: Array<{ success: boolean; manual: boolean; detail: Record<string, unknown> }>;
  };
}

const jsonOf = (req: StandInRequest) => JSON.parse(req.body.toString('utf8'));

/** Conversions out: GA4 MP, Metrika offline calls and Google Ads click conversions, through the job queue. */
describe('conversions out', () => {
  let env: TestEnv;
  let s: Awaited<ReturnType<typeof setupSite>>;
  let ga4: Awaited<ReturnType<typeof startStandIn>>;
  let metrika: Awaited<ReturnType<typeof startStandIn>>;
  let google: Awaited<ReturnType<typeof startStandIn>>;
  let kinds: JobKinds;
  let visitNumber: string;

  const run = () => runDueJobs({ db: env.db, clock: env.clock, kinds });
  /** A visit carrying every id the destinations match on. */
  const trackedVisit = () =>
    postVisit(env.app, {
      site: s.site.siteKey,
      url: CALL_URL,
      gaClientId: GA_CLIENT,
      ymUid: YM_UID,
      // Two GA4 properties on the page; the configured one is G-TEST12345.
      gaSessions: `OTHER9:1111,TEST12345:${GA_SESSION}`,
    });
  const deliveries = async (query = '', siteId = s.site.id): Promise<Delivery[]> => {
    const res = await env.api('GET', `/api/v1/sites/${siteId}/conversions/deliveries${query}`);
    expect(res.statusCode, res.body).toBe(200);
    return res.json().items;
  };
  const googleOk = (req: StandInRequest) =>
    req.path === '/token'
      ? { status: 200, body: { access_token: 'ya29.access', expires_in: 3599, token_type: 'Bearer' } }
      : { status: 200, body: { results: [{ gclid: jsonOf(req).conversions[0].gclid }], jobId: '9' } };
  const metrikaOk = () => ({
    status: 200,
    body: { uploading: { id: 42, status: 'UPLOADED', line_quantity: 1, client_id_type: 'CLIENT_ID' } },
  });
  /** A call from `from` to `to` now, answered after 5 s, talking `talkSeconds`; returns our call id. */
  const makeCall = async (from: string, to: string, talkSeconds = 60) => {
    const { events } = callEvents({ from, to, at: env.clock.now(), talkSeconds });
    const res = await postCallEvents(env.app, s.integration, events);
    expect(res.statusCode, res.body).toBe(200);
    return { id: res.json().calls[0] as string, events };
  };

  beforeAll(async () => {
    ga4 = await startStandIn(() => ({ status: 204 }));
    metrika = await startStandIn(metrikaOk);
    google = await startStandIn(googleOk);
    const config: Partial<Config> = {
      secretKey: SECRET_KEY,
      ga4Url: ga4.url,
      metrikaUrl: metrika.url,
      googleAdsUrl: google.url,
      googleOauthUrl: `${google.url}/token`,
    };
    env = await testEnv('2026-11-02T09:00:00Z', 10, config);
    const full = loadConfig({}, { logLevel: 'silent', ...config });
    kinds = jobKinds({ config: full, db: env.db, clock: env.clock, secrets: secretBox(SECRET_KEY) });
    s = await setupSite(env);
    const visit = await trackedVisit();
    expect(visit.statusCode, visit.body).toBe(200);
    visitNumber = visit.json().number.e164;
  });
  afterAll(async () => {
    await env.close();
    await Promise.all([ga4.close(), metrika.close(), google.close()]);
  });

  it('validates the rule set with 400s naming the field, stores secrets sealed and never returns them', async () => {
    const url = `/api/v1/sites/${s.site.id}/conversions`;
    const cases: Array<[unknown, string]> = [
      [{ ...settings, calls: { class: 'hot', value: 1 } }, 'body.calls.class'],
      [{ ...settings, calls: { class: 'targeted', eventName: 'ga_call' } }, 'body.calls.eventName'],
      [{ ...settings, leads: { types: [] } }, 'body.leads.types'],
      [{ ...settings, currency: 'rub' }, 'body.currency'],
      [
        { destinations: { ga4: { measurementId: 'UA-1', apiSecret: 'x' } } },
        'body.destinations.ga4.measurementId',
      ],
      [{ destinations: { ga4: { measurementId: 'G-TEST12345' } } }, 'body.destinations.ga4.apiSecret'],
      [
        { destinations: { googleAds: { ...settings.destinations.googleAds, customerId: '12' } } },
        'customerId',
      ],
      [{ destinations: { matomo: {} } }, 'body.destinations'],
    ];
    for (const [body, field] of cases) {
      const res = await env.api('PUT', url, body);
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(res.json().message).toContain(field);
    }
    expect((await env.api('GET', url)).json().configured).toBe(false);
    expect(
      (await env.api('PUT', `/api/v1/sites/${crypto.randomUUID()}/conversions`, settings)).statusCode,
    ).toBe(404);

    const saved = await env.api('PUT', url, settings);
    expect(saved.statusCode, saved.body).toBe(200);
    const shown = (await env.api('GET', url)).json();
    expect(shown).toMatchObject({
      configured: true,
      calls: { class: 'targeted', value: 1500.5, useRevenue: false, eventName: 'ringtrace_call' },
      leads: { types: ['form'], value: 300, eventName: 'ringtrace_lead' },
      delayMinutes: 0,
      destinations: {
        ga4: { measurementId: 'G-TEST12345', credentialsStored: ['apiSecret'] },
        metrika: { counterId: '44147844', credentialsStored: ['oauthToken'] },
        googleAds: {
          customerId: '1234567890',
          loginCustomerId: '1112223333',
          credentialsStored: ['developerToken', 'clientSecret', 'refreshToken'],
        },
      },
    });
    const text = JSON.stringify(shown);
    for (const secret of ['ga-secret', 'y0_metrika-token', 'dev-token', 'client-secret', '1//refresh-token'])
      expect(text).not.toContain(secret);
    const [row] = await env.db.query<{ destinations: unknown }>(
      'SELECT destinations FROM conversion_settings WHERE site_id = $1',
      [s.site.id],
    );
    expect(JSON.stringify(row.destinations)).not.toContain('ga-secret');
    const spec = (await env.app.inject({ method: 'GET', url: '/api/docs/json' })).json();
    expect(Object.keys(spec.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/sites/{siteId}/conversions',
        '/api/v1/sites/{siteId}/conversions/deliveries',
        '/api/v1/sites/{siteId}/conversions/deliveries/{jobId}/retry',
      ]),
    );
  });

  it('a call that is not targeted is not sent when the rule asks for targeted calls', async () => {
    const call = await makeCall('+79161239999', visitNumber, 10);
    expect(await deliveries(`?callId=${call.id}`)).toEqual([]);
    await run();
    expect(ga4.requests).toHaveLength(0);
    expect(google.requests).toHaveLength(0);
  });

  it('sends a targeted call to GA4 and Google Ads with the documented requests', async () => {
    const startedAt = env.clock.now();
    const call = await makeCall('+79161230001', visitNumber);
    const items = await deliveries(`?callId=${call.id}`);
    expect(items.map((d) => d.destination).sort()).toEqual(['ga4', 'google_ads', 'metrika']);
    expect(items.every((d) => d.job.status === 'pending' && d.name === 'ringtrace_call')).toBe(true);

    const results = await run();
    // Metrika's batch waits for the end of its window.
    expect(results.map((r) => [r.kind, r.status]).sort()).toEqual([
      ['conversion.ga4', 'succeeded'],
      ['conversion.google_ads', 'succeeded'],
    ]);

    expect(ga4.requests).toHaveLength(1);
    const g = ga4.requests[0];
    expect(g.method).toBe('POST');
    expect(g.path).toBe('/mp/collect');
    expect(Object.fromEntries(new URL(g.url, 'http://x').searchParams)).toEqual({
      measurement_id: 'G-TEST12345',
      api_secret: 'ga-secret',
    });
    expect(g.headers['content-type']).toBe('application/json');
    expect(jsonOf(g)).toEqual({
      client_id: GA_CLIENT,
      timestamp_micros: startedAt.getTime() * 1000,
      events: [
        {
          name: 'ringtrace_call',
          params: {
            session_id: GA_SESSION,
            engagement_time_msec: 1,
            value: 1500.5,
            currency: 'RUB',
            call_id: call.id,
            call_duration: 60,
            call_class: 'unique targeted unique_targeted first_targeted',
          },
        },
      ],
    });

    expect(google.requests).toHaveLength(2);
    const [token, upload] = google.requests;
    expect(token.method).toBe('POST');
    expect(token.path).toBe('/token');
    expect(token.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(Object.fromEntries(new URLSearchParams(token.body.toString('utf8')))).toEqual({
      grant_type: 'refresh_token',
      client_id: 'cid.apps.googleusercontent.com',
      client_secret: 'client-secret',
      refresh_token: '1//refresh-token',
    });
    expect(upload.method).toBe('POST');
    expect(upload.path).toBe('/v26/customers/1234567890:uploadClickConversions');
    expect(upload.headers).toMatchObject({
      authorization: 'Bearer ya29.access',
      'developer-token': 'dev-token',
      'login-customer-id': '1112223333',
      'content-type': 'application/json',
    });
    const adsId = items.find((d) => d.destination === 'google_ads')?.id;
    expect(jsonOf(upload)).toEqual({
      conversions: [
        {
          gclid: 'Cj0KCQ-click-1',
          conversionAction: 'customers/1234567890/conversionActions/555',
          conversionDateTime: '2026-11-02 12:00:00+03:00',
          conversionValue: 1500.5,
          currencyCode: 'RUB',
          orderId: adsId,
        },
      ],
      partialFailure: true,
    });

    const after = await deliveries(`?callId=${call.id}&status=succeeded`);
    expect(after.map((d) => d.destination).sort()).toEqual(['ga4', 'google_ads']);
    const gaLog = after.find((d) => d.destination === 'ga4')?.job.attemptLog[0];
    expect(gaLog?.success).toBe(true);
    // The log shows what was sent, never the secret.
    expect(JSON.stringify(gaLog)).not.toContain('ga-secret');
  });

  it('a duplicate telephony delivery of the same call sends nothing again', async () => {
    const before = (await deliveries()).length;
    const [first] = await deliveries('?destination=ga4');
    // Re-post the stored call's own events: same provider ids, processed again.
    const rows = await env.db.query<{ provider_call_id: string }>(
      'SELECT provider_call_id FROM calls WHERE id = $1',
      [first.callId],
    );
    const providerCallId = rows[0].provider_call_id;
    const at = new Date(env.clock.now().getTime() + 65_000).toISOString();
    env.clock.advance(1000);
    // The same ended event redelivered, and one under a new event id, which makes the call be processed again.
    const again = await postCallEvents(env.app, s.integration, [
      {
        id: `${providerCallId}:ended`,
        type: 'call.ended',
        callId: providerCallId,
        occurredAt: at,
        status: 'completed',
      },
      {
        id: `${providerCallId}:ended-2`,
        type: 'call.ended',
        callId: providerCallId,
        occurredAt: at,
        status: 'completed',
      },
    ]);
    expect(again.statusCode, again.body).toBe(200);
    const [processed] = await env.db.query<{ updated_at: Date }>(
      'SELECT updated_at FROM calls WHERE id = $1',
      [first.callId],
    );
    expect(new Date(processed.updated_at)).toEqual(env.clock.now());
    expect(await deliveries()).toHaveLength(before);
    expect(await run()).toEqual([]);
    expect(ga4.requests).toHaveLength(1);
  });

  it('uploads the calls of a Metrika window in one CSV per id type, every column as documented', async () => {
    env.clock.advance(MINUTE);
    const second = await makeCall('+79161230002', visitNumber, 45);
    env.clock.advance(MINUTE);
    // The first caller again: targeted but not a first-time caller.
    const repeat = await makeCall('+79161230001', visitNumber, 40);
    // A Yandex Direct click without a Metrika ClientID goes in a YCLID upload.
    const yclidVisit = await postVisit(env.app, {
      site: s.site.siteKey,
      url: 'https://divany.example/?yclid=99911&utm_source=yandex&utm_medium=cpc',
    });
    const yclidCall = await makeCall('+79161230003', yclidVisit.json().number.e164, 35);
    const first = (await deliveries('?destination=metrika&status=pending')).find(
      (d) => ![second.id, repeat.id, yclidCall.id].includes(d.callId as string),
    );
    expect(first).toBeTruthy();
    await run(); // GA4/Ads of the new calls
    const metrikaJobs = new Set((await deliveries('?destination=metrika')).map((d) => d.job.id));
    expect(metrikaJobs.size).toBe(2);
    expect(metrika.requests).toHaveLength(0);

    env.clock.set('2026-11-02T09:05:00Z');
    const results = (await run()).filter((r) => r.kind === 'conversion.metrika');
    expect(results.map((r) => r.status)).toEqual(['succeeded', 'succeeded']);
    expect(metrika.requests).toHaveLength(2);
    const byType = new Map(
      metrika.requests.map((r) => [new URL(r.url, 'http://x').searchParams.get('client_id_type'), r]),
    );
    const unix = (iso: string) => String(Date.parse(iso) / 1000);
    const header =
      'DateTime,PhoneNumber,TalkDuration,HoldDuration,CallMissed,FirstTimeCaller,Tag,URL,Price,Currency,StaticCall';
    const clientIds = byType.get('CLIENT_ID') as StandInRequest;
    expect(clientIds.method).toBe('POST');
    expect(clientIds.path).toBe('/management/v1/counter/44147844/offline_conversions/upload_calls');
    expect(clientIds.headers.authorization).toBe('OAuth y0_metrika-token');
    expect(clientIds.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
    const file = (await multipartForm(clientIds)).get('file') as File;
    expect(file.name).toBe('calls.csv');
    expect((await file.text()).split('\n')).toEqual([
      `ClientId,${header}`,
      `${YM_UID},${unix('2026-11-02T09:00:00Z')},+79161230001,60,5,0,1,unique targeted unique_targeted first_targeted,${CALL_URL},1500.50,RUB,0`,
      `${YM_UID},${unix('2026-11-02T09:01:01Z')},+79161230002,45,5,0,1,unique targeted unique_targeted first_targeted,${CALL_URL},1500.50,RUB,0`,
      `${YM_UID},${unix('2026-11-02T09:02:01Z')},+79161230001,40,5,0,0,targeted,${CALL_URL},1500.50,RUB,0`,
      '',
    ]);
    const yclids = byType.get('YCLID') as StandInRequest;
    expect(yclids.path).toBe('/management/v1/counter/44147844/offline_conversions/upload_calls');
    const yfile = (await multipartForm(yclids)).get('file') as File;
    expect((await yfile.text()).split('\n')).toEqual([
      `Yclid,${header}`,
      `99911,${unix('2026-11-02T09:02:01Z')},+79161230003,35,5,0,1,unique targeted unique_targeted first_targeted,https://divany.example/?yclid=99911&utm_source=yandex&utm_medium=cpc,1500.50,RUB,0`,
      '',
    ]);
    const [logged] = await deliveries(`?callId=${second.id}&destination=metrika`);
    expect(logged.job.attemptLog[0].detail).toMatchObject({
      status: 200,
      uploadingId: 42,
      uploadStatus: 'UPLOADED',
    });
  });

  it('retries after 5xx and 429 (honouring Retry-After) on the injected clock', async () => {
    let gaFailures = 1;
    ga4.answer(() => (gaFailures-- > 0 ? { status: 503, body: 'unavailable' } : { status: 204 }));
    let adsFailures = 1;
    google.answer((req) =>
      req.path !== '/token' && adsFailures-- > 0
        ? {
            status: 429,
            body: { error: { code: 429, status: 'RESOURCE_EXHAUSTED' } },
            headers: { 'retry-after': '300' },
          }
        : googleOk(req),
    );
    const call = await makeCall('+79161230004', visitNumber);
    const gaBefore = ga4.requests.length;
    const first = await run();
    const byKind = Object.fromEntries(first.map((r) => [r.kind, r]));
    expect(byKind['conversion.ga4']).toMatchObject({ status: 'pending', success: false });
    expect(byKind['conversion.ga4'].nextAttemptAt?.getTime()).toBe(env.clock.now().getTime() + MINUTE);
    expect(byKind['conversion.google_ads'].nextAttemptAt?.getTime()).toBe(
      env.clock.now().getTime() + 5 * MINUTE,
    );

    env.clock.advance(MINUTE);
    expect((await run()).map((r) => [r.kind, r.status])).toEqual([['conversion.ga4', 'succeeded']]);
    env.clock.advance(4 * MINUTE);
    expect((await run()).map((r) => [r.kind, r.status])).toContainEqual([
      'conversion.google_ads',
      'succeeded',
    ]);
    expect(ga4.requests.length - gaBefore).toBe(2);
    // The retry sends the same request.
    expect(jsonOf(ga4.requests.at(-1) as StandInRequest)).toEqual(
      jsonOf(ga4.requests.at(-2) as StandInRequest),
    );
    const [ga] = await deliveries(`?callId=${call.id}&destination=ga4`);
    expect(ga.job.attemptLog.map((a) => a.success)).toEqual([false, true]);
    expect(ga.job.attemptLog[0].detail).toMatchObject({ status: 503 });
    ga4.answer(() => ({ status: 204 }));
    google.answer(googleOk);
  });

  it('fails at once on a Metrika 400 and a Google Ads partialFailureError; a manual retry resends', async () => {
    metrika.answer(() => ({
      status: 400,
      body: {
        errors: [{ error_type: 'invalid_parameter', message: 'Wrong DateTime' }],
        code: 400,
        message: 'Wrong DateTime',
      },
    }));
    google.answer((req) =>
      req.path === '/token'
        ? googleOk(req)
        : {
            status: 200,
            body: {
              partialFailureError: { code: 3, message: 'The click is too old to be imported.', details: [] },
              results: [{}],
            },
          },
    );
    const call = await makeCall('+79161230005', visitNumber);
    await run();
    env.clock.set('2026-11-02T09:15:00Z');
    await run();
    const failed = await deliveries(`?callId=${call.id}&status=failed`);
    expect(failed.map((d) => d.destination).sort()).toEqual(['google_ads', 'metrika']);
    for (const d of failed) expect(d.job.attempts).toBe(1);
    const ads = failed.find((d) => d.destination === 'google_ads') as Delivery;
    expect(ads.job.lastError).toContain('The click is too old to be imported.');
    const upload = failed.find((d) => d.destination === 'metrika') as Delivery;
    expect(upload.job.lastError).toContain('HTTP 400');
    expect(upload.job.attemptLog[0].detail).toMatchObject({
      status: 400,
      response: { errors: [{ error_type: 'invalid_parameter', message: 'Wrong DateTime' }] },
    });
    // Nothing more is tried by itself.
    env.clock.advance(24 * 60 * MINUTE);
    expect(await run()).toEqual([]);

    metrika.answer(metrikaOk);
    const retried = await env.api(
      'POST',
      `/api/v1/sites/${s.site.id}/conversions/deliveries/${upload.job.id}/retry`,
    );
    expect(retried.statusCode, retried.body).toBe(200);
    expect(retried.json()).toMatchObject({ status: 'succeeded', attempts: 2 });
    expect(retried.json().attemptLog.map((a: { manual: boolean }) => a.manual)).toEqual([false, true]);
    const missing = await env.api(
      'POST',
      `/api/v1/sites/${s.site.id}/conversions/deliveries/${crypto.randomUUID()}/retry`,
    );
    expect(missing.statusCode).toBe(404);
    google.answer(googleOk);
  });

  it('sends leads of the counted types to GA4 and Google Ads (not to Metrika offline calls)', async () => {
    const v = await postVisit(env.app, {
      site: s.site.siteKey,
      url: 'https://divany.example/?gclid=Cj0-lead-click',
      gaClientId: '555.666',
    });
    const lead = (type: string) =>
      env.app.inject({
        method: 'POST',
        url: '/t/lead',
        headers: { 'content-type': 'text/plain;charset=UTF-8' },
        payload: JSON.stringify({ visit: v.json().visit, type, name: 'Иван' }),
      });
    const chat = await lead('chat');
    expect(chat.statusCode).toBe(201);
    expect(await deliveries(`?leadId=${chat.json().id}`)).toEqual([]);
    const form = await lead('form');
    expect(form.statusCode).toBe(201);
    const leadId = form.json().id;
    const items = await deliveries(`?leadId=${leadId}`);
    expect(items.map((d) => [d.destination, d.name]).sort()).toEqual([
      ['ga4', 'ringtrace_lead'],
      ['google_ads', 'ringtrace_lead'],
    ]);
    const gaBefore = ga4.requests.length;
    await run();
    const sent = jsonOf(ga4.requests[gaBefore]);
    expect(sent).toEqual({
      client_id: '555.666',
      timestamp_micros: env.clock.now().getTime() * 1000,
      events: [
        {
          name: 'ringtrace_lead',
          params: {
            engagement_time_msec: 1,
            value: 300,
            currency: 'RUB',
            lead_id: leadId,
            lead_type: 'form',
          },
        },
      ],
    });
    const upload = jsonOf(google.requests.at(-1) as StandInRequest);
    expect(upload.conversions[0]).toMatchObject({
      gclid: 'Cj0-lead-click',
      conversionValue: 300,
      orderId: items.find((d) => d.destination === 'google_ads')?.id,
    });
  });

  it('sends the won deal revenue when the rule asks for it and the deal comes within the delay', async () => {
    const put = await env.api('PUT', `/api/v1/sites/${s.site.id}/conversions`, {
      calls: { class: 'answered', value: 100, useRevenue: true, eventName: 'sale_call' },
      delayMinutes: 30,
      // Credentials omitted: the stored ones are kept.
      destinations: {
        ga4: { measurementId: 'G-TEST12345' },
        googleAds: {
          ...settings.destinations.googleAds,
          developerToken: undefined,
          clientSecret: undefined,
          refreshToken: undefined,
        },
      },
    });
    expect(put.statusCode, put.body).toBe(200);
    expect(put.json().destinations.metrika).toBeUndefined();
    // A new visit: the day that passed in the last test ended the earlier one.
    const v = await postVisit(env.app, { site: s.site.siteKey, url: CALL_URL, gaClientId: GA_CLIENT });
    const call = await makeCall('+79161230006', v.json().number.e164);
    expect((await run()).filter((r) => r.kind !== 'conversion.metrika')).toEqual([]);
    const deal = await env.api('POST', '/api/v1/deals', {
      siteId: s.site.id,
      callId: call.id,
      amount: 25000,
      status: 'won',
    });
    expect(deal.statusCode, deal.body).toBe(201);
    const gaBefore = ga4.requests.length;
    env.clock.advance(30 * MINUTE);
    expect((await run()).map((r) => r.status)).toEqual(['succeeded', 'succeeded']);
    const sent = jsonOf(ga4.requests[gaBefore]);
    expect(sent.events[0]).toMatchObject({ name: 'sale_call', params: { value: 25000, currency: 'RUB' } });
    expect(new URL(ga4.requests[gaBefore].url, 'http://x').searchParams.get('api_secret')).toBe('ga-secret');
    expect(jsonOf(google.requests.at(-1) as StandInRequest).conversions[0].conversionValue).toBe(25000);
  });

  it("another tenant's calls are sent with its own settings and never show in this tenant's log", async () => {
    const otherAccount = await createAccount(env.db, env.clock, 'Other');
    const { key } = await createApiKey(env.db, env.clock, otherAccount, 'k');
    const other: TestEnv = {
      ...env,
      accountId: otherAccount,
      key,
      api: (method, url, body) =>
        env.app.inject({ method, url, headers: { authorization: `Bearer ${key}` }, payload: body as object }),
    };
    const o = await setupSite(other);
    const put = await other.api('PUT', `/api/v1/sites/${o.site.id}/conversions`, {
      calls: { class: 'all', value: 1 },
      destinations: { ga4: { measurementId: 'G-OTHER999', apiSecret: 'other-secret' } },
    });
    expect(put.statusCode, put.body).toBe(200);
    const v = await postVisit(env.app, {
      site: o.site.siteKey,
      url: 'https://other.example/?gclid=other-click',
      gaClientId: '999.111',
    });
    const { events } = callEvents({ from: '+79161230007', to: v.json().number.e164, at: env.clock.now() });
    const res = await postCallEvents(env.app, o.integration, events);
    const otherCall = res.json().calls[0];
    const gaBefore = ga4.requests.length;
    await run();
    const sent = ga4.requests.slice(gaBefore);
    expect(sent).toHaveLength(1);
    expect(new URL(sent[0].url, 'http://x').searchParams.get('measurement_id')).toBe('G-OTHER999');
    expect(jsonOf(sent[0]).client_id).toBe('999.111');

    expect(await deliveries(`?callId=${otherCall}`)).toEqual([]);
    expect((await deliveries()).some((d) => d.callId === otherCall)).toBe(false);
    const mine = await other.api('GET', `/api/v1/sites/${o.site.id}/conversions/deliveries`);
    expect(mine.json().items.map((d: Delivery) => d.callId)).toEqual([otherCall]);
    // This tenant's site and jobs are not reachable with the other key.
    expect((await other.api('GET', `/api/v1/sites/${s.site.id}/conversions`)).statusCode).toBe(404);
    const myJob = (await deliveries())[0].job.id;
    expect(
      (await other.api('POST', `/api/v1/sites/${o.site.id}/conversions/deliveries/${myJob}/retry`))
        .statusCode,
    ).toBe(404);
  });
  describe('edge cases', () => {
    let number: string;
    beforeAll(async () => {
      ga4.answer(() => ({ status: 204 }));
      metrika.answer(metrikaOk);
      google.answer(googleOk);
      env.clock.set('2026-11-03T12:00:00Z');
      expect((await env.api('PUT', `/api/v1/sites/${s.site.id}/conversions`, settings)).statusCode).toBe(200);
      const v = await trackedVisit();
      number = v.json().number.e164;
      // A later page of the same visit in a new GA4 session: conversions join the latest one.
      const next = await postVisit(env.app, {
        site: s.site.siteKey,
        visitor: v.json().visitor,
        visit: v.json().visit,
        url: 'https://divany.example/contacts',
        gaSessions: 'TEST12345:1747140000',
      });
      expect(next.json().visit).toBe(v.json().visit);
    });

    it('sends the GA4 session of the latest page', async () => {
      const gaBefore = ga4.requests.length;
      await makeCall('+79161230010', number);
      await run();
      expect(jsonOf(ga4.requests[gaBefore]).events[0].params.session_id).toBe('1747140000');
    });

    it('a conversion arriving while its Metrika batch is being uploaded gets its own upload', async () => {
      const a = await makeCall('+79161230011', number);
      const [batchA] = await deliveries(`?callId=${a.id}&destination=metrika`);
      // A worker has claimed the batch (its lease runs to 12:10) and is uploading it.
      await env.db.query('UPDATE jobs SET locked_until = $2 WHERE id = $1', [
        batchA.job.id,
        new Date('2026-11-03T12:10:00Z'),
      ]);
      env.clock.advance(MINUTE);
      const b = await makeCall('+79161230012', number);
      const [batchB] = await deliveries(`?callId=${b.id}&destination=metrika`);
      expect(batchB.job.id).not.toBe(batchA.job.id);
      const before = metrika.requests.length;
      env.clock.set('2026-11-03T12:10:00Z');
      await run();
      const uploads = metrika.requests.slice(before);
      expect(uploads).toHaveLength(2);
      const phones = await Promise.all(
        uploads.map(async (u) => ((await multipartForm(u)).get('file') as File).text()),
      );
      // The 12:00 batch also holds the call of the test before; each new call is in exactly one upload.
      expect(phones.filter((csv) => csv.includes('+79161230011'))).toHaveLength(1);
      expect(phones.filter((csv) => csv.includes('+79161230012'))).toHaveLength(1);
      expect(phones.find((csv) => csv.includes('+79161230011'))).not.toContain('+79161230012');
    });

    it('a refused OAuth refresh fails the Google Ads conversion at once, without an upload', async () => {
      google.answer((req) =>
        req.path === '/token'
          ? {
              status: 400,
              body: { error: 'invalid_grant', error_description: 'Token has been expired or revoked.' },
            }
          : googleOk(req),
      );
      const before = google.requests.length;
      const call = await makeCall('+79161230013', number);
      await run();
      expect(google.requests.slice(before).map((r) => r.path)).toEqual(['/token']);
      const [ads] = await deliveries(`?callId=${call.id}&destination=google_ads`);
      expect(ads.job).toMatchObject({ status: 'failed', attempts: 1 });
      expect(ads.job.lastError).toContain('invalid_grant');
      google.answer(googleOk);
    });

    it('retries after a dropped connection; a Metrika 403 fails the upload at once', async () => {
      ga4.answer(() => ({ status: 0 }));
      metrika.answer(() => ({
        status: 403,
        body: { errors: [{ error_type: 'access_denied', message: 'Access denied' }], code: 403 },
      }));
      env.clock.set('2026-11-03T13:00:00Z');
      const v = await postVisit(env.app, {
        site: s.site.siteKey,
        url: CALL_URL,
        gaClientId: GA_CLIENT,
        ymUid: YM_UID,
      });
      const call = await makeCall('+79161230015', v.json().number.e164);
      const [dropped] = (await run()).filter((r) => r.kind === 'conversion.ga4');
      expect(dropped).toMatchObject({ status: 'pending', success: false });
      expect(dropped.error).toMatch(/^GA4: /);
      ga4.answer(() => ({ status: 204 }));
      env.clock.set('2026-11-03T13:05:00Z');
      const results = await run();
      expect(results.map((r) => [r.kind, r.status]).sort()).toEqual([
        ['conversion.ga4', 'succeeded'],
        ['conversion.metrika', 'failed'],
      ]);
      const [upload] = await deliveries(`?callId=${call.id}&destination=metrika`);
      expect(upload.job).toMatchObject({ status: 'failed', attempts: 1 });
      expect(upload.job.lastError).toContain('HTTP 403');
      metrika.answer(metrikaOk);
    });

    it('a conversion whose visit lost the matching id is not sent', async () => {
      const v = await postVisit(env.app, { site: s.site.siteKey, url: CALL_URL, gaClientId: '777.888' });
      const call = await makeCall('+79161230014', v.json().number.e164);
      // As if the call had been re-attributed to a visit without a Google click.
      await env.db.query('UPDATE visits SET gclid = NULL WHERE id = $1', [v.json().visit]);
      const before = google.requests.length;
      await run();
      expect(google.requests.length).toBe(before);
      const [ads] = await deliveries(`?callId=${call.id}&destination=google_ads`);
      expect(ads.job).toMatchObject({
        status: 'failed',
        lastError: 'the visit of the conversion no longer has a gclid',
      });
    });
  });
});
