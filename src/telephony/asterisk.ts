import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { callbackLeadOfAmiCall, callbackLegEvent } from '../callbacks/asterisk-legs.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { Db } from '../db/db.js';
import type { Endpoint } from '../flows/model.js';
import { type StepResult, step } from '../flows/step.js';
import { flowForCall, numberRoute } from '../flows/store.js';
import { type AppContext, createContext } from '../http/context.js';
import { HttpError } from '../http/errors.js';
import { parseOrThrow } from '../http/validate.js';
import { parsePhone } from '../phone/phone.js';
import { AmiClient, type AmiLogger, type Backoff, type Timers } from './asterisk-ami.js';
import { AmiCallTracker, defaultNormalize } from './asterisk-calls.js';
import { type ProviderEvent, recordCallEvent } from './event-log.js';

/**
 * The Asterisk adapter (reference/telephony.md §2): an AMI connection per integration follows the PBX's
 * events into calls (asterisk-ami.ts, asterisk-calls.ts), and `GET /hooks/asterisk/{id}/route`
 * answers the dialplan's `CURL()` with a dial string for the flow's first dial (§2.4).
 */

export type ChannelTech = 'PJSIP' | 'SIP';

/** Caller ids and DIDs as Asterisk shows them (`79161234567` without the plus, too) → E.164. */
export const normalizeAsteriskNumber = defaultNormalize((s) => parsePhone(s));

