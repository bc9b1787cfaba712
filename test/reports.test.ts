import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount, createApiKey } from '../src/accounts/keys.js';
import {
  callEvents,
  MOSCOW_IP,
  PERM_IP,
  postCallEvents,
  postPing,
  postVisit,
  setupSite,
  type TestEnv,
  testEnv,
} from './helpers.js';

// A hand-built week of one site in Europe/Moscow (UTC+3, no DST). Times below are UTC; the comment
// gives the local time. The report period is 2026-11-09..2026-11-10 local (Mon, Tue); the previous
// period is 2026-11-07..2026-11-08. Several events sit within hours of local midnight so a UTC
// bucketing would put them on other days and hours.
//
// Visits in the period (non-bot):
//   V1 11-08 21:30Z (11-09 00:30) paid_search google/cpc/brand "sofa"  landing /        Moscow  desktop
//   V2 11-09 09:00Z (11-09 12:00) paid_search yandex/cpc/c1 "диван"    landing /sofas   Perm    desktop
//   V7 11-09 14:00Z (11-09 17:00) referral forum.example               landing /sofas   Moscow  desktop
//   V3 11-09 20:40Z (11-09 23:40) paid_search yandex/cpc/c1 "диван"    landing /sofas   Moscow  mobile (then /contacts)
//   V4 11-10 10:00Z (11-10 13:00) direct                                landing /about   Moscow  desktop
//   V6 11-10 12:00Z (11-10 15:00) organic_search google                 landing /catalog Moscow  desktop
//   V8 11-10 16:00Z (11-10 19:00) direct                                landing /        Moscow  desktop
//   plus a bot visit at 11-10 11:00Z (never counted).
// Calls in the period:              caller  wait talk  classes
//   C1 11-08 21:32Z (11-09 00:32) → V1       A     10  120   unique targeted unique_targeted first_targeted
//   C2 11-09 09:01Z (11-09 12:01) → V2       B     20    -   unique missed                (not answered)
//   C3 11-09 09:03Z (11-09 12:03) → V2       B      4   20   repeat
//   C4 11-09 21:05Z (11-10 00:05) → V3       C      6   45   unique targeted unique_targeted first_targeted
//   C5 11-10 10:01Z (11-10 13:01) default nr D      3  200   unique targeted unique_targeted first_targeted
//   C6 11-10 15:00Z (11-10 18:00) static nr  A      7   40   targeted repeat            (rule: avito/classified)
// Previous period: P1 11-07 10:00Z yandex/cpc/c1 visit + call CP1 (F, wait 5, talk 60, unique targeted
// unique_targeted first_targeted); P2 11-08 20:30Z (11-08 23:30) direct visit.
// After the period: V5 11-10 21:30Z (11-11 00:30) paid visit + call C7 at 21:31Z (E).

const BASE = 'https://divany.example';
const GOOGLE = `${BASE}/?utm_source=google&utm_medium=cpc&utm_campaign=brand&utm_term=sofa`;
const YANDEX = `${BASE}/sofas?utm_source=yandex&utm_medium=cpc&utm_campaign=c1&utm_term=%D0%B4%D0%B8%D0%B2%D0%B0%D0%BD`;
const MOBILE_UA =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1';
const BOT_UA = 'Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)';

