import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount, createApiKey } from '../src/accounts/keys.js';
import { type Config, loadConfig } from '../src/config.js';
import { GOOGLE_ADS_API_VERSION } from '../src/costs/google-ads.js';
import { type SyncDeps, syncDueConnections } from '../src/costs/sync.js';
import { secretBox } from '../src/secrets/secret-box.js';
import { postVisit, setupSite, type TestEnv, testEnv } from './helpers.js';
import { startStandIn } from './stand-in-server.js';

// Today is 2026-11-11 in the site's zone (Europe/Moscow): a manual sync without dates covers 2026-11-09 and
// 2026-11-10, the daily one (RINGTRACE_AD_SYNC_DAYS = 3) 2026-11-08 … 2026-11-10.
const NOW = '2026-11-11T09:00:00Z';
const SECRET = 'a-test-secret-key-of-at-least-32-characters';
const DIRECT_TOKEN = 'y0_AgAAAAB-direct-oauth-token';
const REPORTS = '/json/v5/reports';
const OAUTH = '/token';
const STREAM = `/${GOOGLE_ADS_API_VERSION}/customers/1234567890/googleAds:searchStream`;

const tsv = (...lines: string[][]) => `${lines.map((l) => l.join('\t')).join('\n')}\n`;
const DIRECT_HEADER = [
  'Date',
  'CampaignId',
  'CampaignName',
  'AdGroupName',
  'Criterion',
  'Impressions',
  'Clicks',
  'Cost',
];
// Диваны: 3456.78 + 500.00 + 1500.50 = 5457.28 ₽; Кухни: 1250.00 ₽.
const DIRECT_REPORT = tsv(
  DIRECT_HEADER,
  [
    '2026-11-09',
    '98765432',
    'Диваны Москва | Поиск',
    'Угловые диваны',
    'купить угловой диван',
    '1200',
    '40',
    '3456.78',
  ],
  [
    '2026-11-09',
    '98765432',
    'Диваны Москва | Поиск',
    'Угловые диваны',
    '---autotargeting',
    '300',
    '5',
    '500.00',
  ],
  [
    '2026-11-10',
    '98765432',
    'Диваны Москва | Поиск',
    'Диваны-кровати',
    'диван кровать',
    '800',
    '20',
    '1500.50',
  ],
  ['2026-11-10', '11112222', 'Кухни на заказ — РСЯ', 'Кухни', '--', '15000', '41', '1250.00'],
);
const directError = (code: number, s: string, detail: string) =>
  JSON.stringify({
    error: { request_id: '8695244274068608439', error_code: code, error_string: s, error_detail: detail },
  });

const adsRow = (
  date: string,
  id: string,
  name: string,
  group: string,
  impr: string,
  clicks: string,
  micros: string,
  cur = 'RUB',
) => ({
  customer: { resourceName: 'customers/1234567890', currencyCode: cur },
  campaign: { resourceName: `customers/1234567890/campaigns/${id}`, id, name },
  adGroup: { resourceName: `customers/1234567890/adGroups/1${id}`, name: group },
  metrics: { impressions: impr, clicks, costMicros: micros },
  segments: { date },
});
const FIELD_MASK =
  'segments.date,campaign.id,campaign.name,adGroup.name,metrics.impressions,metrics.clicks,metrics.costMicros,customer.currencyCode';
