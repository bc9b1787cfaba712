import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { jobKinds } from '../src/jobs/kinds.js';
import { runDueJobs } from '../src/jobs/queue.js';
import { secretBox } from '../src/secrets/secret-box.js';
import { startAsteriskConnections } from '../src/telephony/asterisk.js';
import { type AmiMessage, AmiParser } from '../src/telephony/asterisk-ami.js';
import { FakeAsterisk } from './fake-asterisk.js';
import { postVisit, setupSite, type TestEnv, testEnv, twilioSign } from './helpers.js';
import { startTwilioApi } from './twilio-api-stand-in.js';

/**
 * Issue 5 item 5: the widget's callback form starts an outbound call — the employees first, then the
 * visitor — through Twilio's REST API (a local stand-in) or Asterisk's AMI Originate (a fake AMI server),
 * and the call is logged with origin callback, attributed to the visit that asked.
 */

const ACCOUNT_SID = `AC${'a1'.repeat(16)}`;
const AUTH_TOKEN = 'f3c9a1d2e4b5c6a7b8c9d0e1f2a3b4c5';
const BASE = 'http://localhost:8080';
const CALLER_ID = '+74951110000';

type Env = TestEnv;

function helpers(get: () => Env) {
  const postLead = (body: Record<string, unknown>, ip: string) =>
    get().app.inject({
      method: 'POST',
      url: '/t/lead',
      remoteAddress: ip,
      headers: { 'content-type': 'text/plain;charset=UTF-8' },
      payload: JSON.stringify(body),
    });
  const count = async (table: string) =>
    (await get().db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`))[0].n;
  const counts = async () => ({
    leads: await count('leads'),
    callbacks: await count('callbacks'),
    jobs: await count('jobs'),
  });
  const callOfLead = async (leadId: string) => {
    const items = (await get().api('GET', '/api/v1/calls?limit=500')).json().items as Array<
      Record<string, unknown> & { classes: string[] }
    >;
    return items.find((c) => c.leadId === leadId);
  };
  return { postLead, counts, callOfLead };
}

describe('callbacks through Twilio', () => {
  let env: Env;
  let twilio: Awaited<ReturnType<typeof startTwilioApi>>;
  let s: Awaited<ReturnType<typeof setupSite>>;
  let integrationId: string;
  let settings: Record<string, unknown>;
  const { postLead, counts, callOfLead } = helpers(() => env);

  const runJobs = () =>
    runDueJobs({
      db: env.db,
      clock: env.clock,
      kinds: jobKinds({
        config: loadConfig({}, { logLevel: 'silent', twilioApiUrl: twilio.url }),
        db: env.db,
        clock: env.clock,
        secrets: secretBox('0'.repeat(64)),
      }),
    });
  let ipSeq = 0;
  /** A new visit from its own IP (so the per-IP limit stays out of the way unless a test wants it). */
  const newVisit = async (ip = `203.0.113.${++ipSeq}`) => {
    const res = await postVisit(
      env.app,
      { site: s.site.siteKey, url: 'https://divany.example/?utm_source=yandex&utm_medium=cpc' },
      ip,
    );
    expect(res.statusCode, res.body).toBe(200);
    return { visit: res.json().visit as string, ip };
  };
  const requestsFor = (leadId: string) => twilio.requests.filter((r) => r.form.get('Url')?.includes(leadId));
  const hookUrl = (name: string, leadId: string, n: number) =>
    `${BASE}/hooks/twilio/${integrationId}/callback/${name}?lead=${leadId}&n=${n}`;
  const twilioPost = (url: string, params: Record<string, string>, token = AUTH_TOKEN) =>
    env.app.inject({
      method: 'POST',
      url: url.slice(BASE.length),
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-twilio-signature': twilioSign(token, url, params),
      },
      payload: new URLSearchParams(params).toString(),
    });
  const legParams = (sid: string, status: string, to = '+79030000001') => ({
    AccountSid: ACCOUNT_SID,
    CallSid: sid,
    CallStatus: status,
    Direction: 'outbound-api',
    From: CALLER_ID,
    To: to,
  });

  beforeAll(async () => {
    twilio = await startTwilioApi();
    // Monday 2026-11-02 10:00 in Moscow.
    env = await testEnv('2026-11-02T07:00:00Z', 10, { twilioApiUrl: twilio.url });
    s = await setupSite(env);
    const integration = await env.api('POST', '/api/v1/integrations/twilio', {
      name: 'Twilio',
      authToken: AUTH_TOKEN,
      accountSid: ACCOUNT_SID,
    });
    expect(integration.statusCode, integration.body).toBe(201);
    expect(integration.json().accountSid).toBe(ACCOUNT_SID);
    integrationId = integration.json().id;
    const employee = async (name: string, number: string) =>
      (await env.api('POST', '/api/v1/employees', { name, endpoints: [{ kind: 'phone', number }] })).json()
        .id;
    const anna = await employee('Анна', '+79030000001');
    const boris = await employee('Борис', '+79030000002');
    const group = await env.api('POST', '/api/v1/employee-groups', {
      name: 'Продажи',
      members: [anna, boris],
    });
    expect(group.statusCode, group.body).toBe(201);
    settings = {
      enabled: true,
      integrationId,
      groupId: group.json().id,
      callerId: '+7 (495) 111-00-00',
      ringTimeoutSeconds: 25,
      message: 'Клиент с сайта просит перезвонить',
    };
  });
  afterAll(async () => {
    await env?.close();
    await twilio?.close();
  });

  it('settings: validated against the account’s integrations, groups and the site’s numbers', async () => {
    const url = `/api/v1/sites/${s.site.id}/callback`;
    expect((await env.api('GET', url)).statusCode).toBe(404);
    const unknownIntegration = await env.api('PUT', url, {
      ...settings,
      integrationId: '00000000-0000-4000-8000-000000000000',
    });
    expect(unknownIntegration.statusCode).toBe(400);
    expect(unknownIntegration.json().message).toMatch(/^body\.integrationId: integration .* not found$/);
    const generic = await env.api('PUT', url, { ...settings, integrationId: s.integration.id });
    expect(generic.json().message).toBe('body.integrationId: a generic integration cannot place calls');
    const foreignNumber = await env.api('PUT', url, { ...settings, callerId: '+74957654321' });
    expect(foreignNumber.statusCode).toBe(400);
    expect(foreignNumber.json().message).toBe("body.callerId: +74957654321 is not one of the site's numbers");
    const nobody = await env.api('PUT', url, { ...settings, groupId: undefined });
    expect(nobody.statusCode).toBe(400);
    expect(nobody.json().message).toMatch(/needs a groupId or endpoints/);
    const noSid = await env.api('POST', '/api/v1/integrations/twilio', {
      name: 'Old',
      authToken: AUTH_TOKEN,
    });
    const withoutSid = await env.api('PUT', url, { ...settings, integrationId: noSid.json().id });
    expect(withoutSid.json().message).toMatch(/has no accountSid/);

    const saved = await env.api('PUT', url, settings);
    expect(saved.statusCode, saved.body).toBe(200);
    expect(saved.json()).toEqual({
      ...settings,
      callerId: CALLER_ID,
      endpoints: [],
      language: 'ru-RU',
      countries: ['RU'],
      limits: { visitPer10Minutes: 1, visitPerDay: 3, ipPerHour: 5, numberPerDay: 3 },
    });
    expect((await env.api('GET', url)).json()).toEqual(saved.json());
  });

  it('refuses premium-rate, toll-free, foreign and invalid numbers with 400 and stores nothing', async () => {
    const { visit, ip } = await newVisit();
    const before = await counts();
    for (const [phone, message] of [
      ['+7 809 123-45-67', 'body.phone: +78091234567 is a premium-rate number'],
      ['8 800 123-45-67', /^body\.phone: \+78001234567 is a toll-free number/],
      ['+380 50 123 4567', 'body.phone: +380501234567 is outside the callback countries (RU)'],
      ['+7 000 12', 'body.phone: +7 000 12 is not a valid phone number'],
    ] as const) {
      const res = await postLead({ visit, type: 'callback', phone }, ip);
      expect(res.statusCode, phone).toBe(400);
      if (typeof message === 'string') expect(res.json().message).toBe(message);
      else expect(res.json().message).toMatch(message);
    }
    const noPhone = await postLead({ visit, type: 'callback', name: 'Иван' }, ip);
    expect(noPhone.statusCode).toBe(400);
    expect(noPhone.json().message).toBe('body.phone: a callback needs the visitor’s phone number');
    expect(await counts()).toEqual(before);
  });

  it('answered callback: Calls.json exactly as documented, TwiML dials the visitor, the call is the visit’s', async () => {
    const { visit, ip } = await newVisit();
    const lead = await postLead({ visit, type: 'callback', phone: '8 916 123-45-67', name: 'Иван' }, ip);
    expect(lead.statusCode, lead.body).toBe(201);
    const leadId = lead.json().id;
    expect(lead.json()).toEqual({
      id: leadId,
      duplicate: false,
      callback: 'scheduled',
      callbackAt: '2026-11-02T07:00:00.000Z',
    });

    const [attempt] = await runJobs();
    expect(attempt).toMatchObject({ kind: 'callback.originate', success: true, status: 'succeeded' });
    const [req] = requestsFor(leadId);
    expect(req.method).toBe('POST');
    expect(req.url).toBe(`/2010-04-01/Accounts/${ACCOUNT_SID}/Calls.json`);
    expect(req.headers.authorization).toBe(
      `Basic ${Buffer.from(`${ACCOUNT_SID}:${AUTH_TOKEN}`).toString('base64')}`,
    );
    expect(req.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect([...req.form.entries()]).toEqual([
      ['To', '+79030000001'],
      ['From', CALLER_ID],
      ['Url', hookUrl('answer', leadId, 0)],
      ['Method', 'POST'],
      ['Timeout', '25'],
      ['StatusCallback', hookUrl('status', leadId, 0)],
      ['StatusCallbackMethod', 'POST'],
      ['StatusCallbackEvent', 'initiated'],
      ['StatusCallbackEvent', 'ringing'],
      ['StatusCallbackEvent', 'answered'],
      ['StatusCallbackEvent', 'completed'],
    ]);
    expect(await callOfLead(leadId)).toMatchObject({ status: 'ringing', origin: 'callback', visitId: visit });

    const sid = 'CA00000000000000000000000000000aa1';
    const forged = await twilioPost(
      hookUrl('answer', leadId, 0),
      legParams(sid, 'in-progress'),
      'x'.repeat(32),
    );
    expect(forged.statusCode).toBe(403);
    // Anna answers: she hears the message, then the visitor is dialed with the site's number as caller id.
    const answer = await twilioPost(hookUrl('answer', leadId, 0), legParams(sid, 'in-progress'));
    expect(answer.statusCode).toBe(200);
    expect(answer.headers['content-type']).toMatch(/^text\/xml/);
    const xml = answer.body.replace(/\s*\n\s*/g, '');
    expect(xml).toContain('<Say language="ru-RU">Клиент с сайта просит перезвонить</Say>');
    const dialAction = hookUrl('dial', leadId, 0).replace('&', '&amp;');
    expect(xml).toContain(
      `<Dial callerId="${CALLER_ID}" timeout="25" action="${dialAction}"><Number>+79161234567</Number></Dial>`,
    );

    env.clock.advance(50_000);
    const dial = await twilioPost(hookUrl('dial', leadId, 0), {
      ...legParams(sid, 'in-progress'),
      DialCallSid: 'CA00000000000000000000000000000bb1',
      DialCallStatus: 'completed',
      DialCallDuration: '42',
    });
    expect(dial.statusCode).toBe(200);
    expect(dial.body).toContain('<Hangup');
    const status = await twilioPost(hookUrl('status', leadId, 0), {
      ...legParams(sid, 'completed'),
      CallDuration: '50',
    });
    expect(status.statusCode).toBe(204);

    const call = await callOfLead(leadId);
    expect(call).toMatchObject({
      origin: 'callback',
      leadId,
      siteId: s.site.id,
      visitId: visit,
      method: 'callback',
      confidence: 1,
      status: 'completed',
      caller: '+79161234567',
      trackingNumber: CALLER_ID,
      talkSeconds: 42,
      employee: 'Анна',
      source: 'yandex',
    });
    expect(call?.classes).not.toContain('missed');
    const detail = await env.api('GET', `/api/v1/calls/${call?.id}`);
    expect(detail.json()).toMatchObject({ origin: 'callback', leadId, method: 'callback' });
  });

  it('an employee who does not answer passes it to the next; nobody answering is a missed callback', async () => {
    const { visit, ip } = await newVisit();
    const leadId = (await postLead({ visit, type: 'callback', phone: '+79161234568' }, ip)).json().id;
    await runJobs();
    expect(requestsFor(leadId).map((r) => r.form.get('To'))).toEqual(['+79030000001']);
    const noAnswer = await twilioPost(hookUrl('status', leadId, 0), legParams('CA_leg_1', 'no-answer'));
    expect(noAnswer.statusCode).toBe(204);
    expect(await callOfLead(leadId)).toMatchObject({ status: 'ringing' });
    await runJobs();
    const legs = requestsFor(leadId);
    expect(legs.map((r) => r.form.get('To'))).toEqual(['+79030000001', '+79030000002']);
    expect(legs[1].form.get('Url')).toBe(hookUrl('answer', leadId, 1));
    await twilioPost(hookUrl('status', leadId, 1), legParams('CA_leg_2', 'busy', '+79030000002'));
    const call = await callOfLead(leadId);
    expect(call).toMatchObject({ status: 'missed', origin: 'callback', visitId: visit, talkSeconds: 0 });
    expect(call?.classes).toContain('missed');
    expect(await runJobs()).toEqual([]);
    const log = (await env.api('GET', `/api/v1/leads/${leadId}/callback`)).json();
    expect(log).toMatchObject({ leadId, phone: '+79161234568', call: { id: call?.id, status: 'missed' } });
    expect(log.attempts.map((j: { key: string; status: string }) => [j.key, j.status])).toEqual([
      [`${leadId}:0`, 'succeeded'],
      [`${leadId}:1`, 'succeeded'],
    ]);
  });

  it('the visitor not answering is a missed callback too', async () => {
    const { visit, ip } = await newVisit();
    const leadId = (await postLead({ visit, type: 'callback', phone: '+79161234569' }, ip)).json().id;
    await runJobs();
    await twilioPost(hookUrl('dial', leadId, 0), {
      ...legParams('CA_v', 'in-progress'),
      DialCallStatus: 'no-answer',
    });
    await twilioPost(hookUrl('status', leadId, 0), legParams('CA_v', 'completed'));
    expect(await callOfLead(leadId)).toMatchObject({ status: 'missed', origin: 'callback' });
  });

  it('Twilio errors: 400 (21211) and 401 (20003) fail at once, 500 is retried', async () => {
    const job = async (leadId: string) =>
      (
        await env.db.query<{ status: string; attempts: number; last_error: string }>(
          `SELECT status, attempts, last_error FROM jobs WHERE key = $1`,
          [`${leadId}:0`],
        )
      )[0];
    twilio.respond(400, {
      code: 21211,
      message: "The 'To' number +79030000001 is not a valid phone number.",
      more_info: 'https://www.twilio.com/docs/errors/21211',
      status: 400,
    });
    const a = await newVisit();
    const invalidTo = (
      await postLead({ visit: a.visit, type: 'callback', phone: '+79161234570' }, a.ip)
    ).json().id;
    const [r1] = await runJobs();
    expect(r1).toMatchObject({ success: false, status: 'failed', nextAttemptAt: null });
    expect(await job(invalidTo)).toEqual({
      status: 'failed',
      attempts: 1,
      last_error: "Twilio 400 (code 21211): The 'To' number +79030000001 is not a valid phone number.",
    });
    expect(await callOfLead(invalidTo)).toMatchObject({ status: 'failed', origin: 'callback' });

    twilio.respond(401, {
      code: 20003,
      message: 'Authenticate',
      more_info: 'https://www.twilio.com/docs/errors/20003',
      status: 401,
    });
    const b = await newVisit();
    const badAuth = (await postLead({ visit: b.visit, type: 'callback', phone: '+79161234571' }, b.ip)).json()
      .id;
    expect((await runJobs())[0]).toMatchObject({ success: false, status: 'failed' });
    expect((await job(badAuth)).last_error).toBe('Twilio 401 (code 20003): Authenticate');

    twilio.respond(500, { code: 20500, message: 'Internal Server Error', status: 500 });
    const c = await newVisit();
    const flaky = (await postLead({ visit: c.visit, type: 'callback', phone: '+79161234572' }, c.ip)).json()
      .id;
    const [r3] = await runJobs();
    expect(r3).toMatchObject({ success: false, status: 'pending' });
    expect(r3.nextAttemptAt?.getTime()).toBe(env.clock.now().getTime() + 30_000);
    expect(await callOfLead(flaky)).toMatchObject({ status: 'ringing' });
    env.clock.advance(30_000);
    expect((await runJobs())[0]).toMatchObject({ success: true, status: 'succeeded', attempt: 2 });
    expect(requestsFor(flaky)).toHaveLength(2);
    const log = (await env.api('GET', `/api/v1/leads/${flaky}/callback`)).json();
    expect(log.attempts[0].attemptLog).toMatchObject([
      { attempt: 1, success: false, error: 'Twilio 500 (code 20500): Internal Server Error' },
      { attempt: 2, success: true },
    ]);
    expect((await env.api('GET', `/api/v1/leads/${invalidTo}/callback`)).json().attempts[0]).toMatchObject({
      status: 'failed',
      lastError: "Twilio 400 (code 21211): The 'To' number +79030000001 is not a valid phone number.",
    });
  });

  it('limits per visit, IP and number: 429 with Retry-After, nothing stored or originated', async () => {
    const { visit, ip } = await newVisit();
    expect((await postLead({ visit, type: 'callback', phone: '+79161234580' }, ip)).statusCode).toBe(201);
    env.clock.advanceMinutes(4);
    const before = await counts();
    const again = await postLead({ visit, type: 'callback', phone: '+79161234580' }, ip);
    expect(again.statusCode).toBe(429);
    expect(again.headers['retry-after']).toBe('360');
    expect(again.json()).toMatchObject({ error: 'callback_limit' });
    expect(again.json().message).toMatch(/visitPer10Minutes \(1\)/);
    expect(await counts()).toEqual(before);
    env.clock.advanceMinutes(6);
    expect((await postLead({ visit, type: 'callback', phone: '+79161234580' }, ip)).statusCode).toBe(201);

    // A burst from one visit: one callback, the rest refused (the limit check is serialized); a resend of
    // the stored lead under its client id is the same lead, not a new callback.
    const burst = await newVisit();
    const answers = await Promise.all(
      [1, 2, 3].map(() =>
        postLead({ visit: burst.visit, id: 'cb-1', type: 'callback', phone: '+79161234582' }, burst.ip),
      ),
    );
    expect(answers.map((r) => r.statusCode).sort()).toEqual([200, 200, 201]);
    const other = await Promise.all(
      ['cb-2', 'cb-3'].map((id) =>
        postLead({ visit: burst.visit, id, type: 'callback', phone: '+79161234582' }, burst.ip),
      ),
    );
    expect(other.map((r) => r.statusCode)).toEqual([429, 429]);

    // Five callbacks an hour from one IP (each from its own visit and number), the sixth is refused.
    const ipOfAbuser = '198.51.100.7';
    for (let i = 0; i < 5; i++) {
      const v = await newVisit(ipOfAbuser);
      const res = await postLead({ visit: v.visit, type: 'callback', phone: `+7916123459${i}` }, ipOfAbuser);
      expect(res.statusCode, res.body).toBe(201);
      env.clock.advanceMinutes(1);
    }
    const sixth = await newVisit(ipOfAbuser);
    const refused = await postLead(
      { visit: sixth.visit, type: 'callback', phone: '+79161234599' },
      ipOfAbuser,
    );
    expect(refused.statusCode).toBe(429);
    expect(refused.json().message).toMatch(/ipPerHour \(5\)/);
    expect(refused.headers['retry-after']).toBe(String(60 * 60 - 5 * 60));

    // Three callbacks a day to one number, whoever asks: two above, a third from another visit and IP.
    const third = await newVisit();
    expect(
      (await postLead({ visit: third.visit, type: 'callback', phone: '+79161234580' }, third.ip)).statusCode,
    ).toBe(201);
    const fourth = await newVisit();
    const toSameNumber = await postLead(
      { visit: fourth.visit, type: 'callback', phone: '8 (916) 123-45-80' },
      fourth.ip,
    );
    expect(toSameNumber.statusCode).toBe(429);
    expect(toSameNumber.json().message).toMatch(/numberPerDay \(3\)/);
    await runJobs();
  });

  it('outside working hours: the lead is stored and the call waits for the next opening', async () => {
    const url = `/api/v1/sites/${s.site.id}/callback`;
    // Tuesdays only; the clock is on Monday.
    const hours = { hours: [{ days: [2], from: '09:00', to: '18:00' }], holidays: [] };
    expect((await env.api('PUT', url, { ...settings, hours })).statusCode).toBe(200);
    const { visit, ip } = await newVisit();
    const lead = await postLead({ visit, type: 'callback', phone: '+79161234581' }, ip);
    expect(lead.statusCode).toBe(201);
    expect(lead.json()).toMatchObject({ callback: 'outside_hours', callbackAt: '2026-11-03T06:00:00.000Z' });
    const leadId = lead.json().id;
    await runJobs();
    expect(requestsFor(leadId)).toHaveLength(0);
    env.clock.set('2026-11-03T06:00:00Z');
    await runJobs();
    expect(requestsFor(leadId)).toHaveLength(1);
  });

  it('a disabled site takes callback leads as plain leads and stops those still waiting', async () => {
    const url = `/api/v1/sites/${s.site.id}/callback`;
    // Sundays only: a callback asked for on Tuesday waits.
    const sundays = { hours: [{ days: [7], from: '09:00', to: '18:00' }], holidays: [] };
    expect((await env.api('PUT', url, { ...settings, hours: sundays })).statusCode).toBe(200);
    const early = await newVisit();
    const waiting = (
      await postLead({ visit: early.visit, type: 'callback', phone: '+79161234583' }, early.ip)
    ).json();
    expect(waiting.callback).toBe('outside_hours');

    expect((await env.api('PUT', url, { ...settings, enabled: false })).statusCode).toBe(200);
    const { visit, ip } = await newVisit();
    const before = await counts();
    const lead = await postLead({ visit, type: 'callback', phone: '+7 809 123-45-67' }, ip);
    expect(lead.statusCode).toBe(201);
    expect(lead.json()).toEqual({ id: lead.json().id, duplicate: false });
    expect(await counts()).toEqual({ ...before, leads: before.leads + 1 });

    env.clock.set(waiting.callbackAt);
    const [stopped] = await runJobs();
    expect(stopped).toMatchObject({
      success: false,
      status: 'failed',
      error: 'callbacks are disabled for the site',
    });
    expect(requestsFor(waiting.id)).toHaveLength(0);
  });
});

describe('callbacks through Asterisk (AMI Originate)', () => {
  let env: Env;
  let fake: FakeAsterisk;
  let visitId: string;
  let siteKey: string;
  const originates: AmiMessage[] = [];
  const answeredLegEvents: string[] = [];
  const { postLead, callOfLead } = helpers(() => env);

  /** After login: answer each Originate with `Response: Success`, then the OriginateResponse (or an Error). */
  const answer =
    (outcome: 'Success' | 'Failure' | 'Error', reason: string) =>
    async (socket: import('node:net').Socket) => {
      const parser = new AmiParser(false);
      socket.on('data', (chunk: Buffer) => {
        for (const m of parser.push(chunk)) {
          if (m.Action !== 'Originate') continue;
          originates.push(m);
          if (outcome === 'Error') {
            socket.write(`Response: Error\r\nActionID: ${m.ActionID}\r\nMessage: Permission denied\r\n\r\n`);
            continue;
          }
          socket.write(
            `Response: Success\r\nActionID: ${m.ActionID}\r\nMessage: Originate successfully queued\r\n\r\n`,
          );
          socket.write(
            `Event: OriginateResponse\r\nPrivilege: call,all\r\nActionID: ${m.ActionID}\r\nResponse: ${outcome}\r\n` +
              `Channel: ${m.Channel}\r\nContext: \r\nExten: \r\nApplication: Dial\r\nData: ${m.Data}\r\nReason: ${reason}\r\n` +
              'Uniqueid: 1762066800.42\r\nCallerIDNum: <unknown>\r\nCallerIDName: <unknown>\r\n\r\n',
          );
        }
      });
    };
  const runJobs = () =>
    runDueJobs({
      db: env.db,
      clock: env.clock,
      kinds: jobKinds({
        config: loadConfig({}, { logLevel: 'silent' }),
        db: env.db,
        clock: env.clock,
        secrets: secretBox('0'.repeat(64)),
      }),
    });

  beforeAll(async () => {
    fake = new FakeAsterisk([
      answer('Success', '4'),
      answer('Failure', '3'),
      answer('Failure', '5'),
      answer('Error', ''),
      // The AMI connection of `ringtrace start`: the events of the first callback's answered leg.
      async (socket) => {
        for (const m of answeredLegEvents) socket.write(m);
      },
    ]);
    const port = await fake.listen();
    env = await testEnv('2026-11-02T07:00:00Z');
    const s = await setupSite(env);
    siteKey = s.site.siteKey;
    const pbx = await env.api('POST', '/api/v1/integrations/asterisk', {
      name: 'Офисная АТС',
      host: '127.0.0.1',
      port,
      username: 'ringtrace',
      secret: 'ami-s3cret',
      trunk: 'provider',
      ami: false,
    });
    expect(pbx.statusCode, pbx.body).toBe(201);
    const saved = await env.api('PUT', `/api/v1/sites/${s.site.id}/callback`, {
      enabled: true,
      integrationId: pbx.json().id,
      endpoints: [
        { kind: 'sip', uri: 'sip:101@pbx.example.com', name: 'Анна' },
        { kind: 'sip', uri: 'sip:102@pbx.example.com', name: 'Борис' },
      ],
      callerId: CALLER_ID,
      ringTimeoutSeconds: 20,
    });
    expect(saved.statusCode, saved.body).toBe(200);
  });
  afterAll(async () => {
    await fake?.close();
    await env?.close();
  });

  const newLead = async (phone: string, ip: string) => {
    const visit = await postVisit(env.app, { site: siteKey, url: 'https://divany.example/' }, ip);
    visitId = visit.json().visit;
    const lead = await postLead({ visit: visitId, type: 'callback', phone }, ip);
    expect(lead.statusCode, lead.body).toBe(201);
    return lead.json().id as string;
  };

  let answeredLeadId: string;
  let answeredVisitId: string;

  it('sends the documented Originate and takes OriginateResponse Success as the employee answering', async () => {
    const leadId = await newLead('+79161234567', '203.0.113.1');
    answeredLeadId = leadId;
    answeredVisitId = visitId;
    const [r] = await runJobs();
    expect(r).toMatchObject({ success: true, status: 'succeeded' });
    expect(fake.logins[0]).toMatchObject({
      Action: 'Login',
      Username: 'ringtrace',
      Secret: 'ami-s3cret',
      Events: 'call',
    });
    expect(originates[0]).toEqual({
      Action: 'Originate',
      ActionID: `ringtrace-callback-${leadId}-0`,
      Channel: 'PJSIP/101',
      ChannelId: `ringtrace-cb-${leadId}-0`,
      Application: 'Dial',
      Data: 'PJSIP/+79161234567@provider,20',
      CallerID: `<${CALLER_ID}>`,
      Timeout: '20000',
      Async: 'true',
      Variable: `RINGTRACE_CALLBACK=${leadId}`,
    });
    const [row] = await env.db.query<{ result: Record<string, unknown> }>('SELECT result FROM jobs');
    expect(row.result).toMatchObject({ provider: 'asterisk', employee: 'Анна', uniqueid: '1762066800.42' });
    expect(await callOfLead(leadId)).toMatchObject({ origin: 'callback', visitId, method: 'callback' });
  });

  it('OriginateResponse Failure (no answer, busy) rings the next employee, then logs a missed callback', async () => {
    const leadId = await newLead('+79161234568', '203.0.113.2');
    expect((await runJobs())[0]).toMatchObject({ success: true });
    expect((await runJobs())[0]).toMatchObject({ success: true });
    expect(originates.slice(1).map((m) => m.Channel)).toEqual(['PJSIP/101', 'PJSIP/102']);
    expect(await callOfLead(leadId)).toMatchObject({ status: 'missed', origin: 'callback', visitId });
    expect(await runJobs()).toEqual([]);
  });

  it('an Originate the PBX refuses fails the job at once and logs a failed callback', async () => {
    const leadId = await newLead('+79161234569', '203.0.113.3');
    const [r] = await runJobs();
    expect(r).toMatchObject({
      success: false,
      status: 'failed',
      error: 'Originate refused: Permission denied',
    });
    expect(await callOfLead(leadId)).toMatchObject({ status: 'failed', origin: 'callback' });
  });
  it('the AMI events of the answered leg complete the callback with the visitor’s talk time', async () => {
    const leg = `ringtrace-cb-${answeredLeadId}-0`;
    const t0 = Date.parse('2026-11-02T07:00:05Z') / 1000;
    const msg = (fields: Record<string, string>) =>
      `${Object.entries(fields)
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('')}\r\n`;
    const common = { Privilege: 'call,all', Linkedid: leg };
    answeredLegEvents.push(
      msg({
        Event: 'Newchannel',
        ...common,
        Timestamp: `${t0}.000000`,
        Channel: 'PJSIP/101-00000001',
        Uniqueid: leg,
        Exten: 's',
        CallerIDNum: '101',
      }),
      msg({
        Event: 'DialBegin',
        ...common,
        Timestamp: `${t0 + 1}.000000`,
        Channel: 'PJSIP/101-00000001',
        Uniqueid: leg,
        DestChannel: 'PJSIP/provider-00000002',
        DestUniqueid: '1762066806.2',
        DialString: '+79161234567@provider',
      }),
      msg({
        Event: 'DialEnd',
        ...common,
        Timestamp: `${t0 + 9}.000000`,
        Channel: 'PJSIP/101-00000001',
        Uniqueid: leg,
        DestChannel: 'PJSIP/provider-00000002',
        DestUniqueid: '1762066806.2',
        DialStatus: 'ANSWER',
      }),
      msg({
        Event: 'Hangup',
        ...common,
        Timestamp: `${t0 + 69}.000000`,
        Channel: 'PJSIP/provider-00000002',
        Uniqueid: '1762066806.2',
        Cause: '16',
        'Cause-txt': 'Normal Clearing',
      }),
      msg({
        Event: 'Hangup',
        ...common,
        Timestamp: `${t0 + 69}.000000`,
        Channel: 'PJSIP/101-00000001',
        Uniqueid: leg,
        Cause: '16',
        'Cause-txt': 'Normal Clearing',
      }),
    );
    await env.db.query('UPDATE asterisk_integrations SET enabled = true');
    const connections = startAsteriskConnections(
      { config: loadConfig({}, { logLevel: 'silent' }), db: env.db, clock: env.clock },
      { backoff: { initialMs: 20, maxMs: 200 }, syncIntervalMs: 0 },
    );
    try {
      await connections.ready;
      let call: Record<string, unknown> | undefined;
      for (let i = 0; i < 200 && call?.status !== 'completed'; i++) {
        await new Promise((resolve) => setTimeout(resolve, 25));
        call = await callOfLead(answeredLeadId);
      }
      expect(call).toMatchObject({
        status: 'completed',
        origin: 'callback',
        visitId: answeredVisitId,
        method: 'callback',
        caller: '+79161234567',
        answeredAt: '2026-11-02T07:00:14.000Z',
        talkSeconds: 60,
      });
      // The leg's own channel start is not a second call.
      const calls = (await env.api('GET', '/api/v1/calls?limit=100')).json().items;
      expect(calls.filter((c: { leadId: string }) => c.leadId === answeredLeadId)).toHaveLength(1);
      expect(calls).toHaveLength(3);
    } finally {
      await connections.stop();
    }
  });
});
