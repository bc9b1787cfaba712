import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount, createApiKey } from '../src/accounts/keys.js';
import { VISIT_REPORT_FIELDS } from '../src/calls/service.js';
import { postVisit, setupSite, type TestEnv, testEnv } from './helpers.js';

/** Leads besides calls: POST /t/lead from the widget, attributed to the visit; the leads REST API. */
describe('leads', () => {
  let env: TestEnv;
  let s: Awaited<ReturnType<typeof setupSite>>;
  let paidVisit: string;
  let organicVisit: string;

  const postLead = (body: Record<string, unknown>, headers: Record<string, string> = {}) =>
    env.app.inject({
      method: 'POST',
      url: '/t/lead',
      headers: { 'content-type': 'text/plain;charset=UTF-8', ...headers },
      payload: JSON.stringify(body),
    });
  const count = async () => (await env.db.query<{ n: number }>('SELECT count(*)::int AS n FROM leads'))[0].n;

  beforeAll(async () => {
    env = await testEnv();
    s = await setupSite(env);
    paidVisit = (
      await postVisit(env.app, {
        site: s.site.siteKey,
        url: 'https://divany.example/sofa?utm_source=yandex&utm_medium=cpc&utm_campaign=sofas&utm_term=диван&yclid=777',
      })
    ).json().visit;
    env.clock.advanceMinutes(5);
    organicVisit = (
      await postVisit(env.app, {
        site: s.site.siteKey,
        url: 'https://divany.example/',
        referrer: 'https://www.google.com/',
      })
    ).json().visit;
  });
  afterAll(() => env.close());

  it('stores a form lead attributed to its visit, phone in E.164 by the site country', async () => {
    const res = await postLead(
      {
        visit: paidVisit,
        type: 'form',
        phone: '8 (916) 123-45-67',
        email: 'Ivan@Example.RU',
        name: 'Иван',
        fields: { comment: 'Нужен диван <b>угловой</b>', city: 'Москва' },
        url: 'https://divany.example/sofa#order',
      },
      { origin: 'https://divany.example' },
    );
    expect(res.statusCode, res.body).toBe(201);
    expect(res.headers['access-control-allow-origin']).toBe('*');
    const { id } = res.json();
    const lead = (await env.api('GET', `/api/v1/leads/${id}`)).json();
    expect(lead).toMatchObject({
      id,
      siteId: s.site.id,
      visitId: paidVisit,
      type: 'form',
      phone: '+79161234567',
      email: 'ivan@example.ru',
      name: 'Иван',
      fields: { comment: 'Нужен диван <b>угловой</b>', city: 'Москва' },
      url: 'https://divany.example/sofa#order',
      channel: 'paid_search',
      source: 'yandex',
      medium: 'cpc',
      campaign: 'sofas',
      keyword: 'диван',
      yclid: '777',
    });
    expect(lead.pages).toHaveLength(1);
  });

  it('is idempotent per visit and client id', async () => {
    const before = await count();
    const body = { visit: organicVisit, id: 'form-42', type: 'callback', phone: '+7 916 765-43-21' };
    const first = await postLead(body);
    expect(first.statusCode).toBe(201);
    const again = await postLead(body);
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual({ id: first.json().id, duplicate: true });
    expect(await count()).toBe(before + 1);
    // Without an id every post is a new lead.
    await postLead({ visit: organicVisit, type: 'chat', name: 'Пётр' });
    await postLead({ visit: organicVisit, type: 'chat', name: 'Пётр' });
    expect(await count()).toBe(before + 3);
  });

  it('carries its visit report fields, which reports group it by without joining the visit', async () => {
    // Every lead so far was posted through /t/lead: the copies equal the visit's fields (migration 030).
    const fields = VISIT_REPORT_FIELDS.map((f) => `v.${f}`).join(', ');
    const copies = VISIT_REPORT_FIELDS.map((f) => `l.visit_${f}`).join(', ');
    const pairs = await env.db.query<{ copied: string; visit: string; n: number }>(
      `SELECT row(${copies})::text AS copied, row(${fields})::text AS visit, count(*)::int AS n
         FROM leads l JOIN visits v ON v.account_id = l.account_id AND v.id = l.visit_id GROUP BY 1, 2`,
    );
    expect(pairs.length).toBe(2);
    for (const p of pairs) expect(p.copied).toBe(p.visit);
    const [paid] = await env.db.query<Record<string, string>>(
      `SELECT ${copies} FROM leads l WHERE l.visit_id = $1`,
      [paidVisit],
    );
    expect(paid).toMatchObject({ visit_source: 'yandex', visit_campaign: 'sofas', visit_keyword: 'диван' });
    const leadsBy = async (dimension: string) => {
      const res = await env.api(
        'GET',
        `/api/v1/reports/${dimension}?siteId=${s.site.id}&from=2026-11-02&to=2026-11-02`,
      );
      expect(res.statusCode).toBe(200);
      return Object.fromEntries(res.json().rows.map((r: { key: string; leads: number }) => [r.key, r.leads]));
    };
    expect(await leadsBy('campaign')).toEqual({ sofas: 1, '(not set)': 3 });
    expect(await leadsBy('landing_page')).toEqual({ '/sofa': 1, '/': 3 });
    // A changed copy changes the report: it is read, not the visit (whose row stays, with no lead).
    await env.db.query(`UPDATE leads SET visit_campaign = 'moved' WHERE visit_id = $1`, [paidVisit]);
    expect(await leadsBy('campaign')).toEqual({ sofas: 0, moved: 1, '(not set)': 3 });
    await env.db.query(`UPDATE leads SET visit_campaign = 'sofas' WHERE visit_id = $1`, [paidVisit]);
  });

  it('refuses bad input naming the field, and stores nothing', async () => {
    const before = await count();
    const cases: [Record<string, unknown>, number, string][] = [
      [{ visit: paidVisit, type: 'form', phone: '12' }, 400, 'body.phone'],
      [{ visit: paidVisit, type: 'fax' }, 400, 'body.type'],
      [{ visit: 'nope', type: 'form' }, 400, 'body.visit'],
      [{ visit: '7f9c2a4e-0000-4000-8000-000000000000', type: 'form' }, 404, 'body.visit'],
      [{ visit: paidVisit, type: 'form', email: 'not-an-email' }, 400, 'body.email'],
      [{ visit: paidVisit, type: 'form', url: 'javascript:alert(1)' }, 400, 'body.url'],
      [{ visit: paidVisit, type: 'form', fields: { password: 'hunter2' } }, 400, 'body.fields.password'],
      [{ visit: paidVisit, type: 'form', fields: { 'cc-number': '1' } }, 400, 'body.fields.cc-number'],
      [
        { visit: paidVisit, type: 'form', fields: { note: 'card 4111 1111 1111 1111' } },
        400,
        'body.fields.note',
      ],
      [{ visit: paidVisit, type: 'form', name: '5555555555554444' }, 400, 'body.name'],
      [{ visit: paidVisit, type: 'form', fields: { n: 'x'.repeat(1001) } }, 400, 'body.fields.n'],
      [
        {
          visit: paidVisit,
          type: 'form',
          fields: Object.fromEntries([...Array(21)].map((_, i) => [`f${i}`, 'v'])),
        },
        400,
        'body.fields',
      ],
      [{ visit: paidVisit, type: 'form', extra: 1 }, 400, 'body'],
      [{ visit: paidVisit, type: 'form', id: 'bad id with spaces' }, 400, 'body.id'],
    ];
    for (const [body, status, field] of cases) {
      const res = await postLead(body);
      expect(res.statusCode, JSON.stringify(body)).toBe(status);
      expect(res.json().message, JSON.stringify(body)).toContain(field);
    }
    const huge = await postLead({ visit: paidVisit, type: 'form', fields: { a: 'x'.repeat(17_000) } });
    expect(huge.statusCode).toBe(413);
    const malformed = await env.app.inject({
      method: 'POST',
      url: '/t/lead',
      headers: { 'content-type': 'text/plain' },
      payload: '{nope',
    });
    expect(malformed.statusCode).toBe(400);
    expect(await count()).toBe(before);
  });

  it('refuses leads from a domain the site does not list', async () => {
    await env.api('PATCH', `/api/v1/sites/${s.site.id}`, { domains: ['divany.example'] });
    const res = await postLead({ visit: paidVisit, type: 'form' }, { origin: 'https://evil.example' });
    expect(res.statusCode).toBe(403);
    const ok = await postLead({ visit: paidVisit, type: 'other' }, { origin: 'https://shop.divany.example' });
    expect(ok.statusCode).toBe(201);
    await env.api('PATCH', `/api/v1/sites/${s.site.id}`, { domains: [] });
  });

  it('lists leads with filters and paging', async () => {
    const all = (await env.api('GET', '/api/v1/leads')).json();
    expect(all.total).toBe(5);
    expect(all.items[0].createdAt).toBeDefined();
    const paid = (await env.api('GET', '/api/v1/leads?channel=paid_search')).json();
    expect(paid.items.map((l: { visitId: string }) => l.visitId)).toEqual([paidVisit, paidVisit]);
    const chats = (await env.api('GET', '/api/v1/leads?type=chat')).json();
    expect(chats.total).toBe(2);
    expect(chats.items[0]).toMatchObject({ channel: 'organic_search', source: 'google' });
    const page = (await env.api('GET', '/api/v1/leads?limit=2&offset=4')).json();
    expect(page).toMatchObject({ total: 5, limit: 2, offset: 4 });
    expect(page.items).toHaveLength(1);
    const site = (await env.api('GET', `/api/v1/leads?siteId=${s.site.id}`)).json();
    expect(site.total).toBe(5);
    const now = env.clock.now().toISOString();
    expect((await env.api('GET', `/api/v1/leads?from=${encodeURIComponent(now)}`)).json().total).toBe(5);
    expect((await env.api('GET', `/api/v1/leads?to=${encodeURIComponent(now)}`)).json().total).toBe(0);
    const bad = await env.api('GET', '/api/v1/leads?type=fax');
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toContain('querystring.type');
  });

  it('shows each account only its own leads', async () => {
    const other = await createAccount(env.db, env.clock, 'Other');
    const { key } = await createApiKey(env.db, env.clock, other, 'k');
    const as = (url: string) =>
      env.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${key}` } });
    const mine = (await env.api('GET', '/api/v1/leads')).json().items[0];
    expect((await as('/api/v1/leads')).json()).toMatchObject({ total: 0, items: [] });
    expect((await as(`/api/v1/leads?siteId=${s.site.id}`)).json().total).toBe(0);
    expect((await as(`/api/v1/leads/${mine.id}`)).statusCode).toBe(404);
    expect((await env.app.inject({ method: 'GET', url: '/api/v1/leads' })).statusCode).toBe(401);
  });
});