// Бренд: 5000.00 + 3210.054999 → 5000.00 + 3210.05; Диваны: 1234.565 → 1234.57 (half up).
const ADS_STREAM = JSON.stringify([
  {
    results: [
      adsRow('2026-11-09', '555', 'Бренд — Москва', 'Бренд', '1204', '88', '5000000000'),
      adsRow('2026-11-10', '555', 'Бренд — Москва', 'Бренд', '980', '61', '3210054999'),
    ],
    fieldMask: FIELD_MASK,
    requestId: 'req-1',
  },
  {
    results: [adsRow('2026-11-10', '777', 'Диваны — Поиск', 'Угловые', '500', '20', '1234565000')],
    fieldMask: FIELD_MASK,
    requestId: 'req-1',
  },
]);
// Performance Max has no ad groups: its cost comes by campaign (1999.99).
const PMAX_STREAM = JSON.stringify([
  {
    results: [
      {
        customer: { resourceName: 'customers/1234567890', currencyCode: 'RUB' },
        campaign: {
          resourceName: 'customers/1234567890/campaigns/999',
          id: '999',
          name: 'Диваны — Performance Max',
        },
        metrics: { impressions: '12045', clicks: '103', costMicros: '1999990000' },
        segments: { date: '2026-11-10' },
      },
    ],
    fieldMask:
      'segments.date,campaign.id,campaign.name,metrics.impressions,metrics.clicks,metrics.costMicros,customer.currencyCode',
    requestId: 'req-2',
  },
]);
const TOKEN_OK = {
  status: 200,
  body: JSON.stringify({ access_token: 'ya29.access', expires_in: 3599, token_type: 'Bearer' }),
};
const googleError = (
  code: number,
  status: string,
  errorCode: Record<string, string>,
  message: string,
  extra = {},
) =>
  JSON.stringify([
    {
      error: {
        code,
        message: 'The caller does not have permission',
        status,
        details: [
          {
            '@type': `type.googleapis.com/google.ads.googleads.${GOOGLE_ADS_API_VERSION}.errors.GoogleAdsFailure`,
            errors: [{ errorCode, message, ...extra }],
            requestId: 'req-err',
          },
        ],
      },
    },
  ]);

