import type { Server } from 'node:http';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, listenTracker, serveSite } from './browser.js';
import { CHROME_UA, setupSite, type TestEnv, testEnv } from './helpers.js';

const T = { timeout: 60_000 };
const ORIGINAL = '+7 (495) 123-45-67';
const PAID = '/?utm_source=yandex&utm_medium=cpc';
const FREEZE_MINUTES = 15;

/** A landing page whose only phone number is below the fold (a 720 px viewport shows the header). */
const landing = (widgetSrc: string, siteKey: string) => `<!doctype html>
<html lang="ru"><head><meta charset="utf-8"><title>Диваны</title>
<script async src="${widgetSrc}" data-site="${siteKey}"></script></head>
<body style="margin:0">
<header style="height:80px">Диваны на заказ — каталог и цены</header>
<main style="height:3000px">Каталог</main>
<footer><p id="phone">${ORIGINAL}</p><a id="tel" href="tel:+74951234567">Позвонить нам</a></footer>
<script>document.addEventListener('click', function (e) { e.preventDefault(); });</script>
</body></html>`;

/** A page that shows its number only after a "show phone" click, as many shops do. */
const revealPage = (widgetSrc: string, siteKey: string) => `<!doctype html>
<html lang="ru"><head><meta charset="utf-8"><title>Диван</title>
<script async src="${widgetSrc}" data-site="${siteKey}"></script></head>
<body><button id="reveal">Показать телефон</button><p id="slot"></p>
<script>document.getElementById('reveal').addEventListener('click', function () {
  document.getElementById('slot').innerHTML = '<a id="phone" href="tel:+74951234567">${ORIGINAL}</a>';
});</script>
</body></html>`;

/**
 * Lease behaviour in a real browser against the real server (site leaseOn: visible): lazy leasing on
 * visibility or interaction, heartbeats only while the tab is visible, the leave beacon on pagehide, and a
 * returning visitor's number. The server runs on a manual clock moved by the test; pages that need
 * heartbeats get Playwright's fake clock so 30-second intervals run at once.
 */
