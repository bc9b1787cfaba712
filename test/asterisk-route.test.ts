import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postVisit, setupSite, type TestEnv, testEnv } from './helpers.js';

/** The dialplan's `Set(TARGET=${CURL(…/route?caller=…&called=…&uniqueid=…&token=…)})`, replayed without Asterisk. */
describe('Asterisk CURL() routing endpoint', () => {
  let env: TestEnv;
  let s: Awaited<ReturnType<typeof setupSite>>;
  let id: string;
  let token: string;
  let trackingNumber: string;
  let visitId: string;

  const route = (query: Record<string, string>, integration = id, headers: Record<string, string> = {}) =>
    env.app.inject({
      method: 'GET',
      url: `/hooks/asterisk/${integration}/route?${new URLSearchParams(query)}`,
      headers,
    });
  const eventCount = async () =>
    (await env.db.query<{ n: number }>('SELECT count(*)::int AS n FROM call_events'))[0].n;
  const calls = async () =>
    (await env.api('GET', '/api/v1/calls?limit=100')).json().items as Array<Record<string, unknown>>;
  const flow = (targets: unknown[]) => ({
    start: 'sales',
    nodes: {
      sales: {
        kind: 'ringGroup',
        name: 'Продажи',
        strategy: 'simultaneous',
        targets,
        ringTimeoutSec: 20,
        next: 'bye',
      },
      bye: { kind: 'hangup' },
    },
  });

  beforeAll(async () => {
    env = await testEnv('2026-11-02T09:00:00Z');
    s = await setupSite(env);
    const res = await env.api('POST', '/api/v1/integrations/asterisk', {
      name: 'FreePBX',
      host: 'pbx.example.com',
      username: 'ringtrace',
      secret: 'ami-s3cret',
    });
    expect(res.statusCode, res.body).toBe(201);
    ({ id, token } = res.json());
    expect(res.json()).toMatchObject({
      kind: 'asterisk',
      port: 5038,
      channelTech: 'PJSIP',
      routeUrl: `http://localhost:8080/hooks/asterisk/${id}/route`,
    });
    expect(res.json().dialplan).toContain(
      `Set(TARGET=\${CURL(http://localhost:8080/hooks/asterisk/${id}/route?`,
    );
    expect(res.body).not.toContain('ami-s3cret');
    const visit = await postVisit(env.app, {
      site: s.site.siteKey,
      url: 'https://divany.example/?gclid=curl',
    });
    trackingNumber = visit.json().number.e164;
    visitId = visit.json().visit;
  });
  afterAll(() => env.close());

  it('refuses a wrong or missing token and integrations of other kinds, storing nothing', async () => {
    const q = { caller: '79161234567', called: trackingNumber.slice(1), uniqueid: '1793610000.1' };
    expect((await route({ ...q, token: 'f'.repeat(48) })).statusCode).toBe(401);
    expect((await route(q)).statusCode).toBe(401);
    expect((await route({ ...q, token: s.integration.secret }, s.integration.id)).statusCode).toBe(404);
    expect((await route({ ...q, token }, 'not-a-uuid')).statusCode).toBe(404);
    // The token may also come as a header (CURLOPT(httpheader) on newer Asterisk).
    expect(
      (await route({ ...q, called: '74950000000' }, id, { 'x-ringtrace-token': token })).statusCode,
    ).toBe(200);
    expect(await eventCount()).toBe(0);
  });

  it('a number that is not ours: an empty answer (the dialplan falls back), nothing recorded', async () => {
    const res = await route({
      caller: '79161234567',
      called: '74950000000',
      uniqueid: '1793610000.2',
      token,
    });
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe('');
    expect(res.headers['x-ringtrace-reason']).toMatch(/not a tracking number/);
    expect(await eventCount()).toBe(0);
  });

  it('no call flow yet: an empty answer for the dialplan’s fallback, but the call is logged and attributed', async () => {
    const res = await route({
      caller: '79161234500',
      called: trackingNumber.slice(1),
      uniqueid: '1793610000.3',
      token,
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.body).toBe('');
    expect(res.headers['x-ringtrace-reason']).toBe('the site has no default call flow');
    const call = (await calls()).find((c) => c.caller === '+79161234500');
    expect(call).toMatchObject({ status: 'ringing', trackingNumber, visitId });
  });

  it('answers with the flow’s first dial as a Dial() argument and attributes the call', async () => {
    const created = await env.api('POST', `/api/v1/sites/${s.site.id}/flows`, {
      name: 'Продажи',
      isDefault: true,
      flow: flow([
        { kind: 'sip', uri: 'sip:101@pbx.example.com', name: 'Анна' },
        { kind: 'sip', uri: 'sip:102@pbx.example.com', name: 'Борис' },
        { kind: 'phone', number: '+79169990000', name: 'Мобильный' },
      ]),
    });
    expect(created.statusCode, created.body).toBe(201);
    const res = await route({
      caller: '79161234567',
      called: trackingNumber.slice(1),
      uniqueid: '1793610000.4',
      token,
    });
    expect(res.statusCode).toBe(200);
    // Without a trunk the phone target cannot be dialed from the PBX and is left out.
    expect(res.body).toBe('PJSIP/101&PJSIP/102,20');
    const call = (await calls()).find((c) => c.caller === '+79161234567');
    expect(call).toMatchObject({ status: 'ringing', trackingNumber, visitId, method: 'dynamic' });
    // The same uniqueid again (a dialplan retry) logs nothing new.
    const before = await eventCount();
    await route({ caller: '79161234567', called: trackingNumber.slice(1), uniqueid: '1793610000.4', token });
    expect(await eventCount()).toBe(before);
  });

  it('chan_sip naming and a trunk for phone targets', async () => {
    const res = await env.api('POST', '/api/v1/integrations/asterisk', {
      name: 'Old Asterisk',
      host: '10.0.0.5',
      port: 5039,
      username: 'ct',
      secret: 'x',
      channelTech: 'SIP',
      trunk: 'beeline',
      ami: false,
    });
    expect(res.statusCode, res.body).toBe(201);
    const sip = await route(
      { caller: '+79161234599', called: trackingNumber, uniqueid: '1793610000.5', token: res.json().token },
      res.json().id,
    );
    expect(sip.body).toBe('SIP/101&SIP/102&SIP/beeline/+79169990000,20');
  });

  it('validates the integration settings', async () => {
    const bad = await env.api('POST', '/api/v1/integrations/asterisk', {
      name: 'x',
      host: 'pbx example',
      username: 'u',
      secret: 's',
      channelTech: 'IAX2',
    });
    expect(bad.statusCode).toBe(400);
    const missingQuery = await route({ token, caller: '1' });
    expect(missingQuery.statusCode).toBe(400);
  });
});
