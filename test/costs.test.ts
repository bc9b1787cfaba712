import { readFileSync } from 'node:fs';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount, createApiKey } from '../src/accounts/keys.js';
import { setupSite, type TestEnv, testEnv } from './helpers.js';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/costs/${name}`, import.meta.url));
const XLSX_TYPE = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

/** A Yandex.Direct XLSX report export: title rows, Russian headers, date and number cells, a totals row. */
async function directXlsx(): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  const ws = wb.addWorksheet('Отчёт');
  ws.addRow(['Статистика по кампаниям']);
  ws.addRow(['Период: 01.11.2026 - 02.11.2026']);
  ws.addRow([]);
  ws.addRow(['Дата', 'Кампания', '№ Кампании', 'Показы', 'Клики', 'Расход (руб.)']);
  ws.addRow([new Date(Date.UTC(2026, 10, 1)), 'Ремонт квартир «под ключ»', 555001, 1500, 30, 1234.56]);
  ws.addRow(['02.11.2026', 'Ремонт квартир «под ключ»', '555001', '1 600', '31', '2 000,44']);
  ws.addRow(['01.11.2026', 'Ванные комнаты', 555002, 10, 1, 99.995]);
  ws.addRow(['Итого', '', '', 3110, 62, 3335]);
  return Buffer.from(await wb.xlsx.writeBuffer());
}

describe('ad cost imports', () => {
  let env: TestEnv;
  let siteId: string;

  const upload = (body: Buffer | string, format: string, type = 'text/csv', id = siteId) =>
    env.app.inject({
      method: 'POST',
      url: `/api/v1/sites/${id}/costs/import?format=${format}`,
      headers: { authorization: `Bearer ${env.key}`, 'content-type': type },
      payload: body,
    });
  const totals = async (params: Record<string, string> = {}) => {
    const qs = new URLSearchParams(params);
    const res = await env.api('GET', `/api/v1/sites/${siteId}/costs?${qs}`);
    expect(res.statusCode).toBe(200);
    const body = res.json();
    return { rows: body.total, ...body.totals };
  };

  beforeAll(async () => {
    env = await testEnv('2026-11-11T09:00:00Z');
    siteId = (await setupSite(env)).site.id;
  });
  afterAll(() => env.close());

  it('imports a Yandex.Direct TSV report: costs per campaign in kopecks, source yandex / cpc', async () => {
    const res = await upload(fixture('yandex_direct.tsv'), 'yandex_direct', 'text/tab-separated-values');
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({
      rows: 4,
      costMinor: 849587,
      currency: 'RUB',
      format: 'yandex_direct',
    });
    expect(await totals({ campaign: 'Диваны Москва | Поиск' })).toEqual({
      rows: 3,
      impressions: 2564,
      clicks: 118,
      costMinor: 724587,
      currency: 'RUB',
    });
    expect(await totals({ campaign: 'кухни на заказ — рся' })).toMatchObject({
      rows: 1,
      impressions: 15300,
      clicks: 41,
      costMinor: 125000,
    });
    // The campaign id finds the rows too.
    expect((await totals({ campaign: '98765432' })).costMinor).toBe(724587);
    const list = (await env.api('GET', `/api/v1/sites/${siteId}/costs?source=yandex&to=2026-11-09`)).json();
    expect(list.items.map((r: Record<string, unknown>) => [r.date, r.adGroup, r.costMinor])).toEqual([
      ['2026-11-09', 'Диваны-кровати', 78910],
      ['2026-11-09', 'Угловые диваны', 345678],
    ]);
    expect(list.items[0]).toMatchObject({
      channel: 'paid_search',
      source: 'yandex',
      medium: 'cpc',
      campaignId: '98765432',
      keyword: '',
    });
  });

  it('imports a Google Ads CSV report with its two title lines and total rows', async () => {
    const res = await upload(fixture('google_ads.csv'), 'google_ads');
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({ rows: 3, costMinor: 953154 });
    expect(await totals({ source: 'google', campaign: 'Brand – Москва' })).toMatchObject({
      rows: 2,
      impressions: 2184,
      clicks: 149,
      costMinor: 753155,
    });
    expect(await totals({ campaign: 'Диваны — Performance Max' })).toMatchObject({
      rows: 1,
      impressions: 12045,
      clicks: 103,
      costMinor: 199999,
    });
  });

  it('imports a Yandex.Direct XLSX export (detected by its bytes, whatever the content type)', async () => {
    const res = await upload(await directXlsx(), 'yandex_direct', 'application/octet-stream');
    expect(res.statusCode, res.body).toBe(201);
    expect(await totals({ campaign: 'Ремонт квартир «под ключ»' })).toMatchObject({
      rows: 2,
      impressions: 3100,
      clicks: 61,
      costMinor: 323500,
    });
    // 99.995 rounds half up to 100.00.
    expect(await totals({ campaign: 'Ванные комнаты', from: '2026-11-01', to: '2026-11-01' })).toMatchObject({
      rows: 1,
      costMinor: 10000,
    });
    const again = await upload(await directXlsx(), 'yandex_direct', XLSX_TYPE);
    expect(again.statusCode).toBe(201);
  });

  it('re-importing the same days replaces rows instead of adding; deleting an import removes its rows', async () => {
    const before = await totals();
    const res = await upload(fixture('google_ads.csv'), 'google_ads');
    expect(res.statusCode).toBe(201);
    expect(await totals()).toEqual(before);

    const generic = [
      'date,source,medium,campaign,ad_group,keyword,impressions,clicks,cost,currency',
      '2026-11-09,google,cpc,Brand – Москва,,,1204,88,5000.00,RUB',
      '2026-11-12,vk,cpc,Осень,Группа 1,диван угловой,"1 000",10,"1 234,56",RUB',
    ].join('\n');
    const g = await upload(generic, 'generic');
    expect(g.statusCode, g.body).toBe(201);
    expect((await totals({ source: 'google', campaign: 'Brand – Москва' })).costMinor).toBe(500000 + 321005);
    expect((await totals({ source: 'vk' })).costMinor).toBe(123456);

    const del = await env.api('DELETE', `/api/v1/sites/${siteId}/costs/imports/${g.json().importId}`);
    expect(del.statusCode).toBe(200);
    expect(del.json().deletedRows).toBe(2);
    expect((await totals({ source: 'vk' })).rows).toBe(0);
    expect((await totals({ source: 'google', campaign: 'Brand – Москва' })).costMinor).toBe(321005);
    expect(
      (await env.api('DELETE', `/api/v1/sites/${siteId}/costs/imports/${g.json().importId}`)).statusCode,
    ).toBe(404);
    const imports = (await env.api('GET', `/api/v1/sites/${siteId}/costs/imports`)).json();
    expect(imports.items.length).toBe(5);
  });

  it('rejects a bad file with a 400 naming the line and column, storing nothing', async () => {
    const before = await totals();
    const bad = async (body: string | Buffer, format: string, ...parts: string[]) => {
      const res = await upload(body, format);
      expect(res.statusCode, res.body).toBe(400);
      for (const part of parts) expect(res.json().message).toContain(part);
    };
    const header = 'date,source,medium,campaign,ad_group,keyword,impressions,clicks,cost,currency';
    await bad(
      `${header}\n2026-11-20,vk,cpc,A,,,1,1,10.00,RUB\n2026-11-20,vk,cpc,B,,,1,1,десять,RUB`,
      'generic',
      'line 3',
      'column "cost"',
    );
    await bad(`${header}\n2026-11-31,vk,cpc,A,,,1,1,10,RUB`, 'generic', 'line 2', 'column "date"');
    await bad(`${header}\n2026-11-20,vk,cpc,A,,,1.5,1,10,RUB`, 'generic', 'line 2', 'column "impressions"');
    await bad(`${header}\n2026-11-20,,cpc,A,,,1,1,10,RUB`, 'generic', 'line 2', 'column "source"');
    await bad(`${header}\n2026-11-20,vk,cpc,A,,,1,1,10,USD`, 'generic', 'line 2', 'currency', 'RUB');
    const direct = fixture('yandex_direct.tsv').toString('utf8').replace('2026-11-10\tКухни', 'вчера\tКухни');
    await bad(direct, 'yandex_direct', 'line 6', 'column "Дата"');
    await bad(fixture('google_ads.csv'), 'yandex_direct', 'no header row');
    await bad('', 'generic', 'empty');
    await bad(Buffer.from('PK\x03\x04garbage'), 'google_ads', 'XLSX');
    const wrongFormat = await upload('x', 'bing');
    expect(wrongFormat.statusCode).toBe(400);
    expect(wrongFormat.json().message).toContain('querystring.format');
    expect(await totals()).toEqual(before);
  });

  it("answers 404 for another account's site and import", async () => {
    const other = await createAccount(env.db, env.clock, 'Other');
    const { key } = await createApiKey(env.db, env.clock, other, 'other');
    const as = (method: 'GET' | 'POST' | 'DELETE', url: string, payload?: string) =>
      env.app.inject({
        method,
        url,
        headers: { authorization: `Bearer ${key}`, 'content-type': 'text/csv' },
        payload,
      });
    const imports = (await env.api('GET', `/api/v1/sites/${siteId}/costs/imports`)).json();
    const res = [
      await as('POST', `/api/v1/sites/${siteId}/costs/import?format=google_ads`, 'x'),
      await as('GET', `/api/v1/sites/${siteId}/costs`),
      await as('DELETE', `/api/v1/sites/${siteId}/costs/imports/${imports.items[0].id}`),
    ];
    expect(res.map((r) => r.statusCode)).toEqual([404, 404, 404]);
    expect((await env.api('GET', `/api/v1/sites/${siteId}/costs/imports`)).json().items.length).toBe(
      imports.items.length,
    );
  });
});
