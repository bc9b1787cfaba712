import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount, createApiKey } from '../src/accounts/keys.js';
import { crmJobKinds } from '../src/crm/jobs.js';
import { runDueJobs } from '../src/jobs/queue.js';
import { secretBox } from '../src/secrets/secret-box.js';
import {
  callAfterVisit,
  callEvents,
  postCallEvents,
  postVisit,
  setupSite,
  type TestEnv,
  testEnv,
} from './helpers.js';
import { type StandInRequest, startStandIn } from './stand-in-server.js';

// A stand-in amoCRM (API v4) on 127.0.0.1 receives the pushes of calls; its webhooks come back as deals.
// Request shapes: https://www.amocrm.ru/developers/content/crm_platform/contacts-api, …/leads-api,
// …/events-and-notes; webhooks: …/webhooks-format.

const SECRET_KEY = 'amocrm-test-secret-key-0123456789abcdef';
const TOKEN = 'long-lived-token-0123456789abcdef';
const LANDING =
  'https://divany.example/sofas?utm_source=yandex&utm_medium=cpc&utm_campaign=sofas&utm_term=divan&utm_content=ad1';
const REC = 'https://rec.example/call-1.mp3';

interface AmoContact {
  id: number;
  phone: string;
}

describe('amoCRM: calls pushed as contact + lead + notes, deals back from its webhooks', () => {
  let env: TestEnv;
  let s: Awaited<ReturnType<typeof setupSite>>;
  let amo: Awaited<ReturnType<typeof startStandIn>>;
  let conn: { id: string; hookUrl: string };
  let trackingNumber: string;
  const contacts: AmoContact[] = [
    // Entered by a manager in national format, plus a fuzzy-search neighbour that must not match.
    { id: 503, phone: '+7 916 765-43-29' },
    { id: 502, phone: '8 (916) 765-43-21' },
  ];
  let contactSeq = 9000;
  let leadSeq = 9100;
  let noteSeq = 50000;
  const run = () =>
    runDueJobs({
      db: env.db,
      clock: env.clock,
      kinds: crmJobKinds({ db: env.db, clock: env.clock, secrets: secretBox(SECRET_KEY) }),
    });

  const digits = (s: string) => s.replace(/\D/g, '');
  const contactJson = (c: AmoContact) => ({
    id: c.id,
    name: c.phone,
    custom_fields_values: [
      {
        field_id: 1,
        field_name: 'Телефон',
        field_code: 'PHONE',
        values: [{ value: c.phone, enum_code: 'WORK' }],
      },
    ],
  });

  const respond = (req: StandInRequest) => {
    if (req.headers.authorization !== `Bearer ${TOKEN}`)
      return { status: 401, body: { title: 'Unauthorized', type: 'https://httpstatus.es/401', status: 401 } };
    if (req.method === 'GET' && req.path === '/api/v4/contacts') {
      // Fuzzy like amoCRM's search: any contact sharing the query's first seven digits.
      const q = req.query.get('query') ?? '';
      const found = contacts.filter((c) => digits(c.phone).includes(q.slice(0, 7)));
      return found.length
        ? { status: 200, body: { _embedded: { contacts: found.map(contactJson) } } }
        : { status: 204 };
    }
    if (req.method === 'POST' && req.path === '/api/v4/contacts') {
      const [c] = req.json as Array<{ custom_fields_values: Array<{ values: Array<{ value: string }> }> }>;
      const id = ++contactSeq;
      contacts.push({ id, phone: c.custom_fields_values[0].values[0].value });
      return { status: 200, body: { _embedded: { contacts: [{ id, request_id: '0' }] } } };
    }
    if (req.method === 'POST' && req.path === '/api/v4/leads')
      return { status: 200, body: { _embedded: { leads: [{ id: ++leadSeq, request_id: '0' }] } } };
    if (req.method === 'PATCH' && /^\/api\/v4\/leads\/\d+$/.test(req.path))
      return { status: 200, body: { id: Number(req.path.split('/').pop()), updated_at: 1 } };
    const notes = /^\/api\/v4\/leads\/(\d+)\/notes$/.exec(req.path);
    if (req.method === 'POST' && notes)
      return {
        status: 200,
        body: {
          _embedded: {
            notes: (req.json as unknown[]).map(() => ({ id: ++noteSeq, entity_id: Number(notes[1]) })),
          },
        },
      };
    if (req.method === 'GET' && req.path === '/api/v4/leads/7777')
      return {
        status: 200,
        body: {
          id: 7777,
          created_at: Date.parse('2026-11-09T12:00:00Z') / 1000,
          _embedded: { contacts: [{ id: 502, is_main: true }] },
        },
      };
    if (req.method === 'GET' && req.path === '/api/v4/contacts/502')
      return { status: 200, body: contactJson(contacts.find((c) => c.id === 502) as AmoContact) };
    return { status: 404, body: { title: 'Not found', status: 404 } };
  };

  /** A visit from a Yandex ad, then a whole answered call from `from` to the number it was shown. */
  const callFrom = async (
    from: string,
    at: string,
    opts: { recording?: string; talkSeconds?: number } = {},
  ) => {
    const call = await callAfterVisit(env, s, {
      url: LANDING,
      from,
      at,
      talkSeconds: opts.talkSeconds ?? 95,
      recordingUrl: opts.recording,
    });
    trackingNumber = call.trackingNumber;
    return call.callId;
  };
  const deliveries = async () => {
    const res = await env.api('GET', `/api/v1/crm-connections/${conn.id}/deliveries?limit=500`);
    expect(res.statusCode, res.body).toBe(200);
    return res.json() as {
      total: number;
      items: Array<{
        id: string;
        status: string;
        attempts: number;
        lastError: string | null;
        attemptLog: Array<{ detail: unknown }>;
        nextAttemptAt: string | null;
      }>;
    };
  };
  const hook = (
    form: Record<string, string>,
    token: string | null = new URL(conn.hookUrl).searchParams.get('token'),
  ) =>
    env.app.inject({
      method: 'POST',
      url: `/hooks/amocrm/${conn.id}${token === null ? '' : `?token=${token}`}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams(form).toString(),
    });
  const statusHook = (leadId: string, statusId: number, price: string, updatedAt: number) => ({
    'leads[status][0][id]': leadId,
    'leads[status][0][status_id]': String(statusId),
    'leads[status][0][pipeline_id]': '555',
    'leads[status][0][old_status_id]': '777',
    'leads[status][0][price]': price,
    'leads[status][0][updated_at]': String(updatedAt),
    'account[id]': '29876543',
    'account[subdomain]': 'divany',
  });

  const ids: Record<string, string> = {};

  beforeAll(async () => {
    env = await testEnv('2026-11-09T08:00:00Z', 10, {
      secretKey: SECRET_KEY,
      publicUrl: 'https://rt.example',
    });
    s = await setupSite(env);
    amo = await startStandIn(respond);
  });
  afterAll(async () => {
    await amo.close();
    await env.close();
  });

  it('creates a connection whose token is sealed and never shown', async () => {
    const res = await env.api('POST', '/api/v1/crm-connections', {
      kind: 'amocrm',
      name: 'Продажи',
      baseUrl: amo.url,
      accessToken: TOKEN,
      pipelineId: 555,
      statusId: 777,
      responsibleUserId: 42,
      fieldMap: { utm_source: 1001, tracking_number: 1002 },
      tags: ['calltracking'],
    });
    expect(res.statusCode, res.body).toBe(201);
    conn = res.json();
    expect(conn).toMatchObject({
      kind: 'amocrm',
      name: 'Продажи',
      events: ['call.ended', 'lead.created'],
      siteIds: null,
      active: true,
      hookTokenSet: true,
      settings: { baseUrl: amo.url, pipelineId: 555, statusId: 777, responsibleUserId: 42 },
    });
    expect(conn.hookUrl).toMatch(
      new RegExp(`^https://rt\\.example/hooks/amocrm/${conn.id}\\?token=[0-9a-f]{48}$`),
    );
    expect(res.body).not.toContain(TOKEN);
    const [stored] = await env.db.query<{ credentials: string }>('SELECT credentials FROM crm_connections');
    expect(stored.credentials).toMatch(/^v1:/);
    expect(stored.credentials).not.toContain(TOKEN);
    const shown = await env.api('GET', `/api/v1/crm-connections/${conn.id}`);
    expect(shown.body).not.toContain(TOKEN);
    expect(shown.json().hookUrl).toBeUndefined();

    // Bad input names the problem and stores nothing.
    const bad = [
      [{ kind: 'amocrm', accessToken: TOKEN }, 'body.subdomain'],
      [{ kind: 'amocrm', subdomain: 'a', baseUrl: amo.url, accessToken: TOKEN }, 'body.subdomain'],
      [{ kind: 'amocrm', subdomain: 'bad domain', accessToken: TOKEN }, 'subdomain'],
      [{ kind: 'amocrm', subdomain: 'divany', accessToken: 'short' }, 'accessToken'],
      [{ kind: 'amocrm', subdomain: 'divany', accessToken: TOKEN, events: ['call.answered'] }, 'events'],
      [{ kind: 'amocrm', subdomain: 'divany', accessToken: TOKEN, fieldMap: { utm_x: 1 } }, 'fieldMap'],
      [
        { kind: 'amocrm', subdomain: 'divany', accessToken: TOKEN, siteIds: [crypto.randomUUID()] },
        'body.siteIds',
      ],
      [{ kind: 'pipedrive', subdomain: 'divany', accessToken: TOKEN }, 'kind'],
    ] as const;
    for (const [body, field] of bad) {
      const r = await env.api('POST', '/api/v1/crm-connections', body);
      expect(r.statusCode, JSON.stringify(body)).toBe(400);
      expect(r.body).toContain(field);
    }
    const patch = await env.api('PATCH', `/api/v1/crm-connections/${conn.id}`, { mode: 'deal' });
    expect(patch.statusCode).toBe(400);
    expect(patch.json().message).toBe('body.mode: is not a setting of amocrm connections');
    expect((await env.api('GET', '/api/v1/crm-connections')).json().items).toHaveLength(1);
    const spec = (await env.app.inject({ method: 'GET', url: '/api/docs/json' })).json();
    expect(Object.keys(spec.paths)).toEqual(
      expect.arrayContaining(['/api/v1/crm-connections', '/api/v1/crm-connections/{id}/deliveries']),
    );
  });

  it('pushes a new caller: contact searched, created, lead with source fields, source and call notes', async () => {
    ids.c1 = await callFrom('+79161234567', '2026-11-09T09:00:00Z', { recording: REC });
    const results = await run();
    expect(results.map((r) => [r.kind, r.status, r.error])).toEqual([['crm.push', 'succeeded', null]]);
    const call = (await env.api('GET', `/api/v1/calls/${ids.c1}`)).json();
    const reqs = amo.take();
    expect(reqs.map((r) => `${r.method} ${r.path}`)).toEqual([
      'GET /api/v4/contacts',
      'POST /api/v4/contacts',
      'POST /api/v4/leads',
      'POST /api/v4/leads/9101/notes',
    ]);
    for (const r of reqs) {
      expect(r.headers.authorization).toBe(`Bearer ${TOKEN}`);
      if (r.method !== 'GET') expect(r.headers['content-type']).toBe('application/json');
    }
    expect(reqs[0].query.get('query')).toBe('9161234567');
    expect(reqs[1].json).toEqual([
      {
        name: '+79161234567',
        responsible_user_id: 42,
        custom_fields_values: [
          { field_code: 'PHONE', values: [{ value: '+79161234567', enum_code: 'WORK' }] },
        ],
      },
    ]);
    expect(reqs[2].json).toEqual([
      {
        name: 'Call from +79161234567',
        pipeline_id: 555,
        status_id: 777,
        responsible_user_id: 42,
        custom_fields_values: [
          { field_id: 1001, values: [{ value: 'yandex' }] },
          { field_id: 1002, values: [{ value: trackingNumber }] },
        ],
        _embedded: {
          tags: [{ name: 'Ringtrace' }, { name: 'calltracking' }, { name: call.channel }],
          contacts: [{ id: 9001 }],
        },
      },
    ]);
    expect(reqs[3].json).toEqual([
      {
        note_type: 'common',
        params: {
          text: [
            `Ringtrace call ${ids.c1}`,
            'phone: +79161234567',
            'utm_source: yandex',
            'utm_medium: cpc',
            'utm_campaign: sofas',
            'utm_term: divan',
            'utm_content: ad1',
            `channel: ${call.channel}`,
            `landing_page: ${LANDING}`,
            `tracking_number: ${trackingNumber}`,
          ].join('\n'),
        },
      },
      {
        note_type: 'call_in',
        params: {
          uniq: ids.c1,
          duration: 95,
          source: 'Ringtrace',
          link: REC,
          phone: '+79161234567',
          call_status: 4,
        },
      },
    ]);
    const log = await deliveries();
    expect(log.items[0]).toMatchObject({
      status: 'succeeded',
      result: {
        contactId: '9001',
        leadId: '9101',
        done: ['contact_created', 'lead_created', 'source_note', 'call_note'],
      },
    });
    // Nothing is due any more: the push is not repeated.
    expect(await run()).toEqual([]);
  });

  it('reuses the contact of a repeat caller whatever format amoCRM holds the number in', async () => {
    ids.c2 = await callFrom('+79167654321', '2026-11-09T10:00:00Z');
    await run();
    let reqs = amo.take();
    expect(reqs.map((r) => `${r.method} ${r.path}`)).toEqual([
      'GET /api/v4/contacts',
      'POST /api/v4/leads',
      'POST /api/v4/leads/9102/notes',
    ]);
    expect(reqs[0].query.get('query')).toBe('9167654321');
    // «8 (916) 765-43-21» is the caller; «+7 916 765-43-29», first in the fuzzy result, is not.
    expect((reqs[1].json as Array<{ _embedded: unknown }>)[0]._embedded).toMatchObject({
      contacts: [{ id: 502 }],
    });

    ids.c3 = await callFrom('+79161234567', '2026-11-09T11:00:00Z');
    await run();
    reqs = amo.take();
    expect(reqs.map((r) => `${r.method} ${r.path}`)).toEqual([
      'GET /api/v4/contacts',
      'POST /api/v4/leads',
      'POST /api/v4/leads/9103/notes',
    ]);
    expect((reqs[1].json as Array<{ _embedded: unknown }>)[0]._embedded).toMatchObject({
      contacts: [{ id: 9001 }],
    });
    // No recording: the call note has no link.
    expect((reqs[2].json as Array<{ params: Record<string, unknown> }>)[1].params).toEqual({
      uniq: ids.c3,
      duration: 95,
      source: 'Ringtrace',
      phone: '+79161234567',
      call_status: 4,
    });
  });

  it('retries after 429 and 5xx without creating anything twice', async () => {
    amo.queue('POST', '/api/v4/leads', {
      status: 429,
      headers: { 'retry-after': '120' },
      body: { status: 429 },
    });
    ids.c4 = await callFrom('+79035550011', '2026-11-09T12:00:00Z');
    let [result] = await run();
    expect(result).toMatchObject({ status: 'pending', error: 'amoCRM: 429 — too many requests' });
    // Retry-After (120 s) beats the first backoff step (60 s).
    expect(result.nextAttemptAt?.getTime()).toBe(env.clock.now().getTime() + 120_000);
    expect(amo.take().map((r) => `${r.method} ${r.path}`)).toEqual([
      'GET /api/v4/contacts',
      'POST /api/v4/contacts',
      'POST /api/v4/leads',
    ]);
    env.clock.advance(60_000);
    expect(await run()).toEqual([]);

    amo.queue('POST', '/api/v4/leads/9104/notes', { status: 503, body: 'upstream down' });
    env.clock.advance(60_000);
    [result] = await run();
    expect(result).toMatchObject({ status: 'pending', attempt: 2, error: 'amoCRM: 503' });
    // The contact created before the 429 is reused, not created again.
    expect(amo.take().map((r) => `${r.method} ${r.path}`)).toEqual([
      'POST /api/v4/leads',
      'POST /api/v4/leads/9104/notes',
    ]);
    env.clock.advance(120_000);
    [result] = await run();
    expect(result).toMatchObject({ status: 'succeeded', attempt: 3 });
    // The lead exists by now: its source fields are re-sent (idempotent), the notes are added once.
    expect(amo.take().map((r) => `${r.method} ${r.path}`)).toEqual([
      'PATCH /api/v4/leads/9104',
      'POST /api/v4/leads/9104/notes',
    ]);
    const job = (await deliveries()).items.find((j) => j.id === result.jobId);
    expect(job?.attemptLog.map((a) => (a.detail as { status?: number } | null)?.status ?? 'ok')).toEqual([
      429,
      503,
      'ok',
    ]);
  });

  it('fails for good on 401 and 400, logs the detail, and a manual retry succeeds once fixed', async () => {
    const patched = await env.api('PATCH', `/api/v1/crm-connections/${conn.id}`, {
      accessToken: 'revoked-token-0123456789abcdef',
    });
    expect(patched.statusCode, patched.body).toBe(200);
    ids.c5 = await callFrom('+79035550022', '2026-11-09T13:00:00Z');
    let [result] = await run();
    expect(result).toMatchObject({
      status: 'failed',
      attempt: 1,
      error: 'amoCRM: 401 — the access token is invalid or expired',
    });
    amo.take();
    env.clock.advance(86_400_000);
    expect(await run()).toEqual([]);

    await env.api('PATCH', `/api/v1/crm-connections/${conn.id}`, { accessToken: TOKEN });
    const retried = await env.api(
      'POST',
      `/api/v1/crm-connections/${conn.id}/deliveries/${result.jobId}/retry`,
    );
    expect(retried.statusCode, retried.body).toBe(200);
    expect(retried.json()).toMatchObject({ status: 'succeeded', attempts: 2 });
    expect(retried.json().attemptLog.map((a: { manual: boolean }) => a.manual)).toEqual([false, true]);
    amo.take();

    const validation = {
      title: 'Bad Request',
      type: 'https://httpstatus.es/400',
      status: 400,
      detail: 'Request validation failed',
      'validation-errors': [
        {
          request_id: '0',
          errors: [
            {
              code: 'NotSupportedChoice',
              path: 'custom_fields_values.0.field_id',
              detail: 'Field not found',
            },
          ],
        },
      ],
    };
    amo.queue('POST', '/api/v4/leads', { status: 400, body: validation });
    ids.c6 = await callFrom('+79035550033', '2026-11-09T13:30:00Z');
    [result] = await run();
    expect(result).toMatchObject({
      status: 'failed',
      attempt: 1,
      error: 'amoCRM: 400 for POST /api/v4/leads',
    });
    const job = (await deliveries()).items.find((j) => j.id === result.jobId);
    expect(job?.attemptLog[0].detail).toEqual({
      request: 'POST /api/v4/leads',
      status: 400,
      response: validation,
    });
    amo.take();
  });

  it('pushes one lead when call.started and call.ended run at once', async () => {
    await env.api('PATCH', `/api/v1/crm-connections/${conn.id}`, { events: ['call.started', 'call.ended'] });
    ids.c7 = await callFrom('+79035550044', '2026-11-09T14:00:00Z');
    // Both pushes are due together; whichever order they take, the second waits for or follows the first.
    const results = await run();
    expect(results).toHaveLength(2);
    if (results.some((r) => r.status === 'pending')) {
      expect(results.find((r) => r.status === 'pending')?.error).toMatch(
        /^another push of call .* is in progress$/,
      );
      env.clock.advance(61_000);
      expect((await run()).map((r) => r.status)).toEqual(['succeeded']);
    }
    const paths = amo.take().map((r) => `${r.method} ${r.path}`);
    expect(paths.filter((p) => p === 'POST /api/v4/contacts')).toHaveLength(1);
    expect(paths.filter((p) => p === 'POST /api/v4/leads')).toHaveLength(1);
    // The second push updates the lead's source fields instead.
    expect(paths.filter((p) => p.startsWith('PATCH /api/v4/leads/'))).toHaveLength(1);
    await env.api('PATCH', `/api/v1/crm-connections/${conn.id}`, { events: ['call.ended', 'lead.created'] });
  });

  it('turns amoCRM lead status webhooks into won and lost deals on the pushed call', async () => {
    const before = (await deliveries()).total;
    // Wrong, missing token or unknown connection: refused, nothing queued.
    expect((await hook(statusHook('9101', 142, '25000', 1), 'f'.repeat(48))).statusCode).toBe(403);
    expect((await hook(statusHook('9101', 142, '25000', 1), null)).statusCode).toBe(401);
    const unknown = await env.app.inject({
      method: 'POST',
      url: `/hooks/amocrm/${crypto.randomUUID()}?token=x`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'account[subdomain]=divany',
    });
    expect(unknown.statusCode).toBe(404);
    const malformed = await hook({
      ...statusHook('9101', 142, '25000', 1),
      'leads[status][0][status_id]': 'won',
    });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().message).toContain('leads[status][0][status_id]');
    expect((await deliveries()).total).toBe(before);

    const won = await hook(statusHook('9101', 142, '25000', 1762678800));
    expect(won.statusCode, won.body).toBe(200);
    expect(won.json()).toMatchObject({ accepted: 1 });
    // amoCRM re-sends a webhook it thinks failed: the same job, not a second one.
    const again = await hook(statusHook('9101', 142, '25000', 1762678800));
    expect(again.json().jobIds).toEqual(won.json().jobIds);
    expect((await run()).map((r) => r.status)).toEqual(['succeeded']);
    expect(amo.take()).toEqual([]);
    const deals = async () => (await env.api('GET', `/api/v1/deals?callId=${ids.c1}`)).json();
    expect((await deals()).items).toEqual([
      expect.objectContaining({
        callId: ids.c1,
        amountMinor: 2500000,
        currency: 'RUB',
        status: 'won',
        externalId: `amocrm:${conn.id}:lead:9101`,
      }),
    ]);
    const dealId = (await deals()).items[0].id;

    await hook(statusHook('9101', 143, '25000', 1762679000));
    await run();
    expect((await deals()).items).toEqual([expect.objectContaining({ id: dealId, status: 'lost' })]);
    await hook(statusHook('9101', 142, '30000', 1762679100));
    await run();
    expect((await deals()).items).toEqual([
      expect.objectContaining({ id: dealId, status: 'won', amountMinor: 3000000 }),
    ]);
  });

  it('matches a lead amoCRM created itself by its contact phone and the date', async () => {
    await hook(statusHook('7777', 142, '1000', 1762679200));
    const [result] = await run();
    expect(result.status).toBe('succeeded');
    expect(amo.take().map((r) => `${r.method} ${r.path}?${r.query}`)).toEqual([
      'GET /api/v4/leads/7777?with=contacts',
      'GET /api/v4/contacts/502?',
    ]);
    const deals = (await env.api('GET', `/api/v1/deals?externalId=amocrm:${conn.id}:lead:7777`)).json();
    expect(deals.items).toEqual([
      expect.objectContaining({ callId: ids.c2, amountMinor: 100000, status: 'won' }),
    ]);
    // An open lead we did not create is not fetched at all.
    await hook(statusHook('7778', 777, '500', 1762679300));
    expect((await run()).map((r) => r.status)).toEqual(['succeeded']);
    expect(amo.take()).toEqual([]);
  });

  it('shows the deals in the revenue of reports and the profit per call', async () => {
    const qs = new URLSearchParams({ siteId: s.site.id, from: '2026-11-09', to: '2026-11-09' });
    const res = await env.api('GET', `/api/v1/reports/campaign?${qs}`);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().totals.revenue).toBe(3000000 + 100000);
    const profit = await env.api('GET', `/api/v1/deals/profit?callId=${ids.c1}`);
    expect(profit.json()).toMatchObject({ revenueMinor: 3000000, profitMinor: 3000000 });
  });

  it("pushes a site form lead with the visitor's name and email, and its deal lands on the lead", async () => {
    env.clock.set('2026-11-09T16:00:00Z');
    const v = (await postVisit(env.app, { site: s.site.siteKey, url: LANDING })).json();
    const posted = await env.app.inject({
      method: 'POST',
      url: '/t/lead',
      headers: { 'content-type': 'text/plain;charset=UTF-8' },
      payload: JSON.stringify({
        visit: v.visit,
        type: 'form',
        phone: '8 (903) 555-00-66',
        name: 'Ирина',
        email: 'irina@example.ru',
      }),
    });
    expect(posted.statusCode, posted.body).toBe(201);
    const leadId = posted.json().id;
    expect((await run()).map((r) => [r.kind, r.status])).toEqual([['crm.push', 'succeeded']]);
    const channel = (await env.api('GET', `/api/v1/leads/${leadId}`)).json().channel;
    const reqs = amo.take();
    expect(reqs.map((r) => `${r.method} ${r.path}`)).toEqual([
      'GET /api/v4/contacts',
      'POST /api/v4/contacts',
      'POST /api/v4/leads',
      'POST /api/v4/leads/9107/notes',
    ]);
    expect(reqs[1].json).toEqual([
      {
        name: 'Ирина',
        responsible_user_id: 42,
        custom_fields_values: [
          { field_code: 'PHONE', values: [{ value: '+79035550066', enum_code: 'WORK' }] },
          { field_code: 'EMAIL', values: [{ value: 'irina@example.ru', enum_code: 'WORK' }] },
        ],
      },
    ]);
    expect(reqs[2].json).toEqual([
      {
        name: 'Website form from Ирина',
        pipeline_id: 555,
        status_id: 777,
        responsible_user_id: 42,
        custom_fields_values: [{ field_id: 1001, values: [{ value: 'yandex' }] }],
        _embedded: {
          tags: [{ name: 'Ringtrace' }, { name: 'calltracking' }, { name: channel }],
          contacts: [{ id: 9006 }],
        },
      },
    ]);
    // A lead has no call: only the source note.
    expect((reqs[3].json as Array<{ note_type: string }>).map((n) => n.note_type)).toEqual(['common']);

    await hook(statusHook('9107', 142, '4000.50', 1762700000));
    await run();
    expect((await env.api('GET', `/api/v1/deals?leadId=${leadId}`)).json().items).toEqual([
      expect.objectContaining({ leadId, callId: null, amountMinor: 400050, status: 'won' }),
    ]);
  });

  it('with call.started creates the lead while the phone rings and adds the call note at the end', async () => {
    await env.api('PATCH', `/api/v1/crm-connections/${conn.id}`, { events: ['call.started', 'call.ended'] });
    env.clock.set('2026-11-09T17:00:00Z');
    const v = (await postVisit(env.app, { site: s.site.siteKey, url: LANDING })).json();
    const { events } = callEvents({
      from: '+79035550077',
      to: v.number.e164,
      at: env.clock.now(),
      talkSeconds: 30,
    });
    expect((await postCallEvents(env.app, s.integration, events.slice(0, 1))).statusCode).toBe(200);
    expect((await run()).map((r) => r.status)).toEqual(['succeeded']);
    let reqs = amo.take();
    expect(reqs.map((r) => `${r.method} ${r.path}`)).toEqual([
      'GET /api/v4/contacts',
      'POST /api/v4/contacts',
      'POST /api/v4/leads',
      'POST /api/v4/leads/9108/notes',
    ]);
    expect((reqs[3].json as Array<{ note_type: string }>).map((n) => n.note_type)).toEqual(['common']);

    env.clock.advance(60_000);
    expect((await postCallEvents(env.app, s.integration, events.slice(1))).statusCode).toBe(200);
    expect((await run()).map((r) => r.status)).toEqual(['succeeded']);
    reqs = amo.take();
    expect(reqs.map((r) => `${r.method} ${r.path}`)).toEqual([
      'PATCH /api/v4/leads/9108',
      'POST /api/v4/leads/9108/notes',
    ]);
    expect(reqs[1].json).toEqual([
      expect.objectContaining({
        note_type: 'call_in',
        params: expect.objectContaining({ duration: 30, call_status: 4 }),
      }),
    ]);
  });

  it('keeps connections, deliveries and webhooks to their account', async () => {
    const other = await createAccount(env.db, env.clock, 'Other');
    const { key } = await createApiKey(env.db, env.clock, other, 'k');
    const asOther = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, body?: unknown) =>
      env.app.inject({ method, url, headers: { authorization: `Bearer ${key}` }, payload: body as object });
    expect((await asOther('GET', '/api/v1/crm-connections')).json().items).toEqual([]);
    const jobId = (await deliveries()).items[0].id;
    for (const [method, url, body] of [
      ['GET', `/api/v1/crm-connections/${conn.id}`],
      ['PATCH', `/api/v1/crm-connections/${conn.id}`, { active: false }],
      ['DELETE', `/api/v1/crm-connections/${conn.id}`],
      ['GET', `/api/v1/crm-connections/${conn.id}/deliveries`],
      ['POST', `/api/v1/crm-connections/${conn.id}/deliveries/${jobId}/retry`],
    ] as const) {
      expect((await asOther(method, url, body)).statusCode, `${method} ${url}`).toBe(404);
    }
    expect((await env.api('GET', `/api/v1/crm-connections/${conn.id}`)).json().active).toBe(true);
  });

  it('rotates the webhook token: the old URL is refused, the new one accepted', async () => {
    const oldToken = new URL(conn.hookUrl).searchParams.get('token');
    const rotated = await env.api('PATCH', `/api/v1/crm-connections/${conn.id}`, { rotateHookToken: true });
    expect(rotated.statusCode, rotated.body).toBe(200);
    const newToken = new URL(rotated.json().hookUrl).searchParams.get('token');
    expect(newToken).toMatch(/^[0-9a-f]{48}$/);
    expect(newToken).not.toBe(oldToken);
    expect((await hook(statusHook('9101', 142, '30000', 1762679100), oldToken)).statusCode).toBe(403);
    expect((await hook(statusHook('9101', 142, '30000', 1762679100), newToken)).statusCode).toBe(200);
  });

  it('deletes a connection with its links and deliveries', async () => {
    expect((await env.api('DELETE', `/api/v1/crm-connections/${conn.id}`)).statusCode).toBe(204);
    expect((await env.api('GET', `/api/v1/crm-connections/${conn.id}`)).statusCode).toBe(404);
    const [left] = await env.db.query<{ links: number; jobs: number }>(
      `SELECT (SELECT count(*)::int FROM crm_links) AS links, (SELECT count(*)::int FROM jobs WHERE kind LIKE 'crm.%') AS jobs`,
    );
    expect(left).toEqual({ links: 0, jobs: 0 });
    // Deals already stored stay.
    expect((await env.api('GET', `/api/v1/deals?callId=${ids.c1}`)).json().total).toBe(1);
  });
});
