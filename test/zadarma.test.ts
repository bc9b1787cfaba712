import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount, createApiKey } from '../src/accounts/keys.js';
import { exampleFlow } from '../src/flows/example.js';
import { flowSchema } from '../src/flows/model.js';
import { step } from '../src/flows/step.js';
import { callStartToUtc, zadarmaDestination, zadarmaReply } from '../src/telephony/zadarma.js';
import { postVisit, setupSite, type TestEnv, testEnv } from './helpers.js';

const SECRET = 'zadarma-api-secret-0123456789';
const DID = '74997778800';

interface Delivery {
  afterSeconds: number;
  fields: Record<string, string>;
}
const fixture = (name: string): Delivery[] =>
  JSON.parse(readFileSync(new URL(`./fixtures/zadarma/${name}.json`, import.meta.url), 'utf8'));

/** Signs like the official SDK: base64_encode(hash_hmac('sha1', <fields of the event>, $secret)), hex inside. */
function zadarmaSign(secret: string, f: Record<string, string>): string {
  const signed: Record<string, string[]> = {
    NOTIFY_START: ['caller_id', 'called_did', 'call_start'],
    NOTIFY_INTERNAL: ['caller_id', 'called_did', 'call_start'],
    NOTIFY_ANSWER: ['caller_id', 'destination', 'call_start'],
    NOTIFY_END: ['caller_id', 'called_did', 'call_start'],
    NOTIFY_OUT_START: ['internal', 'destination', 'call_start'],
    NOTIFY_OUT_END: ['internal', 'destination', 'call_start'],
    NOTIFY_RECORD: ['pbx_call_id', 'call_id_with_rec'],
  };
  const data = (signed[f.event] ?? []).map((k) => f[k] ?? '').join('');
  return Buffer.from(createHmac('sha1', secret).update(data).digest('hex')).toString('base64');
}

const salesFlow = {
  start: 'sales',
  language: 'ru-RU',
  nodes: {
    sales: {
      kind: 'ringGroup',
      name: 'Продажи',
      strategy: 'simultaneous',
      targets: [
        { kind: 'phone', number: '+79161112233', name: 'Анна' },
        { kind: 'sip', uri: 'sip:101@pbx.zadarma.com', name: 'Борис' },
      ],
      ringTimeoutSec: 25,
      next: 'bye',
    },
    bye: { kind: 'hangup' },
  },
};