/** Expected metrics, in the order of the list. */
const M = (
  visits: number | null,
  calls: number,
  unique: number,
  targeted: number,
  uniqueTargeted: number,
  firstTargeted: number,
  repeat: number,
  missed: number,
  answerRate: number | null,
  avgWait: number | null,
  avgTalk: number | null,
  conversion: number | null,
) => ({
  visits,
  calls,
  unique,
  targeted,
  unique_targeted: uniqueTargeted,
  first_targeted: firstTargeted,
  repeat,
  missed,
  answer_rate: answerRate,
  avg_wait_seconds: avgWait,
  avg_talk_seconds: avgTalk,
  visit_to_call_conversion: conversion,
  // Money columns (issue 6): this fixture has no leads, ad costs or deals.
  leads: visits === null ? null : 0,
  impressions: 0 as number | null,
  clicks: 0 as number | null,
  cost: 0 as number | null,
  revenue: 0,
  cost_per_call: calls ? 0 : (null as number | null),
  cost_per_targeted_call: targeted ? 0 : (null as number | null),
  cpl: calls ? 0 : (null as number | null),
  profit: 0 as number | null,
  roi: null,
});
type Metrics = ReturnType<typeof M>;
/** Dimensions and filters ad costs cannot be joined to show null cost columns. */
const noCost = (m: Metrics): Metrics => ({
  ...m,
  impressions: null,
  clicks: null,
  cost: null,
  cost_per_call: null,
  cost_per_targeted_call: null,
  cpl: null,
  profit: null,
});
const row = (key: string | number, m: Metrics) => ({ key, ...m });
const rowN = (key: string | number, m: Metrics) => row(key, noCost(m));
/** A visits-only row: no calls, so every call rate is undefined and conversion is 0. */
const visitsOnly = (visits: number) => M(visits, 0, 0, 0, 0, 0, 0, 0, null, null, null, 0);
const ZERO = M(0, 0, 0, 0, 0, 0, 0, 0, null, null, null, null);

