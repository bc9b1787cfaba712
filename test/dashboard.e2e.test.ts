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
const RECORDING = 'https://pbx.example/recordings/140.mp3';
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
  let demoSite: { name: string };
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
      call: {
        from: string;
        talkSeconds?: number;
        answered?: boolean;
        secondPage?: string;
        recordingUrl?: string;
      },
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
      // The PBX reports the recording with the call's end.
      if (call.recordingUrl) Object.assign(events[events.length - 1], { recordingUrl: call.recordingUrl });
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
      {
        from: '+79160000002',
        talkSeconds: 140,
        secondPage: 'https://shop.ru/contacts',
        recordingUrl: RECORDING,
      },
    );
    const xssProviderCallId = await visitAndCall(
      now - 40 * 60_000,
      {
        url: `https://shop.ru/?utm_source=yandex&utm_medium=cpc&utm_campaign=${encodeURIComponent(XSS)}`,
        referrer: `https://evil.example/${XSS}`,
        title: `<img src=x onerror="alert(2)">`,
      },
      { from: '+79160000003', talkSeconds: 45 },
    );
    // Its legs: a ring group where Анна answered (a PBX-sent name with markup lost the race), then a
    // blind transfer to Борис.
    const ring = now - 40 * 60_000 + 120_000;
    const leg = (id: string, type: string, sec: number, extra: Record<string, unknown>) => ({
      id: `${xssProviderCallId}:${id}`,
      type,
      callId: xssProviderCallId,
      occurredAt: new Date(ring + sec * 1000).toISOString(),
      ...extra,
    });
    const legs = await postCallEvents(env.app, s.integration, [
      leg('a', 'leg.started', 1, { legId: 'a', employee: '<i>Ольга</i>' }),
      leg('b', 'leg.started', 1, { legId: 'b', employee: 'Анна' }),
      leg('b-ans', 'leg.answered', 5, { legId: 'b' }),
      leg('a-end', 'leg.ended', 5, { legId: 'a', status: 'canceled' }),
      leg('xfer', 'call.transferred', 30, { from: 'Анна', to: 'Борис', kind: 'blind' }),
    ]);
    expect(legs.statusCode).toBe(200);
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
    // Money for the overview's profit: a won deal on the 140-second call and today's ad cost.
    const longest = (
      await env.api('GET', `/api/v1/calls?siteId=${s.site.id}&sort=-talkSeconds&limit=1`)
    ).json();
    expect(longest.items[0].talkSeconds).toBe(140);
    const deal = await env.api('POST', '/api/v1/deals', {
      siteId: s.site.id,
      callId: longest.items[0].id,
      amount: 12345.67,
      status: 'won',
    });
    expect(deal.statusCode, deal.body).toBe(201);
    const today = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Moscow' }).format(new Date());
    const cost = await env.app.inject({
      method: 'POST',
      url: `/api/v1/sites/${s.site.id}/costs/import?format=generic`,
      headers: { authorization: `Bearer ${env.key}`, 'content-type': 'text/csv' },
      payload: `date,source,medium,campaign,impressions,clicks,cost,currency\n${today},yandex,cpc,sofa_sale,100,10,2000.00,RUB`,
    });
    expect(cost.statusCode, cost.body).toBe(201);

    const demo = await loadDemo({
      config: loadConfig({}),
      db: env.db,
      accountId: env.accountId,
      days: 7,
      visitsPerDay: 45,
      seed: 7,
    });
    demoSiteId = demo.siteId;
    demoSite = (await env.api('GET', `/api/v1/sites/${demoSiteId}`)).json();
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
  }, 180_000); // builds the dashboard and loads a demo week: minutes on a loaded 2-core box
  afterAll(async () => {
    await browser?.close();
    await env?.close();
  });

  const kpi = (metric: string) => page.locator(`.kpi[data-metric="${metric}"] .kpi-value`);
  // The date fields show the interface language's format and keep the ISO date in data-date.
  const range = async () => ({
    from: (await page.locator('input[name="from"]').getAttribute('data-date')) ?? '',
    to: (await page.locator('input[name="to"]').getAttribute('data-date')) ?? '',
  });
  const barRows = (table: string) =>
    page
      .locator(`[data-table="${table}"] li`)
      .evaluateAll((lis) =>
        lis.map((li) => [
          li.getAttribute('data-key'),
          ...[...li.querySelectorAll('.label, .num')].map((e) =>
            (e.textContent ?? '').replace(/[\s\u00a0\u202f]+/g, ' ').trim(),
          ),
        ]),
      );
  const moneyKpi = (key: string) => page.locator(`[data-table="profit"] [data-metric="${key}"] .kpi-value`);
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

  it('shows the overview extras: number kinds, class ratios, talk time, longest calls, regions, profit', async () => {
    // Four calls to pool numbers from four callers; talk 95 s, 140 s, 45 s and one unanswered.
    await expect
      .poll(() => barRows('number-kinds'))
      .toEqual([['dynamic', 'Динамические номера', '4', '100 %']]);
    // Targeted = answered for at least 30 s (the site's threshold): 3 calls, all first from their callers.
    expect(await barRows('class-ratios')).toEqual([
      ['unique', 'Уникальные', '4 из 4', '100 %'],
      ['unique_targeted', 'Уникально-целевые', '3 из 4', '75 %'],
      ['first_targeted', 'Первичные целевые', '3 из 4', '75 %'],
      ['repeat', 'Повторные', '0 из 4', '0 %'],
    ]);
    // Answered calls by talk time, in duration order: 45 s; 95 s and 140 s.
    expect(await barRows('talk')).toEqual([
      ['00:30-01:00', '30 с – 1 мин', '1', '33 %'],
      ['01:00-03:00', '1 мин – 3 мин', '2', '67 %'],
    ]);
    const longest = page.locator('[data-table="longest-calls"] li');
    await expect
      .poll(() => longest.locator('.talk').allInnerTexts())
      .toEqual(['2 мин 20 с', '1 мин 35 с', '45 с']);
    expect(await longest.first().locator('audio').getAttribute('src')).toBe(RECORDING);
    expect(await longest.nth(1).locator('audio').count()).toBe(0);
    expect(await longest.nth(1).innerText()).toContain('Записи нет');
    expect(await barRows('regions')).toEqual([['Perm Krai', 'Perm Krai', '4', '100 %']]);
    // Revenue 12 345,67 ₽ from the won deal, cost 2 000 ₽: profit 10 345,67 ₽, ROI 517 %.
    await expect.poll(() => moneyKpi('revenue').innerText().then(norm)).toBe('12 345,67 ₽');
    expect(norm(await moneyKpi('cost').innerText())).toBe('2 000,00 ₽');
    expect(norm(await moneyKpi('profit').innerText())).toBe('10 345,67 ₽');
    expect(norm(await moneyKpi('roi').innerText())).toBe('517 %');
    // A longest call opens its card.
    await longest.first().locator('a').click();
    await page.locator('.call-card [data-section="recording"] audio').waitFor();
    expect(await page.locator('.call-card audio').getAttribute('src')).toBe(RECORDING);
    await page.keyboard.press('Escape');
    await page.click('nav.tabs a[href="/"]');
    await page.waitForSelector('.kpi');
  });

  it('formats dates, numbers and money for the language, and takes dates typed that way', async () => {
    const from = page.locator('input[name="from"]');
    const r = await range();
    const ruDate = (iso: string) => iso.split('-').reverse().join('.');
    expect(await from.inputValue()).toBe(ruDate(r.from));
    expect(await page.locator('input[name="to"]').inputValue()).toBe(ruDate(r.to));
    // A date typed as ДД.ММ.ГГГГ ends the period: up to yesterday only the call of three days ago.
    const [y, m, d] = r.to.split('-').map(Number);
    const yesterday = new Date(Date.UTC(y, m - 1, d - 1)).toISOString().slice(0, 10);
    const to = page.locator('input[name="to"]');
    await to.fill(ruDate(yesterday));
    await to.press('Enter');
    await expect.poll(async () => (await range()).to).toBe(yesterday);
    await expect.poll(() => kpi('calls').innerText()).toBe('1');
    // A day that does not exist is refused and changes nothing.
    await from.fill('31.02.2026');
    await from.press('Enter');
    expect(await from.getAttribute('aria-invalid')).toBe('true');
    expect((await range()).from).toBe(r.from);
    await page.click('button[data-preset="d7"]');
    await expect.poll(() => kpi('calls').innerText()).toBe('4');

    await page.click('.lang-switch button:has-text("EN")');
    await expect.poll(() => from.inputValue()).toBe(r.from.split('-').reverse().join('/'));
    await expect.poll(() => moneyKpi('revenue').innerText().then(norm)).toBe('RUB 12,345.67');
    await page.click('.lang-switch button:has-text("RU")');
    await expect.poll(() => from.inputValue()).toBe(ruDate(r.from));

    // The call log writes dates as ДД.ММ.ГГГГ, ЧЧ:ММ in the site's time zone.
    await page.click('nav.tabs a[href="/calls"]');
    const first = page.locator('table.calls tbody tr').first().locator('td').first();
    await expect.poll(() => first.innerText()).toMatch(/^\d{2}\.\d{2}\.\d{4}, \d{2}:\d{2}$/);
    await page.click('nav.tabs a[href="/"]');
    await page.waitForSelector('.kpi');
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
    // Longest conversations first: 140 s, 95 s, 45 s, then the unanswered call.
    const rowIds = () =>
      page
        .locator('table.calls tbody tr')
        .evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-call-id')));
    const talkColumn = (await page.locator('table.calls thead th').allInnerTexts()).indexOf('Разговор');
    const talks = async () =>
      (await page.locator(`table.calls tbody tr td:nth-child(${talkColumn + 1})`).allInnerTexts()).map(norm);
    const byTime = await rowIds();
    await page.selectOption('select[name="sort"]', '-talkSeconds');
    await expect.poll(async () => (await talks()).slice(0, 3)).toEqual(['2 мин 20 с', '1 мин 35 с', '45 с']);
    expect(await rowIds()).not.toEqual(byTime);
    await page.selectOption('select[name="sort"]', '-startedAt');
    await expect.poll(rowIds).toEqual(byTime);
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
    const legs = card.locator('[data-section="legs"]');
    expect(await legs.locator('.call-legs li').count()).toBe(3);
    const legsText = await legs.innerText();
    expect(legsText).toContain('<i>Ольга</i>');
    expect(legsText).toContain('Ответил другой');
    expect(legsText).toContain('Перевод (без консультации): Анна → Борис');
    expect(await card.locator('[data-field="finishedBy"]').innerText()).toBe('Завершил разговор: Борис');
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

  it("edits the site in settings, showing the API's validation error next to the form", async () => {
    await page.keyboard.press('Escape');
    await page.click('nav.tabs a[href="/settings"]');
    const form = page.locator('form[data-form="site"]');
    const freeze = form.locator('input[name="freezeMinutes"]');
    await expect.poll(() => freeze.inputValue()).toBe('15');
    await freeze.fill('3');
    await form.locator('button[type="submit"]').click();
    await expect.poll(() => form.locator('[role="alert"]').innerText()).toContain('body.freezeMinutes');
    expect(await form.locator('[role="alert"]').innerText()).toContain(
      'Не сохранено: Запрос не прошёл проверку. Проверьте поля: freezeMinutes.',
    );
    expect((await env.api('GET', `/api/v1/sites/${s.site.id}`)).json().freezeMinutes).toBe(15);
    await freeze.fill('20');
    await form.locator('button[type="submit"]').click();
    await expect.poll(() => form.locator('[role="status"]').innerText()).toBe('Сохранено');
    expect(await form.locator('[role="alert"]').count()).toBe(0);
    expect((await env.api('GET', `/api/v1/sites/${s.site.id}`)).json().freezeMinutes).toBe(20);
    await page.reload();
    await expect.poll(() => page.locator('input[name="freezeMinutes"]').inputValue()).toBe('20');
  });

  it('adds a pool and removes it once it is empty', async () => {
    await page.click('.subtabs a[data-tab="numbers"]');
    const add = page.locator('form[data-form="add-pool"]');
    await add.locator('input[name="poolName"]').fill('Пермь');
    await add.locator('input[name="poolRegion"]').fill('Perm Krai');
    await add.locator('button[type="submit"]').click();
    const row = page.locator('tr[data-pool="Пермь"]');
    await row.waitFor();
    expect(norm(await row.innerText())).toBe('Пермь Perm Krai 0 Удалить');
    const pools = async () =>
      (await env.api('GET', `/api/v1/sites/${s.site.id}/pools`)).json().map((p: { name: string }) => p.name);
    expect(await pools()).toContain('Пермь');
    // A second home pool is refused: the API's message shows under the form.
    await add.locator('input[name="poolName"]').fill('Ещё один');
    await add.locator('button[type="submit"]').click();
    await expect.poll(() => add.locator('[role="alert"]').innerText()).toContain('region');
    expect(await add.locator('[role="alert"]').innerText()).toContain('Не сохранено: Такая запись уже есть.');
    // Removing takes a second click.
    await row.locator('button').click();
    expect(await row.locator('button').innerText()).toBe('Точно?');
    expect(await pools()).toContain('Пермь');
    await row.locator('button').click();
    await expect.poll(() => row.count()).toBe(0);
    expect(await pools()).not.toContain('Пермь');
  });

  it('adds a static rule, edits it, and refuses a bad priority', async () => {
    await page.click('.subtabs a[data-tab="rules"]');
    const add = page.locator('form[data-form="add-rule"]');
    await add.locator('input[name="name"]').fill('Авито');
    await add.locator('input[name="utmSource"]').fill('avito');
    await add.locator('input[name="source"]').fill('avito');
    await add.locator('input[name="medium"]').fill('classified');
    await add.locator('button[type="submit"]').click();
    const rule = page.locator('li[data-rule="Авито"]');
    await rule.waitFor();
    expect(norm(await rule.innerText())).toContain('utm_source = avito');
    const rules = async () => (await env.api('GET', `/api/v1/sites/${s.site.id}/static-rules`)).json();
    expect(await rules()).toMatchObject([
      {
        name: 'Авито',
        priority: 0,
        conditions: { utmSource: 'avito' },
        number: s.staticNumber.e164,
        source: 'avito',
        medium: 'classified',
        campaign: null,
      },
    ]);

    await rule.locator('button:has-text("Изменить")').click();
    const edit = page.locator('form[data-form="edit-rule"]');
    await edit.locator('input[name="priority"]').fill('5000');
    await edit.locator('button[type="submit"]').click();
    await expect.poll(() => edit.locator('[role="alert"]').innerText()).toContain('body.priority');
    expect((await rules())[0].priority).toBe(0);
    await edit.locator('input[name="priority"]').fill('10');
    await edit.locator('input[name="name"]').fill('Авито, диваны');
    await edit.locator('input[name="utmCampaign"]').fill('sofas');
    await edit.locator('button[type="submit"]').click();
    await page.locator('li[data-rule="Авито, диваны"]').waitFor();
    expect(await rules()).toMatchObject([
      { name: 'Авито, диваны', priority: 10, conditions: { utmSource: 'avito', utmCampaign: 'sofas' } },
    ]);
  });

  it('copies the widget snippet and explains the Google Tag Manager setup', async () => {
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
    await page.click('.subtabs a[data-tab="widget"]');
    const snippet = (await env.api('GET', `/api/v1/sites/${s.site.id}`)).json().snippet;
    expect(snippet).toContain(`data-site="${s.site.siteKey}"`);
    expect(await page.locator('[data-snippet]').innerText()).toBe(snippet);
    await page.click('button[name="copy-snippet"]');
    await expect.poll(() => page.locator('button[name="copy-snippet"]').innerText()).toBe('Скопировано');
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(snippet);
    const help = await page.locator('[data-section="widget"]').innerText();
    expect(help).toContain('Пользовательский HTML');
    expect(help).toContain('All Pages');
  });

  it('creates an API key shown once, and revokes it: the key then gets 401', async () => {
    await page.click('.subtabs a[data-tab="keys"]');
    await page.fill('input[name="keyName"]', 'CRM');
    await page.click('form[data-form="add-key"] button[type="submit"]');
    const key = (await page.locator('[data-new-key]').innerText()).trim();
    const asKey = () =>
      env.app.inject({ method: 'GET', url: '/api/v1/sites', headers: { authorization: `Bearer ${key}` } });
    expect((await asKey()).statusCode).toBe(200);
    const row = page.locator('tr[data-key="CRM"]');
    expect(await row.innerText()).toContain('Действует');
    // The list never shows the key itself.
    expect(await page.locator('table.settings-table').innerText()).not.toContain(key);
    await row.locator('button:has-text("Отозвать")').click();
    await row.locator('button:has-text("Точно?")').click();
    await expect.poll(() => row.innerText()).toContain('Отозван');
    expect((await asKey()).statusCode).toBe(401);
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

    await page.keyboard.press('Escape');
    await page.click('nav.tabs a[href="/settings"]');
    await page.click('.subtabs a[data-tab="site"]');
    await expect
      .poll(() => page.locator('form[data-form="site"] input[name="name"]').inputValue())
      .toBe(demoSite.name);
    await page.screenshot({ path: `${SCREENSHOTS}settings.png`, fullPage: true });
    expect(dialogs).toEqual([]);
  });
});
