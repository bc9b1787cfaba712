/// <reference lib="dom" />
/**
 * Browser test of the widget's leads against a fake Ringtrace (fixture-server.ts): automatic form
 * capture (phone, email and name only; never passwords, cards or hidden fields; data-rt-nolead opts
 * out) and ringtrace('lead', {...}), including calls made before the visit id is known.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { launchChromium } from '../browser.js';
import { type FixtureServer, startFixtureServer } from './fixture-server.js';

const T = { timeout: 30_000 };

let browser: Browser;
let server: FixtureServer;
const contexts: BrowserContext[] = [];
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
  server.config.visitDelayMs = 0;
  await Promise.all(contexts.splice(0).map((c) => c.close()));
});

async function newPage(init?: () => void): Promise<Page> {
  const context = await browser.newContext();
  contexts.push(context);
  if (init) await context.addInitScript(init);
  const page = await context.newPage();
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  return page;
}

/** Resolves with the visit id once the widget got its /t/visit answer. */
async function ready(page: Page): Promise<string> {
  await page.waitForFunction(() => typeof (window as any).ringtrace === 'function');
  await page.evaluate(() => new Promise((resolve) => (window as any).ringtrace('ready', resolve)));
  return page.evaluate(() => (window as any).ringtrace('visit'));
}

const leadAfter = (from: number, timeoutMs = 5000) =>
  server.waitForRequest((r) => r.path === '/t/lead', timeoutMs, from);
const leadsAfter = (from: number) => server.requests.slice(from).filter((r) => r.path === '/t/lead');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('rt.js leads in Chromium', () => {
  it('sends a submitted form’s name, phone and email — and nothing else — with the visit id', T, async () => {
    const page = await newPage();
    await page.goto(`${server.siteUrl}/order`);
    const visit = await ready(page);
    const from = server.requests.length;
    await Promise.all([page.waitForURL('**/bye'), page.click('#order-submit')]);
    const lead = await leadAfter(from);

    expect(lead.port).toBe('tracker');
    expect(lead.headers['content-type']).toMatch(/^text\/plain/); // no preflight
    expect(lead.headers.origin).toBe(server.siteUrl);
    expect(lead.body).toEqual({
      visit,
      type: 'form',
      id: expect.stringMatching(/^[A-Za-z0-9_.:-]{1,64}$/),
      url: `${server.siteUrl}/order`,
      name: 'Иван Петров',
      phone: '+7 (916) 123-45-67',
      email: 'ivan@example.ru',
    });
    // No password, card, CVC, hidden, checkbox or comment value left the page.
    for (const secret of ['hunter2', '4111', 'cvc', 'secret-hidden', 'Угловой', 'subscribe'])
      expect(lead.raw).not.toContain(secret);
    await sleep(300);
    expect(leadsAfter(from)).toHaveLength(1);
  });

  it('gives every submission its own client id', T, async () => {
    const page = await newPage();
    await page.goto(`${server.siteUrl}/order`);
    await ready(page);
    const from = server.requests.length;
    // Submit twice without leaving (the page's own handler cancels the navigation).
    await page.evaluate(() => {
      const form = document.getElementById('order') as HTMLFormElement;
      form.addEventListener('submit', (e) => e.preventDefault());
      form.requestSubmit();
      form.requestSubmit();
    });
    await expect.poll(() => leadsAfter(from).length).toBe(2);
    const [a, b] = leadsAfter(from);
    expect(a!.body.id).not.toBe(b!.body.id);
  });

  it(
    'sends nothing for a data-rt-nolead form, a sign-in form or a form without a phone or email',
    T,
    async () => {
      const page = await newPage();
      await page.goto(`${server.siteUrl}/order`);
      await ready(page);
      const from = server.requests.length;
      await page.click('#nolead-submit');
      await page.click('#nameonly-submit');
      await page.click('#signin-submit');
      await sleep(800);
      expect(leadsAfter(from)).toHaveLength(0);
    },
  );

  it('ringtrace(“lead”) sends the given fields, dropping sensitive ones and unknown keys', T, async () => {
    const page = await newPage();
    await page.goto(`${server.siteUrl}/order`);
    const visit = await ready(page);
    const from = server.requests.length;
    await page.evaluate(() =>
      (window as any).ringtrace('lead', {
        type: 'callback',
        phone: '+79161234567',
        name: 'Анна',
        id: 'cb-1',
        fields: { comment: 'после 18:00', password: 'x', cvv: '123', count: 2 },
        extra: 'dropped',
      }),
    );
    const lead = await leadAfter(from);
    expect(lead.body).toEqual({
      visit,
      type: 'callback',
      id: 'cb-1',
      url: `${server.siteUrl}/order`,
      phone: '+79161234567',
      name: 'Анна',
      fields: { comment: 'после 18:00', count: '2' },
    });
    // The type defaults to "other".
    const from2 = server.requests.length;
    await page.evaluate(() => (window as any).ringtrace('lead', { email: 'a@example.ru' }));
    expect((await leadAfter(from2)).body).toMatchObject({ visit, type: 'other', email: 'a@example.ru' });
  });

  it('sends leads made before the visit id is known once it is (stub queue too)', T, async () => {
    server.config.visitDelayMs = 1000;
    // The usual async-snippet stub: calls before rt.js has loaded are queued in ringtrace.q.
    const page = await newPage(() => {
      const w = window as any;
      w.ringtrace = (...a: unknown[]) => {
        w.ringtrace.q = w.ringtrace.q || [];
        w.ringtrace.q.push(a);
      };
      w.ringtrace('lead', { type: 'chat', name: 'Из очереди', id: 'queued-1' });
    });
    const from = server.requests.length;
    await page.goto(`${server.siteUrl}/order`, { waitUntil: 'commit' });
    await page.waitForFunction(() => (window as any).ringtrace?.l === 1);
    await page.evaluate(() => (window as any).ringtrace('lead', { type: 'other', id: 'early-1' }));
    await sleep(300);
    expect(leadsAfter(from)).toHaveLength(0); // no visit id yet
    const visit = await ready(page);
    await expect.poll(() => leadsAfter(from).length).toBe(2);
    expect(leadsAfter(from).map((r) => r.body)).toEqual([
      expect.objectContaining({ visit, type: 'chat', name: 'Из очереди', id: 'queued-1' }),
      expect.objectContaining({ visit, type: 'other', id: 'early-1' }),
    ]);
  });

  it('caused no page errors, console errors or CORS preflights', () => {
    expect(problems).toEqual([]);
    expect(server.requests.filter((r) => r.method === 'OPTIONS')).toHaveLength(0);
  });
});