const DIAL_TOKEN = /^[A-Za-z0-9_.+*#-]{1,80}$/;

/** One dial target in Asterisk's Dial() syntax, or null when the target cannot be dialed from here. */
export function dialTarget(t: Endpoint, tech: ChannelTech, trunk: string | null): string | null {
  if (t.kind === 'sip') {
    // sip:101@pbx.example.com → the PBX's own endpoint (PJSIP) or peer (chan_sip) named 101.
    const user = /^sips?:([^@;]+)@/.exec(t.uri)?.[1];
    return user && DIAL_TOKEN.test(user) ? `${tech}/${user}` : null;
  }
  if (!trunk) return null;
  return tech === 'PJSIP' ? `PJSIP/${t.number}@${trunk}` : `SIP/${trunk}/${t.number}`;
}

/**
 * The dial string for the first dial of one flow step: `PJSIP/101&PJSIP/102,20` (targets rung at once,
 * then the ring timeout). A sequential group's step dials its current member only. Null with a reason
 * when there is nothing to dial; the dialplan then takes its fallback branch.
 */
export function asteriskDialString(
  result: StepResult,
  opts: { tech: ChannelTech; trunk: string | null },
): { dial: string; targets: string[] } | { dial: null; reason: string } {
  const dial = result.instructions.find((i) => i.op === 'dial');
  if (dial?.op !== 'dial') return { dial: null, reason: 'the call flow does not dial anyone' };
  const targets = dial.targets
    .map((t) => dialTarget(t, opts.tech, opts.trunk))
    .filter((t): t is string => t !== null);
  if (targets.length === 0) {
    return {
      dial: null,
      reason: opts.trunk
        ? 'the dial has no target Asterisk can dial'
        : 'the dial has no SIP target (phone targets need the integration’s trunk)',
    };
  }
  return { dial: `${targets.join('&')},${dial.timeoutSec}`, targets };
}

const routeQuery = z.object({
  /** ${CALLERID(num)} */
  caller: z.string().max(200).default(''),
  /** ${EXTEN}: the dialed tracking number. */
  called: z.string().min(1).max(200),
  /** ${UNIQUEID} of the inbound channel; with no linkedid given it is also the call id (its Linkedid). */
  uniqueid: z.string().regex(/^[0-9A-Za-z._-]{1,150}$/),
  linkedid: z
    .string()
    .regex(/^[0-9A-Za-z._-]{1,150}$/)
    .optional(),
  token: z.string().max(200).optional(),
});

interface AsteriskRow {
  account_id: string;
  id: string;
  secret: string;
  channel_tech: ChannelTech;
  trunk: string | null;
}

export function asteriskHookRoutes(app: FastifyInstance, ctx: AppContext): void {
  type Req = FastifyRequest<{ Params: { integrationId: string }; Querystring: Record<string, unknown> }>;

  async function verify(req: Req, token: string | undefined): Promise<AsteriskRow> {
    const { integrationId } = req.params;
    const row = z.uuid().safeParse(integrationId).success
      ? (
          await ctx.db.query<AsteriskRow>(
            `SELECT i.account_id, i.id, i.secret, a.channel_tech, a.trunk
               FROM integrations i
               JOIN asterisk_integrations a ON a.account_id = i.account_id AND a.integration_id = i.id
              WHERE i.id = $1 AND i.kind = 'asterisk'`,
            [integrationId],
          )
        )[0]
      : undefined;
    if (!row) throw new HttpError(404, 'unknown_integration', `integration ${integrationId} not found`);
    const header = req.headers['x-ringtrace-token'];
    const given = Buffer.from((token ?? (typeof header === 'string' ? header : '')).trim());
    const expected = Buffer.from(row.secret);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new HttpError(401, 'bad_token', 'token does not match the integration token');
    }
    return row;
  }

  // The dialplan asks where a new call goes: log and attribute it, answer with a Dial() argument.
  app.get('/hooks/asterisk/:integrationId/route', { schema: { hide: true } }, async (req: Req, reply) => {
    const token = typeof req.query.token === 'string' ? req.query.token : undefined;
    const hook = await verify(req, token);
    const q = parseOrThrow(routeQuery, req.query, 'querystring');
    const now = ctx.clock.now();
    const to = normalizeAsteriskNumber(q.called) ?? q.called;
    const from = q.caller ? (normalizeAsteriskNumber(q.caller) ?? q.caller) : null;
    const plain = (body: string, reason?: string) => {
      // CURL() returns the body whatever the status; an empty body is the dialplan's cue to fall back.
      if (reason) {
        reply.header('x-ringtrace-reason', reason);
        req.log.warn({ integrationId: hook.id, to, reason }, 'asterisk: call not routed');
      }
      return reply.code(200).header('content-type', 'text/plain; charset=utf-8').send(body);
    };
    const route = await numberRoute(ctx.db, hook.account_id, to);
    if (!route?.siteId) return plain('', `${to} is not a tracking number`);
    const ref = { id: hook.id, accountId: hook.account_id };
    const callId = await recordCallEvent(ctx, ref, {
      key: `route:${q.uniqueid}`,
      providerCallId: q.linkedid ?? q.uniqueid,
      type: 'call.started',
      occurredAt: now,
      payload: { from, to, startedAt: now.toISOString(), asterisk: { uniqueid: q.uniqueid, route: true } },
    });
    // Now that the call is attributed, a branch may serve its region.
    const found = await flowForCall(ctx.db, hook.account_id, route, callId);
    if (!found) return plain('', 'the site has no default call flow');
    const flow = found.definition;
    const answer = asteriskDialString(
      step(flow, null, { kind: 'start' }, { now, timeZone: route.timeZone ?? 'UTC' }),
      { tech: hook.channel_tech, trunk: hook.trunk },
    );
    return answer.dial === null ? plain('', answer.reason) : plain(answer.dial);
  });
}

const hostName = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[A-Za-z0-9.:[\]_-]+$/, 'must be a host name or an IP address');

const createBody = z
  .object({
    name: z.string().min(1).max(200),
    host: hostName,
    port: z.number().int().min(1).max(65535).default(5038),
    /** The manager.conf user; it needs `read = call,cdr` (plus `originate` for callbacks later). */
    username: z.string().min(1).max(200),
    /** The manager.conf secret; stored, never returned. */
    secret: z.string().min(1).max(500),
    /** How the dial string names SIP endpoints: PJSIP/101 or SIP/101. */
    channelTech: z.enum(['PJSIP', 'SIP']).default('PJSIP'),
    /** The PJSIP endpoint / chan_sip peer that dials phone-number targets (PJSIP/+7…@trunk). */
    trunk: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,80}$/)
      .optional(),
    /** Follow the PBX over AMI (false: the CURL route only). */
    ami: z.boolean().default(true),
  })
  .strict();

