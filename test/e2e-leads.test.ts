import type { Server } from 'node:http';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, listenTracker, serveSite } from './browser.js';
import { CHROME_UA, setupSite, type TestEnv, testEnv } from './helpers.js';
import { orderPage } from './widget/fixture-server.js';

/**
 * Leads in a real browser against the real server: a visitor from a Yandex Direct ad submits the
 * order form; the widget sends its name, phone and email (never the password or card fields) and
 * the lead is attributed to the visit's source.
 */
describe('widget form capture → lead attributed to the visit in Chromium', () => {
  let env: TestEnv;
  let s: Awaited<ReturnType<typeof setupSite>>;
  let browser: Browser;
  let siteServer: Server;
  let siteUrl: string;

  beforeAll(async () => {
    env = await testEnv();
    env.clock.set(new Date()); // the browser lives in real time
    s = await setupSite(env, { poolSize: 3 });
    const trackerUrl = await listenTracker(env.app);
    const html = orderPage(`${trackerUrl}/rt.js`, s.site.siteKey);
    ({ url: siteUrl, server: siteServer } = await serveSite((path) =>
      path.startsWith('/order') ? html : '<!doctype html><title>Спасибо</title><p>Спасибо!</p>',
    ));
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    siteServer?.close();
    await env.close();
  });

  it('stores the submitted form as a lead of the paid-search visit', async () => {
    const context = await browser.newContext({ userAgent: CHROME_UA });
    const page = await context.newPage();
    const url = `${siteUrl}/order?utm_source=yandex&utm_medium=cpc&utm_campaign=sofas`;
    await page.goto(url);
    await page.waitForFunction(() => typeof (window as any).ringtrace === 'function');
    await page.evaluate(() => new Promise((resolve) => (window as any).ringtrace('ready', resolve)));
    const visit = await page.evaluate(() => (window as any).ringtrace('visit'));
    await Promise.all([page.waitForURL('**/bye'), page.click('#order-submit')]);

    await expect
      .poll(async () => (await env.api('GET', '/api/v1/leads')).json().total, { timeout: 10_000 })
      .toBe(1);
    const [lead] = (await env.api('GET', '/api/v1/leads')).json().items;
    expect(lead).toMatchObject({
      siteId: s.site.id,
      visitId: visit,
      type: 'form',
      phone: '+79161234567',
      email: 'ivan@example.ru',
      name: 'Иван Петров',
      fields: {},
      url,
      channel: 'paid_search',
      source: 'yandex',
      medium: 'cpc',
      campaign: 'sofas',
    });
    expect(lead.clientId).toMatch(/^[a-z0-9]+$/);
    expect(JSON.stringify(lead)).not.toMatch(/hunter2|4111|secret-hidden/);
    await context.close();
  });
});
