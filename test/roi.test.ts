import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount, createApiKey } from '../src/accounts/keys.js';
import { callEvents, postCallEvents, postVisit, setupSite, type TestEnv, testEnv } from './helpers.js';

// One day, 2026-11-09 in Europe/Moscow (UTC+3). Times are UTC.
//   V1 09:00Z yandex/cpc/98765432 (Direct's {campaign_id})  → call C1 from A, talk 120 s (targeted)
//   V2 10:00Z yandex/cpc/98765432                           → call C2 from B, talk 10 s (not targeted)
//   V3 11:00Z google/cpc/brand                              → lead L1 (form), call C3 from C, talk 60 s
//   V4 12:00Z google/cpc/brand                              (no call)
// Costs of 2026-11-09:
//   Direct (TSV): «Диваны Москва» id 98765432: 1 000 impressions, 50 clicks, 3 000,00 ₽ → matches V1/V2 by id
//                 «Кухни» id 11112222: 200 impressions, 10 clicks, 500,00 ₽ → no visits
//   Google Ads (CSV): "Brand" (visits say "brand": case-insensitive): 400 impressions, 40 clicks, 1,500.00 ₽
// Deals: C1 won 20 000,00 ₽ (by call id); C2 lost 5 000 ₽ (by phone B and date); L1 won «4 000,50» (by lead
// id); C3 won 1 000 ₽ by phone C and instant, re-sent with the same externalId as 1 200 ₽ (replaces).
//
// Hand-computed, in kopecks:
//   98765432: cost 300000, revenue 2000000, profit 1700000, ROI 1700000/300000 = 5.6667,
//             cost/call 300000/2 = 150000, cost/targeted call 300000/1, CPL 300000/(2 calls + 0 leads) = 150000
//   brand:    cost 150000, revenue 400050 + 120000 = 520050, profit 370050, ROI 2.467,
//             cost/call 150000/1, cost/targeted 150000/1, CPL 150000/(1 call + 1 lead) = 75000
//   Кухни:    cost 50000, revenue 0, profit −50000, ROI −1, per-call metrics null (no calls or leads)
//   totals:   cost 500000, revenue 2520050, profit 2020050, ROI 4.0401, cost/call 500000/3 = 166667,
//             cost/targeted 500000/2 = 250000, CPL 500000/4 = 125000
// Profit per call/lead (campaign-day cost spread over its calls + leads):
//   C1: 2000000 − 300000/2 = 1850000; C2: 0 − 150000; L1: 400050 − 150000/2 = 325050; C3: 120000 − 75000.

const BASE = 'https://divany.example/';
const utm = (source: string, campaign: string) =>
  `${BASE}?utm_source=${source}&utm_medium=cpc&utm_campaign=${encodeURIComponent(campaign)}`;

const DIRECT = [
  '"Кампании (2026-11-09 - 2026-11-09)"',
  'Дата\tКампания\t№ Кампании\tПоказы\tКлики\tРасход (руб.)',
  '09.11.2026\tДиваны Москва\t98765432\t1 000\t50\t3 000,00',
  '09.11.2026\tКухни\t11112222\t200\t10\t500,00',
  'Total rows: 2',
].join('\n');
const GOOGLE = [
  'Campaign performance report',
  '"November 9, 2026 - November 9, 2026"',
  'Day,Campaign,Campaign ID,Impressions,Clicks,Currency code,Cost',
  '"Nov 9, 2026",Brand,555,400,40,RUB,"1,500.00"',
].join('\n');

const money = (
  cost: number | null,
  impressions: number | null,
  clicks: number | null,
  revenue: number,
  costPerCall: number | null,
  costPerTargeted: number | null,
  cpl: number | null,
  profit: number | null,
  roi: number | null,
) => ({
  cost,
  impressions,
  clicks,
  revenue,
  cost_per_call: costPerCall,
  cost_per_targeted_call: costPerTargeted,
  cpl,
  profit,
  roi,
});

