import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser } from '../src/users/store.js';
import { launchChromium } from './browser.js';
import { postCallEvents, postVisit, setupSite, type TestEnv, testEnv } from './helpers.js';

/** Issue 5's acceptance: the caller card reaches the operator's browser before the call is answered. */
describe('the operator page in Chromium', () => {
  let env: TestEnv;
  let s: Awaited<ReturnType<typeof setupSite>>;
  let browser: Browser;
  let page: Page;
  let base: string;

  beforeAll(async () => {
    env = await testEnv(new Date().toISOString());
    s = await setupSite(env, { site: { timeZone: 'Europe/Moscow' } });
    await createUser(env.db, env.clock, {
      accountId: env.accountId,
      email: 'operator@example.com',
      password: 'correct horse',
      name: 'Оператор',
    });
    await env.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(env.app.server.address() as AddressInfo).port}`;
    browser = await launchChromium();
    page = await (await browser.newContext({ locale: 'ru-RU' })).newPage();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await env?.close();
  });

  it('pops up the caller card while the phone rings, then shows the answer', async () => {
    await page.goto(`${base}/operator`);
    await page.fill('input[name="email"]', 'operator@example.com');
    await page.fill('input[name="password"]', 'correct horse');
    await page.click('button[type="submit"]');
    await page.waitForSelector('.live[data-live="true"]');

    const visit = (
      await postVisit(env.app, {
        site: s.site.siteKey,
        url: 'https://shop.ru/sofa?utm_source=yandex&utm_medium=cpc&utm_campaign=<b>sofa</b>&utm_term=угловой+диван',
        title: 'Угловые диваны',
      })
    ).json() as { number: { e164: string } };
    env.clock.advance(45_000);
    const at = env.clock.now().toISOString();
    await postCallEvents(env.app, s.integration, {
      id: 'op-1',
      type: 'call.started',
      callId: 'op-call',
      occurredAt: at,
      from: '+79165550101',
      to: visit.number.e164,
    });

    const card = page.locator('.operator-card').first();
    await expect.poll(() => card.getAttribute('data-status')).toBe('ringing');
    const text = await card.innerText();
    expect(text).toContain('+79165550101');
    expect(text).toContain('yandex / cpc');
    expect(text).toContain('<b>sofa</b>'); // shown as text, never as markup
    expect(text).toContain('угловой диван');
    expect(text).toContain('Звонит впервые');
    expect(await card.locator('b').count()).toBe(0);
    // Nothing answered it yet: the card came on ringing alone.
    const [stored] = await env.db.query<{ status: string }>(
      "SELECT status FROM calls WHERE provider_call_id = 'op-call'",
    );
    expect(stored.status).toBe('ringing');

    await postCallEvents(env.app, s.integration, {
      id: 'op-2',
      type: 'call.answered',
      callId: 'op-call',
      occurredAt: at,
      employee: 'Анна',
    });
    await expect.poll(() => card.getAttribute('data-status')).toBe('answered');
    expect(await page.locator('.operator-card').count()).toBe(1);
  });
});