describe('ad-platform cost connections (Yandex.Direct, Google Ads)', () => {
  let env: TestEnv;
  let standIn: Awaited<ReturnType<typeof startStandIn>>;
  let config: Partial<Config>;
  let siteId: string;
  let siteKey: string;
  const waits: number[] = [];
  let worker: SyncDeps;

  const base = () => `/api/v1/sites/${siteId}/ad-connections`;
  const totals = async (params: Record<string, string>) => {
    const res = await env.api('GET', `/api/v1/sites/${siteId}/costs?${new URLSearchParams(params)}`);
    expect(res.statusCode, res.body).toBe(200);
    return { rows: res.json().total, ...res.json().totals };
  };
  const createDirect = async () => {
    const res = await env.api('POST', base(), {
      kind: 'yandex_direct',
      login: 'divany-agency-client',
      token: DIRECT_TOKEN,
    });
    expect(res.statusCode, res.body).toBe(201);
    return res.json();
  };
  const createGoogle = async () => {
    const res = await env.api('POST', base(), {
      kind: 'google_ads',
      customerId: '123-456-7890',
      loginCustomerId: '987-654-3210',
      developerToken: 'dev-token-abc',
      clientId: 'client-id.apps.googleusercontent.com',
      clientSecret: 'GOCSPX-client-secret',
      refreshToken: '1//refresh-token',
    });
    expect(res.statusCode, res.body).toBe(201);
    return res.json();
  };

  beforeAll(async () => {
    standIn = await startStandIn((req) => ({ status: 599, body: `no reply queued for ${req.url}` }));
    config = {
      secretKey: SECRET,
      yandexDirectUrl: standIn.url,
      googleAdsUrl: standIn.url,
      googleOauthUrl: `${standIn.url}${OAUTH}`,
      adSyncDays: 3,
    };
    env = await testEnv(NOW, 10, config);
    const s = await setupSite(env);
    siteId = s.site.id;
    siteKey = s.site.siteKey;
    worker = {
      db: env.db,
      clock: env.clock,
      config: loadConfig({}, { logLevel: 'silent', ...config }),
      secrets: secretBox(SECRET),
      wait: async (ms) => {
        waits.push(ms);
      },
    };
  });
  afterAll(async () => {
    await env.close();
    await standIn.close();
  });

  it('stores connections with their tokens sealed and never returns them', async () => {
    const direct = await createDirect();
    expect(direct).toMatchObject({
      kind: 'yandex_direct',
      login: 'divany-agency-client',
      active: true,
      lastSync: null,
    });
    const google = await createGoogle();
    expect(google).toMatchObject({
      kind: 'google_ads',
      customerId: '1234567890',
      loginCustomerId: '9876543210',
    });
    for (const body of [
      JSON.stringify(direct),
      JSON.stringify(google),
      (await env.api('GET', base())).body,
    ]) {
      for (const secret of [
        DIRECT_TOKEN,
        'dev-token-abc',
        'GOCSPX-client-secret',
        '1//refresh-token',
        'client-id.apps',
      ])
        expect(body).not.toContain(secret);
    }
    const rows = await env.db.query<{ credentials: string }>(
      'SELECT * FROM ad_connections WHERE account_id = $1',
      [env.accountId],
    );
    expect(rows.length).toBe(2);
    const dump = JSON.stringify(rows);
    for (const secret of [DIRECT_TOKEN, 'dev-token-abc', 'GOCSPX-client-secret', '1//refresh-token'])
      expect(dump).not.toContain(secret);
    // Sealed under the server key: it opens back to the tokens.
    const opened = rows.map((r) => JSON.parse(secretBox(SECRET).open(r.credentials)));
    expect(opened).toContainEqual({ token: DIRECT_TOKEN });
    expect(opened).toContainEqual({
      developerToken: 'dev-token-abc',
      clientId: 'client-id.apps.googleusercontent.com',
      clientSecret: 'GOCSPX-client-secret',
      refreshToken: '1//refresh-token',
    });
    for (const id of [direct.id, google.id])
      expect((await env.api('DELETE', `${base()}/${id}`)).statusCode).toBe(200);
  });

  it('rejects bad connections with a 400 naming the field, storing nothing', async () => {
    const bad = async (body: unknown, ...parts: string[]) => {
      const res = await env.api('POST', base(), body);
      expect(res.statusCode, res.body).toBe(400);
      for (const part of parts) expect(res.json().message).toContain(part);
    };
    await bad({ kind: 'yandex_direct', login: 'x' }, 'token');
    await bad(
      {
        kind: 'google_ads',
        customerId: '12345',
        developerToken: 'd',
        clientId: 'c',
        clientSecret: 's',
        refreshToken: 'r',
      },
      'customerId',
      '10 digits',
    );
    await bad({ kind: 'bing_ads', login: 'x', token: 't' }, 'kind');
    await bad({ kind: 'yandex_direct', login: 'x', token: 't', password: 'p' }, 'password');
    expect((await env.api('GET', base())).json().items).toEqual([]);
    expect(
      (await env.api('GET', `/api/v1/sites/00000000-0000-4000-8000-000000000000/ad-connections`)).statusCode,
    ).toBe(404);
  });

  it('syncs Yandex.Direct: the exact report request, costs per campaign in kopecks, matched to visits by campaign id', async () => {
    // A visit whose utm_campaign is Direct's {campaign_id} macro.
    env.clock.set('2026-11-09T09:00:00Z');
    const visit = await postVisit(env.app, {
      site: siteKey,
      url: 'https://divany.example/?utm_source=yandex&utm_medium=cpc&utm_campaign=98765432',
    });
    expect(visit.statusCode).toBe(200);
    env.clock.set(NOW);

    const conn = await createDirect();
    standIn.queue('POST', REPORTS, {
      status: 200,
      headers: { 'content-type': 'text/tab-separated-values' },
      body: DIRECT_REPORT,
    });
    const res = await env.api('POST', `${base()}/${conn.id}/sync`);
    expect(res.statusCode, res.body).toBe(201);
    const run = res.json();
    expect(run).toMatchObject({
      connectionId: conn.id,
      trigger: 'manual',
      dateFrom: '2026-11-09',
      dateTo: '2026-11-10',
      status: 'succeeded',
      rows: 4,
      costMinor: 670728,
      error: null,
    });

    const [req] = standIn.take();
    expect(req.method).toBe('POST');
    expect(req.path).toBe('/json/v5/reports');
    expect(req.headers.authorization).toBe(`Bearer ${DIRECT_TOKEN}`);
    expect(req.headers['client-login']).toBe('divany-agency-client');
    expect(req.headers['accept-language']).toBe('ru');
    expect(req.headers.processingmode).toBe('auto');
    expect(req.headers.returnmoneyinmicros).toBe('false');
    expect(req.headers.skipreportheader).toBe('true');
    expect(req.headers.skipreportsummary).toBe('true');
    expect(req.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(req.json).toEqual({
      params: {
        SelectionCriteria: { DateFrom: '2026-11-09', DateTo: '2026-11-10' },
        FieldNames: DIRECT_HEADER,
        ReportName: `ringtrace ${run.id}`,
        ReportType: 'CUSTOM_REPORT',
        DateRangeType: 'CUSTOM_DATE',
        Format: 'TSV',
        IncludeVAT: 'YES',
      },
    });

    expect(await totals({ campaign: 'Диваны Москва | Поиск' })).toEqual({
      rows: 3,
      impressions: 2300,
      clicks: 65,
      costMinor: 545728,
      currency: 'RUB',
    });
    expect(await totals({ campaign: 'кухни на заказ — рся' })).toMatchObject({
      rows: 1,
      impressions: 15000,
      costMinor: 125000,
    });
    const items = (
      await env.api('GET', `/api/v1/sites/${siteId}/costs?campaign=98765432&to=2026-11-09`)
    ).json().items;
    expect(items.map((r: Record<string, unknown>) => [r.keyword, r.costMinor])).toEqual([
      ['---autotargeting', 50000],
      ['купить угловой диван', 345678],
    ]);
    expect(items[0]).toMatchObject({
      source: 'yandex',
      medium: 'cpc',
      channel: 'paid_search',
      campaignId: '98765432',
      adGroup: 'Угловые диваны',
      importId: run.importId,
    });

    // The report joins the cost to the visit that carried the campaign id.
    const qs = new URLSearchParams({ siteId, from: '2026-11-09', to: '2026-11-10' });
    const report = (await env.api('GET', `/api/v1/reports/campaign?${qs}`)).json();
    const byId = report.rows.find((r: Record<string, unknown>) => r.key === '98765432');
    expect(byId).toMatchObject({ visits: 1, cost: 545728, clicks: 65 });

    const view = (await env.api('GET', `${base()}/${conn.id}`)).json();
    expect(view.lastSync).toMatchObject({ id: run.id, status: 'succeeded', rows: 4 });
  });

  it('re-syncing the same days replaces the rows of the earlier sync instead of adding to them', async () => {
    const [conn] = (await env.api('GET', base())).json().items;
    standIn.queue('POST', REPORTS, {
      status: 200,
      body: tsv(DIRECT_HEADER, [
        '2026-11-10',
        '98765432',
        'Диваны Москва | Поиск',
        'Диваны-кровати',
        'диван кровать',
        '810',
        '21',
        '1600.00',
      ]),
    });
    env.clock.advance(60_000);
    const res = await env.api('POST', `${base()}/${conn.id}/sync`, { from: '2026-11-09', to: '2026-11-10' });
    expect(res.statusCode, res.body).toBe(201);
    standIn.take();
    // Direct no longer reports the 2026-11-09 rows nor Кухни: they are gone, not kept from the first sync.
    expect(await totals({ source: 'yandex' })).toEqual({
      rows: 1,
      impressions: 810,
      clicks: 21,
      costMinor: 160000,
      currency: 'RUB',
    });
    const imports = (await env.api('GET', `/api/v1/sites/${siteId}/costs/imports`)).json().items;
    expect(imports).toEqual([
      expect.objectContaining({
        id: res.json().importId,
        format: 'yandex_direct',
        connectionId: conn.id,
        rows: 1,
      }),
    ]);
    const syncs = (await env.api('GET', `${base()}/${conn.id}/syncs`)).json().items;
    expect(syncs.map((s: Record<string, unknown>) => [s.status, s.rows])).toEqual([
      ['succeeded', 1],
      ['succeeded', 4],
    ]);
  });

  it('the daily worker waits out a queued report (201, 202 with retryIn) and then imports the last N days', async () => {
    const [conn] = (await env.api('GET', base())).json().items;
    standIn.queue(
      'POST',
      REPORTS,
      { status: 201, headers: { retryIn: '3', reportsInQueue: '1' }, body: '' },
      { status: 202, headers: { retryIn: '2', reportsInQueue: '1' }, body: '' },
      { status: 200, body: DIRECT_REPORT },
    );
    waits.length = 0;
    const runs = await syncDueConnections(worker);
    expect(runs).toEqual([
      expect.objectContaining({
        connectionId: conn.id,
        trigger: 'scheduled',
        dateFrom: '2026-11-08',
        dateTo: '2026-11-10',
        status: 'succeeded',
        rows: 4,
      }),
    ]);
    expect(waits).toEqual([3000, 2000]);
    const requests = standIn.take();
    expect(requests.length).toBe(3);
    // Each poll repeats the same report definition (Direct finds the queued report by it).
    for (const r of requests) expect(r.json).toEqual(requests[0].json);
    expect((requests[0].json as { params: Record<string, unknown> }).params.SelectionCriteria).toEqual({
      DateFrom: '2026-11-08',
      DateTo: '2026-11-10',
    });
    expect((await totals({ source: 'yandex' })).costMinor).toBe(670728);

    // Synced for today: the next pass leaves it alone; a day later it is due again.
    expect(await syncDueConnections(worker)).toEqual([]);
    env.clock.advance(24 * 3_600_000);
    standIn.queue('POST', REPORTS, {
      status: 200,
      body: tsv(DIRECT_HEADER, ['2026-11-11', '1234', '"Люкс" диваны', '--', '--', '10', '1', '15.00']),
    });
    const next = await syncDueConnections(worker);
    expect(next).toEqual([
      expect.objectContaining({ status: 'succeeded', rows: 1, dateFrom: '2026-11-09', dateTo: '2026-11-11' }),
    ]);
    standIn.take();
    // Direct's TSV quotes nothing: a name starting with a quote arrives verbatim; "--" is an empty cell.
    const [luxe] = (await env.api('GET', `/api/v1/sites/${siteId}/costs?from=2026-11-11`)).json().items;
    expect(luxe).toMatchObject({ campaign: '"Люкс" диваны', adGroup: '', keyword: '', costMinor: 1500 });
    env.clock.set(NOW);
  });

  it('records Direct errors (400 with error_code, 500/502 after retries, a bad cell) in the sync log, importing nothing', async () => {
    const [conn] = (await env.api('GET', base())).json().items;
    await env.db.query('UPDATE ad_connections SET next_sync_at = NULL WHERE id = $1', [conn.id]);
    const before = await totals({ source: 'yandex' });
    // Two days on, after the worker test's syncs.
    env.clock.set('2026-11-13T09:00:00Z');

    standIn.queue('POST', REPORTS, {
      status: 400,
      body: directError(8000, 'Неверный запрос', 'Поле ReportName: отчет с таким названием уже существует'),
    });
    const res = await env.api('POST', `${base()}/${conn.id}/sync`);
    expect(res.statusCode).toBe(502);
    expect(res.json()).toMatchObject({ error: 'ad_sync_failed' });
    expect(res.json().message).toBe(
      'Yandex.Direct answered 400: error_code 8000 Неверный запрос: Поле ReportName: отчет с таким названием уже существует',
    );

    waits.length = 0;
    standIn.queue(
      'POST',
      REPORTS,
      { status: 500, body: directError(1000, 'Internal error', '') },
      { status: 502, body: 'Bad Gateway' },
      {
        status: 502,
        body: 'Bad Gateway',
      },
    );
    env.clock.advance(60_000);
    const [failed] = await syncDueConnections(worker);
    expect(failed).toMatchObject({
      status: 'failed',
      rows: null,
      importId: null,
      error: 'Yandex.Direct answered 502: Bad Gateway',
    });
    expect(waits).toEqual([10_000, 20_000]);
    expect(standIn.take().length).toBe(4);

    // A bad cell in the middle of the report: the rows before it are not stored either.
    await env.db.query('UPDATE ad_connections SET next_sync_at = NULL WHERE id = $1', [conn.id]);
    standIn.queue('POST', REPORTS, {
      status: 200,
      body: tsv(
        DIRECT_HEADER,
        ['2026-11-09', '1', 'A', 'g', 'k', '10', '1', '100.00'],
        ['2026-11-10', '1', 'A', 'g', 'k', '10', 'много', '100.00'],
      ),
    });
    env.clock.advance(60_000);
    const [bad] = await syncDueConnections(worker);
    expect(bad.status).toBe('failed');
    expect(bad.error).toBe('report: line 3, column "Clicks": "много" is not a whole non-negative number');
    standIn.take();

    expect(await totals({ source: 'yandex' })).toEqual(before);
    const syncs = (await env.api('GET', `${base()}/${conn.id}/syncs?limit=3`)).json().items;
    expect(syncs.map((s: Record<string, unknown>) => [s.trigger, s.status])).toEqual([
      ['scheduled', 'failed'],
      ['scheduled', 'failed'],
      ['manual', 'failed'],
    ]);
    expect(syncs[2].finishedAt).not.toBeNull();
    // A run cut off by a server stop does not stay `running`.
    const cutId = randomUUID();
    await env.db.query(
      `INSERT INTO ad_sync_runs (account_id, id, connection_id, trigger, date_from, date_to, status, started_at)
       VALUES ($1, $2, $3, 'scheduled', '2026-11-10', '2026-11-12', 'running', $4)`,
      [env.accountId, cutId, conn.id, new Date('2026-11-13T06:00:00Z')],
    );
    expect(await syncDueConnections(worker)).toEqual([]);
    const cut = (await env.api('GET', `${base()}/${conn.id}/syncs`))
      .json()
      .items.find((r: { id: string }) => r.id === cutId);
    expect(cut).toMatchObject({
      status: 'failed',
      error: 'interrupted: the server stopped during the sync',
      finishedAt: '2026-11-13T09:02:00.000Z',
    });
    // A failed daily sync is tried again an hour later.
    const [{ next_sync_at }] = await env.db.query<{ next_sync_at: Date }>(
      'SELECT next_sync_at FROM ad_connections WHERE id = $1',
      [conn.id],
    );
    expect(new Date(next_sync_at).toISOString()).toBe('2026-11-13T10:02:00.000Z');
    await env.api('DELETE', `${base()}/${conn.id}`);
    env.clock.set(NOW);
  });

  it('syncs Google Ads: token refresh, the exact searchStream request, cost_micros to kopecks', async () => {
    const conn = await createGoogle();
    standIn.queue('POST', OAUTH, TOKEN_OK);
    standIn.queue(
      'POST',
      STREAM,
      { status: 200, headers: { 'content-type': 'application/json' }, body: ADS_STREAM },
      { status: 200, headers: { 'content-type': 'application/json' }, body: PMAX_STREAM },
    );
    const res = await env.api('POST', `${base()}/${conn.id}/sync`, { from: '2026-11-09', to: '2026-11-10' });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({
      status: 'succeeded',
      rows: 4,
      costMinor: 500000 + 321005 + 123457 + 199999,
    });

    const [oauth, stream, pmax] = standIn.take();
    expect(oauth.method).toBe('POST');
    expect(oauth.path).toBe('/token');
    expect(oauth.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(Object.fromEntries(new URLSearchParams(oauth.body.toString()))).toEqual({
      grant_type: 'refresh_token',
      client_id: 'client-id.apps.googleusercontent.com',
      client_secret: 'GOCSPX-client-secret',
      refresh_token: '1//refresh-token',
    });
    expect(stream.method).toBe('POST');
    expect(stream.path).toBe('/v26/customers/1234567890/googleAds:searchStream');
    expect(stream.headers.authorization).toBe('Bearer ya29.access');
    expect(stream.headers['developer-token']).toBe('dev-token-abc');
    expect(stream.headers['login-customer-id']).toBe('9876543210');
    expect(stream.headers['content-type']).toBe('application/json');
    expect(stream.json).toEqual({
      query:
        'SELECT segments.date, campaign.id, campaign.name, ad_group.name, metrics.impressions, metrics.clicks, ' +
        "metrics.cost_micros, customer.currency_code FROM ad_group WHERE segments.date BETWEEN '2026-11-09' AND '2026-11-10'",
    });
    expect(pmax.path).toBe(stream.path);
    expect(pmax.headers).toMatchObject({
      authorization: 'Bearer ya29.access',
      'developer-token': 'dev-token-abc',
      'login-customer-id': '9876543210',
    });
    expect(pmax.json).toEqual({
      query:
        'SELECT segments.date, campaign.id, campaign.name, metrics.impressions, metrics.clicks, ' +
        "metrics.cost_micros, customer.currency_code FROM campaign WHERE segments.date BETWEEN '2026-11-09' AND '2026-11-10' " +
        "AND campaign.advertising_channel_type = 'PERFORMANCE_MAX'",
    });

    expect(await totals({ source: 'google', campaign: 'Бренд — Москва' })).toEqual({
      rows: 2,
      impressions: 2184,
      clicks: 149,
      costMinor: 821005,
      currency: 'RUB',
    });
    expect(await totals({ campaign: '777' })).toMatchObject({ rows: 1, costMinor: 123457 });
    const [item] = (await env.api('GET', `/api/v1/sites/${siteId}/costs?campaign=777`)).json().items;
    expect(item).toMatchObject({
      source: 'google',
      medium: 'cpc',
      campaignId: '777',
      adGroup: 'Угловые',
      keyword: '',
    });
    expect(await totals({ campaign: 'Диваны — Performance Max' })).toMatchObject({
      rows: 1,
      impressions: 12045,
      clicks: 103,
      costMinor: 199999,
    });
  });

  it('records Google errors (refresh refused, 401, 403 developer token, other currency) and retries 429 after its retryDelay', async () => {
    const [conn] = (await env.api('GET', base()))
      .json()
      .items.filter((c: { kind: string }) => c.kind === 'google_ads');
    const before = await totals({ source: 'google' });
    const sync = async () => {
      await env.db.query('UPDATE ad_connections SET next_sync_at = NULL WHERE id = $1', [conn.id]);
      const [run] = await syncDueConnections(worker);
      return run;
    };

    standIn.queue('POST', OAUTH, {
      status: 400,
      body: JSON.stringify({
        error: 'invalid_grant',
        error_description: 'Token has been expired or revoked.',
      }),
    });
    expect((await sync()).error).toBe(
      'Google OAuth token refresh answered 400: invalid_grant: Token has been expired or revoked.',
    );
    expect(standIn.take().map((r) => r.path)).toEqual(['/token']);

    standIn.queue('POST', OAUTH, TOKEN_OK);
    standIn.queue('POST', STREAM, {
      status: 401,
      body: JSON.stringify([
        {
          error: {
            code: 401,
            message: 'Request is missing required authentication credential.',
            status: 'UNAUTHENTICATED',
          },
        },
      ]),
    });
    expect((await sync()).error).toBe(
      'Google Ads answered 401 UNAUTHENTICATED: Request is missing required authentication credential.',
    );

    standIn.queue('POST', OAUTH, TOKEN_OK);
    standIn.queue('POST', STREAM, {
      status: 403,
      body: googleError(
        403,
        'PERMISSION_DENIED',
        { authorizationError: 'DEVELOPER_TOKEN_NOT_APPROVED' },
        'The developer token is only approved for use with test accounts.',
      ),
    });
    expect((await sync()).error).toBe(
      'Google Ads answered 403 PERMISSION_DENIED (DEVELOPER_TOKEN_NOT_APPROVED): The developer token is only approved for use with test accounts.',
    );

    standIn.queue('POST', OAUTH, TOKEN_OK);
    standIn.queue(
      'POST',
      STREAM,
      {
        status: 200,
        body: JSON.stringify([
          { results: [adsRow('2026-11-09', '555', 'Brand', 'Brand', '1', '1', '1000000', 'USD')] },
        ]),
      },
      { status: 200, body: '[]' },
    );
    expect((await sync()).error).toBe(
      'report: line 2, column "currency": USD is not the site\'s currency RUB',
    );
    standIn.take();

    standIn.queue('POST', OAUTH, TOKEN_OK);
    standIn.queue(
      'POST',
      STREAM,
      {
        status: 200,
        body: JSON.stringify([{ results: [adsRow('2026-11-20', '555', 'Brand', 'B', '1', '1', '1')] }]),
      },
      { status: 200, body: '[]' },
    );
    expect((await sync()).error).toBe('the report has a row for 2026-11-20, outside 2026-11-08…2026-11-10');
    standIn.take();
    expect(await totals({ source: 'google' })).toEqual(before);

    waits.length = 0;
    standIn.queue('POST', OAUTH, TOKEN_OK);
    standIn.queue(
      'POST',
      STREAM,
      {
        status: 429,
        body: googleError(
          429,
          'RESOURCE_EXHAUSTED',
          { quotaError: 'RESOURCE_TEMPORARILY_EXHAUSTED' },
          'Too many requests.',
          {
            details: {
              quotaErrorDetails: { rateScope: 'ACCOUNT', rateName: 'Requests per account', retryDelay: '7s' },
            },
          },
        ),
      },
      { status: 200, body: ADS_STREAM },
      { status: 200, body: PMAX_STREAM },
    );
    const retried = await sync();
    expect(retried).toMatchObject({
      status: 'succeeded',
      rows: 4,
      dateFrom: '2026-11-08',
      dateTo: '2026-11-10',
    });
    expect(waits).toEqual([7000]);
    const requests = standIn.take();
    expect(requests.map((r) => r.path)).toEqual(['/token', STREAM, STREAM, STREAM]);
    expect(requests[2].json).toEqual(requests[1].json);
  });

  it('PATCH replaces tokens and pauses; DELETE keeps the imported costs', async () => {
    const [conn] = (await env.api('GET', base()))
      .json()
      .items.filter((c: { kind: string }) => c.kind === 'google_ads');
    const patched = await env.api('PATCH', `${base()}/${conn.id}`, {
      refreshToken: '1//new-refresh',
      active: false,
    });
    expect(patched.statusCode, patched.body).toBe(200);
    expect(patched.json()).toMatchObject({ active: false, customerId: '1234567890' });
    expect(patched.body).not.toContain('1//new-refresh');
    const [{ credentials }] = await env.db.query<{ credentials: string }>(
      'SELECT credentials FROM ad_connections WHERE id = $1',
      [conn.id],
    );
    expect(JSON.parse(secretBox(SECRET).open(credentials))).toMatchObject({
      refreshToken: '1//new-refresh',
      developerToken: 'dev-token-abc',
    });

    const wrongKind = await env.api('PATCH', `${base()}/${conn.id}`, { token: 'x' });
    expect(wrongKind.statusCode).toBe(400);
    expect(wrongKind.json().message).toBe('body.token: not a field of a google_ads connection');
    const badId = await env.api('PATCH', `${base()}/${conn.id}`, { loginCustomerId: '12' });
    expect(badId.statusCode).toBe(400);

    // Paused: the daily worker skips it.
    await env.db.query('UPDATE ad_connections SET next_sync_at = NULL WHERE id = $1', [conn.id]);
    expect(await syncDueConnections(worker)).toEqual([]);

    const costs = await totals({ source: 'google' });
    expect((await env.api('DELETE', `${base()}/${conn.id}`)).statusCode).toBe(200);
    expect((await env.api('GET', `${base()}/${conn.id}`)).statusCode).toBe(404);
    expect(await totals({ source: 'google' })).toEqual(costs);
  });

  it('rejects bad sync ranges with a 400', async () => {
    const conn = await createDirect();
    const bad = async (body: unknown, part: string) => {
      const res = await env.api('POST', `${base()}/${conn.id}/sync`, body);
      expect(res.statusCode, res.body).toBe(400);
      expect(res.json().message).toContain(part);
    };
    await bad({ from: '2026-11-10', to: '2026-11-09' }, 'body.from');
    await bad({ from: '2026-11-10', to: '2026-11-12' }, 'after today (2026-11-11');
    await bad({ from: '2026-11-31', to: '2026-12-01' }, 'body.from');
    await bad({ from: '2026-11-01' }, 'from and to go together');
    await bad({ from: '2024-01-01', to: '2026-11-01' }, '366 days');
    expect(standIn.take()).toEqual([]);
    expect((await env.api('GET', `${base()}/${conn.id}/syncs`)).json().items).toEqual([]);
  });

  it("answers 404 for another account's connections", async () => {
    const [conn] = (await env.api('GET', base())).json().items;
    const other = await createAccount(env.db, env.clock, 'Other');
    const { key } = await createApiKey(env.db, env.clock, other, 'other');
    const as = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object) =>
      env.app.inject({ method, url, headers: { authorization: `Bearer ${key}` }, payload });
    const res = [
      await as('GET', base()),
      await as('POST', base(), { kind: 'yandex_direct', login: 'x', token: 't' }),
      await as('GET', `${base()}/${conn.id}`),
      await as('PATCH', `${base()}/${conn.id}`, { active: false }),
      await as('POST', `${base()}/${conn.id}/sync`, {}),
      await as('GET', `${base()}/${conn.id}/syncs`),
      await as('DELETE', `${base()}/${conn.id}`),
    ];
    expect(res.map((r) => r.statusCode)).toEqual([404, 404, 404, 404, 404, 404, 404]);
    expect((await env.api('GET', `${base()}/${conn.id}`)).json()).toMatchObject({
      id: conn.id,
      active: true,
    });
    expect(standIn.take()).toEqual([]);
  });
});