/** The dialplan lines for an integration's route URL (also in the README). */
export function dialplanSnippet(routeUrl: string, token: string): string {
  return [
    '[from-trunk]',
    'exten => _X.,1,Set(CURLOPT(httptimeout)=2)',
    ` same => n,Set(TARGET=\${CURL(${routeUrl}?caller=\${URIENCODE(\${CALLERID(num)})}&called=\${URIENCODE(\${EXTEN})}&uniqueid=\${UNIQUEID}&token=${token})})`,
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Asterisk's ${VAR}, not a template
    ' same => n,GotoIf($["${TARGET}" = ""]?fallback)',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Asterisk's ${VAR}, not a template
    ' same => n,Dial(${TARGET})',
    ' same => n,Hangup()',
    ' same => n(fallback),Dial(PJSIP/100,30)',
  ].join('\n');
}

/** `POST /api/v1/integrations/asterisk`: an Asterisk PBX, its AMI login and the CURL() route token (shown once). */
export function asteriskIntegrationRoutes(app: FastifyInstance, ctx: AppContext): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.post(
    '/api/v1/integrations/asterisk',
    { schema: { tags: ['telephony'], body: createBody } },
    async (req, reply) => {
      const b = req.body;
      const id = randomUUID();
      const token = randomBytes(24).toString('hex');
      await ctx.db.tx(async (q) => {
        await q.query(
          'INSERT INTO integrations (account_id, id, kind, name, secret, created_at) VALUES ($1,$2,$3,$4,$5,$6)',
          [req.accountId, id, 'asterisk', b.name, token, ctx.clock.now()],
        );
        await q.query(
          `INSERT INTO asterisk_integrations (account_id, integration_id, host, port, username, ami_secret,
           channel_tech, trunk, enabled) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)`,
          [req.accountId, id, b.host, b.port, b.username, b.secret, b.channelTech, b.trunk ?? null, b.ami],
        );
      });
      const base = (ctx.config.publicUrl ?? `http://localhost:${ctx.config.port}`).replace(/\/+$/, '');
      const routeUrl = `${base}/hooks/asterisk/${id}/route`;
      reply.code(201);
      return {
        id,
        kind: 'asterisk' as const,
        name: b.name,
        host: b.host,
        port: b.port,
        username: b.username,
        channelTech: b.channelTech,
        trunk: b.trunk ?? null,
        ami: b.ami,
        token,
        routeUrl,
        dialplan: dialplanSnippet(routeUrl, token),
      };
    },
  );
}

export interface AsteriskConnectionDeps {
  config: Config;
  db: Db;
  clock: Clock;
  log?: AmiLogger;
}

export interface AsteriskConnectionOptions {
  backoff?: Partial<Backoff>;
  timers?: Timers;
  /** How often new, changed or removed integrations are picked up (0 = only at start and on sync()). */
  syncIntervalMs?: number;
}

interface Connection {
  client: AmiClient;
  tracker: AmiCallTracker;
  fingerprint: string;
}

interface ConnectionRow {
  account_id: string;
  integration_id: string;
  host: string;
  port: number;
  username: string;
  ami_secret: string;
}

// processCall reads only the database and the clock; the AMI workers run without the HTTP app's GeoIP.
const noGeo = { lookup: () => ({ country: null, region: null, city: null }) };

/**
 * One AMI connection per enabled Asterisk integration, started by `ringtrace start`. Events of calls
 * on our tracking numbers (or already logged through the CURL route) go to the event log; the PBX's
 * other calls are ignored.
 */
