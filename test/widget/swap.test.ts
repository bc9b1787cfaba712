/// <reference lib="dom" />
/**
 * Browser test of the widget's behaviour against a fake Ringtrace (fixture-server.ts): number
 * swapping in the page's own formats, the visit/ping protocol, storage and cookies.
 * The landing page and the tracker are on different origins, as on a real site.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { launchChromium } from '../browser.js';
import {
  type FixtureServer,
  type RecordedRequest,
  SITE_NUMBER,
  startFixtureServer,
  TRACKING_NUMBER,
} from './fixture-server.js';

const T = { timeout: 30_000 };
const SWAPPED = '+7 (499) 777-88-99';
const ORIGINAL = '+7 (495) 123-45-67';
const PAYLOAD_KEYS = [
  'site',
  'visitor',
  'visit',
  'url',
  'referrer',
  'title',
  'gaClientId',
  'ymUid',
  'gaSessions',
];

let browser: Browser;
let server: FixtureServer;
const contexts: BrowserContext[] = [];
/** Uncaught page errors and console errors from every page: the widget must cause none. */
const problems: string[] = [];

beforeAll(async () => {
  server = await startFixtureServer();
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

beforeEach(async () => {
  Object.assign(server.config, {
    visitDelayMs: 0,
    heartbeatSeconds: 30,
    number: TRACKING_NUMBER,
    replace: [SITE_NUMBER],
  });
  // One context per test: fresh cookies, localStorage and sessionStorage.
  await Promise.all(contexts.splice(0).map((c) => c.close()));
});

async function newContext(): Promise<BrowserContext> {
  const context = await browser.newContext();
  contexts.push(context);
  return context;
}

async function newPage(context: BrowserContext): Promise<Page> {
  const page = await context.newPage();
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  return page;
}

const text = (page: Page, id: string) =>
  page.evaluate((i) => document.getElementById(i)?.textContent ?? null, id);

const waitSwapped = (page: Page, timeout = 5000) =>
  page.waitForFunction((s) => document.getElementById('fmt-intl')?.textContent === s, SWAPPED, { timeout });

/** Resolves once the widget got its /t/visit answer, via the public ringtrace('ready', fn) API. */
async function ready(page: Page): Promise<unknown> {
  await page.waitForFunction(() => typeof (window as any).ringtrace === 'function');
  return page.evaluate(() => new Promise((resolve) => (window as any).ringtrace('ready', resolve)));
}

/** The n-th /t/visit recorded from index `from` on. */
const visitAfter = (from: number, pred: (r: RecordedRequest) => boolean = () => true, timeoutMs = 5000) =>
  server.waitForRequest((r) => r.path === '/t/visit' && pred(r), timeoutMs, from);

const pingsAfter = (from: number) => server.requests.slice(from).filter((r) => r.path === '/t/ping');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('rt.js widget in Chromium', () => {
  it('swaps every occurrence of the site number in the page’s own format', T, async () => {
    const context = await newContext();
    const page = await newPage(context);
    await page.goto(`${server.siteUrl}/`);
    await waitSwapped(page);

    const ids = [
      'phone-header',
      'fmt-spaces',
      'fmt-dashes',
      'fmt-plain',
      'fmt-intl',
      'fmt-hours',
      'rt-phone',
      'noswap',
      'other-phone',
      'inn',
    ];
    const texts = Object.fromEntries(await Promise.all(ids.map(async (id) => [id, await text(page, id)])));
    expect(texts).toEqual({
      'phone-header': '+7 (499) 777-88-99',
      'fmt-spaces': '8 499 777 88 99',
      'fmt-dashes': '8-499-777-88-99',
      'fmt-plain': '84997778899',
      'fmt-intl': '+7 (499) 777-88-99',
      'fmt-hours': 'Пн–Вс 9:00–21:00 8 (499) 777-88-99', // glued to other digits, still found
      'rt-phone': TRACKING_NUMBER.display, // [data-rt-phone] without a number gets the display form
      noswap: ORIGINAL, // [data-rt-noswap] opts out
      'other-phone': '8 800 555-35-35', // not a replaceable number
      inn: 'ИНН 7701234567', // not a phone at all
    });
    expect(await page.getAttribute('#tel-link', 'href')).toBe('tel:+74997778899');
    // Scripts (JSON-LD) and form fields are never touched.
    expect(await text(page, 'jsonld')).toContain(`"telephone":"${ORIGINAL}"`);
    expect(await page.inputValue('#comment')).toBe(`Перезвоните на ${ORIGINAL}`);
    // Nowhere else on the page does the old number survive.
    const rest = await page.evaluate(() => {
      const body = document.body.cloneNode(true) as HTMLElement;
      for (const e of body.querySelectorAll('[data-rt-noswap],script,textarea')) e.remove();
      return body.textContent!;
    });
    expect(rest).not.toMatch(/495/);

    // Content inserted by the page 1 s after load is swapped too (MutationObserver).
    await page.waitForSelector('#late', { timeout: 5000 });
    expect(await text(page, 'late')).toBe('Звоните: +7 499 777-88-99');
    // ...and so is text a script changes later, e.g. a framework re-render.
    await page.evaluate(() => {
      document.getElementById('fmt-dashes')!.firstChild!.nodeValue = '8-495-123-45-67';
    });
    await page.waitForFunction(
      () => document.getElementById('fmt-dashes')!.textContent === '8-499-777-88-99',
    );

    expect(await page.evaluate(() => (window as any).ringtrace('number'))).toEqual(TRACKING_NUMBER);
  });

  it(
    'reports the visit as plain-text JSON with analytics ids and leaves UTM parsing to the server',
    T,
    async () => {
      const context = await newContext();
      await context.addCookies([
        { name: '_ga', value: 'GA1.1.123.456', url: server.siteUrl },
        { name: '_ym_uid', value: '1700000000123456789', url: server.siteUrl },
        // GA4 session cookies of two properties: the 2025 "GS2" format (session id after "s") and "GS1".
        {
          name: '_ga_SM37QL5J42',
          value: 'GS2.1.s1747132561$o28$g0$t1747132655$j60$l0$h0',
          url: server.siteUrl,
        },
        { name: '_ga_ABCDEF1234', value: 'GS1.1.1673933110.12.0.1673933110.60.0.0', url: server.siteUrl },
      ]);
      const page = await newPage(context);
      const from = server.requests.length;
      const url = `${server.siteUrl}/divany?utm_source=yandex&utm_medium=cpc&utm_campaign=divany_msk&yclid=987`;
      await page.goto(url);
      const visit = await visitAfter(from);

      expect(visit.port).toBe('tracker'); // cross-origin, like a real site
      expect(visit.headers['content-type']).toMatch(/^text\/plain/); // a "simple" request: no preflight
      expect(visit.headers.origin).toBe(server.siteUrl);
      expect(visit.body).toEqual({
        site: 'divany-test',
        url,
        referrer: '',
        title: 'Диваны на заказ — мебельная фабрика «Уютный дом»',
        gaClientId: '123.456',
        ymUid: '1700000000123456789',
        gaSessions: expect.any(String),
      });
      expect(visit.body.gaSessions.split(',').sort()).toEqual([
        'ABCDEF1234:1673933110',
        'SM37QL5J42:1747132561',
      ]);
      // No visitor/visit on a first visit; no utm_* or click-id fields: the server parses `url`.
      expect(Object.keys(visit.body).every((k) => PAYLOAD_KEYS.includes(k))).toBe(true);
      await ready(page);
      expect(server.requests.filter((r) => r.method === 'OPTIONS')).toHaveLength(0);
    },
  );

  it('stores the visitor cookie, the visit and the number, and sends them on the next load', T, async () => {
    const context = await newContext();
    const page = await newPage(context);
    const from = server.requests.length;
    await page.goto(`${server.siteUrl}/`);
    await ready(page);
    const { answer } = await visitAfter(from);

    const cookies = await context.cookies(server.siteUrl);
    const vid = cookies.find((c) => c.name === '_rt_vid')!;
    expect(vid).toMatchObject({ value: answer!.visitor, path: '/', sameSite: 'Lax' });
    expect(vid.expires * 1000 - Date.now()).toBeGreaterThan(364 * 86_400_000); // ~1 year
    const stored = await page.evaluate(() => ({
      visit: JSON.parse(localStorage.getItem('_rt_visit')!),
      num: JSON.parse(sessionStorage.getItem('_rt_num')!),
    }));
    expect(stored.visit.id).toBe(answer!.visit);
    expect(Date.now() - stored.visit.t).toBeLessThan(10_000);
    expect(stored.num).toMatchObject({ n: TRACKING_NUMBER, r: [SITE_NUMBER] });

    // A new tab of the same browser: same visitor (cookie) and the live visit (localStorage).
    const page2 = await newPage(context);
    const from2 = server.requests.length;
    await page2.goto(`${server.siteUrl}/contacts`);
    const second = await visitAfter(from2);
    expect(second.body).toMatchObject({ visitor: answer!.visitor, visit: answer!.visit });
    await ready(page2);

    // After 30 minutes without activity the visit is over: only the visitor is sent. (Age the
    // stored activity from a page without the widget: leaving a widget page refreshes it.)
    await page2.goto(`${server.siteUrl}/bye`);
    await page2.evaluate(() => {
      const v = JSON.parse(localStorage.getItem('_rt_visit')!);
      localStorage.setItem('_rt_visit', JSON.stringify({ ...v, t: Date.now() - 31 * 60_000 }));
    });
    const from3 = server.requests.length;
    await page2.goto(`${server.siteUrl}/`);
    const third = await visitAfter(from3);
    expect(third.body.visitor).toBe(answer!.visitor);
    expect(third.body).not.toHaveProperty('visit');
    await ready(page2);
  });

  it('swaps the next page of the visit from sessionStorage before /t/visit answers', T, async () => {
    const context = await newContext();
    const page = await newPage(context);
    await page.goto(`${server.siteUrl}/`);
    await ready(page);
    await waitSwapped(page);

    server.config.visitDelayMs = 2000;
    const from = server.requests.length;
    await page.goto(`${server.siteUrl}/catalog`, { waitUntil: 'commit' });
    await waitSwapped(page, 1500);
    const pending = await visitAfter(from, () => true, 1000);
    // Swapped although the server has not answered this page's visit yet.
    expect(pending.respondedAt).toBeUndefined();
    expect(await text(page, 'fmt-spaces')).toBe('8 499 777 88 99');
    await ready(page);
    expect(pending.respondedAt).toBeDefined();
  });

  it('moves from the cached number to a different one the server answers', T, async () => {
    const context = await newContext();
    const page = await newPage(context);
    await page.goto(`${server.siteUrl}/`);
    await ready(page);

    const other = {
      e164: '+74950001122',
      display: '+7 (495) 000-11-22',
      digits: ['74950001122', '84950001122', '4950001122'],
    };
    Object.assign(server.config, { visitDelayMs: 1000, number: other });
    await page.goto(`${server.siteUrl}/catalog`, { waitUntil: 'commit' });
    await waitSwapped(page, 1500); // the cached number first
    expect(await ready(page)).toEqual(other);
    expect(await text(page, 'fmt-intl')).toBe('+7 (495) 000-11-22');
    expect(await text(page, 'fmt-spaces')).toBe('8 495 000 11 22');
    expect(await text(page, 'fmt-plain')).toBe('84950001122');
    expect(await text(page, 'rt-phone')).toBe(other.display);
    expect(await page.getAttribute('#tel-link', 'href')).toBe('tel:+74950001122');
    expect(await text(page, 'noswap')).toBe(ORIGINAL);
  });

  it('changes nothing when the server has no number for the visit', T, async () => {
    server.config.number = null;
    const context = await newContext();
    const page = await newPage(context);
    await page.goto(`${server.siteUrl}/`);
    expect(await ready(page)).toBeNull();
    await page.waitForSelector('#late', { timeout: 5000 });
    expect(await text(page, 'fmt-intl')).toBe(ORIGINAL);
    expect(await text(page, 'late')).toBe('Звоните: +7 495 123-45-67');
    expect(await text(page, 'rt-phone')).toBe('Позвонить нам');
    expect(await page.getAttribute('#tel-link', 'href')).toBe('tel:+74951234567');
  });

  it('pings at once when the page becomes visible again', T, async () => {
    const context = await newContext();
    const page = await newPage(context);
    const from = server.requests.length;
    await page.goto(`${server.siteUrl}/`);
    await ready(page);
    const { answer } = await visitAfter(from);
    await sleep(300);
    expect(pingsAfter(from)).toHaveLength(0); // heartbeat is 30 s: nothing yet

    const setVisibility = (state: string) =>
      page.evaluate((s) => {
        Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => s });
        document.dispatchEvent(new Event('visibilitychange'));
      }, state);
    await setVisibility('hidden');
    await sleep(200);
    expect(pingsAfter(from)).toHaveLength(0);
    await setVisibility('visible');
    const ping = await server.waitForRequest((r) => r.path === '/t/ping', 1000, from);
    expect(ping.body).toEqual({ visit: answer!.visit });
    expect(ping.headers['content-type']).toMatch(/^text\/plain/);
  });

  it('sends heartbeats every heartbeatSeconds while visible and none while hidden', T, async () => {
    server.config.heartbeatSeconds = 1;
    const context = await newContext();
    const page = await newPage(context);
    const from = server.requests.length;
    await page.goto(`${server.siteUrl}/`);
    await ready(page);
    const { answer } = await visitAfter(from);
    await sleep(2600);
    const beats = pingsAfter(from);
    expect(beats.length).toBeGreaterThanOrEqual(2);
    expect(beats.every((p) => p.body.visit === answer!.visit && !p.body.leave)).toBe(true);
    // Each ping refreshes the visit's activity time.
    const t = await page.evaluate(() => JSON.parse(localStorage.getItem('_rt_visit')!).t);
    expect(Date.now() - t).toBeLessThan(1500);

    await page.evaluate(() => {
      Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'hidden' });
      document.dispatchEvent(new Event('visibilitychange'));
    });
    const hiddenFrom = server.requests.length;
    await sleep(2300);
    expect(pingsAfter(hiddenFrom)).toHaveLength(0);
  });

  it('sends a leave ping on pagehide', T, async () => {
    const context = await newContext();
    const page = await newPage(context);
    const from = server.requests.length;
    await page.goto(`${server.siteUrl}/`);
    await ready(page);
    const { answer } = await visitAfter(from);
    const before = server.requests.length;
    await page.goto(`${server.siteUrl}/bye`);
    const leave = await server.waitForRequest(
      (r) => r.path === '/t/ping' && r.body?.leave === true,
      5000,
      before,
    );
    expect(leave.body).toEqual({ visit: answer!.visit, leave: true });
    expect(leave.headers['content-type']).toMatch(/^text\/plain/);
  });

  it('records SPA navigation as a page view of the same visit', T, async () => {
    const context = await newContext();
    const page = await newPage(context);
    const from = server.requests.length;
    await page.goto(`${server.siteUrl}/`);
    await ready(page);
    const { answer } = await visitAfter(from);

    // Same URL and in-page anchors are not page views.
    const quiet = server.requests.length;
    await page.evaluate(() => {
      history.replaceState({ a: 1 }, '', location.href);
      history.pushState({}, '', '#prices');
    });
    await sleep(800);
    expect(server.requests.slice(quiet).filter((r) => r.path === '/t/visit')).toHaveLength(0);

    await page.evaluate(() => history.pushState({}, '', '/catalog/uglovye?sort=price'));
    const spa = await visitAfter(quiet);
    expect(spa.body).toMatchObject({
      visitor: answer!.visitor,
      visit: answer!.visit,
      url: `${server.siteUrl}/catalog/uglovye?sort=price`,
    });
    // Back button.
    const back = server.requests.length;
    await page.goBack();
    const pop = await visitAfter(back);
    expect(pop.body.url).toBe(`${server.siteUrl}/#prices`);
    expect(await text(page, 'fmt-intl')).toBe(SWAPPED);
  });

  it('caused no page errors, console errors or CORS preflights', () => {
    expect(problems).toEqual([]);
    expect(server.requests.filter((r) => r.method === 'OPTIONS')).toHaveLength(0);
  });
});
