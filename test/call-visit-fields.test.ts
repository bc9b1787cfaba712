// A call carries the report fields of the visit it is attributed to (migration 025): reports group calls by
// these copies instead of joining visits, so every write of a call must keep them equal to its visit's.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processCall, VISIT_REPORT_FIELDS } from '../src/calls/service.js';
import {
  callAfterVisit,
  callEvents,
  postCallEvents,
  postVisit,
  setupSite,
  type TestEnv,
  testEnv,
} from './helpers.js';

const paid = 'https://divany.example/sofas?utm_source=yandex&utm_medium=cpc&utm_campaign=c1&utm_term=sofa';
const social = 'https://divany.example/beds?utm_source=vk&utm_medium=cpc&utm_campaign=beds_vk';
const fieldList = VISIT_REPORT_FIELDS.join(', ');
const copiesList = VISIT_REPORT_FIELDS.map((f) => `visit_${f} AS ${f}`).join(', ');

describe('calls carry their visit report fields', () => {
  let env: TestEnv;
  let s: Awaited<ReturnType<typeof setupSite>>;

  beforeAll(async () => {
    env = await testEnv('2026-11-02T09:00:00Z', 1);
    s = await setupSite(env, { poolSize: 2 });
  });
  afterAll(() => env.close());

  const callRow = async (providerCallId: string) =>
    (
      await env.db.query<Record<string, unknown>>(
        `SELECT visit_id, ${copiesList} FROM calls WHERE account_id = $1 AND provider_call_id = $2`,
        [env.accountId, providerCallId],
      )
    )[0];
  const visitFields = async (visitId: unknown) =>
    (
      await env.db.query<Record<string, unknown>>(
        `SELECT ${fieldList} FROM visits WHERE account_id = $1 AND id = $2`,
        [env.accountId, visitId],
      )
    )[0];
  const campaignReport = async () => {
    const res = await env.api(
      'GET',
      `/api/v1/reports/campaign?siteId=${s.site.id}&from=2026-11-01&to=2026-11-03`,
    );
    expect(res.statusCode).toBe(200);
    return Object.fromEntries(res.json().rows.map((r: { key: string; calls: number }) => [r.key, r.calls]));
  };

  let providerCallId: string;

  it('copies the attributed visit fields when the call is written', async () => {
    const { callId } = await callAfterVisit(env, s, {
      url: paid,
      from: '+79161234567',
      at: '2026-11-02T10:00:00Z',
    });
    const [row] = await env.db.query<{ provider_call_id: string }>(
      'SELECT provider_call_id FROM calls WHERE account_id = $1 AND id = $2',
      [env.accountId, callId],
    );
    providerCallId = row.provider_call_id;
    const call = await callRow(providerCallId);
    expect(call.visit_id).not.toBeNull();
    const { visit_id: _, ...copies } = call;
    expect(copies).toEqual(await visitFields(call.visit_id));
    expect(copies).toMatchObject({
      channel: 'paid_search',
      source: 'yandex',
      campaign: 'c1',
      keyword: 'sofa',
      landing_url: paid,
    });
    expect(await campaignReport()).toMatchObject({ c1: 1 });
  });

  it('replaces them when the call is attributed to another visit', async () => {
    // Another visit takes over the lease the call was attributed by (as a corrected lease history would);
    // the next write of the call attributes it again and must carry the new visit's fields.
    env.clock.set('2026-11-02T10:30:00Z');
    const other = (await postVisit(env.app, { site: s.site.siteKey, url: social })).json();
    const before = await callRow(providerCallId);
    await env.db.query('UPDATE leases SET visit_id = $3 WHERE account_id = $1 AND visit_id = $2', [
      env.accountId,
      before.visit_id,
      other.visit,
    ]);
    await processCall(env, env.accountId, s.integration.id, providerCallId);
    const after = await callRow(providerCallId);
    expect(after.visit_id).toBe(other.visit);
    const { visit_id: _, ...copies } = after;
    expect(copies).toEqual(await visitFields(other.visit));
    expect(copies).toMatchObject({
      channel: 'paid_social',
      source: 'vk',
      campaign: 'beds_vk',
      keyword: null,
    });
    const report = await campaignReport();
    expect(report.beds_vk).toBe(1);
    expect(report.c1).toBe(0); // its visit still counts there, the call no longer
  });

  it('leaves them null for a call without a visit', async () => {
    const { callId, events } = callEvents({
      from: '+79169990000',
      to: s.staticNumber.e164,
      at: new Date('2026-11-02T11:00:00Z'),
    });
    env.clock.set('2026-11-02T11:05:00Z');
    expect((await postCallEvents(env.app, s.integration, events)).statusCode).toBe(200);
    const call = await callRow(callId);
    expect(call.visit_id).toBeNull();
    for (const f of VISIT_REPORT_FIELDS) expect(call[f], f).toBeNull();
  });
});
