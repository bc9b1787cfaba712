import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount, createApiKey } from '../src/accounts/keys.js';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { webhookSettings } from '../src/webhooks/settings.js';
import { verifyWebhookSignature } from '../src/webhooks/sign.js';
import { deliverDue, startWorkers, type WorkerDeps } from '../src/webhooks/worker.js';
import { postCallEvents, postVisit, setupSite, type TestEnv, testEnv } from './helpers.js';
import { startReceiver } from './webhook-receiver.js';

const MINUTE = 60_000;

/** Outgoing webhooks: events from call changes and leads, signed, retried with backoff, logged, replayable. */
describe('webhooks out', () => {
  let env: TestEnv;
  let s: Awaited<ReturnType<typeof setupSite>>;
  let visit: string;
  let number: string;
  let deps: WorkerDeps;
  const receivers: Awaited<ReturnType<typeof startReceiver>>[] = [];
  const receiver = async (failures = 0) => {
    const r = await startReceiver(failures);
    receivers.push(r);
    return r;
  };
  const subscribe = async (url: string, events: string[]) => {
    const res = await env.api('POST', '/api/v1/webhooks', { url, events });
    expect(res.statusCode, res.body).toBe(201);
    return res.json() as { id: string; secret: string };
  };
  const postLead = (body: Record<string, unknown>) =>
    env.app.inject({
      method: 'POST',
      url: '/t/lead',
      headers: { 'content-type': 'text/plain;charset=UTF-8' },
      payload: JSON.stringify({ visit, type: 'form', ...body }),
    });
  const ev = (callId: string, type: string, sec: number, extra: Record<string, unknown> = {}) => ({
    id: `${callId}:${type}`,
    type,
    callId,
    occurredAt: new Date(env.clock.now().getTime() + sec * 1000).toISOString(),
    ...extra,
  });

  beforeAll(async () => {
    env = await testEnv();
    s = await setupSite(env);
    const v = (
      await postVisit(env.app, { site: s.site.siteKey, url: 'https://a.example/?gclid=abc' })
    ).json();
    visit = v.visit;
    number = v.number.e164;
    deps = {
      db: env.db,
      clock: env.clock,
      settings: webhookSettings({}, { retryBaseMs: MINUTE, maxAttempts: 5, timeoutMs: 5000 }),
    };
  });
  afterAll(async () => {
    for (const r of receivers) await r.close();
    await env.close();
  });

  it('validates subscriptions and shows the secret only once', async () => {
    const bad = await env.api('POST', '/api/v1/webhooks', {
      url: 'ftp://x.example/',
      events: ['call.started'],
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toContain('body.url');
    const badType = await env.api('POST', '/api/v1/webhooks', {
      url: 'https://x.example/',
      events: ['call.nope'],
    });
    expect(badType.statusCode).toBe(400);
    expect(badType.json().message).toContain('body.events');
    const none = await env.api('POST', '/api/v1/webhooks', { url: 'https://x.example/', events: [] });
    expect(none.statusCode).toBe(400);
    const created = await subscribe('https://x.example/hook', ['lead.created']);
    expect(created.secret).toMatch(/^whsec_/);
    const shown = (await env.api('GET', `/api/v1/webhooks/${created.id}`)).json();
    expect(shown.secret).toBeUndefined();
    expect(shown).toMatchObject({ url: 'https://x.example/hook', events: ['lead.created'], active: true });
    const patched = await env.api('PATCH', `/api/v1/webhooks/${created.id}`, { active: false });
    expect(patched.json().active).toBe(false);
    expect((await env.api('DELETE', `/api/v1/webhooks/${created.id}`)).statusCode).toBe(204);
    expect((await env.api('GET', `/api/v1/webhooks/${created.id}`)).statusCode).toBe(404);
  });

  it('emits call.started, call.answered, call.ended in order, and call.updated on reclassification', async () => {
    const r = await receiver();
    const hook = await subscribe(r.url, ['call.started', 'call.answered', 'call.ended', 'call.updated']);
    // One event per request, as a PBX sends them live.
    await postCallEvents(
      env.app,
      s.integration,
      ev('W1', 'call.started', 0, { from: '+79161230001', to: number }),
    );
    await deliverDue(deps);
    await postCallEvents(
      env.app,
      s.integration,
      ev('W1', 'call.answered', 10, { employee: 'Анна', group: 'Продажи' }),
    );
    await deliverDue(deps);
    await postCallEvents(env.app, s.integration, ev('W1', 'call.ended', 100, { status: 'completed' }));
    await deliverDue(deps);
    // A redelivered provider event changes nothing, so nothing is emitted.
    await postCallEvents(env.app, s.integration, ev('W1', 'call.ended', 100, { status: 'completed' }));
    await deliverDue(deps);
    expect(r.received.map((x) => x.json.type)).toEqual(['call.started', 'call.answered', 'call.ended']);
    const [started, answered, ended] = r.received.map((x) => x.json);
    expect(started.data.call).toMatchObject({
      status: 'ringing',
      caller: '+79161230001',
      channel: 'paid_search',
    });
    expect(answered.data.call).toMatchObject({ status: 'answered', employee: 'Анна' });
    expect(ended.data.call).toMatchObject({ status: 'completed', talkSeconds: 90, gclid: 'abc' });
    for (const x of r.received) {
      expect(x.headers['x-ringtrace-event']).toBe(x.json.type);
      expect(x.headers['x-ringtrace-delivery']).toBe(x.json.id);
      const ts = Number(x.headers['x-ringtrace-timestamp']);
      expect(ts).toBe(Math.floor(env.clock.now().getTime() / 1000));
      expect(
        verifyWebhookSignature(hook.secret, x.headers['x-ringtrace-signature'] as string, x.body, ts),
      ).toBe(true);
      expect(verifyWebhookSignature('wrong', x.headers['x-ringtrace-signature'] as string, x.body, ts)).toBe(
        false,
      );
    }

    // A whole call in one batch still gives the three events in order.
    await postCallEvents(env.app, s.integration, [
      ev('W2', 'call.started', 200, { from: '+79161230002', to: number }),
      ev('W2', 'call.answered', 205),
      ev('W2', 'call.ended', 260, { status: 'completed' }),
    ]);
    await deliverDue(deps);
    expect(r.received.slice(3).map((x) => x.json.type)).toEqual([
      'call.started',
      'call.answered',
      'call.ended',
    ]);

    // W1 talked 90 s: targeted at 30 s, not at 120 s → its classes change → call.updated.
    await env.api('PATCH', `/api/v1/sites/${s.site.id}`, { targetedThresholdSeconds: 120 });
    await deliverDue(deps);
    const updated = r.received.slice(6).map((x) => x.json);
    expect(updated.map((x) => x.type)).toEqual(['call.updated', 'call.updated']);
    const w1 = updated.find((x) => (x.data.call as { caller: string }).caller === '+79161230001')?.data
      .call as { classes: string[] } | undefined;
    expect(w1?.classes).toContain('unique');
    expect(w1?.classes).not.toContain('targeted');
    await env.api('PATCH', `/api/v1/sites/${s.site.id}`, { targetedThresholdSeconds: 30 });
    await env.api('DELETE', `/api/v1/webhooks/${hook.id}`);
  });

  it('retries a failing receiver with exponential backoff, the same event id on every attempt', async () => {
    const r = await receiver(3);
    const hook = await subscribe(r.url, ['lead.created']);
    const t0 = env.clock.now().getTime();
    expect((await postLead({ phone: '+79161234567', id: 'retry-1' })).statusCode).toBe(201);
    const at = (ms: number) => new Date(t0 + ms);
    expect((await deliverDue(deps, at(0))).map((a) => a.statusCode)).toEqual([500]);
    expect(await deliverDue(deps, at(MINUTE - 1000))).toEqual([]); // not due before 1 minute
    expect((await deliverDue(deps, at(MINUTE))).map((a) => a.statusCode)).toEqual([500]);
    expect(await deliverDue(deps, at(MINUTE + 2 * MINUTE - 1000))).toEqual([]); // then 2 minutes
    expect((await deliverDue(deps, at(3 * MINUTE))).map((a) => a.statusCode)).toEqual([500]);
    expect(await deliverDue(deps, at(7 * MINUTE - 1000))).toEqual([]); // then 4 minutes
    expect((await deliverDue(deps, at(7 * MINUTE))).map((a) => a.success)).toEqual([true]);
    expect(await deliverDue(deps, at(60 * MINUTE))).toEqual([]);

    expect(r.received).toHaveLength(4);
    const ids = new Set(r.received.map((x) => x.headers['x-ringtrace-delivery']));
    expect(ids.size).toBe(1);
    expect(new Set(r.received.map((x) => x.json.id)).size).toBe(1);
    expect(new Set(r.received.map((x) => JSON.stringify(x.json))).size).toBe(1); // identical payload
    for (const x of r.received) {
      const ts = Number(x.headers['x-ringtrace-timestamp']);
      expect(
        verifyWebhookSignature(hook.secret, x.headers['x-ringtrace-signature'] as string, x.body, ts),
      ).toBe(true);
    }
    expect(r.received.map((x) => Number(x.headers['x-ringtrace-timestamp']) * 1000 - t0)).toEqual([
      0,
      MINUTE,
      3 * MINUTE,
      7 * MINUTE,
    ]);
    expect(r.received[0].json.data.lead).toMatchObject({ phone: '+79161234567', channel: 'paid_search' });

    const log = (await env.api('GET', `/api/v1/webhooks/${hook.id}/deliveries`)).json();
    expect(log.total).toBe(1);
    expect(log.items[0]).toMatchObject({ eventType: 'lead.created', status: 'succeeded', attempts: 4 });
    expect(log.items[0].attemptLog.map((a: { statusCode: number }) => a.statusCode)).toEqual([
      500, 500, 500, 200,
    ]);
    expect(log.items[0].attemptLog[0]).toMatchObject({ attempt: 1, success: false, error: 'HTTP 500' });
    expect(typeof log.items[0].attemptLog[0].durationMs).toBe('number');

    // Manual replay sends the same event again, logged as a manual attempt.
    const replay = await env.api('POST', `/api/v1/webhooks/deliveries/${log.items[0].id}/replay`);
    expect(replay.statusCode, replay.body).toBe(200);
    expect(replay.json()).toMatchObject({ success: true, attempt: 5, status: 'succeeded' });
    expect(r.received).toHaveLength(5);
    expect(r.received[4].json.id).toBe(r.received[0].json.id);
    const after = (await env.api('GET', `/api/v1/webhooks/${hook.id}/deliveries`)).json();
    expect(after.items[0].attemptLog.at(-1)).toMatchObject({ manual: true, statusCode: 200 });
    await env.api('DELETE', `/api/v1/webhooks/${hook.id}`);
  });

  it('disables a subscription only after sustained failure, with a notice', async () => {
    const r = await receiver(1000);
    const hook = await subscribe(r.url, ['lead.created']);
    const d2 = {
      ...deps,
      settings: webhookSettings({}, { retryBaseMs: MINUTE, maxAttempts: 2, disableAfterFailedEvents: 2 }),
    };
    await postLead({ name: 'One' });
    await deliverDue(d2);
    env.clock.advanceMinutes(1);
    await deliverDue(d2); // first event failed all attempts
    expect((await env.api('GET', `/api/v1/webhooks/${hook.id}`)).json().active).toBe(true);
    await postLead({ name: 'Two' });
    await deliverDue(d2);
    env.clock.advanceMinutes(1);
    await deliverDue(d2);
    const disabled = (await env.api('GET', `/api/v1/webhooks/${hook.id}`)).json();
    expect(disabled.active).toBe(false);
    expect(disabled.disabledAt).toBeTruthy();
    expect(disabled.notice).toContain('the last 2 events failed');
    // A disabled subscription gets no new events; re-enabling clears the notice.
    await postLead({ name: 'Three' });
    const log = (await env.api('GET', `/api/v1/webhooks/${hook.id}/deliveries`)).json();
    expect(log.items.map((i: { status: string }) => i.status)).toEqual(['failed', 'failed']);
    const enabled = (await env.api('PATCH', `/api/v1/webhooks/${hook.id}`, { active: true })).json();
    expect(enabled).toMatchObject({ active: true, notice: null, disabledAt: null });
    await env.api('DELETE', `/api/v1/webhooks/${hook.id}`);
  });

  it('keeps subscriptions and deliveries to their account', async () => {
    const r = await receiver();
    const hook = await subscribe(r.url, ['lead.created']);
    await postLead({ name: 'Tenant' });
    await deliverDue(deps);
    const delivery = (await env.api('GET', `/api/v1/webhooks/${hook.id}/deliveries`)).json().items[0];
    const other = await createAccount(env.db, env.clock, 'Other');
    const { key } = await createApiKey(env.db, env.clock, other, 'k');
    const as = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object) =>
      env.app.inject({ method, url, payload, headers: { authorization: `Bearer ${key}` } });
    expect((await as('GET', '/api/v1/webhooks')).json().items).toEqual([]);
    expect((await as('GET', `/api/v1/webhooks/${hook.id}`)).statusCode).toBe(404);
    expect((await as('PATCH', `/api/v1/webhooks/${hook.id}`, { active: false })).statusCode).toBe(404);
    expect((await as('GET', `/api/v1/webhooks/${hook.id}/deliveries`)).statusCode).toBe(404);
    expect((await as('POST', `/api/v1/webhooks/deliveries/${delivery.id}/replay`)).statusCode).toBe(404);
    expect((await as('DELETE', `/api/v1/webhooks/${hook.id}`)).statusCode).toBe(404);
    expect((await env.api('GET', `/api/v1/webhooks/${hook.id}`)).json().active).toBe(true);
    await env.api('DELETE', `/api/v1/webhooks/${hook.id}`);
  });

  it('attempts each delivery once when several workers run at the same time', async () => {
    const r = await receiver();
    const hook = await subscribe(r.url, ['lead.created']);
    for (let i = 0; i < 6; i++) await postLead({ name: `Parallel ${i}` });
    const passes = await Promise.all([deliverDue(deps), deliverDue(deps), deliverDue(deps)]);
    expect(passes.flat()).toHaveLength(6);
    expect(r.received).toHaveLength(6);
    expect(new Set(r.received.map((x) => x.json.id)).size).toBe(6);
    await env.api('DELETE', `/api/v1/webhooks/${hook.id}`);
  });

  // Last: it replaces env.app, which the env.api helper does not follow.
  it('delivers after a restart in the middle of the retries', async () => {
    const r = await receiver(1);
    await subscribe(r.url, ['lead.created']);
    expect((await postLead({ email: 'Restart@Example.com' })).statusCode).toBe(201);
    expect((await deliverDue(deps)).map((a) => a.statusCode)).toEqual([500]);
    await env.app.close();
    // A new process on the same database: its worker loop picks the event up once it is due.
    env.app = await buildApp({
      config: loadConfig({}, { logLevel: 'silent' }),
      db: env.db,
      clock: env.clock,
    });
    env.clock.advanceMinutes(1);
    const workers = startWorkers({ ...deps, settings: { ...deps.settings!, pollMs: 10 } });
    for (let i = 0; i < 300 && r.delivered().length === 0; i++) await new Promise((ok) => setTimeout(ok, 10));
    await workers.stop();
    expect(r.received).toHaveLength(2);
    expect(r.delivered()).toHaveLength(1);
    expect(r.received[1].json.id).toBe(r.received[0].json.id);
    expect(r.received[1].json.data.lead).toMatchObject({ email: 'restart@example.com' });
  });
});