describe('reports API over a hand-computed fixture', () => {
  let env: TestEnv;
  let s: Awaited<ReturnType<typeof setupSite>>;
  let q: (path: string, params?: Record<string, string | number>) => Promise<{ status: number; body: any }>;

  beforeAll(async () => {
    env = await testEnv('2026-11-01T09:00:00Z');
    s = await setupSite(env, { poolSize: 3 });
    const rule = await env.api('POST', `/api/v1/sites/${s.site.id}/static-rules`, {
      name: 'Avito',
      conditions: { utmSource: 'avito' },
      numberId: s.staticNumber.id,
      source: 'avito',
      medium: 'classified',
    });
    expect(rule.statusCode).toBe(201);
    q = async (path, params = {}) => {
      const qs = new URLSearchParams(
        Object.entries({ siteId: s.site.id, ...params }).map(([k, v]) => [k, String(v)]),
      );
      const res = await env.api('GET', `/api/v1/reports/${path}?${qs}`);
      return { status: res.statusCode, body: res.json() };
    };

    const key = s.site.siteKey;
    const visit = async (
      at: string,
      url: string,
      o: { ip?: string; ua?: string; referrer?: string; visit?: string; visitor?: string } = {},
    ) => {
      env.clock.set(at);
      const res = await postVisit(
        env.app,
        { site: key, url, referrer: o.referrer, visit: o.visit, visitor: o.visitor },
        o.ip ?? MOSCOW_IP,
        o.ua,
      );
      expect(res.statusCode).toBe(200);
      return res.json() as { visit: string; visitor: string; number: { e164: string } };
    };
    const ping = async (at: string, visitId: string) => {
      env.clock.set(at);
      expect((await postPing(env.app, { visit: visitId })).json().alive).toBe(true);
    };
    const call = async (
      at: string,
      from: string,
      to: string,
      o: { answered?: boolean; waitSeconds: number; talkSeconds?: number; employee?: string; group?: string },
    ) => {
      const { events } = callEvents({ from, to, at: new Date(at), ...o });
      env.clock.set(new Date(new Date(at).getTime() + 600_000));
      const res = await postCallEvents(env.app, s.integration, events);
      expect(res.statusCode).toBe(200);
      return (await env.api('GET', `/api/v1/calls/${res.json().calls[0]}`)).json();
    };
    const A = '+79160000001';
    const B = '+79160000002';
    const C = '+79160000003';
    const D = '+79160000004';
    const E = '+79160000005';
    const F = '+79160000006';

    // Previous period.
    const p1 = await visit('2026-11-07T10:00:00Z', YANDEX);
    const cp1 = await call('2026-11-07T10:01:00Z', F, p1.number.e164, { waitSeconds: 5, talkSeconds: 60 });
    expect(cp1.visitId).toBe(p1.visit);
    await visit('2026-11-08T20:30:00Z', `${BASE}/`);

    // The period.
    const v1 = await visit('2026-11-08T21:30:00Z', GOOGLE);
    const c1 = await call('2026-11-08T21:32:00Z', A, v1.number.e164, {
      waitSeconds: 10,
      talkSeconds: 120,
      employee: 'Анна',
    });
    expect(c1.visitId).toBe(v1.visit);

    const v2 = await visit('2026-11-09T09:00:00Z', YANDEX, { ip: PERM_IP });
    const c2 = await call('2026-11-09T09:01:00Z', B, v2.number.e164, { answered: false, waitSeconds: 20 });
    const c3 = await call('2026-11-09T09:03:00Z', B, v2.number.e164, {
      waitSeconds: 4,
      talkSeconds: 20,
      employee: 'Борис',
    });
    expect([c2.visitId, c3.visitId]).toEqual([v2.visit, v2.visit]);

    await visit('2026-11-09T14:00:00Z', `${BASE}/sofas`, { referrer: 'https://forum.example/thread/1' });

    const v3 = await visit('2026-11-09T20:40:00Z', YANDEX, { ua: MOBILE_UA });
    await visit('2026-11-09T20:50:00Z', `${BASE}/contacts`, {
      ua: MOBILE_UA,
      visit: v3.visit,
      visitor: v3.visitor,
    });
    await ping('2026-11-09T21:00:00Z', v3.visit);
    await ping('2026-11-09T21:04:00Z', v3.visit);
    const c4 = await call('2026-11-09T21:05:00Z', C, v3.number.e164, {
      waitSeconds: 6,
      talkSeconds: 45,
      employee: 'Анна',
    });
    expect(c4.visitId).toBe(v3.visit);

    await visit('2026-11-10T10:00:00Z', `${BASE}/about`);
    const c5 = await call('2026-11-10T10:01:00Z', D, '+74951234567', {
      waitSeconds: 3,
      talkSeconds: 200,
      employee: 'Борис',
    });
    expect(c5.method).toBe('default');
    await visit('2026-11-10T11:00:00Z', YANDEX, { ua: BOT_UA });
    await visit('2026-11-10T12:00:00Z', `${BASE}/catalog`, { referrer: 'https://www.google.com/' });
    const c6 = await call('2026-11-10T15:00:00Z', A, '+74951110000', {
      waitSeconds: 7,
      talkSeconds: 40,
      employee: 'Анна',
      group: 'Сервис',
    });
    expect(c6.classes).toEqual(['targeted', 'repeat']);
    await visit('2026-11-10T16:00:00Z', `${BASE}/`);

    // After the period.
    const v5 = await visit('2026-11-10T21:30:00Z', YANDEX);
    await call('2026-11-10T21:31:00Z', E, v5.number.e164, { waitSeconds: 5, talkSeconds: 50 });
  });
  afterAll(() => env.close());

  const period = { from: '2026-11-09', to: '2026-11-10' };
  const TOTALS = M(7, 6, 4, 4, 3, 3, 2, 1, 0.8333, 6, 85, 0.8571);
  const PREVIOUS_TOTALS = M(2, 1, 1, 1, 1, 1, 0, 0, 1, 5, 60, 0.5);

  it('reports by channel with totals, static and unattributed calls in their own rows', async () => {
    const { status, body } = await q('channel', period);
    expect(status).toBe(200);
    expect(body).toMatchObject({ dimension: 'channel', timeZone: 'Europe/Moscow', period, total: 6 });
    expect(body.rows).toEqual([
      row('paid_search', M(3, 4, 3, 2, 2, 2, 1, 1, 0.75, 6.7, 61.7, 1.3333)),
      row('(none)', M(0, 1, 1, 1, 1, 1, 0, 0, 1, 3, 200, null)),
      row('static', M(0, 1, 0, 1, 0, 0, 1, 0, 1, 7, 40, null)),
      row('direct', visitsOnly(2)),
      row('organic_search', visitsOnly(1)),
      row('referral', visitsOnly(1)),
    ]);
    expect(body.totals).toEqual(TOTALS);
    expect(body.previousTotals).toBeUndefined();
  });

  it('reports by source: static calls take the rule source, calls without a visit are "(not set)"', async () => {
    const { body } = await q('source', period);
    expect(body.rows).toEqual([
      row('yandex', M(2, 3, 2, 1, 1, 1, 1, 1, 0.6667, 5, 32.5, 1.5)),
      row('(not set)', M(0, 1, 1, 1, 1, 1, 0, 0, 1, 3, 200, null)),
      row('avito', M(0, 1, 0, 1, 0, 0, 1, 0, 1, 7, 40, null)),
      row('google', M(2, 1, 1, 1, 1, 1, 0, 0, 1, 10, 120, 0.5)),
      row('(direct)', visitsOnly(2)),
      row('forum.example', visitsOnly(1)),
    ]);
    expect(body.totals).toEqual(TOTALS);
  });

  it('buckets dates and hours in the site time zone, not UTC', async () => {
    const date = await q('date', period);
    expect(date.body.rows).toEqual([
      row('2026-11-09', M(4, 3, 2, 1, 1, 1, 1, 1, 0.6667, 7, 70, 0.75)),
      row('2026-11-10', M(3, 3, 2, 3, 2, 2, 1, 0, 1, 5.3, 95, 1)),
    ]);
    const dow = await q('day_of_week', period);
    expect(dow.body.rows).toEqual([
      rowN(1, M(4, 3, 2, 1, 1, 1, 1, 1, 0.6667, 7, 70, 0.75)),
      rowN(2, M(3, 3, 2, 3, 2, 2, 1, 0, 1, 5.3, 95, 1)),
    ]);
    const hour = await q('hour_of_day', period);
    expect(hour.body.rows).toEqual([
      rowN(0, M(1, 2, 2, 2, 2, 2, 0, 0, 1, 8, 82.5, 2)),
      rowN(12, M(1, 2, 1, 0, 0, 0, 1, 1, 0.5, 4, 20, 2)),
      rowN(13, M(1, 1, 1, 1, 1, 1, 0, 0, 1, 3, 200, 1)),
      rowN(15, visitsOnly(1)),
      rowN(17, visitsOnly(1)),
      rowN(18, M(0, 1, 0, 1, 0, 0, 1, 0, 1, 7, 40, null)),
      rowN(19, visitsOnly(1)),
      rowN(23, visitsOnly(1)),
    ]);
    expect(hour.body.totals).toEqual(noCost(TOTALS));
    const month = await q('month', period);
    expect(month.body.rows).toEqual([row('2026-11', TOTALS)]);
    const week = await q('week', period);
    expect(week.body.rows).toEqual([row('2026-11-09', TOTALS)]);
  });

  it('reports landing pages and call pages by path', async () => {
    const landing = await q('landing_page', period);
    expect(landing.body.rows).toEqual([
      rowN('/sofas', M(3, 3, 2, 1, 1, 1, 1, 1, 0.6667, 5, 32.5, 1)),
      rowN('(not set)', M(0, 2, 1, 2, 1, 1, 1, 0, 1, 5, 120, null)),
      rowN('/', M(2, 1, 1, 1, 1, 1, 0, 0, 1, 10, 120, 0.5)),
      rowN('/about', visitsOnly(1)),
      rowN('/catalog', visitsOnly(1)),
    ]);
    const callPage = await q('call_page', period);
    expect(callPage.body.rows).toEqual([
      rowN('(not set)', M(null, 2, 1, 2, 1, 1, 1, 0, 1, 5, 120, null)),
      rowN('/sofas', M(null, 2, 1, 0, 0, 0, 1, 1, 0.5, 4, 20, null)),
      rowN('/', M(null, 1, 1, 1, 1, 1, 0, 0, 1, 10, 120, null)),
      rowN('/contacts', M(null, 1, 1, 1, 1, 1, 0, 0, 1, 6, 45, null)),
    ]);
    expect(callPage.body.totals).toEqual({
      ...noCost(TOTALS),
      visits: null,
      leads: null,
      visit_to_call_conversion: null,
    });
  });

  it('reports employees, groups, regions, devices and tracking numbers', async () => {
    const employee = await q('employee', period);
    expect(employee.body.rows).toEqual([
      rowN('Анна', M(null, 3, 2, 3, 2, 2, 1, 0, 1, 7.7, 68.3, null)),
      rowN('Борис', M(null, 2, 1, 1, 1, 1, 1, 0, 1, 3.5, 110, null)),
      rowN('(not set)', M(null, 1, 1, 0, 0, 0, 0, 1, 0, null, null, null)),
    ]);
    const group = await q('group', period);
    expect(group.body.rows).toEqual([
      rowN('Продажи', M(null, 4, 3, 3, 3, 3, 1, 0, 1, 5.8, 96.3, null)),
      rowN('(not set)', M(null, 1, 1, 0, 0, 0, 0, 1, 0, null, null, null)),
      rowN('Сервис', M(null, 1, 0, 1, 0, 0, 1, 0, 1, 7, 40, null)),
    ]);
    const region = await q('region', period);
    expect(region.body.rows).toEqual([
      // Equal call counts: ties are broken by key, "(" sorts before letters.
      rowN('(not set)', M(0, 2, 1, 2, 1, 1, 1, 0, 1, 5, 120, null)),
      rowN('Moscow', M(6, 2, 2, 2, 2, 2, 0, 0, 1, 8, 82.5, 0.3333)),
      rowN('Perm Krai', M(1, 2, 1, 0, 0, 0, 1, 1, 0.5, 4, 20, 2)),
    ]);
    const device = await q('device', { ...period, region: 'Perm Krai' });
    expect(device.body.rows).toEqual([rowN('desktop', M(1, 2, 1, 0, 0, 0, 1, 1, 0.5, 4, 20, 2))]);
    const numbers = await q('tracking_number', period);
    const byKey = Object.fromEntries(numbers.body.rows.map((r: { key: string }) => [r.key, r]));
    expect(byKey['+74951234567']).toEqual(rowN('+74951234567', M(4, 1, 1, 1, 1, 1, 0, 0, 1, 3, 200, 0.25)));
    expect(byKey['+74951110000']).toEqual(rowN('+74951110000', M(0, 1, 0, 1, 0, 0, 1, 0, 1, 7, 40, null)));
    expect(numbers.body.totals).toEqual(noCost(TOTALS));
  });

  it('reports static vs dynamic numbers and talk-time buckets of answered calls', async () => {
    // Pool numbers: V1–V3 and their calls C1–C4; the default number: V4, V6–V8 and C5; static: C6.
    const kinds = await q('number_kind', period);
    expect(kinds.body.rows).toEqual([
      rowN('dynamic', M(3, 4, 3, 2, 2, 2, 1, 1, 0.75, 6.7, 61.7, 1.3333)),
      rowN('(none)', M(4, 1, 1, 1, 1, 1, 0, 0, 1, 3, 200, 0.25)),
      rowN('static', M(0, 1, 0, 1, 0, 0, 1, 0, 1, 7, 40, null)),
    ]);
    expect(kinds.body.totals).toEqual(noCost(TOTALS));

    // C2 unanswered; C3 20 s; C4 45 s and C6 40 s; C1 120 s; C5 200 s. Keys sort in duration order.
    const talk = await q('talk_bucket', { ...period, sort: 'key' });
    expect(talk.body.rows).toEqual([
      rowN('(not set)', M(null, 1, 1, 0, 0, 0, 0, 1, 0, null, null, null)),
      rowN('00:00-00:30', M(null, 1, 0, 0, 0, 0, 1, 0, 1, 4, 20, null)),
      rowN('00:30-01:00', M(null, 2, 1, 2, 1, 1, 1, 0, 1, 6.5, 42.5, null)),
      rowN('01:00-03:00', M(null, 1, 1, 1, 1, 1, 0, 0, 1, 10, 120, null)),
      rowN('03:00-10:00', M(null, 1, 1, 1, 1, 1, 0, 0, 1, 3, 200, null)),
    ]);
    expect(talk.body.totals).toEqual({
      ...noCost(TOTALS),
      visits: null,
      leads: null,
      visit_to_call_conversion: null,
    });
    // Filters apply as to any other dimension.
    const paid = await q('talk_bucket', { ...period, channel: 'paid_search', sort: 'key' });
    expect(paid.body.rows.map((r: { key: string; calls: number }) => [r.key, r.calls])).toEqual([
      ['(not set)', 1],
      ['00:00-00:30', 1],
      ['00:30-01:00', 1],
      ['01:00-03:00', 1],
    ]);
  });

  it('lists the longest calls first with sort=-talkSeconds', async () => {
    const list = async (sort?: string) => {
      const qs = new URLSearchParams({
        siteId: s.site.id,
        from: '2026-11-08T21:00:00Z',
        to: '2026-11-10T21:00:00Z',
        ...(sort ? { sort } : {}),
      });
      const res = await env.api('GET', `/api/v1/calls?${qs}`);
      return { status: res.statusCode, body: res.json() };
    };
    const longest = await list('-talkSeconds');
    expect(longest.body.items.map((c: { talkSeconds: number | null }) => c.talkSeconds)).toEqual([
      200, 120, 45, 40, 20, 0,
    ]);
    const newest = await list();
    expect(newest.body.items.map((c: { startedAt: string }) => c.startedAt)).toEqual([
      '2026-11-10T15:00:00.000Z',
      '2026-11-10T10:01:00.000Z',
      '2026-11-09T21:05:00.000Z',
      '2026-11-09T09:03:00.000Z',
      '2026-11-09T09:01:00.000Z',
      '2026-11-08T21:32:00.000Z',
    ]);
    expect((await list('-startedAt')).body).toEqual(newest.body);
    const bad = await list('talkSeconds');
    expect(bad.status).toBe(400);
    expect(bad.body.message).toContain('querystring.sort');
  });

  it('compares with the previous period of equal length, per row and in totals', async () => {
    const { body } = await q('channel', { ...period, compare: 'previous' });
    expect(body.previousPeriod).toEqual({ from: '2026-11-07', to: '2026-11-08' });
    expect(body.previousTotals).toEqual(PREVIOUS_TOTALS);
    expect(body.totals).toEqual(TOTALS);
    const prev = Object.fromEntries(
      body.rows.map((r: { key: string; previous: Metrics }) => [r.key, r.previous]),
    );
    expect(prev).toEqual({
      paid_search: M(1, 1, 1, 1, 1, 1, 0, 0, 1, 5, 60, 1),
      direct: visitsOnly(1),
      '(none)': ZERO,
      static: ZERO,
      organic_search: ZERO,
      referral: ZERO,
    });
    // Date rows compare with the same position in the previous period (two days earlier).
    const date = await q('date', { ...period, compare: 'previous' });
    expect(date.body.rows.map((r: { key: string; previous: Metrics }) => [r.key, r.previous])).toEqual([
      ['2026-11-09', M(1, 1, 1, 1, 1, 1, 0, 0, 1, 5, 60, 1)],
      ['2026-11-10', visitsOnly(1)],
    ]);
  });

  it('filters by visit fields, by "(none)" and by call class', async () => {
    const yandex = await q('campaign', { ...period, channel: 'paid_search', source: 'yandex' });
    expect(yandex.body.rows).toEqual([row('c1', M(2, 3, 2, 1, 1, 1, 1, 1, 0.6667, 5, 32.5, 1.5))]);
    expect(yandex.body.totals).toEqual(M(2, 3, 2, 1, 1, 1, 1, 1, 0.6667, 5, 32.5, 1.5));
    expect(yandex.body.filters).toEqual({ channel: 'paid_search', source: 'yandex' });

    const mobile = await q('keyword', { ...period, device: 'mobile' });
    expect(mobile.body.rows).toEqual([rowN('диван', M(1, 1, 1, 1, 1, 1, 0, 0, 1, 6, 45, 1))]);

    const unattributed = await q('source', { ...period, channel: '(none)' });
    expect(unattributed.body.rows).toEqual([row('(not set)', M(0, 1, 1, 1, 1, 1, 0, 0, 1, 3, 200, null))]);

    const medium = await q('channel', { ...period, medium: 'classified' });
    expect(medium.body.rows).toEqual([row('static', M(0, 1, 0, 1, 0, 0, 1, 0, 1, 7, 40, null))]);

    const keyword = await q('source', { ...period, keyword: 'sofa' });
    expect(keyword.body.rows).toEqual([row('google', M(1, 1, 1, 1, 1, 1, 0, 0, 1, 10, 120, 1))]);

    // The class filter narrows calls only: visits stay, so conversion reads "visit → targeted call".
    const targeted = await q('channel', { ...period, class: 'targeted' });
    expect(targeted.body.rows).toEqual([
      row('paid_search', M(3, 2, 2, 2, 2, 2, 0, 0, 1, 8, 82.5, 0.6667)),
      row('(none)', M(0, 1, 1, 1, 1, 1, 0, 0, 1, 3, 200, null)),
      row('static', M(0, 1, 0, 1, 0, 0, 1, 0, 1, 7, 40, null)),
      row('direct', visitsOnly(2)),
      row('organic_search', visitsOnly(1)),
      row('referral', visitsOnly(1)),
    ]);
  });

  it('sorts by any metric with nulls last, and pages with the total row count', async () => {
    const keys = async (params: Record<string, string | number>) =>
      (await q('channel', { ...period, ...params })).body.rows.map((r: { key: string }) => r.key);
    expect(await keys({ sort: 'avg_talk_seconds', order: 'desc' })).toEqual([
      '(none)',
      'paid_search',
      'static',
      'direct',
      'organic_search',
      'referral',
    ]);
    expect(await keys({ sort: 'avg_talk_seconds', order: 'asc' })).toEqual([
      'static',
      'paid_search',
      '(none)',
      'direct',
      'organic_search',
      'referral',
    ]);
    expect(await keys({ sort: 'visits' })).toEqual([
      'paid_search',
      'direct',
      'organic_search',
      'referral',
      '(none)',
      'static',
    ]);
    expect(await keys({ sort: 'key', order: 'desc' })).toEqual([
      'static',
      'referral',
      'paid_search',
      'organic_search',
      'direct',
      '(none)',
    ]);
    const page = await q('channel', { ...period, limit: 2, offset: 1 });
    expect(page.body).toMatchObject({ total: 6, limit: 2, offset: 1, sort: 'calls', order: 'desc' });
    expect(page.body.rows.map((r: { key: string }) => r.key)).toEqual(['(none)', 'static']);
    expect(page.body.totals).toEqual(TOTALS);
    const past = await q('channel', { ...period, offset: 10 });
    expect(past.body).toMatchObject({ total: 6, rows: [] });
  });

  it('serves time series with empty buckets in the site time zone', async () => {
    const days = await q('timeseries', { from: '2026-11-05', to: '2026-11-11', metrics: 'calls,visits' });
    expect(days.status).toBe(200);
    expect(days.body.metrics).toEqual(['calls', 'visits']);
    expect(days.body.points).toEqual([
      { bucket: '2026-11-05', calls: 0, visits: 0 },
      { bucket: '2026-11-06', calls: 0, visits: 0 },
      { bucket: '2026-11-07', calls: 1, visits: 1 },
      { bucket: '2026-11-08', calls: 0, visits: 1 },
      { bucket: '2026-11-09', calls: 3, visits: 4 },
      { bucket: '2026-11-10', calls: 3, visits: 3 },
      { bucket: '2026-11-11', calls: 1, visits: 1 },
    ]);
    expect(days.body.totals).toEqual({ calls: 8, visits: 10 });

    const weeks = await q('timeseries', {
      from: '2026-11-01',
      to: '2026-11-30',
      interval: 'week',
      metrics: 'calls,answer_rate',
    });
    expect(weeks.body.points).toEqual([
      { bucket: '2026-10-26', calls: 0, answer_rate: null },
      { bucket: '2026-11-02', calls: 1, answer_rate: 1 },
      { bucket: '2026-11-09', calls: 7, answer_rate: 0.8571 },
      { bucket: '2026-11-16', calls: 0, answer_rate: null },
      { bucket: '2026-11-23', calls: 0, answer_rate: null },
      { bucket: '2026-11-30', calls: 0, answer_rate: null },
    ]);

    const months = await q('timeseries', {
      from: '2026-10-01',
      to: '2026-12-31',
      interval: 'month',
      metrics: 'visits',
      channel: 'paid_search',
    });
    expect(months.body.points).toEqual([
      { bucket: '2026-10', visits: 0 },
      { bucket: '2026-11', visits: 5 },
      { bucket: '2026-12', visits: 0 },
    ]);

    const all = await q('timeseries', { from: '2026-11-10', to: '2026-11-10' });
    expect(all.body.points).toEqual([{ bucket: '2026-11-10', ...M(3, 3, 2, 3, 2, 2, 1, 0, 1, 5.3, 95, 1) }]);
  });

  it('rejects bad input with a 400 naming the field', async () => {
    const bad = async (path: string, params: Record<string, string | number>, field: string) => {
      const { status, body } = await q(path, params);
      expect(status, JSON.stringify(body)).toBe(400);
      expect(body.message).toContain(field);
    };
    await bad('nonsense', period, 'params.dimension');
    await bad('channel', { ...period, sort: 'bogus' }, 'querystring.sort');
    await bad('channel', { ...period, order: 'up' }, 'querystring.order');
    await bad('channel', { ...period, from: '2026-02-30' }, 'querystring.from');
    await bad('channel', { ...period, to: '10.11.2026' }, 'querystring.to');
    await bad('channel', { from: '2026-11-10', to: '2026-11-09' }, 'querystring.to');
    await bad('channel', { from: '2000-01-01', to: '2026-11-09' }, 'querystring.to');
    await bad('channel', { ...period, limit: 0 }, 'querystring.limit');
    await bad('channel', { ...period, channel: 'tv' }, 'querystring.channel');
    await bad('channel', { ...period, class: 'golden' }, 'querystring.class');
    await bad('channel', { ...period, compare: 'last_year' }, 'querystring.compare');
    await bad('channel', { ...period, colour: 'red' }, 'colour');
    await bad('channel', { ...period, siteId: 'not-a-uuid' }, 'querystring.siteId');
    await bad('timeseries', { ...period, interval: 'hour' }, 'querystring.interval');
    await bad('timeseries', { ...period, metrics: 'calls,golden' }, 'querystring.metrics');
    const res = await env.api('GET', `/api/v1/reports/channel?from=${period.from}&to=${period.to}`);
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toContain('querystring.siteId');
  });

  it("answers 404 for another account's site and shows that account only its own data", async () => {
    const otherAccount = await createAccount(env.db, env.clock, 'Other');
    const { key } = await createApiKey(env.db, env.clock, otherAccount, 'other');
    const get = (url: string) =>
      env.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${key}` } });
    const qs = `siteId=${s.site.id}&from=${period.from}&to=${period.to}`;
    for (const path of ['channel', 'timeseries']) {
      const res = await get(`/api/v1/reports/${path}?${qs}`);
      expect(res.statusCode).toBe(404);
      expect(res.json().error).toBe('not_found');
    }
    const own = (
      await get('/api/v1/sites').then(() =>
        env.app.inject({
          method: 'POST',
          url: '/api/v1/sites',
          headers: { authorization: `Bearer ${key}` },
          payload: { name: 'Other site' },
        }),
      )
    ).json();
    const mine = await get(`/api/v1/reports/channel?siteId=${own.id}&from=${period.from}&to=${period.to}`);
    expect(mine.statusCode).toBe(200);
    expect(mine.json()).toMatchObject({ total: 0, rows: [], totals: ZERO });
    const unauth = await env.app.inject({ method: 'GET', url: `/api/v1/reports/channel?${qs}` });
    expect(unauth.statusCode).toBe(401);
  });
});
