import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount, createApiKey } from '../src/accounts/keys.js';
import {
  callEvents,
  postCallEvents,
  postLease,
  postVisit,
  setupSite,
  type TestEnv,
  testEnv,
} from './helpers.js';

/** Every /api/v1 resource of one account is invisible and untouchable with another account's key. */
describe('tenant isolation', () => {
  let env: TestEnv;
  let s: Awaited<ReturnType<typeof setupSite>>;
  let otherKey: string;
  let ids: Record<string, string>;

  const asOther = (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, body?: unknown) =>
    env.app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${otherKey}` },
      payload: body as object,
    });

  beforeAll(async () => {
    env = await testEnv();
    s = await setupSite(env);
    const other = await createAccount(env.db, env.clock, 'Other');
    otherKey = (await createApiKey(env.db, env.clock, other, 'k')).key;
    const pool = (await env.api('GET', `/api/v1/sites/${s.site.id}/pools`)).json()[0];
    const rule = (
      await env.api('POST', `/api/v1/sites/${s.site.id}/static-rules`, {
        name: 'r',
        conditions: { utmSource: 'avito' },
        numberId: s.staticNumber.id,
      })
    ).json();
    const v = (
      await postVisit(env.app, {
        site: s.site.siteKey,
        url: 'https://a.example/?utm_medium=cpc&utm_source=google',
      })
    ).json();
    const { events } = callEvents({ from: '+79161230000', to: v.number.e164, at: env.clock.now() });
    const call = (await postCallEvents(env.app, s.integration, events)).json().calls[0];
    const keys = (await env.api('GET', '/api/v1/api-keys')).json();
    const adConnection = (
      await env.api('POST', `/api/v1/sites/${s.site.id}/ad-connections`, {
        kind: 'yandex_direct',
        login: 'client',
        token: 'token',
      })
    ).json();
    const crm = (
      await env.api('POST', '/api/v1/crm-connections', {
        kind: 'amocrm',
        subdomain: 'divany',
        accessToken: 'long-lived-token-0123456789',
        active: false,
      })
    ).json();
    ids = {
      site: s.site.id,
      pool: pool.id,
      rule: rule.id,
      number: s.staticNumber.id,
      call,
      key: keys[0].id,
      adConnection: adConnection.id,
      crm: crm.id,
    };
    ids.zadarma = (
      await env.api('POST', '/api/v1/integrations/zadarma', {
        name: 'Zadarma',
        apiSecret: 'zadarma-secret-1',
      })
    ).json().id;
  });
  afterAll(() => env.close());

  it('lists show nothing of the other account', async () => {
    for (const url of ['/api/v1/sites', '/api/v1/calls', '/api/v1/integrations', '/api/v1/crm-connections']) {
      const res = (await asOther('GET', url)).json();
      const items = Array.isArray(res) ? res : res.items;
      expect(items, url).toEqual([]);
    }
    const keys = (await asOther('GET', '/api/v1/api-keys')).json();
    expect(keys.map((k: { id: string }) => k.id)).not.toContain(ids.key);
    expect((await asOther('GET', `/api/v1/calls?siteId=${ids.site}`)).json().total).toBe(0);
  });

  it('single resources are 404 for the other account', async () => {
    const urls = [
      ['GET', `/api/v1/sites/${ids.site}`],
      ['GET', `/api/v1/sites/${ids.site}/numbers`],
      ['GET', `/api/v1/sites/${ids.site}/pools`],
      ['GET', `/api/v1/sites/${ids.site}/static-rules`],
      ['GET', `/api/v1/calls/${ids.call}`],
      ['GET', `/api/v1/sites/${ids.site}/conversions`],
      ['GET', `/api/v1/sites/${ids.site}/conversions/deliveries`],
      ['POST', `/api/v1/sites/${ids.site}/conversions/deliveries/${ids.site}/retry`],
      ['PATCH', `/api/v1/sites/${ids.site}`, { name: 'hacked' }],
      ['POST', `/api/v1/sites/${ids.site}/numbers`, { number: '+74997770000', kind: 'pool' }],
      ['POST', `/api/v1/sites/${ids.site}/pools`, { name: 'x', region: 'Perm Krai' }],
      ['DELETE', `/api/v1/sites/${ids.site}/numbers/${ids.number}`],
      ['DELETE', `/api/v1/sites/${ids.site}/static-rules/${ids.rule}`],
      ['GET', `/api/v1/sites/${ids.site}/ad-connections`],
      ['GET', `/api/v1/sites/${ids.site}/ad-connections/${ids.adConnection}`],
      ['GET', `/api/v1/sites/${ids.site}/ad-connections/${ids.adConnection}/syncs`],
      ['PATCH', `/api/v1/sites/${ids.site}/ad-connections/${ids.adConnection}`, { token: 'stolen' }],
      ['POST', `/api/v1/sites/${ids.site}/ad-connections/${ids.adConnection}/sync`, {}],
      ['DELETE', `/api/v1/sites/${ids.site}/ad-connections/${ids.adConnection}`],
      ['PATCH', `/api/v1/sites/${ids.site}/static-rules/${ids.rule}`, { name: 'hacked' }],
      ['DELETE', `/api/v1/sites/${ids.site}/pools/${ids.pool}`],
      ['DELETE', `/api/v1/api-keys/${ids.key}`],
      ['PATCH', `/api/v1/integrations/zadarma/${ids.zadarma}`, { name: 'hacked' }],
      ['GET', `/api/v1/crm-connections/${ids.crm}`],
      ['GET', `/api/v1/crm-connections/${ids.crm}/deliveries`],
      ['PATCH', `/api/v1/crm-connections/${ids.crm}`, { active: true }],
      ['DELETE', `/api/v1/crm-connections/${ids.crm}`],
      ['DELETE', `/api/v1/sites/${ids.site}`],
    ] as const;
    for (const [method, url, body] of urls) {
      const res = await asOther(method, url, body);
      expect(res.statusCode, `${method} ${url}`).toBe(404);
    }
    // Nothing changed for the owner.
    const site = (await env.api('GET', `/api/v1/sites/${ids.site}`)).json();
    expect(site.name).toBe('Диваны на заказ');
    expect((await env.api('GET', `/api/v1/sites/${ids.site}/static-rules`)).json()).toHaveLength(1);
    expect((await env.api('GET', `/api/v1/calls/${ids.call}`)).statusCode).toBe(200);
    expect((await env.api('GET', `/api/v1/crm-connections/${ids.crm}`)).json().active).toBe(false);
    expect(
      (await env.api('GET', `/api/v1/sites/${ids.site}/ad-connections/${ids.adConnection}`)).statusCode,
    ).toBe(200);
  });

  it("another account's ad connection is not reachable through one's own site", async () => {
    const ownSite = (await asOther('POST', '/api/v1/sites', { name: 'Own' })).json();
    const url = `/api/v1/sites/${ownSite.id}/ad-connections/${ids.adConnection}`;
    for (const [method, path] of [
      ['GET', url],
      ['POST', `${url}/sync`],
      ['GET', `${url}/syncs`],
      ['DELETE', url],
    ] as const)
      expect((await asOther(method, path, method === 'POST' ? {} : undefined)).statusCode, path).toBe(404);
  });

  it("a call to one account's number through another account's integration is not attributed to it", async () => {
    const otherIntegration = (
      await asOther('POST', '/api/v1/integrations', { kind: 'generic', name: 'x' })
    ).json();
    const { events } = callEvents({ from: '+79161239999', to: s.pool[0], at: env.clock.now() });
    const id = (await postCallEvents(env.app, otherIntegration, events)).json().calls[0];
    const call = (await asOther('GET', `/api/v1/calls/${id}`)).json();
    expect(call.siteId).toBeNull();
    expect(call.visitId).toBeNull();
    expect(call.method).toBe('none');
  });

  it("another account's site key cannot lease for this account's visit (POST /t/lease)", async () => {
    await env.api('PATCH', `/api/v1/sites/${ids.site}`, { leaseOn: 'visible' });
    const v = (
      await postVisit(env.app, { site: s.site.siteKey, url: 'https://a.example/?utm_medium=cpc' })
    ).json();
    expect(v.deferred).toBe(true);
    const otherSite = (await asOther('POST', '/api/v1/sites', { name: 'Other' })).json();
    const res = await postLease(env.app, { site: otherSite.siteKey, visitor: v.visitor, visit: v.visit });
    expect(res.statusCode).toBe(404);
    const leases = await env.db.query('SELECT 1 FROM leases WHERE visit_id = $1', [v.visit]);
    expect(leases).toHaveLength(0);
    await env.api('PATCH', `/api/v1/sites/${ids.site}`, { leaseOn: 'load' });
  });

  it("callback settings: another account's site is 404, its integrations and groups are unknown", async () => {
    const group = (await env.api('POST', '/api/v1/employee-groups', { name: 'Продажи' })).json();
    const twilio = (
      await env.api('POST', '/api/v1/integrations/twilio', {
        name: 'Twilio',
        authToken: 'f3c9a1d2e4b5c6a7b8c9d0e1f2a3b4c5',
        accountSid: `AC${'0'.repeat(32)}`,
      })
    ).json();
    const settings = { enabled: true, integrationId: twilio.id, groupId: group.id, callerId: '+74951110000' };
    const url = `/api/v1/sites/${ids.site}/callback`;
    expect((await env.api('PUT', url, settings)).statusCode).toBe(200);
    expect((await asOther('GET', url)).statusCode).toBe(404);
    expect((await asOther('PUT', url, { ...settings, enabled: false })).statusCode).toBe(404);
    expect((await env.api('GET', url)).json().enabled).toBe(true);
    const visit = (
      await postVisit(env.app, { site: s.site.siteKey, url: 'https://a.example/' }, '203.0.113.9')
    ).json();
    const lead = await env.app.inject({
      method: 'POST',
      url: '/t/lead',
      headers: { 'content-type': 'text/plain' },
      payload: JSON.stringify({ visit: visit.visit, type: 'callback', phone: '+79161234567' }),
    });
    expect(lead.json().callback).toBe('scheduled');
    expect((await env.api('GET', `/api/v1/leads/${lead.json().id}/callback`)).statusCode).toBe(200);
    expect((await asOther('GET', `/api/v1/leads/${lead.json().id}/callback`)).statusCode).toBe(404);
    const ownSite = (
      await asOther('POST', '/api/v1/sites', { name: 'Own', defaultNumber: '+74951112233' })
    ).json();
    const borrowed = await asOther('PUT', `/api/v1/sites/${ownSite.id}/callback`, {
      ...settings,
      callerId: '+74951112233',
    });
    expect(borrowed.statusCode).toBe(400);
    expect(borrowed.json().message).toBe(`body.integrationId: integration ${twilio.id} not found`);
  });
});
