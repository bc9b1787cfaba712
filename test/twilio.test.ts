import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exampleFlowInput } from '../src/flows/example.js';
import { postVisit, setupSite, type TestEnv, testEnv, twilioSign } from './helpers.js';

const AUTH_TOKEN = 'f3c9a1d2e4b5c6a7b8c9d0e1f2a3b4c5';
const BASE = 'http://localhost:8080';

/** Twilio's request to one of our URLs (absolute, as we rendered it into TwiML, or a path). */
describe('Twilio adapter', () => {
  let env: TestEnv;
  let s: Awaited<ReturnType<typeof setupSite>>;
  let integrationId: string;
  let flowId: string;

  const post = (urlOrPath: string, params: Record<string, string>, signature?: string) => {
    const url = urlOrPath.startsWith('http') ? urlOrPath : `${BASE}${urlOrPath}`;
    return env.app.inject({
      method: 'POST',
      url: url.slice(BASE.length),
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-twilio-signature': signature ?? twilioSign(AUTH_TOKEN, url, params),
      },
      payload: new URLSearchParams(params).toString(),
    });
  };
  const hook = (name: string) => `${BASE}/hooks/twilio/${integrationId}/${name}`;
  const action = (xml: string) => {
    const m = /action="([^"]+)"/.exec(xml);
    if (!m) throw new Error(`no action in ${xml}`);
    return m[1].replaceAll('&amp;', '&');
  };
  const callParams = (sid: string, from: string, to: string) => ({
    AccountSid: 'AC00000000000000000000000000000001',
    ApiVersion: '2010-04-01',
    CallSid: sid,
    CallStatus: 'ringing',
    Direction: 'inbound',
    From: from,
    To: to,
    CallerCity: 'MOSCOW',
  });
  const eventCount = async () =>
    (await env.db.query<{ n: number }>('SELECT count(*)::int AS n FROM call_events'))[0].n;

  beforeAll(async () => {
    // Monday 2026-11-02 10:00 in Moscow: the office is open.
    env = await testEnv('2026-11-02T07:00:00Z');
    s = await setupSite(env);
    const integration = await env.api('POST', '/api/v1/integrations/twilio', {
      name: 'Twilio',
      authToken: AUTH_TOKEN,
    });
    expect(integration.statusCode).toBe(201);
    integrationId = integration.json().id;
    expect(integration.json()).toEqual({
      id: integrationId,
      kind: 'twilio',
      name: 'Twilio',
      voiceUrl: hook('voice'),
      statusCallbackUrl: hook('status'),
    });
    const flow = await env.api('POST', `/api/v1/sites/${s.site.id}/flows`, {
      name: 'Офис',
      isDefault: true,
      flow: exampleFlowInput,
    });
    expect(flow.statusCode).toBe(201);
    flowId = flow.json().id;
  });
  afterAll(() => env.close());

  it('refuses a wrong, missing or stale X-Twilio-Signature and stores nothing', async () => {
    const params = callParams('CA_bad', '+79161234567', s.pool[0]);
    const before = await eventCount();
    const wrong = await post(
      hook('voice'),
      params,
      twilioSign('another-token-000000', hook('voice'), params),
    );
    expect(wrong.statusCode).toBe(403);
    expect(wrong.json().error).toBe('bad_signature');
    // Signed, then a parameter changed in transit.
    const signed = twilioSign(AUTH_TOKEN, hook('voice'), params);
    expect((await post(hook('voice'), { ...params, To: s.pool[1] }, signed)).statusCode).toBe(403);
    const missing = await env.app.inject({
      method: 'POST',
      url: `/hooks/twilio/${integrationId}/voice`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams(params).toString(),
    });
    expect(missing.statusCode).toBe(403);
    expect(await eventCount()).toBe(before);
    expect((await env.api('GET', '/api/v1/calls')).json().total).toBe(0);
    // The generic webhook does not accept a Twilio integration, nor the reverse.
    expect((await post(`/hooks/twilio/${s.integration.id}/voice`, params)).statusCode).toBe(404);
  });

  it('routes a full call through menu → sequential group and attributes it to the visit', async () => {
    const visit = (
      await postVisit(env.app, { site: s.site.siteKey, url: 'https://divany.example/?gclid=abc' })
    ).json();
    env.clock.advanceMinutes(2);
    const sid = 'CA11111111111111111111111111111111';
    const base = callParams(sid, '+79161234567', visit.number.e164);

    const voice = await post(hook('voice'), base);
    expect(voice.statusCode).toBe(200);
    expect(voice.headers['content-type']).toContain('text/xml');
    expect(voice.body).toContain('<Gather input="dtmf" numDigits="1" timeout="5"');
    expect(voice.body).toContain('<Say language="ru-RU">Отдел продаж — 1, сервис — 2</Say>');
    let ringing = (await env.api('GET', '/api/v1/calls')).json().items[0];
    expect(ringing).toMatchObject({ status: 'ringing', visitId: visit.visit, method: 'dynamic' });

    // The caller presses 2: the service group rings Ольга first.
    env.clock.advance(5_000);
    const menu = await post(action(voice.body), { ...base, CallStatus: 'in-progress', Digits: '2' });
    expect(menu.statusCode).toBe(200);
    expect(menu.body).toMatch(/<Number [^>]*>\+79035550007<\/Number>/);
    expect(menu.body).toContain('timeout="15"');

    // Ольга does not answer: Иван is next.
    env.clock.advance(15_000);
    const noAnswer = { ...base, CallStatus: 'in-progress', DialCallStatus: 'no-answer', DialCallSid: 'CA2' };
    const next = await post(action(menu.body), noAnswer);
    expect(next.body).toMatch(/<Number [^>]*>\+79035550009<\/Number>/);
    // Twilio retrying the same callback gets the same answer.
    expect((await post(action(menu.body), noAnswer)).body).toBe(next.body);

    // Иван answers after 8 s of ringing and talks for 95 s.
    env.clock.advance(8_000 + 95_000);
    const answered = {
      ...base,
      CallStatus: 'in-progress',
      DialCallStatus: 'completed',
      DialCallSid: 'CA3',
      DialCallDuration: '95',
    };
    const done = await post(action(next.body), answered);
    expect(done.body).toBe('<?xml version="1.0" encoding="UTF-8"?>\n<Response>\n  <Hangup/>\n</Response>\n');
    ringing = (await env.api('GET', '/api/v1/calls')).json().items[0];
    expect(ringing).toMatchObject({ status: 'answered', employee: 'Иван', groupName: 'Сервис' });

    env.clock.advance(1_000);
    const status = {
      ...base,
      CallStatus: 'completed',
      CallDuration: '124',
      CallbackSource: 'call-progress-events',
      SequenceNumber: '0',
      Timestamp: env.clock.now().toUTCString(),
    };
    expect((await post(hook('status'), status)).statusCode).toBe(204);

    const check = async () => {
      const calls = (await env.api('GET', '/api/v1/calls')).json();
      expect(calls.total).toBe(1);
      expect(calls.items[0]).toMatchObject({
        caller: '+79161234567',
        trackingNumber: visit.number.e164,
        status: 'completed',
        visitId: visit.visit,
        method: 'dynamic',
        channel: 'paid_search',
        source: 'google',
        waitSeconds: 28,
        talkSeconds: 95,
        employee: 'Иван',
        groupName: 'Сервис',
      });
      expect(calls.items[0].classes).toContain('targeted');
    };
    await check();

    // Every callback delivered twice more: nothing changes.
    const events = await eventCount();
    for (let i = 0; i < 2; i++) {
      expect((await post(hook('voice'), base)).statusCode).toBe(200);
      expect((await post(action(next.body), answered)).body).toBe(done.body);
      expect((await post(hook('status'), status)).statusCode).toBe(204);
    }
    expect(await eventCount()).toBe(events);
    await check();
  });

  it('refuses a forged or borrowed cursor even when Twilio-signed', async () => {
    const sid = 'CA22222222222222222222222222222222';
    const base = callParams(sid, '+79165550000', s.pool[1]);
    const voice = await post(hook('voice'), base);
    const url = action(voice.body);
    const [, token] = url.split('cursor=');
    const [payload, mac] = token.split('.');
    const moved = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), n: 'sales' }),
    ).toString('base64url');
    const forged = await post(`${hook('gather')}?cursor=${moved}.${mac}`, { ...base, Digits: '1' });
    expect(forged.statusCode).toBe(403);
    expect(forged.json().error).toBe('bad_cursor');
    // A genuine cursor of this call used for another call.
    const other = await post(url, { ...base, CallSid: 'CA_other', Digits: '1' });
    expect(other.statusCode).toBe(403);
  });

  it('repeats the menu on silence, then rings sales; nobody answers → voicemail → missed with the recording', async () => {
    const sid = 'CA33333333333333333333333333333333';
    const base = callParams(sid, '+79167770000', s.pool[2]);
    const voice = await post(hook('voice'), base);
    // No key: Twilio follows <Redirect> to the same URL without Digits.
    const again = await post(action(voice.body), base);
    expect(again.body).toContain('<Gather');
    const sales = await post(action(again.body), base);
    expect(sales.body).toMatch(/<Sip [^>]*>sip:101@pbx\.example\.com<\/Sip>/);
    expect(sales.body).toContain('record="record-from-answer-dual"');
    env.clock.advance(30_000);
    const vm = await post(action(sales.body), { ...base, DialCallStatus: 'no-answer' });
    expect(vm.body).toContain('<Record maxLength="120" playBeep="true"');
    env.clock.advance(20_000);
    const rec = 'https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1';
    const bye = await post(action(vm.body), { ...base, RecordingUrl: rec, RecordingDuration: '17' });
    expect(bye.body).toContain('<Hangup/>');
    const recording = {
      AccountSid: base.AccountSid,
      CallSid: sid,
      RecordingSid: 'RE1',
      RecordingUrl: rec,
      RecordingStatus: 'completed',
      RecordingDuration: '17',
    };
    expect((await post(hook('recording'), recording)).statusCode).toBe(204);
    expect((await post(hook('recording'), recording)).statusCode).toBe(204);
    await post(hook('status'), { ...base, CallStatus: 'completed', CallDuration: '60', SequenceNumber: '0' });
    const call = (await env.api('GET', '/api/v1/calls?caller=%2B79167770000')).json().items[0];
    expect(call).toMatchObject({ status: 'missed', recordingUrl: rec, talkSeconds: 0, employee: null });
  });

  it('ends a busy call as busy', async () => {
    const base = callParams('CA44444444444444444444444444444444', '+79168880000', s.pool[0]);
    await post(hook('voice'), base);
    await post(hook('status'), { ...base, CallStatus: 'busy', SequenceNumber: '0' });
    const call = (await env.api('GET', '/api/v1/calls?caller=%2B79168880000')).json().items[0];
    expect(call.status).toBe('busy');
  });

  it('maps <Dial> child-leg status callbacks to legs: who rang, who answered, who lost the race', async () => {
    const sid = 'CA66666666666666666666666666666666';
    const base = callParams(sid, '+79164440000', s.pool[0]);
    const voice = await post(hook('voice'), base);
    const sales = await post(action(voice.body), { ...base, CallStatus: 'in-progress', Digits: '1' });
    // Each endpoint of the simultaneous group reports to /status with its employee in the signed URL.
    const callbacks = [...sales.body.matchAll(/statusCallback="([^"]+)"/g)].map((m) =>
      m[1].replaceAll('&amp;', '&'),
    );
    expect(callbacks).toEqual([
      `${hook('status')}?employee=%D0%90%D0%BD%D0%BD%D0%B0`,
      `${hook('status')}?employee=%D0%91%D0%BE%D1%80%D0%B8%D1%81`,
    ]);
    expect(sales.body).toContain('statusCallbackEvent="initiated ringing answered completed"');
    const t0 = env.clock.now().getTime();
    // The documented child-leg parameters (https://www.twilio.com/docs/voice/twiml/number#statuscallbackevent).
    const child = (leg: string, to: string, status: string, seq: number, sec: number, extra = {}) => ({
      AccountSid: base.AccountSid,
      ApiVersion: '2010-04-01',
      CallSid: leg,
      ParentCallSid: sid,
      Direction: 'outbound-dial',
      From: '+79164440000',
      To: to,
      CallStatus: status,
      CallbackSource: 'call-progress-events',
      SequenceNumber: String(seq),
      Timestamp: new Date(t0 + sec * 1000).toUTCString(),
      ...extra,
    });
    const [anna, boris] = callbacks;
    const deliveries: Array<[string, Record<string, string>]> = [
      [anna, child('CA_anna', '+79161112233', 'initiated', 0, 0)],
      [boris, child('CA_boris', 'sip:101@pbx.example.com', 'initiated', 0, 0)],
      [anna, child('CA_anna', '+79161112233', 'ringing', 1, 1)],
      [boris, child('CA_boris', 'sip:101@pbx.example.com', 'ringing', 1, 1)],
      [boris, child('CA_boris', 'sip:101@pbx.example.com', 'in-progress', 2, 9)],
      [anna, child('CA_anna', '+79161112233', 'canceled', 2, 9)],
      [boris, child('CA_boris', 'sip:101@pbx.example.com', 'completed', 3, 49, { CallDuration: '40' })],
    ];
    // Out of order and twice: the same legs.
    for (const [url, params] of [...deliveries].reverse().concat(deliveries)) {
      expect((await post(url, params)).statusCode).toBe(204);
    }
    const legEvents = await env.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM call_events WHERE provider_call_id = $1 AND type LIKE 'leg.%'`,
      [sid],
    );
    expect(legEvents[0].n).toBe(deliveries.length);

    const list = (await env.api('GET', '/api/v1/calls?limit=500')).json();
    const row = list.items.find((c: { caller: string }) => c.caller === '+79164440000');
    const call = (await env.api('GET', `/api/v1/calls/${row.id}`)).json();
    expect(call).toMatchObject({
      status: 'answered',
      employee: 'Борис',
      answeredAt: new Date(t0 + 9_000).toISOString(),
    });
    expect(
      call.legs.map((l: Record<string, unknown>) => [l.legId, l.employee, l.target, l.status, l.talkSeconds]),
    ).toEqual([
      ['CA_anna', 'Анна', '+79161112233', 'canceled', 0],
      ['CA_boris', 'Борис', 'sip:101@pbx.example.com', 'completed', 40],
    ]);
  });

  it('answers with a spoken notice and a hang-up when the site has no default flow', async () => {
    expect((await env.api('DELETE', `/api/v1/sites/${s.site.id}/flows/${flowId}`)).statusCode).toBe(204);
    const base = callParams('CA55555555555555555555555555555555', '+79169990000', s.pool[0]);
    const res = await post(hook('voice'), base);
    expect(res.body).toBe(`<?xml version="1.0" encoding="UTF-8"?>
<Response>
  <Say language="en-US">This number is not configured to take calls yet. Goodbye.</Say>
  <Hangup/>
</Response>
`);
    // The call is still logged.
    expect((await env.api('GET', '/api/v1/calls?caller=%2B79169990000')).json().total).toBe(1);
  });
});
