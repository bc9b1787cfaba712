import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mangoSign } from '../src/telephony/mango.js';
import { postVisit, setupSite, type TestEnv, testEnv } from './helpers.js';

const API_KEY = 'mangoapikey0123456789abcdef';
const SALT = 'mangosalt0123456789abcdef';
const LINE = '74997778800';

interface Delivery {
  path: string;
  json: Record<string, unknown>;
}
const fixture = (name: string): Delivery[] =>
  JSON.parse(readFileSync(new URL(`./fixtures/mango/${name}.json`, import.meta.url), 'utf8'));

describe('Mango Office adapter', () => {
  let env: TestEnv;
  let s: Awaited<ReturnType<typeof setupSite>>;
  beforeAll(async () => {
    env = await testEnv('2026-11-02T07:00:00Z');
    s = await setupSite(env, { poolSize: 8 });
  });
  afterAll(() => env.close());

  /**
   * A Mango integration of its own and a visit that leased a tracking number at 10:00 MSK: the fixtures'
   * calls start at 10:02, so each test winds the clock back and gets a free number.
   */
  async function setup() {
    env.clock.set('2026-11-02T07:00:00Z');
    const created = await env.api('POST', '/api/v1/integrations/mango', {
      name: 'Mango',
      apiKey: API_KEY,
      apiSalt: SALT,
    });
    expect(created.statusCode).toBe(201);
    const integration = created.json();
    expect(integration).toEqual({
      id: integration.id,
      kind: 'mango',
      name: 'Mango',
      apiKey: API_KEY,
      externalSystemUrl: `http://localhost:8080/hooks/mango/${integration.id}`,
    });
    const visit = (
      await postVisit(env.app, {
        site: s.site.siteKey,
        url: 'https://divany.example/?utm_source=yandex&utm_medium=cpc',
      })
    ).json();
    env.clock.advanceMinutes(2);
    return { integration, visit, line: (visit.number.e164 as string).slice(1) };
  }

  /** Mango's POST: the three form fields, signed like Mango signs them. */
  const post = (integrationId: string, d: Delivery, line: string, sign?: { key?: string; salt?: string }) => {
    const json = JSON.stringify(d.json).replaceAll(LINE, line);
    const key = sign?.key ?? API_KEY;
    return env.app.inject({
      method: 'POST',
      url: `/hooks/mango/${integrationId}/${d.path}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({
        vpbx_api_key: key,
        sign: mangoSign(key, json, sign?.salt ?? SALT),
        json,
      }).toString(),
    });
  };
  const eventCount = async (integrationId: string) =>
    (
      await env.db.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM call_events WHERE integration_id = $1',
        [integrationId],
      )
    )[0].n;
  /** The account's calls to one tracking line. */
  const calls = async (line: string) =>
    (await env.api('GET', '/api/v1/calls'))
      .json()
      .items.filter((c: { trackingNumber: string }) => c.trackingNumber === `+${line}`);

  it('follows an answered call: live states, then the summary sets the times; attributed to the visit', async () => {
    const { integration, visit, line } = await setup();
    const [appeared, ivr, ringing, connected, disconnected, summary, recording] = fixture('answered');

    expect((await post(integration.id, appeared, line)).statusCode).toBe(200);
    expect(await calls(line)).toMatchObject([
      { status: 'ringing', caller: '+79161234567', trackingNumber: `+${line}`, visitId: visit.visit },
    ]);
    // The voice menu picking up is not an answer.
    await post(integration.id, ivr, line);
    await post(integration.id, ringing, line);
    expect((await calls(line))[0].status).toBe('ringing');

    await post(integration.id, connected, line);
    expect(await calls(line)).toMatchObject([
      { status: 'answered', employee: '101', answeredAt: '2026-11-02T07:02:20.000Z', waitSeconds: 20 },
    ]);
    // The employee's leg hanging up does not end the call; the summary does.
    await post(integration.id, disconnected, line);
    expect((await calls(line))[0].status).toBe('answered');
    await post(integration.id, summary, line);
    await post(integration.id, recording, line);
    expect(await calls(line)).toMatchObject([
      {
        status: 'completed',
        caller: '+79161234567',
        trackingNumber: `+${line}`,
        employee: '101',
        startedAt: '2026-11-02T07:02:00.000Z',
        answeredAt: '2026-11-02T07:02:20.000Z',
        endedAt: '2026-11-02T07:03:55.000Z',
        waitSeconds: 20,
        talkSeconds: 95,
        visitId: visit.visit,
        method: 'dynamic',
        source: 'yandex',
      },
    ]);
    expect(await eventCount(integration.id)).toBe(7);
  });

  it("a call nobody answered ends missed with the summary's times", async () => {
    const { integration, line } = await setup();
    for (const d of fixture('missed')) expect((await post(integration.id, d, line)).statusCode).toBe(200);
    expect(await calls(line)).toMatchObject([
      {
        status: 'missed',
        employee: null,
        startedAt: '2026-11-02T07:02:00.000Z',
        endedAt: '2026-11-02T07:02:40.000Z',
        waitSeconds: 40,
        talkSeconds: 0,
      },
    ]);
  });

  it('duplicates and any delivery order give the same call', async () => {
    const { integration, line } = await setup();
    const deliveries = fixture('answered');
    // Summary first, live states backwards, then everything again.
    for (const d of [...deliveries].reverse()) await post(integration.id, d, line);
    const once = await calls(line);
    for (const d of deliveries) expect((await post(integration.id, d, line)).statusCode).toBe(200);
    expect(await eventCount(integration.id)).toBe(deliveries.length);
    expect(await calls(line)).toEqual(once);
    expect(once).toMatchObject([
      {
        status: 'completed',
        employee: '101',
        waitSeconds: 20,
        talkSeconds: 95,
        endedAt: '2026-11-02T07:03:55.000Z',
      },
    ]);
  });

  it("keeps an employee's outgoing call in the event log without making it a tracked call", async () => {
    const { integration, line } = await setup();
    for (const d of fixture('outbound')) expect((await post(integration.id, d, line)).statusCode).toBe(200);
    expect(await eventCount(integration.id)).toBe(3);
    const [projected] = await env.db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM calls WHERE integration_id = $1',
      [integration.id],
    );
    expect(projected.n).toBe(0);
  });

  it('refuses a wrong key or sign and bad JSON with nothing stored', async () => {
    const { integration, line } = await setup();
    const [appeared] = fixture('answered');
    const wrongSalt = await post(integration.id, appeared, line, { salt: 'another-salt-000000' });
    expect(wrongSalt.statusCode).toBe(403);
    expect(wrongSalt.json().error).toBe('bad_signature');
    // Correctly signed, but with another account's key.
    expect((await post(integration.id, appeared, line, { key: 'someone-elses-key' })).statusCode).toBe(403);
    // The json changed after signing.
    const json = JSON.stringify(appeared.json);
    const tampered = await env.app.inject({
      method: 'POST',
      url: `/hooks/mango/${integration.id}/events/call`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({
        vpbx_api_key: API_KEY,
        sign: mangoSign(API_KEY, json, SALT),
        json: json.replace('79161234567', '79160000000'),
      }).toString(),
    });
    expect(tampered.statusCode).toBe(403);
    // Signed, but not JSON / not an event.
    const notJson = await post(integration.id, { path: 'events/call', json: {} }, line);
    expect(notJson.statusCode).toBe(400);
    expect(notJson.json().message).toMatch(/body\.json\.entry_id/);
    const badState = await post(
      integration.id,
      { path: 'events/call', json: { ...appeared.json, call_state: 'Ringing' } },
      line,
    );
    expect(badState.statusCode).toBe(400);
    expect(badState.json().message).toMatch(/body\.json\.call_state/);
    // Another kind of integration, or none, is not a Mango hook.
    expect((await post(s.integration.id, appeared, line)).statusCode).toBe(404);
    expect((await post('not-a-uuid', appeared, line)).statusCode).toBe(404);
    expect(await eventCount(integration.id)).toBe(0);
    expect(await calls(line)).toEqual([]);
  });

  it('checks the connect request and never shows the salt back', async () => {
    const bad = await env.api('POST', '/api/v1/integrations/mango', { name: 'Mango', apiKey: API_KEY });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toMatch(/apiSalt/);
    const { id } = (
      await env.api('POST', '/api/v1/integrations/mango', { name: 'Mango', apiKey: API_KEY, apiSalt: SALT })
    ).json();
    const [row] = await env.db.query<{ secret: string }>('SELECT secret FROM integrations WHERE id = $1', [
      id,
    ]);
    expect(row.secret).toMatch(/^v1:/);
    expect(row.secret).not.toContain(SALT);
    expect(JSON.stringify((await env.api('GET', '/api/v1/integrations')).json())).not.toContain(SALT);
  });

  it("another account's Mango integration cannot put calls on this account's numbers", async () => {
    const { line } = await setup();
    const { createAccount, createApiKey } = await import('../src/accounts/keys.js');
    const other = await createAccount(env.db, env.clock, 'Other');
    const { key } = await createApiKey(env.db, env.clock, other, 'k');
    const otherIntegration = (
      await env.app.inject({
        method: 'POST',
        url: '/api/v1/integrations/mango',
        headers: { authorization: `Bearer ${key}` },
        payload: { name: 'Their Mango', apiKey: API_KEY, apiSalt: SALT },
      })
    ).json();
    const ours = await calls(line);
    for (const d of fixture('answered')) await post(otherIntegration.id, d, line);
    expect(await calls(line)).toEqual(ours);
    const theirs = (
      await env.app.inject({
        method: 'GET',
        url: '/api/v1/calls',
        headers: { authorization: `Bearer ${key}` },
      })
    ).json().items;
    expect(theirs).toMatchObject([{ status: 'completed', siteId: null, visitId: null, method: 'none' }]);
  });
});
