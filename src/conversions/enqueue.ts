import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { Queryable } from '../db/db.js';
import { enqueueJob } from '../jobs/queue.js';
import {
  type CallFacts,
  callCounts,
  conversionKey,
  leadCounts,
  metrikaBatchDue,
  reachableDestinations,
  type VisitIds,
} from './rules.js';
import { type ConversionRules, configuredRules, type Destination } from './settings.js';

/** Job kinds of conversions out; Metrika's is a batch upload of a counter's conversions. */
export const CONVERSION_JOB = {
  ga4: 'conversion.ga4',
  google_ads: 'conversion.google_ads',
  metrika: 'conversion.metrika',
} as const satisfies Record<Destination, string>;

interface IdsRow {
  ga_client_id: string | null;
  ym_uid: string | null;
  yclid: string | null;
  gclid: string | null;
}
const visitIds = (r: IdsRow): VisitIds => ({
  gaClientId: r.ga_client_id,
  ymUid: r.ym_uid,
  yclid: r.yclid,
  gclid: r.gclid,
});

/**
 * Records the conversions of a call that counts under its site's rules, with the jobs that send them.
 * Call it in the transaction that changed the call (processCall): a call that counts later (classified
 * targeted when it ends), or is processed again (a duplicate provider event), is sent once per destination.
 */
export async function enqueueCallConversions(
  q: Queryable,
  clock: Clock,
  accountId: string,
  siteId: string,
  callId: string,
): Promise<void> {
  const cfg = await configuredRules(q, accountId, siteId);
  if (!cfg?.rules.calls) return;
  const [call] = await q.query<
    IdsRow & {
      status: string;
      answered: boolean;
      is_targeted: boolean;
      is_unique: boolean;
      is_unique_targeted: boolean;
      is_first_targeted: boolean;
    }
  >(
    `SELECT c.status, c.answered_at IS NOT NULL AS answered, c.is_targeted, c.is_unique, c.is_unique_targeted,
            c.is_first_targeted, v.ga_client_id, v.ym_uid, v.yclid, v.gclid
       FROM calls c LEFT JOIN visits v ON v.account_id = c.account_id AND v.id = c.visit_id
      WHERE c.account_id = $1 AND c.id = $2`,
    [accountId, callId],
  );
  if (!call) return;
  const facts: CallFacts = {
    status: call.status,
    answered: call.answered,
    targeted: call.is_targeted,
    unique: call.is_unique,
    uniqueTargeted: call.is_unique_targeted,
    firstTargeted: call.is_first_targeted,
  };
  if (!callCounts(cfg.rules, facts)) return;
  const ids = visitIds(call);
  await addConversions(q, clock, {
    accountId,
    siteId,
    subject: 'call',
    id: callId,
    name: cfg.rules.calls.eventName,
    rules: cfg.rules,
    destinations: reachableDestinations(cfg.destinations, 'call', ids),
    metrikaIdType: ids.ymUid !== null ? 'CLIENT_ID' : 'YCLID',
  });
}

/** Records the conversions of a new lead that counts under its site's rules (in the lead's transaction). */
export async function enqueueLeadConversions(
  q: Queryable,
  clock: Clock,
  accountId: string,
  siteId: string,
  leadId: string,
): Promise<void> {
  const cfg = await configuredRules(q, accountId, siteId);
  if (!cfg?.rules.leads) return;
  const [lead] = await q.query<IdsRow & { type: string }>(
    `SELECT l.type, v.ga_client_id, v.ym_uid, v.yclid, v.gclid
       FROM leads l JOIN visits v ON v.account_id = l.account_id AND v.id = l.visit_id
      WHERE l.account_id = $1 AND l.id = $2`,
    [accountId, leadId],
  );
  if (!lead || !leadCounts(cfg.rules, lead.type)) return;
  await addConversions(q, clock, {
    accountId,
    siteId,
    subject: 'lead',
    id: leadId,
    name: cfg.rules.leads.eventName,
    rules: cfg.rules,
    destinations: reachableDestinations(cfg.destinations, 'lead', visitIds(lead)),
    metrikaIdType: 'CLIENT_ID',
  });
}

type MetrikaIdType = 'CLIENT_ID' | 'YCLID';

export interface MetrikaBatchPayload {
  siteId: string;
  idType: MetrikaIdType;
}

async function addConversions(
  q: Queryable,
  clock: Clock,
  c: {
    accountId: string;
    siteId: string;
    subject: 'call' | 'lead';
    id: string;
    name: string;
    rules: ConversionRules;
    destinations: Destination[];
    metrikaIdType: MetrikaIdType;
  },
): Promise<void> {
  const now = clock.now();
  const due = new Date(now.getTime() + c.rules.delayMinutes * 60_000);
  for (const destination of c.destinations) {
    const key = conversionKey(destination, c.subject, c.id, c.name);
    const exists = await q.query('SELECT 1 FROM conversions WHERE account_id = $1 AND key = $2', [
      c.accountId,
      key,
    ]);
    if (exists.length > 0) continue;
    const conversionId = randomUUID();
    const jobId =
      destination === 'metrika'
        ? await metrikaBatchJob(
            q,
            clock,
            c.accountId,
            { siteId: c.siteId, idType: c.metrikaIdType },
            due,
            key,
          )
        : (
            await enqueueJob(q, clock, {
              accountId: c.accountId,
              kind: CONVERSION_JOB[destination],
              key,
              payload: { conversionId },
              at: due,
            })
          ).id;
    await q.query(
      `INSERT INTO conversions (account_id, id, site_id, destination, key, call_id, lead_id, name, job_id, created_at)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10) ON CONFLICT (account_id, key) DO NOTHING`,
      [
        c.accountId,
        conversionId,
        c.siteId,
        destination,
        key,
        c.subject === 'call' ? c.id : null,
        c.subject === 'lead' ? c.id : null,
        c.name,
        jobId,
        now,
      ],
    );
  }
}

/**
 * The upload job of the site's Metrika batch window the conversion falls in. A batch already claimed by a
 * worker or attempted cannot take more rows (its file is fixed), so the conversion then gets its own upload.
 */
async function metrikaBatchJob(
  q: Queryable,
  clock: Clock,
  accountId: string,
  payload: MetrikaBatchPayload,
  due: Date,
  conversionKeyText: string,
): Promise<string> {
  const at = metrikaBatchDue(due);
  const key = `metrika:${payload.siteId}:${payload.idType}:${at.toISOString()}`;
  const batch = await enqueueJob(q, clock, { accountId, kind: CONVERSION_JOB.metrika, key, payload, at });
  if (batch.created) return batch.id;
  // Row lock: a worker claiming the job at the same moment waits for this transaction, or we see its claim.
  const [job] = await q.query<{ status: string; attempts: number; locked_until: Date | null }>(
    'SELECT status, attempts, locked_until FROM jobs WHERE account_id = $1 AND id = $2 FOR UPDATE',
    [accountId, batch.id],
  );
  const open =
    job.status === 'pending' &&
    job.attempts === 0 &&
    (job.locked_until === null || new Date(job.locked_until) <= clock.now());
  if (open) return batch.id;
  const own = await enqueueJob(q, clock, {
    accountId,
    kind: CONVERSION_JOB.metrika,
    key: `metrika:${conversionKeyText}`,
    payload,
    at: due,
  });
  return own.id;
}