describe('ROI, CPL and profit from imported costs and deals', () => {
  let env: TestEnv;
  let s: Awaited<ReturnType<typeof setupSite>>;
  const ids: Record<string, string> = {};
  const report = async (dimension: string, extra: Record<string, string> = {}) => {
    const qs = new URLSearchParams({ siteId: s.site.id, from: '2026-11-09', to: '2026-11-09', ...extra });
    const res = await env.api('GET', `/api/v1/reports/${dimension}?${qs}`);
    expect(res.statusCode, res.body).toBe(200);
    return res.json();
  };
  const deal = (body: Record<string, unknown>) =>
    env.api('POST', '/api/v1/deals', { siteId: s.site.id, ...body });

  beforeAll(async () => {
    env = await testEnv('2026-11-09T08:00:00Z');
    s = await setupSite(env, { poolSize: 5 });
    const visit = async (at: string, url: string) => {
      env.clock.set(at);
      const res = await postVisit(env.app, { site: s.site.siteKey, url });
      expect(res.statusCode).toBe(200);
      return res.json() as { visit: string; number: { e164: string } };
    };
    const call = async (at: string, from: string, to: string, talkSeconds: number) => {
      const { events } = callEvents({ from, to, at: new Date(at), waitSeconds: 5, talkSeconds });
      env.clock.set(new Date(new Date(at).getTime() + 300_000));
      const res = await postCallEvents(env.app, s.integration, events);
      expect(res.statusCode).toBe(200);
      return res.json().calls[0] as string;
    };
    const v1 = await visit('2026-11-09T09:00:00Z', utm('yandex', '98765432'));
    ids.c1 = await call('2026-11-09T09:01:00Z', '+79160000001', v1.number.e164, 120);
    const v2 = await visit('2026-11-09T10:00:00Z', utm('yandex', '98765432'));
    ids.c2 = await call('2026-11-09T10:01:00Z', '+79160000002', v2.number.e164, 10);
    const v3 = await visit('2026-11-09T11:00:00Z', utm('google', 'brand'));
    env.clock.set('2026-11-09T11:02:00Z');
    const lead = await env.app.inject({
      method: 'POST',
      url: '/t/lead',
      headers: { 'content-type': 'text/plain;charset=UTF-8' },
      payload: JSON.stringify({ visit: v3.visit, type: 'form', phone: '+79160000009', name: 'Ирина' }),
    });
    expect(lead.statusCode, lead.body).toBe(201);
    ids.l1 = lead.json().id;
    ids.c3 = await call('2026-11-09T11:05:00Z', '+79160000003', v3.number.e164, 60);
    await visit('2026-11-09T12:00:00Z', utm('google', 'brand'));

    const upload = async (body: string, format: string) => {
      const res = await env.app.inject({
        method: 'POST',
        url: `/api/v1/sites/${s.site.id}/costs/import?format=${format}`,
        headers: { authorization: `Bearer ${env.key}`, 'content-type': 'text/csv' },
        payload: body,
      });
      expect(res.statusCode, res.body).toBe(201);
    };
    await upload(DIRECT, 'yandex_direct');
    await upload(GOOGLE, 'google_ads');

    const results = [
      await deal({ callId: ids.c1, amount: 20000, status: 'won' }),
      await deal({ phone: '8 (916) 000-00-02', date: '2026-11-09', amountMinor: 500000, status: 'lost' }),
      await deal({ leadId: ids.l1, amount: '4 000,50', currency: 'rub', status: 'won' }),
      await deal({
        phone: '+79160000003',
        date: '2026-11-09T15:00:00+03:00',
        amount: 1000,
        status: 'won',
        externalId: 'crm-3',
      }),
    ];
    expect(results.map((r) => r.statusCode)).toEqual([201, 201, 201, 201]);
    expect(results[1].json().callId).toBe(ids.c2);
    expect(results[3].json().callId).toBe(ids.c3);
    const again = await deal({ callId: ids.c3, amount: 1200, status: 'won', externalId: 'crm-3' });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ id: results[3].json().id, amountMinor: 120000, status: 'won' });
  });
  afterAll(() => env.close());

  const TOTALS = money(500000, 1600, 100, 2520050, 166667, 250000, 125000, 2020050, 4.0401);

  it('reports cost, revenue, CPL, profit and ROI per campaign, matching by campaign id and case', async () => {
    const body = await report('campaign', { sort: 'cost' });
    expect(
      body.rows.map((r: Record<string, unknown>) => ({
        key: r.key,
        visits: r.visits,
        calls: r.calls,
        targeted: r.targeted,
        leads: r.leads,
        ...money(
          r.cost as number,
          r.impressions as number,
          r.clicks as number,
          r.revenue as number,
          r.cost_per_call as number,
          r.cost_per_targeted_call as number,
          r.cpl as number,
          r.profit as number,
          r.roi as number,
        ),
      })),
    ).toEqual([
      {
        key: '98765432',
        visits: 2,
        calls: 2,
        targeted: 1,
        leads: 0,
        ...money(300000, 1000, 50, 2000000, 150000, 300000, 150000, 1700000, 5.6667),
      },
      {
        key: 'brand',
        visits: 2,
        calls: 1,
        targeted: 1,
        leads: 1,
        ...money(150000, 400, 40, 520050, 150000, 150000, 75000, 370050, 2.467),
      },
      {
        key: 'Кухни',
        visits: 0,
        calls: 0,
        targeted: 0,
        leads: 0,
        ...money(50000, 200, 10, 0, null, null, null, -50000, -1),
      },
    ]);
    expect(body.totals).toMatchObject({ visits: 4, calls: 3, targeted: 2, leads: 1, ...TOTALS });
  });

  it('joins costs to channel, source, date and the time series; other dimensions show null cost', async () => {
    const channel = await report('channel');
    expect(channel.rows).toHaveLength(1);
    expect(channel.rows[0]).toMatchObject({ key: 'paid_search', ...TOTALS });
    const source = await report('source', { sort: 'key' });
    expect(
      source.rows.map((r: Record<string, unknown>) => [r.key, r.cost, r.revenue, r.profit, r.roi, r.cpl]),
    ).toEqual([
      ['google', 150000, 520050, 370050, 2.467, 75000],
      ['yandex', 350000, 2000000, 1650000, 4.7143, 175000],
    ]);
    expect((await report('date')).rows).toEqual([expect.objectContaining({ key: '2026-11-09', ...TOTALS })]);
    const yandexOnly = await report('campaign', { source: 'yandex', sort: 'key' });
    expect(yandexOnly.rows.map((r: Record<string, unknown>) => [r.key, r.cost])).toEqual([
      ['98765432', 300000],
      ['Кухни', 50000],
    ]);
    const series = await env.api(
      'GET',
      `/api/v1/reports/timeseries?siteId=${s.site.id}&from=2026-11-08&to=2026-11-09&metrics=cost,revenue,roi,cpl`,
    );
    expect(series.json().points).toEqual([
      { bucket: '2026-11-08', cost: 0, revenue: 0, roi: null, cpl: null },
      { bucket: '2026-11-09', cost: 500000, revenue: 2520050, roi: 4.0401, cpl: 125000 },
    ]);
    const employee = await report('employee');
    expect(employee.totals).toMatchObject({
      cost: null,
      profit: null,
      roi: null,
      revenue: 2120000,
      leads: null,
    });
    const device = await report('campaign', { device: 'desktop' });
    expect(device.totals).toMatchObject({ cost: null, revenue: 2520050 });
  });

  it('gives profit per call and lead: revenue minus an even share of the campaign-day cost', async () => {
    const profit = async (q: string) => (await env.api('GET', `/api/v1/deals/profit?${q}`)).json();
    expect(await profit(`callId=${ids.c1}`)).toEqual({
      callId: ids.c1,
      revenueMinor: 2000000,
      campaignDayCostMinor: 300000,
      sharedBy: 2,
      costShareMinor: 150000,
      profitMinor: 1850000,
    });
    expect(await profit(`callId=${ids.c2}`)).toMatchObject({ revenueMinor: 0, profitMinor: -150000 });
    expect(await profit(`leadId=${ids.l1}`)).toMatchObject({
      revenueMinor: 400050,
      campaignDayCostMinor: 150000,
      sharedBy: 2,
      costShareMinor: 75000,
      profitMinor: 325050,
    });
    expect(await profit(`callId=${ids.c3}`)).toMatchObject({ revenueMinor: 120000, profitMinor: 45000 });
  });

  it('lists and deletes deals; rejects bad deals with a 400 naming the field; 404 across accounts', async () => {
    const list = (await env.api('GET', `/api/v1/deals?siteId=${s.site.id}&status=won`)).json();
    expect(list.total).toBe(3);
    const bad = async (body: Record<string, unknown>, field: string, status = 400) => {
      const res = await deal(body);
      expect(res.statusCode, res.body).toBe(status);
      expect(res.json().message).toContain(field);
    };
    await bad({ amount: 1, status: 'won' }, 'body.callId');
    await bad({ callId: ids.c1, leadId: ids.l1, amount: 1, status: 'won' }, 'body.callId');
    await bad({ callId: ids.c1, amount: 1, status: 'maybe' }, 'body.status');
    await bad({ callId: ids.c1, status: 'won' }, 'body.amount');
    await bad({ callId: ids.c1, amount: 1, currency: 'USD', status: 'won' }, 'body.currency');
    await bad({ phone: '+79160000001', amount: 1, status: 'won' }, 'body.date');
    await bad({ phone: '+79160000001', date: '2026-11-08', amount: 1, status: 'won' }, 'body.phone', 404);
    await bad({ phone: 'nope', date: '2026-11-09', amount: 1, status: 'won' }, 'body.phone');
    expect((await env.api('GET', `/api/v1/deals?siteId=${s.site.id}`)).json().total).toBe(4);

    const other = await createAccount(env.db, env.clock, 'Other');
    const { key } = await createApiKey(env.db, env.clock, other, 'other');
    const as = (method: 'GET' | 'POST' | 'DELETE', url: string, payload?: object) =>
      env.app.inject({ method, url, headers: { authorization: `Bearer ${key}` }, payload });
    const id = list.items[0].id;
    expect(
      (await as('POST', '/api/v1/deals', { siteId: s.site.id, callId: ids.c1, amount: 1, status: 'won' }))
        .statusCode,
    ).toBe(404);
    expect((await as('GET', `/api/v1/deals/${id}`)).statusCode).toBe(404);
    expect((await as('DELETE', `/api/v1/deals/${id}`)).statusCode).toBe(404);
    expect((await as('GET', `/api/v1/deals/profit?callId=${ids.c1}`)).statusCode).toBe(404);
    expect((await as('GET', '/api/v1/deals')).json().total).toBe(0);

    const lost = (await env.api('GET', `/api/v1/deals?callId=${ids.c2}`)).json().items[0];
    expect((await env.api('DELETE', `/api/v1/deals/${lost.id}`)).statusCode).toBe(204);
    expect((await env.api('GET', `/api/v1/deals/${lost.id}`)).statusCode).toBe(404);
  });
});