describe('lease behaviour in Chromium (leaseOn: visible)', () => {
  let env: TestEnv;
  let s: Awaited<ReturnType<typeof setupSite>>;
  let browser: Browser;
  let siteServer: Server;
  let siteUrl: string;

  beforeAll(async () => {
    env = await testEnv();
    env.clock.set(new Date());
    s = await setupSite(env, { poolSize: 10, site: { leaseOn: 'visible', freezeMinutes: FREEZE_MINUTES } });
    const trackerUrl = await listenTracker(env.app);
    const html = landing(`${trackerUrl}/rt.js`, s.site.siteKey);
    const reveal = revealPage(`${trackerUrl}/rt.js`, s.site.siteKey);
    ({ url: siteUrl, server: siteServer } = await serveSite((path) =>
      path.startsWith('/reveal') ? reveal : html,
    ));
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    siteServer?.close();
    await env?.close();
  });

  /** A fresh browser profile (cookies, storage); closed with the browser. */
  const newContext = (): Promise<BrowserContext> =>
    // Headless Chromium's own user agent is a bot's, which never gets a pool number.
    browser.newContext({ userAgent: CHROME_UA, viewport: { width: 1280, height: 720 } });

  /** Opens a page and resolves with the visit id once the widget has the server's answer. */
  async function open(page: Page, path = '/'): Promise<string> {
    await page.goto(`${siteUrl}${path}${PAID}`);
    await page.waitForFunction(() => typeof (window as any).ringtrace === 'function');
    await page.evaluate(() => new Promise((resolve) => (window as any).ringtrace('ready', resolve)));
    return page.evaluate(() => (window as any).ringtrace('visit') as string);
  }

  const leasesOf = (visit: string) =>
    env.db.query<{ e164: string; held_until: Date; left_at: Date | null; last_seen_at: Date }>(
      `SELECT n.e164, l.held_until, l.left_at, l.last_seen_at FROM leases l JOIN numbers n ON n.id = l.number_id
        WHERE l.visit_id = $1`,
      [visit],
    );
  const lastSeen = async (visit: string) =>
    (await env.db.query<{ last_seen_at: Date }>('SELECT last_seen_at FROM visits WHERE id = $1', [visit]))[0]
      .last_seen_at;
  const phoneText = (page: Page) => page.locator('#phone').innerText();
  const waitSwapped = (page: Page) =>
    page.waitForFunction(
      (o) => {
        const t = document.getElementById('phone')?.textContent;
        return !!t && t !== o;
      },
      ORIGINAL,
      {
        timeout: 10_000,
      },
    );
  /** National format of an E.164 Russian number as the page prints it: +7 (499) 777-88-01. */
  const printed = (e164: string) =>
    `+7 (${e164.slice(2, 5)}) ${e164.slice(5, 8)}-${e164.slice(8, 10)}-${e164.slice(10)}`;
  const setVisibility = (page: Page, state: 'visible' | 'hidden') =>
    page.evaluate((st) => {
      Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => st });
      document.dispatchEvent(new Event('visibilitychange'));
    }, state);

  /** Opens the page and scrolls the phone into view; resolves with the visit and its leased number. */
  async function openAndLease(page: Page): Promise<{ visit: string; e164: string }> {
    const visit = await open(page);
    await page.locator('#phone').scrollIntoViewIfNeeded();
    await waitSwapped(page);
    const [lease] = await leasesOf(visit);
    return { visit, e164: lease.e164 };
  }

  it(
    'leases nothing while the number is below the fold; scrolling it into view leases and swaps',
    T,
    async () => {
      const page = await (await newContext()).newPage();
      const visit = await open(page);
      await page.waitForTimeout(700); // room for a wrong lease request to arrive
      expect(await leasesOf(visit)).toEqual([]);
      expect(await phoneText(page)).toBe(ORIGINAL);
      const [row] = await env.db.query<{ number_id: string | null; number_method: string }>(
        'SELECT number_id, number_method FROM visits WHERE id = $1',
        [visit],
      );
      expect(row).toEqual({ number_id: null, number_method: 'pool' });

      await page.mouse.wheel(0, 4000);
      await waitSwapped(page);
      const leases = await leasesOf(visit);
      expect(leases).toHaveLength(1);
      expect(s.pool).toContain(leases[0].e164);
      expect(await phoneText(page)).toBe(printed(leases[0].e164));
      expect(await page.getAttribute('#tel', 'href')).toBe(`tel:${leases[0].e164}`);
      expect(await page.evaluate(() => (window as any).ringtrace('number').e164)).toBe(leases[0].e164);
    },
  );

  it('a click on the tel: link before it was scrolled to leases too', T, async () => {
    const page = await (await newContext()).newPage();
    const visit = await open(page);
    expect(await leasesOf(visit)).toEqual([]);
    // dispatchEvent does not scroll, unlike a user click: the link is still below the fold.
    await page.locator('#tel').dispatchEvent('click');
    await waitSwapped(page);
    expect(await page.evaluate(() => window.scrollY)).toBe(0);
    const leases = await leasesOf(visit);
    expect(leases).toHaveLength(1);
    expect(await page.getAttribute('#tel', 'href')).toBe(`tel:${leases[0].e164}`);
  });

  it('a number the page shows later (a "show phone" button) is leased when it appears', T, async () => {
    const page = await (await newContext()).newPage();
    const visit = await open(page, '/reveal');
    await page.waitForTimeout(500);
    expect(await leasesOf(visit)).toEqual([]);
    await page.click('#reveal');
    await waitSwapped(page);
    const leases = await leasesOf(visit);
    expect(leases).toHaveLength(1);
    expect(await phoneText(page)).toBe(printed(leases[0].e164));
    expect(await page.getAttribute('#phone', 'href')).toBe(`tel:${leases[0].e164}`);
  });

  it('heartbeats only while the tab is visible; they resume when it is visible again', T, async () => {
    const page = await (await newContext()).newPage();
    await page.clock.install();
    const { visit } = await openAndLease(page);
    const beat = async () => {
      env.clock.advance(30_000);
      await page.clock.runFor(30_000);
    };

    await beat();
    const seen = env.clock.now();
    await expect.poll(() => lastSeen(visit), { timeout: 5000 }).toEqual(seen);
    const [alive] = await leasesOf(visit);
    expect(alive.last_seen_at).toEqual(seen);
    expect(alive.held_until.getTime()).toBe(seen.getTime() + 60_000 + FREEZE_MINUTES * 60_000);

    await setVisibility(page, 'hidden');
    for (let i = 0; i < 4; i++) await beat(); // two minutes in the background
    await page.waitForTimeout(500);
    expect(await lastSeen(visit)).toEqual(seen);
    expect((await leasesOf(visit))[0].held_until).toEqual(alive.held_until);

    await setVisibility(page, 'visible'); // pings at once
    const back = env.clock.now();
    await expect.poll(() => lastSeen(visit), { timeout: 5000 }).toEqual(back);
    await beat();
    const next = env.clock.now();
    await expect.poll(() => lastSeen(visit), { timeout: 5000 }).toEqual(next);
    expect((await leasesOf(visit))[0].held_until.getTime()).toBe(
      next.getTime() + 60_000 + FREEZE_MINUTES * 60_000,
    );
  });

  it(
    'navigating away sends the leave beacon: the lease is held for the freeze time from then',
    T,
    async () => {
      const page = await (await newContext()).newPage();
      const { visit, e164 } = await openAndLease(page);
      env.clock.advance(45_000);
      const left = env.clock.now();
      await page.goto('about:blank');
      await expect.poll(async () => (await leasesOf(visit))[0].left_at, { timeout: 5000 }).toEqual(left);
      const [lease] = await leasesOf(visit);
      expect(lease.held_until.getTime()).toBe(left.getTime() + FREEZE_MINUTES * 60_000);
      const [number] = await env.db.query<{ held_until: Date }>(
        'SELECT held_until FROM numbers WHERE e164 = $1',
        [e164],
      );
      expect(number.held_until).toEqual(lease.held_until);
    },
  );

  it('closing the tab sends the leave beacon too', T, async () => {
    const page = await (await newContext()).newPage();
    const { visit } = await openAndLease(page);
    env.clock.advance(20_000);
    const left = env.clock.now();
    await page.close();
    await expect.poll(async () => (await leasesOf(visit))[0].left_at, { timeout: 5000 }).toEqual(left);
    expect((await leasesOf(visit))[0].held_until.getTime()).toBe(left.getTime() + FREEZE_MINUTES * 60_000);
  });

  it(
    'a returning visitor (same browser storage, new visit) gets its earlier number back once free',
    T,
    async () => {
      const context = await newContext();
      const first = await context.newPage();
      const { visit, e164 } = await openAndLease(first);
      await first.close();
      await expect.poll(async () => (await leasesOf(visit))[0].left_at, { timeout: 5000 }).not.toBeNull();

      env.clock.advance(2 * 3_600_000); // back two hours later: the visit is over, every number is free
      // Least recently released alone would hand out another number: stickiness has to be what brings it back.
      const [lru] = await env.db.query<{ e164: string }>(
        `SELECT e164 FROM numbers WHERE kind = 'pool' AND (held_until IS NULL OR held_until <= $1)
        ORDER BY held_until NULLS FIRST, id LIMIT 1`,
        [env.clock.now()],
      );
      expect(lru.e164).not.toBe(e164);

      const again = await context.newPage();
      const back = await openAndLease(again);
      expect(back.visit).not.toBe(visit);
      expect(back.e164).toBe(e164);
      expect(await phoneText(again)).toBe(printed(e164));
      const visitors = await env.db.query<{ visitor_id: string }>(
        'SELECT DISTINCT visitor_id FROM visits WHERE id = ANY($1::uuid[])',
        [[visit, back.visit]],
      );
      expect(visitors).toHaveLength(1);
    },
  );

  it('a bot (headless user agent) gets no lease, even with the number on screen', T, async () => {
    const page = await (await browser.newContext()).newPage();
    const visit = await open(page);
    await page.mouse.wheel(0, 4000);
    await page.waitForTimeout(700);
    expect(await leasesOf(visit)).toEqual([]);
    expect(await phoneText(page)).toBe(ORIGINAL);
  });
});
