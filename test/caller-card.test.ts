import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount, createApiKey } from '../src/accounts/keys.js';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { openDb } from '../src/db/db.js';
import { postCallEvents, postVisit, setupSite, type TestEnv, testEnv } from './helpers.js';

/** Reads server-sent events from a streamed response body. */
function sseReader(body: ReadableStream<Uint8Array>) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  return {
    /** The next `event: call` card, or null when none arrives within `ms`. */
    async next(ms = 5000): Promise<Record<string, unknown> | null> {
      const deadline = Date.now() + ms;
      for (;;) {
        const end = buffer.indexOf('\n\n');
        if (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const lines = block.split('\n');
          if (lines.includes('event: call')) {
            const data = lines.find((l) => l.startsWith('data: '));
            return JSON.parse((data ?? 'data: null').slice(6));
          }
          continue;
        }
        const left = deadline - Date.now();
        if (left <= 0) return null;
        const chunk = await Promise.race([
          reader.read(),
          new Promise<null>((resolve) => setTimeout(() => resolve(null), left)),
        ]);
        if (chunk === null) return null;
        if (chunk.done) return null;
        buffer += decoder.decode(chunk.value, { stream: true });
      }
    },
    cancel: () => reader.cancel().catch(() => {}),
  };
}

describe('caller card stream (SSE)', () => {
  let env: TestEnv;
  let otherKey: string;
  let s: Awaited<ReturnType<typeof setupSite>>;
  let base: string;

  beforeAll(async () => {
    env = await testEnv(new Date().toISOString());
    s = await setupSite(env, { site: { timeZone: 'Europe/Moscow' } });
    await env.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(env.app.server.address() as AddressInfo).port}`;
    const otherAccount = await createAccount(env.db, env.clock, 'Another tenant');
    otherKey = (await createApiKey(env.db, env.clock, otherAccount, 'test')).key;
  });
  afterAll(() => env.close());

  const open = async (key: string, query = '') => {
    const res = await fetch(`${base}/api/v1/stream/calls${query}`, {
      headers: { authorization: `Bearer ${key}` },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    return sseReader(res.body as ReadableStream<Uint8Array>);
  };

  it('pushes the card on ringing, before any answer, with the visit’s source and journey', async () => {
    const stream = await open(env.key);
    const visit = (
      await postVisit(env.app, {
        site: s.site.siteKey,
        url: 'https://shop.ru/sofa?utm_source=yandex&utm_medium=cpc&utm_campaign=sofa_sale&utm_term=купить+диван',
        title: 'Диваны',
      })
    ).json() as { visitor: string; visit: string; number: { e164: string } };
    env.clock.advance(60_000);
    await postVisit(env.app, {
      site: s.site.siteKey,
      visitor: visit.visitor,
      visit: visit.visit,
      url: 'https://shop.ru/contacts',
      title: 'Контакты',
    });
    env.clock.advance(30_000);
    const at = env.clock.now().toISOString();
    const started = {
      id: 'card-1',
      type: 'call.started',
      callId: 'card-call',
      occurredAt: at,
      from: '+79161234567',
      to: visit.number.e164,
    };
    expect((await postCallEvents(env.app, s.integration, started)).statusCode).toBeLessThan(300);

    const card = await stream.next();
    expect(card).toMatchObject({
      status: 'ringing',
      caller: '+79161234567',
      source: 'yandex',
      medium: 'cpc',
      campaign: 'sofa_sale',
      keyword: 'купить диван',
      visitId: visit.visit,
      callPageUrl: 'https://shop.ru/contacts',
      previousCalls: [],
    });
    expect(card?.pages).toEqual([
      expect.objectContaining({
        url: 'https://shop.ru/sofa?utm_source=yandex&utm_medium=cpc&utm_campaign=sofa_sale&utm_term=купить+диван',
      }),
      expect.objectContaining({ url: 'https://shop.ru/contacts', title: 'Контакты' }),
    ]);

    // The answer follows as an update of the same call.
    const answered = {
      id: 'card-2',
      type: 'call.answered',
      callId: 'card-call',
      occurredAt: at,
      employee: 'Анна',
    };
    await postCallEvents(env.app, s.integration, answered);
    expect(await stream.next()).toMatchObject({ id: card?.id, status: 'answered', employee: 'Анна' });
    await stream.cancel();
  });

  it('shows a caller’s previous calls, and streams only the viewer’s own account and site', async () => {
    const mine = await open(env.key, `?siteId=${s.site.id}`);
    const theirs = await open(otherKey);
    const at = env.clock.advance(3_600_000).toISOString();
    const started = {
      id: 'card-3',
      type: 'call.started',
      callId: 'card-call-2',
      occurredAt: at,
      from: '+79161234567',
      to: s.pool[1],
    };
    await postCallEvents(env.app, s.integration, started);
    const card = await mine.next();
    expect(card).toMatchObject({ status: 'ringing', caller: '+79161234567' });
    expect(card?.previousCalls).toHaveLength(1);
    expect(await theirs.next(1000)).toBeNull();
    await mine.cancel();
    await theirs.cancel();
  });

  it('refuses without credentials and for another account’s site', async () => {
    expect((await fetch(`${base}/api/v1/stream/calls`)).status).toBe(401);
    const res = await fetch(`${base}/api/v1/stream/calls?siteId=${s.site.id}`, {
      headers: { authorization: `Bearer ${otherKey}` },
    });
    expect(res.status).toBe(404);
  });

  it.runIf(process.env.TEST_DATABASE_URL)(
    'reaches an operator connected to another server process through LISTEN/NOTIFY',
    async () => {
      // A second server on the same database schema: the webhook goes to it, the stream stays on the first.
      const schema = (await env.db.query<{ s: string }>('SELECT current_schema() AS s'))[0].s;
      const db2 = await openDb({ url: process.env.TEST_DATABASE_URL, schema });
      const app2 = await buildApp({
        config: loadConfig({}, { logLevel: 'silent' }),
        db: db2,
        clock: env.clock,
      });
      try {
        const stream = await open(env.key);
        const at = env.clock.advance(60_000).toISOString();
        const started = {
          id: 'card-4',
          type: 'call.started',
          callId: 'card-call-3',
          occurredAt: at,
          from: '+79169999999',
          to: s.pool[2],
        };
        expect((await postCallEvents(app2, s.integration, started)).statusCode).toBeLessThan(300);
        expect(await stream.next()).toMatchObject({ caller: '+79169999999', status: 'ringing' });
        await stream.cancel();
      } finally {
        await app2.close();
        await db2.close();
      }
    },
  );
});
