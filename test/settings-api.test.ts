import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postVisit, setupSite, type TestEnv, testEnv } from './helpers.js';

// The API calls behind the dashboard's settings pages that the other suites do not cover:
// editing a static rule, removing a pool, and the API-key lifecycle.
describe('settings API', () => {
  let env: TestEnv;
  let s: Awaited<ReturnType<typeof setupSite>>;

  beforeAll(async () => {
    env = await testEnv();
    s = await setupSite(env);
  });
  afterAll(() => env.close());

  it('edits a static rule field by field, and visits follow the edited conditions', async () => {
    const rules = `/api/v1/sites/${s.site.id}/static-rules`;
    const created = (
      await env.api('POST', rules, {
        name: 'Avito',
        conditions: { utmSource: 'avito' },
        numberId: s.staticNumber.id,
        source: 'avito',
        medium: 'classified',
      })
    ).json();

    const patched = await env.api('PATCH', `${rules}/${created.id}`, {
      name: 'Avito, sofas',
      conditions: { utmSource: 'avito', utmCampaign: 'sofas' },
      campaign: 'sofas',
      medium: null,
    });
    expect(patched.statusCode).toBe(200);
    expect(patched.json()).toEqual({
      ...created,
      name: 'Avito, sofas',
      conditions: { utmSource: 'avito', utmCampaign: 'sofas' },
      campaign: 'sofas',
      medium: null,
    });
    const listed = (await env.api('GET', rules)).json();
    expect(listed).toEqual([{ ...patched.json(), number: s.staticNumber.e164 }]);

    // The rule now needs the campaign too.
    const plain = await postVisit(env.app, {
      site: s.site.siteKey,
      url: 'https://a.example/?utm_source=avito',
    });
    expect(plain.json().number.e164).not.toBe(s.staticNumber.e164);
    const sofas = await postVisit(env.app, {
      site: s.site.siteKey,
      url: 'https://a.example/?utm_source=avito&utm_campaign=sofas',
    });
    expect(sofas.json().number.e164).toBe(s.staticNumber.e164);
  });

  it('refuses a bad static-rule edit with a 400 naming the field, and changes nothing', async () => {
    const rules = `/api/v1/sites/${s.site.id}/static-rules`;
    const [rule] = (await env.api('GET', rules)).json();
    const bad = async (body: unknown, field: string) => {
      const res = await env.api('PATCH', `${rules}/${rule.id}`, body);
      expect(res.statusCode, res.body).toBe(400);
      expect(res.json().message).toContain(field);
    };
    await bad({ name: '' }, 'body.name');
    await bad({ priority: 5000 }, 'body.priority');
    await bad({ conditions: { utmColour: 'red' } }, 'body.conditions');
    await bad({ numberId: 'nope' }, 'body.numberId');
    const poolNumber = (await env.api('GET', `/api/v1/sites/${s.site.id}/numbers`))
      .json()
      .find((n: { kind: string }) => n.kind === 'pool');
    await bad({ name: 'x', numberId: poolNumber.id }, 'body.numberId');
    await bad({ colour: 'red' }, 'colour');
    expect((await env.api('GET', rules)).json()).toEqual([rule]);
    const missing = await env.api('PATCH', `${rules}/00000000-0000-4000-8000-000000000000`, { name: 'x' });
    expect(missing.statusCode).toBe(404);
  });

  it('removes an empty pool, and refuses a pool that still has numbers', async () => {
    const pools = `/api/v1/sites/${s.site.id}/pools`;
    const perm = (await env.api('POST', pools, { name: 'Пермь', region: 'Perm Krai' })).json();
    const number = (
      await env.api('POST', `/api/v1/sites/${s.site.id}/numbers`, {
        number: '+73422000000',
        kind: 'pool',
        poolId: perm.id,
      })
    ).json();
    const busy = await env.api('DELETE', `${pools}/${perm.id}`);
    expect(busy.statusCode).toBe(409);
    expect(busy.json().message).toContain('remove them first');
    expect((await env.api('GET', pools)).json().map((p: { id: string }) => p.id)).toContain(perm.id);

    expect((await env.api('DELETE', `/api/v1/sites/${s.site.id}/numbers/${number.id}`)).statusCode).toBe(204);
    expect((await env.api('DELETE', `${pools}/${perm.id}`)).statusCode).toBe(204);
    expect((await env.api('GET', pools)).json().map((p: { id: string }) => p.id)).not.toContain(perm.id);
    expect((await env.api('DELETE', `${pools}/${perm.id}`)).statusCode).toBe(404);
  });

  it('lists, creates and revokes API keys; a revoked key gets 401', async () => {
    const created = await env.api('POST', '/api/v1/api-keys', { name: 'CRM' });
    expect(created.statusCode).toBe(201);
    const key = created.json();
    expect(key.key.startsWith(key.prefix)).toBe(true);
    const listed = (await env.api('GET', '/api/v1/api-keys')).json();
    expect(listed.find((k: { id: string }) => k.id === key.id)).toMatchObject({
      name: 'CRM',
      prefix: key.prefix,
      revoked_at: null,
    });
    // The listing never shows the key itself.
    expect(JSON.stringify(listed)).not.toContain(key.key);

    const asKey = () =>
      env.app.inject({
        method: 'GET',
        url: '/api/v1/sites',
        headers: { authorization: `Bearer ${key.key}` },
      });
    expect((await asKey()).statusCode).toBe(200);
    expect((await env.api('DELETE', `/api/v1/api-keys/${key.id}`)).statusCode).toBe(204);
    expect((await asKey()).statusCode).toBe(401);
    const after = (await env.api('GET', '/api/v1/api-keys')).json();
    expect(after.find((k: { id: string }) => k.id === key.id).revoked_at).not.toBeNull();
    expect((await env.api('DELETE', `/api/v1/api-keys/${key.id}`)).statusCode).toBe(404);
    expect((await env.api('POST', '/api/v1/api-keys', { name: '' })).statusCode).toBe(400);
  });
});