export function startAsteriskConnections(deps: AsteriskConnectionDeps, opts: AsteriskConnectionOptions = {}) {
  const ctx = createContext({ config: deps.config, db: deps.db, clock: deps.clock, geo: noGeo });
  const connections = new Map<string, Connection>();
  const startedAt = Date.now();
  let stopped = false;
  let syncing: Promise<void> = Promise.resolve();

  function open(row: ConnectionRow): Connection {
    const ref = { id: row.integration_id, accountId: row.account_id };
    const tracker = new AmiCallTracker({ normalizeNumber: normalizeAsteriskNumber });
    const tracked = new Set<string>();
    /** Callback legs (by Linkedid) that dialed the visitor, i.e. whose employee answered. */
    const dialedCallbacks = new Set<string>();
    let n = 0;

    async function isTracked(e: ProviderEvent): Promise<boolean> {
      if (tracked.has(e.providerCallId)) return true;
      const to = (e.payload as { to?: unknown }).to;
      const rows =
        e.type === 'call.started' && typeof to === 'string'
          ? await ctx.db.query('SELECT 1 FROM numbers WHERE account_id = $1 AND e164 = $2', [
              ref.accountId,
              to,
            ])
          : await ctx.db.query(
              `SELECT 1 FROM call_events WHERE account_id = $1 AND integration_id = $2 AND provider_call_id = $3 LIMIT 1`,
              [ref.accountId, ref.id, e.providerCallId],
            );
      if (rows.length === 0) return false;
      if (tracked.size > 50_000) tracked.clear();
      tracked.add(e.providerCallId);
      return true;
    }

    const client = new AmiClient({
      host: row.host,
      port: row.port,
      username: row.username,
      secret: row.ami_secret,
      backoff: opts.backoff,
      timers: opts.timers,
      log: deps.log,
      onState: (state, detail) => {
        if (state === 'connected')
          deps.log?.info({ integrationId: ref.id, host: row.host }, 'ami: connected');
        if (state === 'login-failed') deps.log?.warn({ integrationId: ref.id, detail }, 'ami: login refused');
      },
      onEvent: async (m, meta) => {
        const events = tracker.handle(m, {
          receivedAt: ctx.clock.now(),
          counter: `${startedAt}.${meta.connection}.${++n}`,
        });
        if (m.Event === 'DialBegin' && callbackLeadOfAmiCall(m.Linkedid ?? m.Uniqueid ?? '')) {
          if (dialedCallbacks.size > 50_000) dialedCallbacks.clear();
          dialedCallbacks.add(m.Linkedid ?? m.Uniqueid);
        }
        for (const e of events) {
          const leadId = callbackLeadOfAmiCall(e.providerCallId);
          if (leadId) {
            const leg = callbackLegEvent(e, leadId, dialedCallbacks.has(e.providerCallId));
            if (leg) await recordCallEvent(ctx, ref, leg);
          } else if (await isTracked(e)) await recordCallEvent(ctx, ref, e);
        }
      },
    });
    client.start();
    return { client, tracker, fingerprint: fingerprint(row) };
  }

  const fingerprint = (r: ConnectionRow) => JSON.stringify([r.host, r.port, r.username, r.ami_secret]);

  async function doSync(): Promise<void> {
    if (stopped) return;
    const rows = await deps.db.query<ConnectionRow>(
      `SELECT a.account_id, a.integration_id, a.host, a.port, a.username, a.ami_secret
         FROM asterisk_integrations a
         JOIN integrations i ON i.account_id = a.account_id AND i.id = a.integration_id
        WHERE a.enabled`,
    );
    const wanted = new Map(rows.map((r) => [r.integration_id, r]));
    for (const [id, c] of connections) {
      const row = wanted.get(id);
      if (!row || fingerprint(row) !== c.fingerprint) {
        connections.delete(id);
        await c.client.stop();
      }
    }
    for (const [id, row] of wanted) {
      if (!stopped && !connections.has(id)) connections.set(id, open(row));
    }
  }

  const sync = () => {
    syncing = syncing.then(doSync).catch((err: unknown) => deps.log?.error({ err }, 'ami: sync failed'));
    return syncing;
  };
  const ready = sync();
  const interval =
    (opts.syncIntervalMs ?? 60_000) > 0
      ? setInterval(() => void sync(), opts.syncIntervalMs ?? 60_000)
      : null;
  interval?.unref();

  return {
    /** Resolves once the first pass has opened the connections. */
    ready,
    sync,
    /** The live connections by integration id (for tests and diagnostics). */
    connections: connections as ReadonlyMap<string, Connection>,
    async stop(): Promise<void> {
      stopped = true;
      if (interval) clearInterval(interval);
      await syncing;
      await Promise.all([...connections.values()].map((c) => c.client.stop()));
      connections.clear();
    },
  };
}