describe('Zadarma adapter', () => {
  let env: TestEnv;
  let s: Awaited<ReturnType<typeof setupSite>>;
  let integrationId: string;

  beforeAll(async () => {
    env = await testEnv('2026-11-02T07:00:00Z');
    s = await setupSite(env, { poolSize: 8 });
    const created = await env.api('POST', '/api/v1/integrations/zadarma', {
      name: 'Zadarma',
      apiSecret: SECRET,
      extensions: { '+79161112233': '102' },
    });
    expect(created.statusCode).toBe(201);
    integrationId = created.json().id;
    expect(created.json()).toEqual({
      id: integrationId,
      kind: 'zadarma',
      name: 'Zadarma',
      timeZone: 'Europe/Moscow',
      extensions: { '+79161112233': '102' },
      notifyUrl: `http://localhost:8080/hooks/zadarma/${integrationId}`,
    });
    const flow = await env.api('POST', `/api/v1/sites/${s.site.id}/flows`, {
      name: 'Продажи',
      isDefault: true,
      flow: salesFlow,
    });
    expect(flow.statusCode).toBe(201);
  });
  afterAll(() => env.close());

  /** A visit that leased a free number at 10:00 MSK; the fixtures' calls start at 10:02. */
  async function visit() {
    env.clock.set('2026-11-02T07:00:00Z');
    const v = (
      await postVisit(env.app, {
        site: s.site.siteKey,
        url: 'https://divany.example/?utm_source=yandex&utm_medium=cpc',
      })
    ).json();
    return { visitId: v.visit as string, did: (v.number.e164 as string).slice(1) };
  }

  const post = (
    fields: Record<string, string>,
    signature = zadarmaSign(SECRET, fields),
    id = integrationId,
  ) =>
    env.app.inject({
      method: 'POST',
      url: `/hooks/zadarma/${id}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded', signature },
      payload: new URLSearchParams(fields).toString(),
    });
  /** Delivers a fixture at its times, to the given called number. */
  async function deliver(deliveries: Delivery[], did: string) {
    const replies = [];
    for (const d of deliveries) {
      env.clock.set(new Date(Date.parse('2026-11-02T07:02:00Z') + d.afterSeconds * 1000));
      const fields = Object.fromEntries(
        Object.entries(d.fields).map(([k, v]) => [k, v.replaceAll(DID, did)]),
      );
      const res = await post(fields);
      expect(res.statusCode, res.body).toBe(200);
      replies.push(res.json());
    }
    return replies;
  }
  const callsTo = async (did: string) =>
    (await env.api('GET', '/api/v1/calls'))
      .json()
      .items.filter((c: { trackingNumber: string }) => c.trackingNumber === `+${did}`);
  const eventCount = async () =>
    (
      await env.db.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM call_events WHERE integration_id = $1',
        [integrationId],
      )
    )[0].n;

  it('answers the verification echo', async () => {
    const echo = await env.app.inject({
      method: 'GET',
      url: `/hooks/zadarma/${integrationId}?zd_echo=a1b2c3`,
    });
    expect(echo.statusCode).toBe(200);
    expect(echo.body).toBe('a1b2c3');
    expect((await env.app.inject({ method: 'GET', url: `/hooks/zadarma/${integrationId}` })).statusCode).toBe(
      400,
    );
    expect(
      (await env.app.inject({ method: 'GET', url: `/hooks/zadarma/${s.integration.id}?zd_echo=x` }))
        .statusCode,
    ).toBe(404);
  });

  it('routes NOTIFY_START through the flow and follows an answered call to its recording', async () => {
    const { visitId, did } = await visit();
    const [start, ...rest] = await deliver(fixture('answered'), did);
    // The first ring group target, mapped to its extension; the caller's source on the employee's phone.
    expect(start).toEqual({ redirect: '102', return_timeout: 25, caller_name: 'yandex / cpc' });
    expect(rest).toEqual([{}, {}, {}, {}]);
    expect(await callsTo(did)).toMatchObject([
      {
        status: 'completed',
        caller: '+79161234567',
        employee: '101',
        startedAt: '2026-11-02T07:02:00.000Z',
        answeredAt: '2026-11-02T07:02:12.000Z',
        endedAt: '2026-11-02T07:03:47.000Z',
        waitSeconds: 12,
        talkSeconds: 95,
        visitId,
        method: 'dynamic',
      },
    ]);
    const stored = await env.db.query<{ idempotency_key: string }>(
      'SELECT idempotency_key FROM call_events WHERE integration_id = $1 AND provider_call_id = $2 ORDER BY received_at',
      [integrationId, 'in_4a7e1f0c2b9d3e5f6a8b'],
    );
    expect(stored.map((r) => r.idempotency_key)).toEqual([
      'NOTIFY_START:in_4a7e1f0c2b9d3e5f6a8b::',
      'NOTIFY_INTERNAL:in_4a7e1f0c2b9d3e5f6a8b:101:',
      'NOTIFY_ANSWER:in_4a7e1f0c2b9d3e5f6a8b:101:101',
      'NOTIFY_END:in_4a7e1f0c2b9d3e5f6a8b:101:1793602920.4416751',
      'NOTIFY_RECORD:in_4a7e1f0c2b9d3e5f6a8b::1793602920.4416751',
    ]);
  });

  it('a call the caller gave up on is missed; a busy one is busy', async () => {
    const missed = await visit();
    await deliver(fixture('missed'), missed.did);
    expect(await callsTo(missed.did)).toMatchObject([
      {
        status: 'missed',
        employee: null,
        waitSeconds: 30,
        talkSeconds: 0,
        endedAt: '2026-11-02T07:02:30.000Z',
      },
    ]);
    const busy = await visit();
    await deliver(fixture('busy'), busy.did);
    expect(await callsTo(busy.did)).toMatchObject([{ status: 'busy', talkSeconds: 0 }]);
  });

  it('redelivered and reordered notifications give the same call', async () => {
    const { did } = await visit();
    const deliveries = fixture('answered').map((d) => ({
      ...d,
      fields: { ...d.fields, pbx_call_id: 'in_dup_0001' },
    }));
    // Each notification keeps its time; they arrive end first.
    const byTime = [...deliveries].reverse();
    for (const d of byTime) await deliver([d], did);
    const first = await callsTo(did);
    const events = await eventCount();
    await deliver(deliveries, did);
    expect(await eventCount()).toBe(events);
    expect(await callsTo(did)).toEqual(first);
    expect(first).toMatchObject([{ status: 'completed', employee: '101', talkSeconds: 95 }]);
  });

  it("keeps an employee's outgoing call in the event log without making it a tracked call", async () => {
    const before = await eventCount();
    await deliver(fixture('outgoing'), DID);
    expect(await eventCount()).toBe(before + 2);
    const [row] = await env.db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM calls WHERE provider_call_id = 'out_7d0b4c3f5e2a6b8c9d1e'",
    );
    expect(row.n).toBe(0);
  });

  it('refuses wrong signatures, unknown events and missing fields with nothing stored', async () => {
    const before = await eventCount();
    const [start, , , end] = fixture('answered').map(
      (d): Record<string, string> => ({
        ...d.fields,
        pbx_call_id: 'in_bad',
      }),
    );
    const wrong = await post(start, zadarmaSign('another-secret-000', start));
    expect(wrong.statusCode).toBe(403);
    expect(wrong.json().error).toBe('bad_signature');
    // Signed, then the called number changed.
    expect((await post({ ...start, called_did: '74950000000' }, zadarmaSign(SECRET, start))).statusCode).toBe(
      403,
    );
    expect((await post(start, '')).statusCode).toBe(403);
    const unknown = await post({ ...start, event: 'NOTIFY_SOMETHING' });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().message).toMatch(/NOTIFY_SOMETHING/);
    // `disposition` is not signed, but required.
    const { disposition: _, ...noDisposition } = end;
    const missing = await post(noDisposition);
    expect(missing.statusCode).toBe(400);
    expect(missing.json().message).toMatch(/body\.disposition/);
    const badTime = await post({ ...start, call_start: '02.11.2026 10:02' });
    expect(badTime.statusCode).toBe(400);
    expect(badTime.json().message).toMatch(/body\.call_start/);
    expect((await post(start, undefined, s.integration.id)).statusCode).toBe(404);
    expect(await eventCount()).toBe(before);
    const bad = await env.api('POST', '/api/v1/integrations/zadarma', {
      name: 'Z',
      apiSecret: SECRET,
      extensions: { '89161112233': '102' },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toMatch(/extensions/);
    const [sealed] = await env.db.query<{ secret: string }>('SELECT secret FROM integrations WHERE id = $1', [
      integrationId,
    ]);
    expect(sealed.secret).not.toContain(SECRET);
  });

  it('changes the extension map and time zone; only for its own account', async () => {
    const patch = (body: object, key = env.key) =>
      env.app.inject({
        method: 'PATCH',
        url: `/api/v1/integrations/zadarma/${integrationId}`,
        headers: { authorization: `Bearer ${key}` },
        payload: body,
      });
    const changed = await patch({ extensions: {}, timeZone: 'Asia/Yekaterinburg' });
    expect(changed.statusCode).toBe(200);
    expect(changed.json()).toMatchObject({ name: 'Zadarma', extensions: {}, timeZone: 'Asia/Yekaterinburg' });
    // Without the map the first reachable target is the SIP one; call_start is now read as UTC+5.
    const { did } = await visit();
    env.clock.set('2026-11-02T07:02:00Z');
    const start = { ...fixture('answered')[0].fields, call_start: '2026-11-02 12:02:00', called_did: did };
    expect((await post({ ...start, pbx_call_id: 'in_patched' })).json()).toMatchObject({ redirect: '101' });
    expect(await callsTo(did)).toMatchObject([{ startedAt: '2026-11-02T07:02:00.000Z' }]);

    expect((await patch({ extensions: { '+7916': '1' } })).statusCode).toBe(400);
    expect((await patch({ timeZone: 'Mars/Base' })).json().message).toMatch(/timeZone/);
    const other = await createAccount(env.db, env.clock, 'Other patcher');
    const { key } = await createApiKey(env.db, env.clock, other, 'k');
    expect((await patch({ name: 'mine now' }, key)).statusCode).toBe(404);
    const restored = await patch({ extensions: { '+79161112233': '102' }, timeZone: 'Europe/Moscow' });
    expect(restored.json()).toMatchObject({ name: 'Zadarma', extensions: { '+79161112233': '102' } });
  });

  it("another account's Zadarma integration cannot put calls on this account's numbers", async () => {
    const other = await createAccount(env.db, env.clock, 'Other');
    const { key } = await createApiKey(env.db, env.clock, other, 'k');
    const as = (method: 'GET' | 'POST', url: string, payload?: object) =>
      env.app.inject({ method, url, headers: { authorization: `Bearer ${key}` }, payload });
    const theirs = (
      await as('POST', '/api/v1/integrations/zadarma', { name: 'Z', apiSecret: SECRET })
    ).json();
    const { did } = await visit();
    env.clock.set('2026-11-02T07:02:00Z');
    const fields = { ...fixture('answered')[0].fields, called_did: did, pbx_call_id: 'in_other' };
    const res = await post(fields, undefined, theirs.id);
    // Their account has no flow for our number: Zadarma's own scenario routes.
    expect(res.json()).toEqual({});
    expect(await callsTo(did)).toEqual([]);
    expect((await as('GET', '/api/v1/calls')).json().items).toMatchObject([
      { caller: '+79161234567', siteId: null, visitId: null, method: 'none' },
    ]);
  });
});

describe('Zadarma routing reply', () => {
  const at = { now: new Date('2026-11-02T07:00:00Z'), timeZone: 'Europe/Moscow' };

  it('maps SIP targets by their user part and phone targets through the extension map', () => {
    expect(zadarmaDestination({ kind: 'sip', uri: 'sip:101@pbx.zadarma.com' }, {})).toBe('101');
    expect(zadarmaDestination({ kind: 'sip', uri: 'sip:anna@pbx.example.com' }, {})).toBeNull();
    expect(zadarmaDestination({ kind: 'phone', number: '+79161112233' }, { '+79161112233': '0-1' })).toBe(
      '0-1',
    );
    expect(zadarmaDestination({ kind: 'phone', number: '+79161112233' }, {})).toBeNull();
  });

  it('leaves menus and voicemail to Zadarma, hangs up when the flow does, {} when nobody is reachable', () => {
    // The example flow starts with a menu during office hours and voicemail after them.
    expect(zadarmaReply(step(exampleFlow, null, { kind: 'start' }, at), {})).toEqual({});
    const night = { ...at, now: new Date('2026-11-02T20:00:00Z') };
    expect(zadarmaReply(step(exampleFlow, null, { kind: 'start' }, night), {})).toEqual({});
    const closed = flowSchema.parse({
      start: 'msg',
      nodes: { msg: { kind: 'play', text: 'Закрыто', next: 'bye' }, bye: { kind: 'hangup' } },
    });
    expect(zadarmaReply(step(closed, null, { kind: 'start' }, at), {})).toEqual({ hangup: 1 });
    const phones = flowSchema.parse({
      start: 'f',
      nodes: { f: { kind: 'forward', number: '+79035550007' } },
    });
    expect(zadarmaReply(step(phones, null, { kind: 'start' }, at), {})).toEqual({});
    expect(zadarmaReply(step(phones, null, { kind: 'start' }, at), { '+79035550007': '103' })).toEqual({
      redirect: '103',
      return_timeout: 30,
    });
  });

  it('reads call_start in the cabinet time zone', () => {
    expect(callStartToUtc('2026-11-02 10:02:00', 'Europe/Moscow').toISOString()).toBe(
      '2026-11-02T07:02:00.000Z',
    );
    expect(callStartToUtc('2026-07-01 12:00:00', 'Europe/Berlin').toISOString()).toBe(
      '2026-07-01T10:00:00.000Z',
    );
    expect(callStartToUtc('2026-01-01 12:00:00', 'Europe/Berlin').toISOString()).toBe(
      '2026-01-01T11:00:00.000Z',
    );
  });
});
