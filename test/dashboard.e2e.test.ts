import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DASHBOARD_DIST } from '../dashboard/serve.js';
import { loadConfig } from '../src/config.js';
import { loadDemo } from '../src/demo/demo.js';
import { createUser } from '../src/users/store.js';
import { launchChromium } from './browser.js';
import {
  callEvents,
  PERM_IP,
  postCallEvents,
  postVisit,
  setupSite,
  type TestEnv,
  testEnv,
} from './helpers.js';

const XSS = '<script>alert(1)</script>';
// The README's screenshots are refreshed with UPDATE_SCREENSHOTS=1; ordinary runs write them aside so a
// test run leaves the working tree clean.
const SCREENSHOTS = fileURLToPath(
  new URL(
    process.env.UPDATE_SCREENSHOTS ? '../docs/screenshots/' : '../.test-results/screenshots/',
    import.meta.url,
  ),
);
const norm = (s: string) => s.replace(/[\s\u00a0\u202f]+/g, ' ').trim();

/**
 * The dashboard in Chromium against the real server, on data made through the real paths (widget
 * endpoints, signed telephony webhook) plus the demo site for the screenshots.
 */
describe('the dashboard in Chromium', () => {
  let env: TestEnv;
  let s: Awaited<ReturnType<typeof setupSite>>;
  let demoSiteId: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let base: string;
  let xssCallId: string;
  const dialogs: string[] = [];

  beforeAll(async () => {
    expect(DASHBOARD_DIST).toContain('dashboard');
    env = await testEnv();
    const now = Date.now();
    s = await setupSite(env, {
      poolSize: 4,
      site: {
        timeZone: 'Europe/Moscow',
        defaultNumber: '+7 (495) 765-43-21',
        replaceNumbers: ['+7 (495) 765-43-21'],
      },
    });
    await createUser(env.db, env.clock, {
      accountId: env.accountId,
      email: 'anna@example.com',
      password: 'correct horse',
      name: 'Анна',
    });

    const visitAndCall = async (
      at: number,
      body: Record<string, unknown>,
      call: { from: string; talkSeconds?: number; answered?: boolean; secondPage?: string },
    ) => {
      env.clock.set(new Date(at));
      const res = await postVisit(env.app, { site: s.site.siteKey, ...body }, PERM_IP);
      expect(res.statusCode).toBe(200);
      const visit = res.json() as { visit: string; number: { e164: string } };
      if (call.secondPage) {
        env.clock.set(new Date(at + 60_000));
        await postVisit(
          env.app,
          { site: s.site.siteKey, visit: visit.visit, url: call.secondPage, title: 'Контакты' },
          PERM_IP,
        );
      }
      const { callId, events } = callEvents({
        from: call.from,
        to: visit.number.e164,
        at: new Date(at + 120_000),
        talkSeconds: call.talkSeconds,
        answered: call.answered,
      });
      expect((await postCallEvents(env.app, s.integration, events)).statusCode).toBeLessThan(300);
      return callId;
    };
    // Three days ago: only in the 7-day range.
    await visitAndCall(
      now - 3 * 86_400_000,
      { url: 'https://shop.ru/?utm_source=google&utm_medium=cpc&utm_campaign=brand&utm_term=диван' },
      { from: '+79160000001', talkSeconds: 95 },
    );
    // Today.
    await visitAndCall(
      now - 50 * 60_000,
      {
        url: 'https://shop.ru/sofa?utm_source=yandex&utm_medium=cpc&utm_campaign=sofa_sale&utm_term=купить+диван',
        title: 'Диваны — купить',
      },
      { from: '+79160000002', talkSeconds: 140, secondPage: 'https://shop.ru/contacts' },
    );
    await visitAndCall(
      now - 40 * 60_000,
      {
        url: `https://shop.ru/?utm_source=yandex&utm_medium=cpc&utm_campaign=${encodeURIComponent(XSS)}`,
        referrer: `https://evil.example/${XSS}`,
        title: `<img src=x onerror="alert(2)">`,
      },
      { from: '+79160000003', talkSeconds: 45 },
    );
    await visitAndCall(
      now - 30 * 60_000,
      { url: 'https://shop.ru/?utm_source=yandex&utm_medium=cpc&utm_campaign=sofa_sale' },
      { from: '+79160000004', answered: false },
    );
    const calls = (
      await env.api('GET', `/api/v1/calls?siteId=${s.site.id}&campaign=${encodeURIComponent(XSS)}`)
    ).json();
    expect(calls.total).toBe(1);
    xssCallId = calls.items[0].id;

    const demo = await loadDemo({
      config: loadConfig({}),
      db: env.db,
      accountId: env.accountId,
      days: 7,
      visitsPerDay: 45,
      seed: 7,
    });
    demoSiteId = demo.siteId;
    env.clock.set(new Date());

    await env.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(env.app.server.address() as AddressInfo).port}`;
    browser = await launchChromium();
    context = await browser.newContext({
      viewport: { width: 1440, height: 900 },
      deviceScaleFactor: 1,
      locale: 'ru-RU',
    });
    page = await context.newPage();
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await env?.close();
  });

  const kpi = (metric: string) => page.locator(`.kpi[data-metric="${metric}"] .kpi-value`);
  const range = async () => ({
    from: await page.locator('input[name="from"]').inputValue(),
    to: await page.locator('input[name="to"]').inputValue(),
  });
  const apiTotals = async (r: { from: string; to: string }, siteId = s.site.id) =>
    (
      await env.api(
        'GET',
        `/api/v1/reports/channel?siteId=${siteId}&from=${r.from}&to=${r.to}&compare=previous`,
      )
    ).json();

  it('refuses a wrong password, then logs in', async () => {
    await page.goto(base);
    await page.fill('input[name="email"]', 'anna@example.com');
    await page.fill('input[name="password"]', 'wrong');
    await page.click('button[type="submit"]');
    await expect.poll(() => page.locator('[role="alert"]').innerText()).toBe('Неверная почта или пароль');
    await page.fill('input[name="password"]', 'correct horse');
    await page.click('button[type="submit"]');
    await page.waitForSelector('.kpi');
    const cookies = await context.cookies();
    expect(cookies.find((c) => c.name === 'rt_session')?.httpOnly).toBe(true);
  });

  it('shows the overview numbers the reports API returns for the chosen period', async () => {
    await page.selectOption('.site-switch select', s.site.id);
    const r = await range();
    expect(r.to).toBe(new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Moscow' }).format(new Date()));
    const api = await apiTotals(r);
    expect(api.totals.calls).toBe(4);
    for (const m of [
      'calls',
      'unique',
      'targeted',
      'unique_targeted',
      'first_targeted',
      'repeat',
      'missed',
      'visits',
    ]) {
      await expect.poll(() => kpi(m).innerText(), { message: m }).toBe(String(api.totals[m]));
    }
    const pct = new Intl.NumberFormat('ru-RU', { style: 'percent', maximumFractionDigits: 1 });
    expect(norm(await kpi('answer_rate').innerText())).toBe(norm(pct.format(api.totals.answer_rate)));
    // Top campaigns show the visitor's utm_campaign as literal text.
    await expect.poll(() => page.locator('[data-table="campaigns"]').innerText()).toContain(XSS);
    expect(await page.locator('[data-table="keywords"]').innerText()).toContain('купить диван');
    expect(await page.locator('[data-table="channels"]').innerText()).toContain('Платный поиск');
  });

  it('changes the date range and recomputes the numbers', async () => {
    await page.click('button[data-preset="today"]');
    await expect.poll(async () => (await range()).from).toBe((await range()).to);
    const api = await apiTotals(await range());
    expect(api.totals.calls).toBe(3);
    await expect.poll(() => kpi('calls').innerText()).toBe('3');
    await expect.poll(() => kpi('missed').innerText()).toBe(String(api.totals.missed));
    await page.click('button[data-preset="d7"]');
    await expect.poll(() => kpi('calls').innerText()).toBe('4');
  });

  it('lists calls with filters and a persisted column picker', async () => {
    await page.click('nav.tabs a[href="/calls"]');
    await expect.poll(() => page.locator('table.calls tbody tr').count()).toBe(4);
    expect(await page.locator('table.calls').innerText()).toContain(XSS);
    await page.selectOption('select[name="class"]', 'missed');
    await expect.poll(() => page.locator('table.calls tbody tr').count()).toBe(1);
    await page.selectOption('select[name="class"]', '');
    await page.selectOption('select[name="source"]', 'google');
    await expect.poll(() => page.locator('table.calls tbody tr').count()).toBe(1);
    await page.selectOption('select[name="source"]', '');
    await page.click('.column-picker summary');
    await page.check('input[name="col-landing"]');
    await page.click('.column-picker summary');
    await page.reload();
    await page.waitForSelector('table.calls tbody tr');
    expect(await page.locator('table.calls thead').innerText()).toContain('Страница входа');
  });

  it('opens a call card with the journey, attribution and candidates, all as text', async () => {
    await page.click(`tr[data-call-id="${xssCallId}"]`);
    const card = page.locator('.call-card');
    await card.locator('[data-section="journey"] .step').first().waitFor();
    expect(new URL(page.url()).pathname).toBe(`/calls/${xssCallId}`);
    const journey = await card.locator('[data-section="journey"]').innerText();
    expect(journey).toContain('Вход на сайт');
    expect(journey).toContain('<img src=x onerror="alert(2)">');
    expect(await card.locator('.step[data-kind="call"]').count()).toBe(1);
    expect(await card.locator('[data-field="method"]').innerText()).toBe('Динамический номер');
    expect(await card.locator('.candidates li.chosen').count()).toBe(1);
    const source = await card.locator('[data-section="source"]').innerText();
    expect(source).toContain(XSS);
    expect(source).toContain(`https://evil.example/${XSS}`);
    // Nothing the visitor sent became markup.
    expect(await page.locator('img[src="x"]').count()).toBe(0);
    expect(await page.evaluate(() => document.scripts.length)).toBe(1);
    expect(dialogs).toEqual([]);
  });

  it('switches the language to English and back', async () => {
    await page.click('.lang-switch button:has-text("EN")');
    await expect
      .poll(() => page.locator('.call-card [data-section="journey"] h3').innerText())
      .toBe('Visitor journey');
    expect(await page.locator('nav.tabs').innerText()).toContain('Call log');
    expect(await page.locator('[data-field="method"]').innerText()).toBe('Dynamic number');
    await page.click('.lang-switch button:has-text("RU")');
    await expect
      .poll(() => page.locator('.call-card [data-section="journey"] h3').innerText())
      .toBe('Путь посетителя');
    expect(await page.evaluate(() => document.documentElement.lang)).toBe('ru');
  });

  it('takes screenshots of the demo site: overview, call log, call card', async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    await page.keyboard.press('Escape');
    await page.click('nav.tabs a[href="/"]');
    await page.selectOption('.site-switch select', demoSiteId);
    const api = await apiTotals(await range(), demoSiteId);
    await expect.poll(() => kpi('calls').innerText()).toBe(String(api.totals.calls));
    await page.waitForSelector('svg.chart .bar');
    await page.screenshot({ path: `${SCREENSHOTS}overview.png`, fullPage: true });

    await page.click('nav.tabs a[href="/calls"]');
    await page.waitForSelector('table.calls tbody tr');
    await page.screenshot({ path: `${SCREENSHOTS}call-log.png` });

    const calls = (
      await env.api('GET', `/api/v1/calls?siteId=${demoSiteId}&class=targeted&limit=100`)
    ).json();
    const withJourney =
      calls.items.find((c: any) => c.method === 'dynamic' && c.pageViews >= 3) ?? calls.items[0];
    await page.goto(`${base}/calls/${withJourney.id}`);
    await page.locator('.call-card [data-section="journey"] .step').first().waitFor();
    await page.screenshot({ path: `${SCREENSHOTS}call-card.png` });
    expect(dialogs).toEqual([]);
  });
});
