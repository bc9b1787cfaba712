import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import ExcelJS from 'exceljs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser } from '../src/users/store.js';
import { launchChromium } from './browser.js';
import { setupSite, type TestEnv, testEnv } from './helpers.js';

/** Exports from the dashboard in Chromium: an XLSX download of the call log, parsed and checked. */
describe('exports from the dashboard', () => {
  let env: TestEnv;
  let siteId: string;
  let browser: Browser;
  let page: Page;
  let base: string;

  beforeAll(async () => {
    env = await testEnv(new Date().toISOString());
    const s = await setupSite(env, { site: { timeZone: 'Europe/Moscow' } });
    siteId = s.site.id;
    await createUser(env.db, env.clock, {
      accountId: env.accountId,
      email: 'anna@example.com',
      password: 'correct horse',
      name: 'Анна',
    });
    // 60 calls over the last two days, some with text a spreadsheet would run as a formula.
    await env.db.query(
      `INSERT INTO calls (account_id, id, integration_id, provider_call_id, site_id, caller, tracking_number, status,
                          started_at, talk_seconds, employee, group_name, updated_at)
       SELECT $1, gen_random_uuid(), $2, 'p-' || g, $3, '+7916000' || lpad(g::text, 4, '0'), '+74951234567',
              'completed', now() - g * interval '40 minutes', g * 7,
              CASE WHEN g % 3 = 0 THEN '=HYPERLINK("http://evil")' ELSE 'Анна Иванова' END, 'Продажи', now()
         FROM generate_series(1, 60) g`,
      [env.accountId, s.integration.id, siteId],
    );
    await env.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(env.app.server.address() as AddressInfo).port}`;
    browser = await launchChromium();
    const context = await browser.newContext({ acceptDownloads: true, locale: 'ru-RU' });
    page = await context.newPage();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await env?.close();
  });

  it('logs in and downloads the call log as XLSX with the rows the API returns', async () => {
    await page.goto(base);
    await page.fill('input[name="email"]', 'anna@example.com');
    await page.fill('input[name="password"]', 'correct horse');
    await page.click('button[type="submit"]');
    await page.waitForSelector('.kpi');
    await page.goto(`${base}/calls`);
    await page.waitForSelector('tr[data-call-id]');

    await page.click('[data-export="calls"] summary');
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.click('[data-export="calls"] a[data-format="xlsx"]'),
    ]);
    expect(download.suggestedFilename()).toMatch(/^звонки-\d{4}-\d{2}-\d{2}\.xlsx$/);
    const file = await download.path();
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load((await readFile(file)) as unknown as ArrayBuffer);
    const rows: unknown[][] = [];
    wb.worksheets[0].eachRow((row) => {
      rows.push((row.values as unknown[]).slice(1));
    });
    const head = rows[0] as string[];
    expect(head.slice(0, 3)).toEqual(['ID звонка', 'Начало', 'Звонящий']);

    // The download carries the page's filters: the same query against the API.
    const url = new URL(download.url());
    const q = new URLSearchParams(url.search);
    q.delete('lang');
    q.delete('sep');
    q.set('limit', '500');
    const api = (await env.api('GET', `/api/v1/calls?${q}`)).json();
    expect(api.total).toBe(60);
    expect(rows).toHaveLength(1 + api.total);
    const col = (name: string) => head.indexOf(name);
    for (const [i, call] of api.items.entries()) {
      const row = rows[i + 1];
      expect(row[col('ID звонка')]).toBe(call.id);
      expect(row[col('Звонящий')]).toBe(call.caller);
      expect(row[col('Сотрудник')]).toBe(call.employee);
      expect(row[col('Разговор, с')]).toBe(call.talkSeconds);
    }
  }, 60_000);

  it('creates a Google Sheets feed from the call log and serves its CSV', async () => {
    await page.click('[data-export="calls"] summary');
    await page.click('[data-export="calls"] button[data-format="sheets"]');
    await page.click('[data-action="create-feed"]');
    const formula = await page.locator('input[name="formula"]').inputValue();
    expect(formula).toMatch(/^=IMPORTDATA\("http:\/\/127\.0\.0\.1:\d+\/feeds\/rtf_[\w-]+\.csv"\)$/);
    const feedUrl = /"(.+)"/.exec(formula)?.[1] as string;
    const res = await fetch(feedUrl);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text.charCodeAt(0)).not.toBe(0xfeff);
    const lines = text.trimEnd().split('\r\n');
    expect(lines[0].startsWith('ID звонка,Начало')).toBe(true);
    expect(lines).toHaveLength(61);
    expect(text).toContain(`,"'=HYPERLINK(""http://evil"")",`);
    const feeds = (await env.api('GET', `/api/v1/exports/feeds?siteId=${siteId}`)).json();
    expect(feeds.items).toHaveLength(1);
    expect(feeds.items[0].params.range).toBe('last_7_days');
  }, 60_000);
});
