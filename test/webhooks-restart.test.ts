import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createAccount, createApiKey } from '../src/accounts/keys.js';
import { buildApp } from '../src/app.js';
import { ManualClock } from '../src/clock.js';
import { loadConfig } from '../src/config.js';
import { type Db, openDb } from '../src/db/db.js';
import { migrate } from '../src/db/migrate.js';
import { webhookSettings } from '../src/webhooks/settings.js';
import { deliverDue, startWorkers } from '../src/webhooks/worker.js';
import { postVisit } from './helpers.js';
import { startReceiver } from './webhook-receiver.js';

/**
 * A receiver that fails while Ringtrace restarts: the process (app, worker and database connection) is
 * closed after a failed attempt and a new one is opened on the same stored database (a PGlite folder, or
 * the same PostgreSQL schema); the event still arrives, with the same id.
 */
describe('webhook delivery across a restart', () => {
  const url = process.env.TEST_DATABASE_URL;
  const dir = mkdtempSync(join(tmpdir(), 'rt-restart-'));
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const open = async (): Promise<Db> => {
    const db = url ? await openDb({ url, schema }) : await openDb({ dataDir: dir });
    await migrate(db);
    return db;
  };
  const config = loadConfig({}, { logLevel: 'silent' });
  const clock = new ManualClock('2026-11-02T09:00:00Z');
  const settings = webhookSettings({}, { retryBaseMs: 60_000, pollMs: 10 });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('delivers the event after the restart', async () => {
    const receiver = await startReceiver(2);
    try {
      let db = await open();
      let app = await buildApp({ config, db, clock });
      const accountId = await createAccount(db, clock, 'Restart');
      const { key } = await createApiKey(db, clock, accountId, 'k');
      const api = (method: 'GET' | 'POST', path: string, payload?: object) =>
        app.inject({ method, url: path, payload, headers: { authorization: `Bearer ${key}` } });
      const site = (await api('POST', '/api/v1/sites', { name: 'S', defaultNumber: '+74951234567' })).json();
      const hook = (
        await api('POST', '/api/v1/webhooks', { url: receiver.url, events: ['lead.created'] })
      ).json();
      const visit = (
        await postVisit(app, { site: site.siteKey, url: 'https://s.example/?utm_source=vk' })
      ).json().visit;
      const lead = await app.inject({
        method: 'POST',
        url: '/t/lead',
        headers: { 'content-type': 'text/plain' },
        payload: JSON.stringify({ visit, type: 'callback', phone: '+79161112233' }),
      });
      expect(lead.statusCode).toBe(201);
      expect((await deliverDue({ db, clock, settings })).map((a) => a.statusCode)).toEqual([500]);

      await app.close();
      await db.close();
      db = await open();
      app = await buildApp({ config, db, clock });
      clock.advanceMinutes(1);
      const workers = startWorkers({ db, clock, settings });
      const waitFor = async (n: number) => {
        for (let i = 0; i < 500 && receiver.received.length < n; i++)
          await new Promise((ok) => setTimeout(ok, 10));
      };
      await waitFor(2); // second attempt fails too
      clock.advanceMinutes(2);
      await waitFor(3);
      await workers.stop();

      expect(receiver.received.map((r) => r.status)).toEqual([500, 500, 200]);
      expect(new Set(receiver.received.map((r) => r.headers['x-ringtrace-delivery'])).size).toBe(1);
      expect(receiver.received[2].json).toMatchObject({
        type: 'lead.created',
        data: { lead: { phone: '+79161112233', source: 'vk' } },
      });
      const log = (await api('GET', `/api/v1/webhooks/${hook.id}/deliveries`)).json();
      expect(log.items[0]).toMatchObject({ status: 'succeeded', attempts: 3 });
      await app.close();
      await db.close();
    } finally {
      await receiver.close();
    }
  });
});
