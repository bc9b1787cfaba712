import { createHmac, generateKeyPairSync, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount, createApiKey } from '../src/accounts/keys.js';
import { postVisit, setupSite, type TestEnv, testEnv } from './helpers.js';

const BASE = 'http://localhost:8080';
const SIGNING_KEY = 'PSK_signalwire_signing_key_0123456789';

type Params = Record<string, string>;
interface CallFixture {
  voice: Params;
  dialAnswered: Params;
  dialNoAnswer: Params;
  dialBusy: Params;
  statusCompleted: Params;
  statusBusy: Params;
}
const fixture = (provider: string): CallFixture =>
  JSON.parse(readFileSync(new URL(`./fixtures/${provider}/call.json`, import.meta.url), 'utf8'));

/** Twilio's algorithm, which SignalWire uses with the Signing Key: HMAC-SHA1 of URL + sorted pairs, base64. */
const hmacSign = (key: string, url: string, params: Params) =>
  createHmac('sha1', key)
    .update(
      Object.keys(params)
        .sort()
        .reduce((acc, k) => acc + k + params[k], url),
    )
    .digest('base64');

// Telnyx signs with its private key; the account gets the public key (raw 32 bytes, base64).
const telnyxKeys = generateKeyPairSync('ed25519');
const otherKeys = generateKeyPairSync('ed25519');
const rawPublicKey = (k: typeof telnyxKeys) =>
  Buffer.from(k.publicKey.export({ format: 'jwk' }).x as string, 'base64url').toString('base64');
const ed25519Sign = (k: typeof telnyxKeys, timestamp: string, body: string) =>
  sign(null, Buffer.from(`${timestamp}|${body}`), k.privateKey).toString('base64');

interface Provider {
  kind: 'signalwire' | 'telnyx';
  connect: Record<string, string>;
  /** The signature headers the provider sends for this request. */
  headers(url: string, params: Params, body: string, now: Date): Record<string, string>;
}

const providers: Provider[] = [
  {
    kind: 'signalwire',
    connect: { name: 'SignalWire', signingKey: SIGNING_KEY },
    headers: (url, params) => ({ 'x-signalwire-signature': hmacSign(SIGNING_KEY, url, params) }),
  },
  {
    kind: 'telnyx',
    connect: { name: 'Telnyx', publicKey: rawPublicKey(telnyxKeys) },
    headers: (_url, _params, body, now) => {
      const timestamp = String(Math.floor(now.getTime() / 1000));
      return {
        'telnyx-timestamp': timestamp,
        'telnyx-signature-ed25519': ed25519Sign(telnyxKeys, timestamp, body),
      };
    },
  },
];

const salesFlow = {
  start: 'sales',
  language: 'ru-RU',
  nodes: {
    sales: {
      kind: 'ringGroup',
      name: 'Продажи',
      strategy: 'simultaneous',
      targets: [{ kind: 'phone', number: '+79161112233', name: 'Анна' }],
      ringTimeoutSec: 20,
      next: 'bye',
    },
    bye: { kind: 'hangup' },
  },
};

