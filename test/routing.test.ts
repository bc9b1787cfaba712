import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount, createApiKey } from '../src/accounts/keys.js';
import { MOSCOW_IP, PERM_IP, postVisit, setupSite, type TestEnv, testEnv, twilioSign } from './helpers.js';

const AUTH_TOKEN = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
const BASE = 'http://localhost:8080';

/** Employees, groups, branches and whisper, through the REST API and a Twilio-signed call. */
describe('routing to employees, groups and branches', () => {
  let env: TestEnv;
  let s: Awaited<ReturnType<typeof setupSite>>;
  let integrationId: string;
  const ids: Record<string, string> = {};
  let callNo = 0;

  const twilio = (path: string, params: Record<string, string>) => {
    const url = path.startsWith('http') ? path : `${BASE}${path}`;
    return env.app.inject({
      method: 'POST',
      url: url.slice(BASE.length),
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-twilio-signature': twilioSign(AUTH_TOKEN, url, params),
      },
      payload: new URLSearchParams(params).toString(),
    });
  };
  /** A visit from `ip` to a paid landing page, then its call through Twilio; returns the TwiML answer. */
  const callAfterVisit = async (ip: string, campaign: string) => {
    const visit = (
      await postVisit(
        env.app,
        {
          site: s.site.siteKey,
          url: `https://shop.ru/?utm_source=yandex&utm_medium=cpc&utm_campaign=${campaign}&utm_term=диван`,
        },
        ip,
      )
    ).json() as { number: { e164: string } };
    env.clock.advance(30_000);
    const sid = `CA${String(++callNo).padStart(32, '0')}`;
    const res = await twilio(`/hooks/twilio/${integrationId}/voice`, {
      CallSid: sid,
      From: `+7916555000${callNo}`,
      To: visit.number.e164,
      CallStatus: 'ringing',
      Direction: 'inbound',
    });
    expect(res.statusCode).toBe(200);
    return { sid, xml: res.body };
  };

  beforeAll(async () => {
    env = await testEnv('2026-11-02T07:00:00Z');
    s = await setupSite(env, { poolSize: 6, site: { timeZone: 'Europe/Moscow' } });
    integrationId = (
      await env.api('POST', '/api/v1/integrations/twilio', { name: 'Twilio', authToken: AUTH_TOKEN })
    ).json().id;
    for (const [key, body] of Object.entries({
      anna: { name: 'Анна', endpoints: [{ kind: 'sip', uri: 'sip:101@pbx.example.com' }] },
      boris: { name: 'Борис', endpoints: [{ kind: 'phone', number: '+79160000002' }] },
      perm: { name: 'Пермь', endpoints: [{ kind: 'phone', number: '+73422000000' }] },
    })) {
      const res = await env.api('POST', '/api/v1/employees', body);
      expect(res.statusCode).toBe(201);
      expect(res.json()).toMatchObject({ ...body, available: true });
      ids[key] = res.json().id;
    }
    const group = await env.api('POST', '/api/v1/employee-groups', {
      name: 'Продажи',
      members: [ids.anna, ids.boris],
    });
    expect(group.statusCode).toBe(201);
    ids.sales = group.json().id;
    const main = await env.api('POST', `/api/v1/sites/${s.site.id}/flows`, {
      name: 'Москва',
      isDefault: true,
      flow: {
        start: 'sales',
        nodes: {
          sales: {
            kind: 'ringGroup',
            strategy: 'simultaneous',
            groupId: ids.sales,
            whisper: true,
            next: 'bye',
          },
          bye: { kind: 'play', text: 'Все заняты', next: 'end' },
          end: { kind: 'hangup' },
        },
      },
    });
    expect(main.statusCode).toBe(201);
    const branch = await env.api('POST', `/api/v1/sites/${s.site.id}/flows`, {
      name: 'Филиал Пермь',
      regions: ['Perm Krai'],
      flow: {
        start: 'perm',
        nodes: {
          perm: {
            kind: 'ringGroup',
            strategy: 'sequential',
            targets: [{ kind: 'employee', employeeId: ids.perm }],
            next: 'end',
          },
          end: { kind: 'hangup' },
        },
      },
    });
    expect(branch.statusCode).toBe(201);
    expect(branch.json().regions).toEqual(['Perm Krai']);
  });
  afterAll(() => env.close());

  it('rings the group’s available employees with a whisper naming the call’s source', async () => {
    const { sid, xml } = await callAfterVisit(MOSCOW_IP, 'sofa_sale');
    const whisper = `${BASE}/hooks/twilio/${integrationId}/whisper?call=${sid}&amp;lang=ru-RU`;
    // Each endpoint also reports its leg's progress (statusCallback…), checked in twilio.test.ts.
    expect(xml).toMatch(/<Sip url="[^"]+" method="POST" [^>]*>sip:101@pbx\.example\.com<\/Sip>/);
    expect(xml).toMatch(/<Number url="[^"]+" method="POST" [^>]*>\+79160000002<\/Number>/);
    expect(xml.match(/<(?:Sip|Number) url="([^"]+)"/g)).toEqual([
      `<Sip url="${whisper}"`,
      `<Number url="${whisper}"`,
    ]);

    // Twilio fetches the whisper on the employee's leg (its own CallSid) before bridging.
    const heard = await twilio(`/hooks/twilio/${integrationId}/whisper?call=${sid}&lang=ru-RU`, {
      CallSid: 'CAchildleg000000000000000000000001',
      ParentCallSid: sid,
    });
    expect(heard.body).toContain(
      '<Say language="ru-RU">Звонок с сайта: источник yandex, кампания sofa_sale, ключевое слово диван.</Say>',
    );
  });

  it('leaves out an unavailable employee, and skips the group when nobody is available', async () => {
    expect(
      (await env.api('PATCH', `/api/v1/employees/${ids.anna}`, { available: false })).json().available,
    ).toBe(false);
    const { xml } = await callAfterVisit(MOSCOW_IP, 'one');
    expect(xml).not.toContain('sip:101@pbx.example.com');
    expect(xml).toContain('+79160000002');

    await env.api('PATCH', `/api/v1/employees/${ids.boris}`, { available: false });
    const nobody = await callAfterVisit(MOSCOW_IP, 'two');
    expect(nobody.xml).not.toContain('<Dial');
    expect(nobody.xml).toContain('<Say language="ru-RU">Все заняты</Say>');
    await env.api('PATCH', `/api/v1/employees/${ids.anna}`, { available: true });
    await env.api('PATCH', `/api/v1/employees/${ids.boris}`, { available: true });
  });

  it('sends a call attributed to a visit from the branch’s region to the branch’s flow', async () => {
    const { xml } = await callAfterVisit(PERM_IP, 'perm');
    expect(xml).toMatch(/<Number [^>]*>\+73422000000<\/Number>/);
    expect(xml).not.toContain('+79160000002');
  });

  it('validates references, regions and deletions with clear errors', async () => {
    const ghost = '00000000-0000-4000-8000-000000000000';
    const bad = await env.api('POST', `/api/v1/sites/${s.site.id}/flows`, {
      name: 'Плохой',
      flow: {
        start: 'g',
        nodes: {
          g: { kind: 'ringGroup', strategy: 'simultaneous', groupId: ghost, next: 'h' },
          h: { kind: 'hangup' },
        },
      },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toBe(`body.flow.nodes.g.groupId: no employee group ${ghost}`);

    const empty = await env.api('POST', `/api/v1/sites/${s.site.id}/flows`, {
      name: 'Пустой',
      flow: {
        start: 'g',
        nodes: { g: { kind: 'ringGroup', strategy: 'simultaneous', next: 'h' }, h: { kind: 'hangup' } },
      },
    });
    expect(empty.statusCode).toBe(400);
    expect(empty.json().message).toContain('needs targets or a groupId');

    const taken = await env.api('POST', `/api/v1/sites/${s.site.id}/flows`, {
      name: 'Второй Пермский',
      regions: ['perm krai'],
      flow: { start: 'h', nodes: { h: { kind: 'hangup' } } },
    });
    expect(taken.statusCode).toBe(409);
    expect(taken.json().message).toContain('"Perm Krai" (flow "Филиал Пермь")');

    const badMember = await env.api('POST', '/api/v1/employee-groups', {
      name: 'X',
      members: [ids.anna, ghost],
    });
    expect(badMember.statusCode).toBe(400);
    expect(badMember.json().message).toBe(`body.members.1: no employee ${ghost}`);

    const inUse = await env.api('DELETE', `/api/v1/employees/${ids.anna}`);
    expect(inUse.statusCode).toBe(409);
    expect(inUse.json().message).toBe('Employee "Анна" is used by group "Продажи"');
    const groupInUse = await env.api('DELETE', `/api/v1/employee-groups/${ids.sales}`);
    expect(groupInUse.statusCode).toBe(409);
    expect(groupInUse.json().message).toBe('Group "Продажи" is used by flow "Москва"');

    const badEndpoint = await env.api('POST', '/api/v1/employees', {
      name: 'Z',
      endpoints: [{ kind: 'phone', number: '8916' }],
    });
    expect(badEndpoint.statusCode).toBe(400);
    expect(badEndpoint.json().message).toContain('body.endpoints.0.number');
    expect((await env.api('GET', '/api/v1/employees')).json()).toHaveLength(3);
  });

  it('keeps employees and groups to their account', async () => {
    const other = await createAccount(env.db, env.clock, 'Другая компания');
    const { key } = await createApiKey(env.db, env.clock, other, 'k');
    const as = (method: 'GET' | 'PATCH' | 'DELETE' | 'POST', url: string, body?: unknown) =>
      env.app.inject({ method, url, headers: { authorization: `Bearer ${key}` }, payload: body as object });
    expect((await as('GET', '/api/v1/employees')).json()).toEqual([]);
    expect((await as('GET', '/api/v1/employee-groups')).json()).toEqual([]);
    expect((await as('GET', `/api/v1/employees/${ids.anna}`)).statusCode).toBe(404);
    expect((await as('PATCH', `/api/v1/employees/${ids.anna}`, { available: false })).statusCode).toBe(404);
    expect((await as('DELETE', `/api/v1/employee-groups/${ids.sales}`)).statusCode).toBe(404);
    // Another account cannot put my employee in its group.
    const stolen = await as('POST', '/api/v1/employee-groups', { name: 'Чужие', members: [ids.anna] });
    expect(stolen.statusCode).toBe(400);
  });
});
