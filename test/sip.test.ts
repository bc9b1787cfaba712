import { type ChildProcess, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postVisit, setupSite, type TestEnv, testEnv } from './helpers.js';

/**
 * The issue-5 acceptance on real SIP: a SIPp caller dials a visit's tracking number through a real
 * Kamailio (Debian packages kamailio, kamailio-utils-modules, kamailio-extra-modules, sip-tester),
 * Kamailio asks Ringtrace where to route, a SIPp "employee" answers (or is busy, or never answers, or
 * the caller gives up), and the dialog events make the call in Ringtrace. Adapted from reference/siplab/.
 */

const SIP_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'sip');

function findBinary(name: string): string | null {
  for (const dir of [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/usr/local/sbin', '/sbin']) {
    if (dir && existsSync(path.join(dir, name))) return path.join(dir, name);
  }
  return null;
}

/** The modules the config loads from kamailio-utils-modules and kamailio-extra-modules. */
function hasKamailioModules(): boolean {
  const dirs = ['/usr/lib/kamailio/modules', '/usr/local/lib64/kamailio/modules'];
  if (existsSync('/usr/lib')) {
    for (const d of readdirSync('/usr/lib')) dirs.push(`/usr/lib/${d}/kamailio/modules`);
  }
  return dirs.some((d) => existsSync(`${d}/http_client.so`) && existsSync(`${d}/jansson.so`));
}

const KAMAILIO = findBinary('kamailio');
const SIPP = findBinary('sipp');
const missing = [
  ...(KAMAILIO ? [] : ['kamailio']),
  ...(SIPP ? [] : ['sipp (package sip-tester)']),
  ...(KAMAILIO && !hasKamailioModules() ? ['kamailio http_client/jansson modules'] : []),
];
const title = missing.length
  ? `SIP end to end (SKIPPED: ${missing.join(', ')} not installed; apt-get install kamailio kamailio-utils-modules kamailio-extra-modules sip-tester)`
  : 'SIP end to end: SIPp → Kamailio → Ringtrace routing → SIPp employee';

const children = new Set<ChildProcess>();

interface Run {
  code: number | null;
  output: string;
}

/** Starts a child process whose output is kept for the failure message; killed in afterAll at the latest. */
function start(cmd: string, args: string[], cwd: string): { child: ChildProcess; done: Promise<Run> } {
  const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const done = new Promise<Run>((resolve) => {
    child.on('error', (err) => {
      children.delete(child);
      resolve({ code: -1, output: `${output}\n${err.message}` });
    });
    child.on('exit', (code) => {
      children.delete(child);
      resolve({ code, output });
    });
  });
  return { child, done };
}

/** Resolves with the run, or kills the process once `ms` have passed. */
async function finish(p: { child: ChildProcess; done: Promise<Run> }, ms: number): Promise<Run> {
  const timer = setTimeout(() => p.child.kill('SIGKILL'), ms);
  try {
    return await p.done;
  } finally {
    clearTimeout(timer);
  }
}

async function freeUdpPort(taken: Set<number>): Promise<number> {
  for (;;) {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
    const { port } = socket.address();
    await new Promise<void>((resolve) => socket.close(() => resolve()));
    // SIPp also uses the media port + 2 for video; keep a margin between every port handed out.
    if ([...taken].every((t) => Math.abs(t - port) > 3) && port < 65_000) {
      taken.add(port);
      return port;
    }
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Kamailio is up once it answers an OPTIONS over UDP (our config replies 405). */
async function waitForSip(port: number, ms: number): Promise<boolean> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  const local = socket.address().port;
  let answered = false;
  socket.on('message', () => {
    answered = true;
  });
  const deadline = Date.now() + ms;
  for (let i = 0; !answered && Date.now() < deadline; i++) {
    const msg =
      `OPTIONS sip:probe@127.0.0.1:${port} SIP/2.0\r\n` +
      `Via: SIP/2.0/UDP 127.0.0.1:${local};branch=z9hG4bK-probe-${i}\r\n` +
      `From: <sip:probe@127.0.0.1:${local}>;tag=probe${i}\r\nTo: <sip:probe@127.0.0.1:${port}>\r\n` +
      `Call-ID: probe-${i}@127.0.0.1\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n`;
    socket.send(msg, port, '127.0.0.1');
    await sleep(100);
  }
  socket.close();
  return answered;
}

describe.skipIf(missing.length > 0)(title, () => {
  let env: TestEnv;
  let work: string;
  let kamailio: ReturnType<typeof start> | null = null;
  let sipPort: number;
  let uasPort: number;
  const taken = new Set<number>();
  let trackingNumber: string;
  let visitId: string;

  /** A SIPp employee on the flow's target port, with one scenario from test/sip/. */
  async function employee(scenario: string) {
    const mp = await freeUdpPort(taken);
    const uas = start(
      SIPP as string,
      [
        '-sf',
        path.join(SIP_DIR, scenario),
        '-i',
        '127.0.0.1',
        '-p',
        String(uasPort),
        '-mp',
        String(mp),
      ].concat(['-m', '1', '-nostdin', '-timeout', '30', '-trace_err']),
      work,
    );
    // SIPp has no readiness signal; it binds within a few milliseconds.
    await sleep(300);
    return uas;
  }

  /** One SIPp caller dialing the tracking number through Kamailio. */
  async function caller(scenario: string, from: string, extra: string[] = []): Promise<Run> {
    const [p, mp] = [await freeUdpPort(taken), await freeUdpPort(taken)];
    return finish(
      start(
        SIPP as string,
        [
          `127.0.0.1:${sipPort}`,
          '-sf',
          path.join(SIP_DIR, scenario),
          '-s',
          trackingNumber,
          '-key',
          'caller',
          from,
        ]
          .concat(['-i', '127.0.0.1', '-p', String(p), '-mp', String(mp), '-m', '1', '-nostdin'])
          .concat(['-timeout', '20', '-trace_err', ...extra]),
        work,
      ),
      25_000,
    );
  }

  const callOf = async (from: string, terminal = true) => {
    // The dialog events are posted before Kamailio relays the final reply or the BYE; poll briefly anyway.
    for (let i = 0; i < 20; i++) {
      const items = (await env.api('GET', '/api/v1/calls?limit=100')).json().items as Array<
        Record<string, unknown> & { classes: string[] }
      >;
      const call = items.find((c) => c.caller === from);
      if (call && (!terminal || !['ringing', 'answered'].includes(call.status as string))) return call;
      await sleep(100);
    }
    throw new Error(`no ${terminal ? 'finished ' : ''}call from ${from}; kamailio log:\n${kamailioLog()}`);
  };
  let kamailioOutput = '';
  const kamailioLog = () => kamailioOutput.split('\n').slice(-60).join('\n');

  beforeAll(async () => {
    // Kamailio stamps the call with the real time, so the visit's lease must be taken at the real time too.
    env = await testEnv(new Date().toISOString());
    work = mkdtempSync(path.join(tmpdir(), 'ringtrace-sip-'));
    // Calls of 3 s count as targeted on this site.
    const s = await setupSite(env, { site: { targetedThresholdSeconds: 2 } });
    const integration = await env.api('POST', '/api/v1/integrations/kamailio', { name: 'Kamailio' });
    expect(integration.statusCode).toBe(201);
    const { id, token } = integration.json();

    sipPort = await freeUdpPort(taken);
    uasPort = await freeUdpPort(taken);
    const flow = await env.api('POST', `/api/v1/sites/${s.site.id}/flows`, {
      name: 'Продажи',
      isDefault: true,
      flow: {
        start: 'sales',
        nodes: {
          sales: {
            kind: 'ringGroup',
            name: 'Продажи',
            strategy: 'simultaneous',
            targets: [{ kind: 'sip', uri: `sip:employee@127.0.0.1:${uasPort}`, name: 'Анна' }],
            ringTimeoutSec: 5,
            next: 'bye',
          },
          bye: { kind: 'hangup' },
        },
      },
    });
    expect(flow.statusCode, flow.body).toBe(201);

    await env.app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = env.app.server.address() as AddressInfo;
    const cfg = readFileSync(path.join(SIP_DIR, 'kamailio.cfg'), 'utf8')
      .replaceAll('@@LISTEN@@', `127.0.0.1:${sipPort}`)
      .replaceAll('@@RINGTRACE@@', `http://127.0.0.1:${port}/hooks/kamailio/${id}`)
      .replaceAll('@@TOKEN@@', token);
    writeFileSync(path.join(work, 'kamailio.cfg'), cfg);
    kamailio = start(
      KAMAILIO as string,
      ['-f', 'kamailio.cfg', '-DD', '-E', '-Y', work, '-P', path.join(work, 'kamailio.pid'), '-w', work],
      work,
    );
    kamailio.child.stdout?.on('data', (c: Buffer) => {
      kamailioOutput += c.toString('utf8');
    });
    kamailio.child.stderr?.on('data', (c: Buffer) => {
      kamailioOutput += c.toString('utf8');
    });
    if (!(await waitForSip(sipPort, 10_000))) throw new Error(`kamailio did not start:\n${kamailioLog()}`);

    // A paid visit first: its tracking number is what the caller dials.
    const visit = await postVisit(env.app, {
      site: s.site.siteKey,
      url: 'https://divany.example/?gclid=sip-e2e',
    });
    expect(visit.statusCode, visit.body).toBe(200);
    trackingNumber = visit.json().number.e164;
    visitId = visit.json().visit;
    expect(s.pool).toContain(trackingNumber);
  }, 30_000);

  afterAll(async () => {
    for (const child of children) child.kill('SIGTERM');
    const deadline = Date.now() + 3000;
    while (children.size > 0 && Date.now() < deadline) await sleep(50);
    for (const child of children) child.kill('SIGKILL');
    await env?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('routes a call to the visit’s number through the flow, attributes it and records 3 s of talk', async () => {
    const uas = await employee('uas_employee.xml');
    const from = '+79161234567';
    const run = await caller('uac_caller.xml', from, ['-d', '3000']);
    expect(run.code, `${run.output}\n--- kamailio:\n${kamailioLog()}`).toBe(0);
    expect((await finish(uas, 5000)).code).toBe(0);

    const call = await callOf(from);
    expect(call).toMatchObject({
      status: 'completed',
      trackingNumber,
      visitId,
      method: 'dynamic',
      employee: 'Анна',
      groupName: 'Продажи',
      channel: 'paid_search',
    });
    expect(Math.abs((call.talkSeconds as number) - 3)).toBeLessThanOrEqual(1);
    expect(call.waitSeconds as number).toBeLessThanOrEqual(1);
    expect(call.classes).toEqual(expect.arrayContaining(['unique', 'targeted']));
    expect(call.classes).not.toContain('missed');
  }, 20_000);

  it('busy employee (486): a missed call', async () => {
    const uas = await employee('uas_busy.xml');
    const from = '+79161234568';
    const run = await caller('uac_fail.xml', from);
    expect(run.code, `${run.output}\n--- kamailio:\n${kamailioLog()}`).toBe(0);
    await finish(uas, 5000);
    const call = await callOf(from);
    expect(call).toMatchObject({
      status: 'busy',
      visitId,
      method: 'dynamic',
      talkSeconds: 0,
      employee: null,
    });
    expect(call.classes).toContain('missed');
  }, 20_000);

  it('nobody answers within the group’s ring timeout (408): a missed call', async () => {
    const uas = await employee('uas_noanswer.xml');
    const from = '+79161234569';
    const run = await caller('uac_fail.xml', from);
    expect(run.code, `${run.output}\n--- kamailio:\n${kamailioLog()}`).toBe(0);
    await finish(uas, 5000);
    const call = await callOf(from);
    expect(call).toMatchObject({ status: 'missed', visitId, talkSeconds: 0, employee: null });
    // The flow's ringTimeoutSec (5 s) reached Kamailio as the INVITE timeout.
    expect(Math.abs((call.waitSeconds as number) - 5)).toBeLessThanOrEqual(1);
    expect(call.classes).toContain('missed');
  }, 20_000);

  it('the caller hangs up while it rings (CANCEL, 487): a missed call', async () => {
    const uas = await employee('uas_noanswer.xml');
    const from = '+79161234570';
    const run = await caller('uac_cancel.xml', from);
    expect(run.code, `${run.output}\n--- kamailio:\n${kamailioLog()}`).toBe(0);
    await finish(uas, 5000);
    const call = await callOf(from);
    expect(call).toMatchObject({ status: 'missed', visitId, talkSeconds: 0, employee: null });
    expect(Math.abs((call.waitSeconds as number) - 2)).toBeLessThanOrEqual(1);
    expect(call.classes).toContain('missed');
  }, 20_000);
});
