import { readFileSync } from 'node:fs';
import type net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { startAsteriskConnections } from '../src/telephony/asterisk.js';
import { FakeAsterisk } from './fake-asterisk.js';
import { postVisit, setupSite, type TestEnv, testEnv } from './helpers.js';

/**
 * Issue 5 acceptance: an AMI event stream in the documented event formats (test/fixtures/ami/, fields as
 * in reference/telephony.md §2.2), replayed over a local TCP socket by a fake Asterisk that speaks the
 * banner and the Login exchange, yields the right calls — including after a refused login and a
 * connection dropped in the middle of a message, with events repeated after the reconnect.
 */

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'ami');

/** A fixture's messages as Asterisk writes them: CRLF lines, a blank line after each message. */
function fixture(name: string, did: string): string[] {
  return readFileSync(path.join(FIXTURES, name), 'utf8')
    .replaceAll('@@DID@@', did)
    .split(/\n[ \t]*\n/)
    .map((m) => m.trim())
    .filter(Boolean)
    .map((m) => `${m.split('\n').join('\r\n')}\r\n\r\n`);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const CHUNKS = [1, 7, 13, 61, 3, 257, 2, 89, 1021, 5];

/** Writes `data` in chunks of odd sizes (cutting lines, CRLFs and UTF-8 characters), pausing between them. */
async function writeChunked(socket: net.Socket, data: string): Promise<void> {
  const bytes = Buffer.from(data, 'utf8');
  for (let i = 0, n = 0; i < bytes.length; n++) {
    const size = CHUNKS[n % CHUNKS.length];
    socket.write(bytes.subarray(i, i + size));
    i += size;
    if (n % 3 === 0) await sleep(1);
  }
}

describe('Asterisk AMI: a recorded event stream over TCP becomes calls', () => {
  let env: TestEnv;
  let trackingNumber: string;
  let visitId: string;
  let fake: FakeAsterisk;
  let integrationId: string;
  let connections: ReturnType<typeof startAsteriskConnections>;
  const did = () => trackingNumber.slice(1); // what the trunk shows in Exten: 74997778800

  beforeAll(async () => {
    env = await testEnv('2026-11-02T09:00:00Z');
    const s = await setupSite(env, { site: { targetedThresholdSeconds: 10 } });
    const visit = await postVisit(env.app, {
      site: s.site.siteKey,
      url: 'https://divany.example/?gclid=ami-e2e',
    });
    expect(visit.statusCode, visit.body).toBe(200);
    trackingNumber = visit.json().number.e164;
    visitId = visit.json().visit;

    const answered = fixture('answered-call.txt', did());
    const busy = fixture('busy-call.txt', did());
    const noAnswer = fixture('no-answer-call.txt', did());
    // Connection 2 drops halfway through the first BridgeEnter, after DialEnd ANSWER went through.
    const cut = answered.findIndex((m) => m.startsWith('Event: BridgeEnter'));
    expect(cut).toBeGreaterThan(0);
    const cdr = answered.findIndex((m) => m.includes('Disposition: ANSWERED'));
    fake = new FakeAsterisk([
      'refuse-login',
      async (socket) => {
        await writeChunked(socket, answered.slice(0, cut).join(''));
        await writeChunked(socket, answered[cut].slice(0, 200));
        await sleep(20);
        socket.destroy();
      },
      async (socket) => {
        // After the reconnect: the message before the drop again, the rest, the answered CDR twice,
        // then a busy call and a call nobody answers.
        const rest = [...answered.slice(cut - 1), answered[cdr], ...busy, ...noAnswer];
        await writeChunked(socket, rest.join(''));
      },
    ]);
    const port = await fake.listen();

    const created = await env.api('POST', '/api/v1/integrations/asterisk', {
      name: 'Офисная АТС',
      host: '127.0.0.1',
      port,
      username: 'ringtrace',
      secret: 'ami-s3cret',
    });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.body).not.toContain('ami-s3cret');
    integrationId = created.json().id;

    connections = startAsteriskConnections(
      { config: loadConfig({}, { logLevel: 'silent' }), db: env.db, clock: env.clock },
      { backoff: { initialMs: 20, maxMs: 200 }, syncIntervalMs: 0 },
    );
    await connections.ready;
  }, 30_000);

  afterAll(async () => {
    await connections?.stop();
    await fake?.close();
    await env?.close();
  });

  const calls = async () =>
    (await env.api('GET', '/api/v1/calls?limit=100')).json().items as Array<
      Record<string, unknown> & { classes: string[] }
    >;

  async function finishedCall(caller: string) {
    for (let i = 0; i < 200; i++) {
      const call = (await calls()).find((c) => c.caller === caller);
      if (call && !['ringing', 'answered'].includes(call.status as string)) {
        // Let the rest of the stream (late CDRs) land before asserting.
        if (fake.connections >= 3 && (await calls()).length >= 3) return call;
      }
      await sleep(25);
    }
    throw new Error(`no finished call from ${caller}; calls: ${JSON.stringify(await calls())}`);
  }

  it('logs in with the integration’s credentials and reconnects after a refused login and a drop', async () => {
    await finishedCall('+79161234569');
    expect(fake.connections).toBe(3);
    expect(fake.logins).toHaveLength(3);
    expect(fake.logins[0]).toMatchObject({
      Action: 'Login',
      Username: 'ringtrace',
      Secret: 'ami-s3cret',
      Events: 'call,cdr',
    });
    // The AMI password is stored but never shown back.
    const list = await env.api('GET', '/api/v1/integrations');
    expect(list.body).not.toContain('ami-s3cret');
    expect(list.json()).toEqual(expect.arrayContaining([expect.objectContaining({ id: integrationId })]));
  }, 20_000);

  it('answered call: completed, attributed to the visit, employee from DialEnd, talk time from the Cdr', async () => {
    const call = await finishedCall('+79161234567');
    expect(call).toMatchObject({
      status: 'completed',
      caller: '+79161234567',
      trackingNumber,
      visitId,
      method: 'dynamic',
      employee: 'PJSIP/101',
      // Cdr: BillableSeconds 40 (the AMI timestamps alone would give 41), Duration 46 − 40 = 6 s of ringing.
      talkSeconds: 40,
      waitSeconds: 6,
      startedAt: '2026-11-02T09:05:00.012Z',
    });
    expect(call.classes).not.toContain('missed');
    // Repeated events after the reconnect were stored once: started, answered, ended, two CDRs.
    const events = await env.db.query<{ type: string; idempotency_key: string }>(
      `SELECT type, idempotency_key FROM call_events WHERE provider_call_id = '1793610300.101' AND type LIKE 'call.%'
        ORDER BY occurred_at`,
    );
    expect(events.map((e) => e.type)).toEqual([
      'call.started',
      'call.answered',
      'call.ended',
      'call.ended',
      'call.ended',
    ]);
    expect(events.map((e) => e.idempotency_key)).toContain(
      'DialEnd:1793610300.101:1793610300.102:1793610305.120000',
    );
    expect(events.map((e) => e.idempotency_key)).toContain(
      'Cdr:1793610300.101:2026-11-02 09:05:00:PJSIP/101-00000002',
    );
    // Both dialed endpoints are legs of the call: 101 answered and talked, 102 lost the race.
    const detail = (await env.api('GET', `/api/v1/calls/${call.id}`)).json();
    expect(detail.legs.map((l: Record<string, unknown>) => [l.legId, l.employee, l.status])).toEqual([
      ['1793610300.102', 'PJSIP/101', 'completed'],
      ['1793610300.103', 'PJSIP/102', 'canceled'],
    ]);
    expect(detail.finishedBy).toBe('PJSIP/101');
  }, 20_000);

  it('busy employee: a busy (missed) call; nobody answers: a missed call', async () => {
    const busy = await finishedCall('+79161234568');
    expect(busy).toMatchObject({ status: 'busy', visitId, talkSeconds: 0, employee: null });
    expect(busy.classes).toContain('missed');
    const noAnswer = await finishedCall('+79161234569');
    expect(noAnswer).toMatchObject({ status: 'missed', visitId, talkSeconds: 0, employee: null });
    expect(noAnswer.classes).toContain('missed');
    expect(await calls()).toHaveLength(3);
  }, 20_000);
});
