import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crmJobKinds } from '../src/crm/jobs.js';
import { runDueJobs } from '../src/jobs/queue.js';
import { secretBox } from '../src/secrets/secret-box.js';
import { callAfterVisit, setupSite, type TestEnv, testEnv } from './helpers.js';
import { type StandInRequest, startStandIn } from './stand-in-server.js';

// A stand-in Bitrix24 portal on 127.0.0.1 answers REST calls of an inbound webhook
// (/rest/<user>/<code>/<method>.json) the way https://apidocs.bitrix24.com documents them: {result, time}
// on success, {error, error_description} with an HTTP error status otherwise.

const SECRET_KEY = 'bitrix-test-secret-key-0123456789abcdef';
const CODE = 's3cr3tc0de';
const APP_TOKEN = 'apptoken-51856fefc120afa4';
const LANDING = 'https://divany.example/?utm_source=google&utm_medium=cpc&utm_campaign=brand&utm_term=sofa';
const REC = 'https://rec.example/b24-1.mp3';

describe('Bitrix24: calls pushed as contact + deal (or lead), deals back from outbound webhooks', () => {
  let env: TestEnv;
  let s: Awaited<ReturnType<typeof setupSite>>;
  let b24: Awaited<ReturnType<typeof startStandIn>>;
  let conn: { id: string; hookUrl: string };
  let trackingNumber: string;
  const contacts = [{ id: 77, phone: '8 (916) 765-43-21' }];
  const leads: Array<{ id: number; phone: string; status: string }> = [];
  const deals = new Map<string, Record<string, unknown>>();
  const seq = { contact: 100, deal: 200, lead: 300, comment: 900 };
  const ids: Record<string, string> = {};
  const run = () =>
    runDueJobs({
      db: env.db,
      clock: env.clock,
      kinds: crmJobKinds({ db: env.db, clock: env.clock, secrets: secretBox(SECRET_KEY) }),
    });
  const digits = (v: string) => v.replace(/\D/g, '');
  const ok = (result: unknown) => ({ status: 200, body: { result, time: { start: 1, finish: 1 } } });

  const respond = (req: StandInRequest) => {
    const m = /^\/rest\/1\/([^/]+)\/([a-z.]+)\.json$/.exec(req.path);
    if (!m || m[1] !== CODE)
      return { status: 401, body: { error: 'NO_AUTH_FOUND', error_description: 'Wrong authorization data' } };
    const body = req.json as Record<string, unknown>;
    switch (m[2]) {
      case 'crm.duplicate.findbycomm': {
        const values = (body.values as string[]).map(digits);
        const type = body.entity_type as 'CONTACT' | 'LEAD';
        const hits = (type === 'CONTACT' ? contacts : leads).filter((c) => values.includes(digits(c.phone)));
        return ok(hits.length ? { [type]: hits.map((c) => c.id) } : []);
      }
      case 'crm.contact.add':
        return ok(++seq.contact);
      case 'crm.deal.add':
        return ok(++seq.deal);
      case 'crm.lead.add': {
        const phone = (body.fields as { PHONE?: Array<{ VALUE: string }> }).PHONE?.[0]?.VALUE;
        leads.push({ id: ++seq.lead, phone: phone ?? '', status: 'P' });
        return ok(seq.lead);
      }
      case 'crm.lead.get':
        return ok({
          ID: String(body.id),
          STATUS_SEMANTIC_ID: leads.find((l) => l.id === Number(body.id))?.status,
        });
      case 'crm.timeline.comment.add':
        return ok(++seq.comment);
      case 'crm.deal.get': {
        const deal = deals.get(String(body.id));
        return deal ? ok(deal) : { status: 400, body: { error: '', error_description: 'Not found' } };
      }
      case 'crm.contact.get':
        return ok({
          ID: String(body.id),
          PHONE: [{ ID: '5', VALUE_TYPE: 'WORK', VALUE: contacts[0].phone, TYPE_ID: 'PHONE' }],
        });
    }
    return { status: 404, body: { error: 'ERROR_METHOD_NOT_FOUND', error_description: 'Method not found!' } };
  };

  const callFrom = async (from: string, at: string, recording?: string) => {
    const call = await callAfterVisit(env, s, {
      url: LANDING,
      from,
      at,
      talkSeconds: 42,
      recordingUrl: recording,
    });
    trackingNumber = call.trackingNumber;
    return call.callId;
  };
  const methods = () =>
    b24.take().map((r) =>
      r.path
        .split('/')
        .pop()
        ?.replace(/\.json$/, ''),
    );
  const dealHook = (
    dealId: string,
    ts: number,
    token: string | null = APP_TOKEN,
    event = 'ONCRMDEALUPDATE',
  ) =>
    env.app.inject({
      method: 'POST',
      url: `/hooks/bitrix24/${conn.id}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({
        event,
        'data[FIELDS][ID]': dealId,
        ts: String(ts),
        'auth[domain]': 'divany.bitrix24.ru',
        'auth[client_endpoint]': 'https://divany.bitrix24.ru/rest/',
        'auth[server_endpoint]': 'https://oauth.bitrix.info/rest/',
        'auth[member_id]': 'a223c6b3710f85df22e9377d6c4f7553',
        ...(token === null ? {} : { 'auth[application_token]': token }),
      }).toString(),
    });
  const dealsOf = async (query: string) => (await env.api('GET', `/api/v1/deals?${query}`)).json().items;

  beforeAll(async () => {
    env = await testEnv('2026-11-09T08:00:00Z', 10, {
      secretKey: SECRET_KEY,
      publicUrl: 'https://rt.example',
    });
    s = await setupSite(env);
    b24 = await startStandIn(respond);
  });
  afterAll(async () => {
    await b24.close();
    await env.close();
  });

  it('creates a connection whose webhook URL and token are sealed and never shown', async () => {
    const bad = await env.api('POST', '/api/v1/crm-connections', {
      kind: 'bitrix24',
      webhookUrl: `${b24.url}/crm.lead.add.json`,
      mode: 'deal',
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.body).toContain('webhookUrl');
    expect(
      (
        await env.api('POST', '/api/v1/crm-connections', {
          kind: 'bitrix24',
          webhookUrl: `${b24.url}/rest/1/${CODE}/`,
          mode: 'contact',
        })
      ).statusCode,
    ).toBe(400);

    const res = await env.api('POST', '/api/v1/crm-connections', {
      kind: 'bitrix24',
      webhookUrl: `${b24.url}/rest/1/${CODE}/`,
      mode: 'deal',
      assignedById: 7,
      applicationToken: APP_TOKEN,
      siteIds: [s.site.id],
    });
    expect(res.statusCode, res.body).toBe(201);
    conn = res.json();
    expect(conn).toMatchObject({
      kind: 'bitrix24',
      settings: { mode: 'deal', assignedById: 7, portal: new URL(b24.url).host },
      siteIds: [s.site.id],
      hookTokenSet: true,
      hookUrl: `https://rt.example/hooks/bitrix24/${conn.id}`,
    });
    expect(res.body).not.toContain(CODE);
    expect(res.body).not.toContain(APP_TOKEN);
  });

  it('pushes a new caller: duplicate search, contact, deal with UTM fields, timeline comment', async () => {
    ids.c1 = await callFrom('+79161234567', '2026-11-09T09:00:00Z', REC);
    expect((await run()).map((r) => [r.status, r.error])).toEqual([['succeeded', null]]);
    const call = (await env.api('GET', `/api/v1/calls/${ids.c1}`)).json();
    const reqs = b24.take();
    expect(reqs.map((r) => `${r.method} ${r.path}`)).toEqual(
      ['crm.duplicate.findbycomm', 'crm.contact.add', 'crm.deal.add', 'crm.timeline.comment.add'].map(
        (m) => `POST /rest/1/${CODE}/${m}.json`,
      ),
    );
    for (const r of reqs) expect(r.headers['content-type']).toBe('application/json');
    expect(reqs[0].json).toEqual({
      entity_type: 'CONTACT',
      type: 'PHONE',
      values: ['+79161234567', '79161234567', '89161234567', '9161234567'],
    });
    expect(reqs[1].json).toEqual({
      fields: {
        NAME: '+79161234567',
        SOURCE_ID: 'CALL',
        ASSIGNED_BY_ID: 7,
        PHONE: [{ VALUE: '+79161234567', VALUE_TYPE: 'WORK' }],
      },
      params: { REGISTER_SONET_EVENT: 'Y' },
    });
    expect(reqs[2].json).toEqual({
      fields: {
        TITLE: 'Call from +79161234567',
        CONTACT_ID: 101,
        SOURCE_ID: 'CALL',
        SOURCE_DESCRIPTION: `Ringtrace, ${call.channel}, tracking number ${trackingNumber}, ${LANDING}`,
        UTM_SOURCE: 'google',
        UTM_MEDIUM: 'cpc',
        UTM_CAMPAIGN: 'brand',
        UTM_TERM: 'sofa',
        ASSIGNED_BY_ID: 7,
      },
      params: { REGISTER_SONET_EVENT: 'Y' },
    });
    expect(reqs[3].json).toEqual({
      fields: {
        ENTITY_ID: 201,
        ENTITY_TYPE: 'deal',
        COMMENT: [
          `Ringtrace call ${ids.c1}`,
          'status: completed',
          'talk: 42 s',
          `recording: ${REC}`,
          'phone: +79161234567',
          'utm_source: google',
          'utm_medium: cpc',
          'utm_campaign: brand',
          'utm_term: sofa',
          `channel: ${call.channel}`,
          `landing_page: ${LANDING}`,
          `tracking_number: ${trackingNumber}`,
        ].join('\n'),
      },
    });
  });

  it('reuses the contact of a repeat caller held as «8 (916) 765-43-21»', async () => {
    ids.c2 = await callFrom('+79167654321', '2026-11-09T10:00:00Z');
    await run();
    const reqs = b24.take();
    expect(reqs.map((r) => r.path.split('/').pop())).toEqual([
      'crm.duplicate.findbycomm.json',
      'crm.deal.add.json',
      'crm.timeline.comment.add.json',
    ]);
    expect((reqs[1].json as { fields: Record<string, unknown> }).fields.CONTACT_ID).toBe(77);
  });

  it('retries on QUERY_LIMIT_EXCEEDED and 5xx, fails for good on NO_AUTH_FOUND without logging the secret', async () => {
    b24.queue('POST', `/rest/1/${CODE}/crm.deal.add.json`, {
      status: 503,
      body: { error: 'QUERY_LIMIT_EXCEEDED', error_description: 'Too many requests' },
    });
    ids.c3 = await callFrom('+79035550011', '2026-11-09T11:00:00Z');
    let [result] = await run();
    expect(result).toMatchObject({
      status: 'pending',
      error: 'Bitrix24 crm.deal.add: QUERY_LIMIT_EXCEEDED — Too many requests',
    });
    expect(methods()).toEqual(['crm.duplicate.findbycomm', 'crm.contact.add', 'crm.deal.add']);
    b24.queue('POST', `/rest/1/${CODE}/crm.timeline.comment.add.json`, {
      status: 500,
      body: { error: 'INTERNAL_SERVER_ERROR', error_description: 'Internal server error' },
    });
    env.clock.advance(60_000);
    [result] = await run();
    expect(result).toMatchObject({ status: 'pending', attempt: 2 });
    expect(methods()).toEqual(['crm.deal.add', 'crm.timeline.comment.add']);
    env.clock.advance(120_000);
    [result] = await run();
    expect(result).toMatchObject({ status: 'succeeded', attempt: 3 });
    expect(methods()).toEqual(['crm.timeline.comment.add']);

    await env.api('PATCH', `/api/v1/crm-connections/${conn.id}`, {
      webhookUrl: `${b24.url}/rest/1/revoked99/`,
    });
    ids.c4 = await callFrom('+79035550022', '2026-11-09T11:30:00Z');
    [result] = await run();
    expect(result).toMatchObject({
      status: 'failed',
      attempt: 1,
      error: 'Bitrix24 crm.duplicate.findbycomm: NO_AUTH_FOUND — Wrong authorization data',
    });
    const log = (await env.api('GET', `/api/v1/crm-connections/${conn.id}/deliveries`)).json();
    expect(log.total).toBe(4);
    expect(JSON.stringify(log)).not.toContain('revoked99');
    expect(JSON.stringify(log)).not.toContain(CODE);
    b24.take();
    await env.api('PATCH', `/api/v1/crm-connections/${conn.id}`, {
      webhookUrl: `${b24.url}/rest/1/${CODE}/`,
    });
  });

  it('turns deal updates into won and lost deals, fetched with crm.deal.get', async () => {
    deals.set('201', {
      ID: '201',
      STAGE_SEMANTIC_ID: 'S',
      OPPORTUNITY: '15000.00',
      CURRENCY_ID: 'RUB',
      CONTACT_ID: '101',
    });
    expect((await dealHook('201', 1762679000, 'wrong-token-123')).statusCode).toBe(403);
    expect((await dealHook('201', 1762679000, null)).statusCode).toBe(401);
    expect((await dealHook('abc', 1762679000)).statusCode).toBe(400);
    expect((await dealHook('201', 1762679000, APP_TOKEN, 'ONCRMLEADADD')).json()).toEqual({
      accepted: 0,
      ignored: 'ONCRMLEADADD',
    });
    expect(await run()).toEqual([]);

    const first = await dealHook('201', 1762679000);
    expect(first.statusCode, first.body).toBe(200);
    expect((await dealHook('201', 1762679000)).json().jobIds).toEqual(first.json().jobIds);
    expect((await run()).map((r) => r.status)).toEqual(['succeeded']);
    const [get] = b24.take();
    expect(get.path).toBe(`/rest/1/${CODE}/crm.deal.get.json`);
    expect(get.json).toEqual({ id: '201' });
    expect(await dealsOf(`callId=${ids.c1}`)).toEqual([
      expect.objectContaining({
        amountMinor: 1500000,
        currency: 'RUB',
        status: 'won',
        externalId: `bitrix24:${conn.id}:deal:201`,
      }),
    ]);

    deals.set('201', { ...deals.get('201'), STAGE_SEMANTIC_ID: 'F' });
    await dealHook('201', 1762679100);
    await run();
    expect((await dealsOf(`callId=${ids.c1}`)).map((d: { status: string }) => d.status)).toEqual(['lost']);
    deals.set('201', { ...deals.get('201'), STAGE_SEMANTIC_ID: 'S', OPPORTUNITY: '18000.00' });
    await dealHook('201', 1762679200);
    await run();
    expect(await dealsOf(`callId=${ids.c1}`)).toEqual([
      expect.objectContaining({ amountMinor: 1800000, status: 'won' }),
    ]);

    // A deal in another currency than the site's is refused for good, with the reason logged.
    deals.set('202', { ID: '202', STAGE_SEMANTIC_ID: 'S', OPPORTUNITY: '10', CURRENCY_ID: 'USD' });
    await dealHook('202', 1762679300);
    const [refused] = await run();
    expect(refused).toMatchObject({
      status: 'failed',
      error: "body.currency: USD is not the site's currency RUB",
    });
    expect(await dealsOf(`callId=${ids.c2}`)).toEqual([]);
    b24.take();
  });

  it('matches a deal Bitrix24 created itself by its contact phone and date', async () => {
    deals.set('500', {
      ID: '500',
      STAGE_SEMANTIC_ID: 'S',
      OPPORTUNITY: '2000',
      CURRENCY_ID: 'RUB',
      CONTACT_ID: '77',
      DATE_MODIFY: '2026-11-09T15:00:00+03:00',
    });
    await dealHook('500', 1762679400);
    expect((await run()).map((r) => r.status)).toEqual(['succeeded']);
    expect(b24.take().map((r) => [r.path.split('/').pop(), r.json])).toEqual([
      ['crm.deal.get.json', { id: '500' }],
      ['crm.contact.get.json', { id: '77' }],
    ]);
    expect(await dealsOf(`callId=${ids.c2}`)).toEqual([
      expect.objectContaining({ amountMinor: 200000, status: 'won' }),
    ]);
  });

  it('in lead mode creates a lead with the phone, and the deal converted from it lands on the call', async () => {
    await env.api('PATCH', `/api/v1/crm-connections/${conn.id}`, { mode: 'lead' });
    ids.c5 = await callFrom('+79035550055', '2026-11-09T13:00:00Z');
    await run();
    const reqs = b24.take();
    expect(
      reqs.map((r) => [r.path.split('/').pop(), (r.json as { entity_type?: string }).entity_type]),
    ).toEqual([
      ['crm.duplicate.findbycomm.json', 'CONTACT'],
      ['crm.duplicate.findbycomm.json', 'LEAD'],
      ['crm.lead.add.json', undefined],
      ['crm.timeline.comment.add.json', undefined],
    ]);
    expect(reqs[2].json).toEqual({
      fields: expect.objectContaining({
        TITLE: 'Call from +79035550055',
        NAME: '+79035550055',
        PHONE: [{ VALUE: '+79035550055', VALUE_TYPE: 'WORK' }],
        SOURCE_ID: 'CALL',
        UTM_SOURCE: 'google',
        ASSIGNED_BY_ID: 7,
      }),
      params: { REGISTER_SONET_EVENT: 'Y' },
    });
    expect((reqs[3].json as { fields: Record<string, unknown> }).fields).toMatchObject({
      ENTITY_ID: 301,
      ENTITY_TYPE: 'lead',
    });

    deals.set('600', {
      ID: '600',
      STAGE_SEMANTIC_ID: 'S',
      OPPORTUNITY: '5000',
      CURRENCY_ID: 'RUB',
      LEAD_ID: '301',
    });
    await dealHook('600', 1762679500);
    await run();
    expect(await dealsOf(`callId=${ids.c5}`)).toEqual([
      expect.objectContaining({ amountMinor: 500000, status: 'won' }),
    ]);
  });

  it("in lead mode adds a repeat call to the caller's open lead, and opens a new lead once it is converted", async () => {
    b24.take();
    ids.c6 = await callFrom('+79035550055', '2026-11-09T14:00:00Z');
    await run();
    let reqs = b24.take();
    expect(reqs.map((r) => [r.path.split('/').pop(), r.json])).toEqual([
      ['crm.duplicate.findbycomm.json', expect.objectContaining({ entity_type: 'CONTACT' })],
      ['crm.duplicate.findbycomm.json', expect.objectContaining({ entity_type: 'LEAD' })],
      ['crm.lead.get.json', { id: '301' }],
      [
        'crm.timeline.comment.add.json',
        { fields: expect.objectContaining({ ENTITY_ID: 301, ENTITY_TYPE: 'lead' }) },
      ],
    ]);

    (leads.find((l) => l.id === 301) as { status: string }).status = 'S';
    ids.c7 = await callFrom('+79035550055', '2026-11-09T15:00:00Z');
    await run();
    reqs = b24.take();
    expect(reqs.map((r) => r.path.split('/').pop())).toEqual([
      'crm.duplicate.findbycomm.json',
      'crm.duplicate.findbycomm.json',
      'crm.lead.get.json',
      'crm.lead.add.json',
      'crm.timeline.comment.add.json',
    ]);
    expect((reqs[4].json as { fields: Record<string, unknown> }).fields).toMatchObject({ ENTITY_ID: 302 });
  });

  it('shows the deals in the revenue of reports', async () => {
    const qs = new URLSearchParams({ siteId: s.site.id, from: '2026-11-09', to: '2026-11-09' });
    const res = await env.api('GET', `/api/v1/reports/campaign?${qs}`);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().totals.revenue).toBe(1800000 + 200000 + 500000);
  });
});
