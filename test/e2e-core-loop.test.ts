import type { Server } from 'node:http';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, listenTracker, serveSite } from './browser.js';
import { CHROME_UA, callEvents, postCallEvents, setupSite, type TestEnv, testEnv } from './helpers.js';
import { landingPage } from './widget/fixture-server.js';

/**
 * The acceptance loop in a real browser against the real server: the widget swaps numbers on a landing
 * page served from another origin, a webhook call to the shown number is attributed to that visit.
 */
describe('widget → lease → call → attribution in Chromium', () => {
  let env: TestEnv;
  let s: Awaited<ReturnType<typeof setupSite>>;
  let browser: Browser;
  let siteServer: Server;
  let siteUrl: string;

  beforeAll(async () => {
    env = await testEnv();
    env.clock.set(new Date()); // the browser lives in real time
    s = await setupSite(env, { poolSize: 3 });
    await env.api('POST', `/api/v1/sites/${s.site.id}/static-rules`, {
      name: 'Avito',
      conditions: { utmSource: 'avito' },
      numberId: s.staticNumber.id,
      source: 'avito',
      medium: 'classified',
    });
    const trackerUrl = await listenTracker(env.app);
    const html = landingPage(`${trackerUrl}/rt.js`, s.site.siteKey);
    ({ url: siteUrl, server: siteServer } = await serveSite(() => html));
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    siteServer?.close();
    await env.close();
  });

  async function openPage(path: string): Promise<Page> {
    // Headless Chromium announces itself as HeadlessChrome, which bot detection rightly refuses a pool number.
    const context = await browser.newContext({ userAgent: CHROME_UA });
    const page = await context.newPage();
    await page.goto(`${siteUrl}${path}`);
    return page;
  }
  const text = (page: Page, selector: string) => page.locator(selector).innerText();

  let paidVisitNumber = '';

  it('swaps every occurrence to a pool number in the page formats for a Yandex Direct visit', async () => {
    const page = await openPage('/?utm_source=yandex&utm_medium=cpc&utm_campaign=c1&utm_term=купить+диван');
    await page.waitForFunction(() => document.querySelector('#late')?.textContent?.includes('499'), null, {
      timeout: 10_000,
    });
    const visits = await env.db.query<{ e164: string }>(
      `SELECT n.e164 FROM visits v JOIN numbers n ON n.id = v.number_id WHERE v.channel = 'paid_search'`,
    );
    expect(visits).toHaveLength(1);
    paidVisitNumber = visits[0].e164;
    expect(s.pool).toContain(paidVisitNumber);
    const national = paidVisitNumber.slice(2); // 499 777 88 0X
    const [a, b, c, d] = [
      national.slice(0, 3),
      national.slice(3, 6),
      national.slice(6, 8),
      national.slice(8),
    ];
    expect(await text(page, '#phone-header')).toBe(`+7 (${a}) ${b}-${c}-${d}`);
    expect(await text(page, '#fmt-spaces')).toBe(`8 ${a} ${b} ${c} ${d}`);
    expect(await text(page, '#fmt-dashes')).toBe(`8-${a}-${b}-${c}-${d}`);
    expect(await text(page, '#fmt-plain')).toBe(`8${national}`);
    expect(await text(page, '#fmt-intl')).toBe(`+7 (${a}) ${b}-${c}-${d}`);
    expect(await text(page, '#late')).toBe(`Звоните: +7 ${a} ${b}-${c}-${d}`);
    expect(await page.locator('#tel-link').getAttribute('href')).toBe(`tel:${paidVisitNumber}`);
    expect(await text(page, '#rt-phone')).toContain(`${b}-${c}-${d}`);
    expect(await text(page, '#noswap')).toBe('+7 (495) 123-45-67');
    await page.context().close();
  });

  it('a direct visit shows the default number', async () => {
    const page = await openPage('/');
    await expect.poll(() => env.db.query(`SELECT 1 FROM visits WHERE channel = 'direct'`)).toHaveLength(1);
    await page.waitForTimeout(1500);
    expect(await text(page, '#fmt-intl')).toBe('+7 (495) 123-45-67');
    expect(await page.locator('#tel-link').getAttribute('href')).toBe('tel:+74951234567');
    await page.context().close();
  });

  it("a visit matching a static rule shows that rule's number", async () => {
    const page = await openPage('/?utm_source=avito');
    await page.waitForFunction(
      () => document.querySelector('#fmt-intl')?.textContent?.includes('111'),
      null,
      {
        timeout: 10_000,
      },
    );
    expect(await text(page, '#fmt-intl')).toBe('+7 (495) 111-00-00');
    expect(await text(page, '#fmt-dashes')).toBe('8-495-111-00-00');
    await page.context().close();
  });

  it('attributes a webhook call to the pool number to that visit; a second call is repeat', async () => {
    env.clock.set(new Date());
    const first = callEvents({
      from: '+79265550101',
      to: paidVisitNumber,
      at: env.clock.now(),
      talkSeconds: 120,
    });
    const id = (await postCallEvents(env.app, s.integration, first.events)).json().calls[0];
    const call = (await env.api('GET', `/api/v1/calls/${id}`)).json();
    expect(call).toMatchObject({
      method: 'dynamic',
      source: 'yandex',
      medium: 'cpc',
      campaign: 'c1',
      keyword: 'купить диван',
      channel: 'paid_search',
      deviceType: 'desktop',
    });
    expect(call.classes).toContain('unique');
    const list = (await env.api('GET', '/api/v1/calls?source=yandex&keyword=купить%20диван')).json();
    expect(list.items.map((c: { id: string }) => c.id)).toEqual([id]);

    const second = callEvents({
      from: '+79265550101',
      to: paidVisitNumber,
      at: new Date(Date.now() + 60_000),
    });
    const id2 = (await postCallEvents(env.app, s.integration, second.events)).json().calls[0];
    const repeat = (await env.api('GET', `/api/v1/calls/${id2}`)).json();
    expect(repeat.classes).toContain('repeat');
    expect(repeat.classes).not.toContain('unique');
  });
});