describe.each(providers)('$kind TeXML adapter', (provider) => {
  const { kind } = provider;
  const f = fixture(kind);
  let env: TestEnv;
  let s: Awaited<ReturnType<typeof setupSite>>;
  let integrationId: string;

  beforeAll(async () => {
    env = await testEnv('2026-11-02T07:00:00Z');
    s = await setupSite(env, { poolSize: 8 });
    const created = await env.api('POST', `/api/v1/integrations/${kind}`, provider.connect);
    expect(created.statusCode, created.body).toBe(201);
    integrationId = created.json().id;
    expect(created.json()).toMatchObject({
      id: integrationId,
      kind,
      voiceUrl: `${BASE}/hooks/${kind}/${integrationId}/voice`,
      statusCallbackUrl: `${BASE}/hooks/${kind}/${integrationId}/status`,
    });
    expect(JSON.stringify(created.json())).not.toContain(SIGNING_KEY);
    const flow = await env.api('POST', `/api/v1/sites/${s.site.id}/flows`, {
      name: 'Продажи',
      isDefault: true,
      flow: salesFlow,
    });
    expect(flow.statusCode).toBe(201);
  });
  afterAll(() => env.close());

  const hook = (name: string) => `${BASE}/hooks/${kind}/${integrationId}/${name}`;
  const post = (url: string, params: Params, headers?: Record<string, string>) => {
    const body = new URLSearchParams(params).toString();
    return env.app.inject({
      method: 'POST',
      url: url.slice(BASE.length),
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        ...(headers ?? provider.headers(url, params, body, env.clock.now())),
      },
      payload: body,
    });
  };
  const action = (xml: string) => {
    const m = /action="([^"]+)"/.exec(xml);
    if (!m) throw new Error(`no action in ${xml}`);
    return m[1].replaceAll('&amp;', '&');
  };

  /** A visit that leased a free number at 10:00 MSK, then the call's voice request at 10:02. */
  async function startCall(callSid: string) {
    env.clock.set('2026-11-02T07:00:00Z');
    const visit = (
      await postVisit(env.app, {
        site: s.site.siteKey,
        url: 'https://divany.example/?utm_source=google&utm_medium=cpc',
      })
    ).json();
    env.clock.set('2026-11-02T07:02:00Z');
    const call = { ...f.voice, CallSid: callSid, To: visit.number.e164 };
    const voice = await post(hook('voice'), call);
    expect(voice.statusCode, voice.body).toBe(200);
    expect(voice.body).toMatch(/<Number [^>]*>\+79161112233<\/Number>/);
    expect(action(voice.body)).toContain(`/hooks/${kind}/${integrationId}/dial-action?cursor=`);
    return {
      call,
      visitId: visit.visit as string,
      dialUrl: action(voice.body),
      to: visit.number.e164 as string,
    };
  }
  const callOf = async (to: string) =>
    (await env.api('GET', '/api/v1/calls'))
      .json()
      .items.filter((c: { trackingNumber: string }) => c.trackingNumber === to);

  it('routes an answered call with the TwiML renderer and logs its talk time', async () => {
    const { call, visitId, dialUrl, to } = await startCall(`${f.voice.CallSid}-answered`);
    env.clock.set('2026-11-02T07:03:47Z');
    const dial = await post(dialUrl, { ...call, ...f.dialAnswered });
    expect(dial.body).toContain('<Hangup/>');
    expect((await post(hook('status'), { ...call, ...f.statusCompleted })).statusCode).toBe(204);
    expect(await callOf(to)).toMatchObject([
      {
        status: 'completed',
        caller: '+79161234567',
        employee: 'Анна',
        groupName: 'Продажи',
        answeredAt: '2026-11-02T07:02:12.000Z',
        talkSeconds: 95,
        visitId,
      },
    ]);
  });

  it('a call nobody answers is missed; a busy one is busy', async () => {
    const missed = await startCall(`${f.voice.CallSid}-missed`);
    env.clock.set('2026-11-02T07:02:20Z');
    expect((await post(missed.dialUrl, { ...missed.call, ...f.dialNoAnswer })).body).toContain('<Hangup/>');
    await post(hook('status'), { ...missed.call, ...f.statusCompleted, CallDuration: '20' });
    expect(await callOf(missed.to)).toMatchObject([{ status: 'missed', talkSeconds: 0, employee: null }]);

    const busy = await startCall(`${f.voice.CallSid}-busy`);
    env.clock.set('2026-11-02T07:02:05Z');
    await post(busy.dialUrl, { ...busy.call, ...f.dialBusy });
    await post(hook('status'), { ...busy.call, ...f.statusBusy });
    expect(await callOf(busy.to)).toMatchObject([{ status: 'busy', talkSeconds: 0 }]);
  });

  it('a status callback before the dial result, and every request twice, give the same call', async () => {
    const { call, dialUrl, to } = await startCall(`${f.voice.CallSid}-dup`);
    env.clock.set('2026-11-02T07:03:47Z');
    await post(hook('status'), { ...call, ...f.statusCompleted });
    await post(dialUrl, { ...call, ...f.dialAnswered });
    const first = await callOf(to);
    const [events] = await env.db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM call_events WHERE provider_call_id = $1',
      [call.CallSid],
    );
    await post(hook('status'), { ...call, ...f.statusCompleted });
    await post(dialUrl, { ...call, ...f.dialAnswered });
    const [again] = await env.db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM call_events WHERE provider_call_id = $1',
      [call.CallSid],
    );
    expect(again.n).toBe(events.n);
    expect(await callOf(to)).toEqual(first);
    expect(first).toMatchObject([{ status: 'completed', talkSeconds: 95 }]);
  });

  it('refuses a wrong signature and stores nothing', async () => {
    const call = { ...f.voice, CallSid: `${f.voice.CallSid}-forged`, To: s.pool[7] };
    const body = new URLSearchParams(call).toString();
    const now = env.clock.now();
    const right = provider.headers(hook('voice'), call, body, now);
    const forged =
      kind === 'signalwire'
        ? [
            { 'x-signalwire-signature': hmacSign('another-signing-key-0000', hook('voice'), call) },
            // Twilio's own header with Twilio's key is not SignalWire's signature either.
            { 'x-twilio-signature': hmacSign('f3c9a1d2e4b5c6a7b8c9d0e1f2a3b4c5', hook('voice'), call) },
          ]
        : [
            {
              'telnyx-timestamp': right['telnyx-timestamp'],
              'telnyx-signature-ed25519': ed25519Sign(otherKeys, right['telnyx-timestamp'], body),
            },
            // Signed, but replayed ten minutes later.
            (() => {
              const old = String(Math.floor(now.getTime() / 1000) - 600);
              return {
                'telnyx-timestamp': old,
                'telnyx-signature-ed25519': ed25519Sign(telnyxKeys, old, body),
              };
            })(),
            { 'telnyx-timestamp': right['telnyx-timestamp'] },
          ];
    for (const headers of [...forged, {}]) {
      const res = await post(hook('voice'), call, headers);
      expect(res.statusCode).toBe(403);
      expect(res.json().error).toBe('bad_signature');
    }
    // Signed, then a parameter changed in transit.
    expect((await post(hook('voice'), { ...call, To: s.pool[6] }, right)).statusCode).toBe(403);
    const [stored] = await env.db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM call_events WHERE provider_call_id = $1',
      [call.CallSid],
    );
    expect(stored.n).toBe(0);
    // The right signature passes; a Twilio or generic integration id is not this provider's hook.
    expect((await post(hook('voice'), call, right)).statusCode).toBe(200);
    expect((await post(`${BASE}/hooks/${kind}/${s.integration.id}/voice`, call)).statusCode).toBe(404);
  });

  if (kind === 'signalwire') {
    it('accepts X-Twilio-Signature, which SignalWire sends as an alias', async () => {
      const call = { ...f.voice, CallSid: `${f.voice.CallSid}-alias`, To: s.pool[7] };
      const res = await post(hook('voice'), call, {
        'x-twilio-signature': hmacSign(SIGNING_KEY, hook('voice'), call),
      });
      expect(res.statusCode).toBe(200);
      const [row] = await env.db.query<{ secret: string }>('SELECT secret FROM integrations WHERE id = $1', [
        integrationId,
      ]);
      expect(row.secret).not.toContain(SIGNING_KEY);
    });
  } else {
    it('takes only a 32-byte base64 Ed25519 public key', async () => {
      for (const publicKey of ['not-a-key', Buffer.alloc(31).toString('base64')]) {
        const res = await env.api('POST', '/api/v1/integrations/telnyx', { name: 'T', publicKey });
        expect(res.statusCode).toBe(400);
        expect(res.json().message).toMatch(/body\.publicKey/);
      }
    });
  }

  it("another account's integration cannot put calls on this account's numbers", async () => {
    const other = await createAccount(env.db, env.clock, `Other ${kind}`);
    const { key } = await createApiKey(env.db, env.clock, other, 'k');
    const theirs = (
      await env.app.inject({
        method: 'POST',
        url: `/api/v1/integrations/${kind}`,
        headers: { authorization: `Bearer ${key}` },
        payload: provider.connect,
      })
    ).json();
    const url = `${BASE}/hooks/${kind}/${theirs.id}/voice`;
    const ours = (await env.api('GET', '/api/v1/calls')).json();
    const call = { ...f.voice, CallSid: `${f.voice.CallSid}-other`, To: s.pool[5] };
    const res = await post(url, call);
    // Their account has no site on this number: hang up, log an unattributed call for them only.
    expect(res.body).toContain('<Hangup/>');
    expect((await env.api('GET', '/api/v1/calls')).json()).toEqual(ours);
    const list = await env.app.inject({
      method: 'GET',
      url: '/api/v1/calls',
      headers: { authorization: `Bearer ${key}` },
    });
    expect(list.json().items).toMatchObject([{ siteId: null, visitId: null, method: 'none' }]);
  });
});
