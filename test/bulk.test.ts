import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount, createApiKey } from '../src/accounts/keys.js';
import { callEvents, postCallEvents, setupSite, type TestEnv, testEnv } from './helpers.js';

/** The bulk export API: keyset pages over any time range, every row exactly once, per account. */
describe('bulk export API', () => {
  let env: TestEnv;
  let s: Awaited<ReturnType<typeof setupSite>>;
  let otherKey: string;
  let otherSiteId: string;

  const asOther = (url: string) =>
    env.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${otherKey}` } });

  /** `n` visits from `start`, `tie` of them on each timestamp, the timestamps 20 days and 3 µs apart. */
  async function insertVisits(accountId: string, siteId: string, n: number, tie: number) {
    await env.db.query(
      `INSERT INTO visits (account_id, id, site_id, visitor_id, started_at, last_seen_at, channel, source, medium,
                           campaign, landing_url, number_method, page_views)
       SELECT $1, gen_random_uuid(), $2, 'vis-' || g,
              '2025-01-01T00:00:00Z'::timestamptz + (g / $4) * interval '20 days' + (g / $4) * interval '3 microseconds',
              '2025-01-01T00:00:00Z'::timestamptz + (g / $4) * interval '20 days' + interval '5 minutes',
              'paid_search', 'yandex', 'cpc', 'camp-' || (g % 3), 'https://shop.example/?n=' || g, 'pool', g % 7
         FROM generate_series(0, $3 - 1) g`,
      [accountId, siteId, n, tie],
    );
  }

  /** Every page of `url` (which has no cursor yet), following nextCursor to the end. */
  async function pages(url: string, as = env.api) {
    const out: { items: Record<string, unknown>[]; nextCursor: string | null }[] = [];
    let cursor: string | null = null;
    do {
      const sep = url.includes('?') ? '&' : '?';
      const res = await as('GET', cursor ? `${url}${sep}cursor=${cursor}` : url);
      expect(res.statusCode, res.body).toBe(200);
      const page = res.json();
      out.push(page);
      cursor = page.nextCursor;
    } while (cursor);
    return out;
  }

  beforeAll(async () => {
    env = await testEnv('2026-11-02T09:00:00Z');
    s = await setupSite(env);
    const other = await createAccount(env.db, env.clock, 'Other');
    otherKey = (await createApiKey(env.db, env.clock, other, 'k')).key;
    const site = await env.app.inject({
      method: 'POST',
      url: '/api/v1/sites',
      headers: { authorization: `Bearer ${otherKey}` },
      payload: { name: 'Other', defaultNumber: '+7 (812) 123-45-67' },
    });
    expect(site.statusCode, site.body).toBe(201);
    otherSiteId = site.json().id;
    await insertVisits(env.accountId, s.site.id, 2500, 100);
    await insertVisits(other, otherSiteId, 40, 10);
  });
  afterAll(() => env.close());

  it('pages 2,500 visits with equal timestamps over 16 months: each exactly once, in key order', async () => {
    const got = await pages('/api/v1/bulk/visits?limit=1000');
    expect(got.map((p) => p.items.length)).toEqual([1000, 1000, 500]);
    expect(got[2].nextCursor).toBeNull();
    const ids = got.flatMap((p) => p.items.map((v) => v.id as string));
    expect(new Set(ids).size).toBe(2500);
    const expected = await env.db.query<{ id: string }>(
      'SELECT id FROM visits WHERE account_id = $1 ORDER BY started_at, id',
      [env.accountId],
    );
    expect(ids).toEqual(expected.map((r) => r.id));
    const first = got[0].items[0];
    expect(first).toMatchObject({
      siteId: s.site.id,
      channel: 'paid_search',
      source: 'yandex',
      medium: 'cpc',
      startedAt: '2025-01-01T00:00:00.000Z',
    });
    // The page count travels with the visit (g % 7 of its generated row).
    const n = Number(String(first.landingUrl).split('=')[1]);
    expect(first).toMatchObject({ pageViews: n % 7, campaign: `camp-${n % 3}` });
    expect(first).not.toHaveProperty('bulkKeyAt');
  });

  it('defaults to 1000 rows a page and accepts 1..5000', async () => {
    const res = await env.api('GET', '/api/v1/bulk/visits');
    expect(res.json().items).toHaveLength(1000);
    expect((await env.api('GET', '/api/v1/bulk/visits?limit=5000')).json()).toMatchObject({
      nextCursor: null,
    });
    for (const limit of ['0', '5001', 'x']) {
      const bad = await env.api('GET', `/api/v1/bulk/visits?limit=${limit}`);
      expect(bad.statusCode).toBe(400);
      expect(bad.json().message).toContain('limit');
    }
  });

  it('filters any time range and site, small pages crossing ties', async () => {
    // 20-day steps: [100, 300) days holds the timestamps 5..14, 100 visits each.
    const url = '/api/v1/bulk/visits?from=2025-04-11T00:00:00Z&to=2025-10-28T00:00:00Z&limit=333';
    const got = await pages(url);
    expect(got.flatMap((p) => p.items)).toHaveLength(1000);
    expect(got).toHaveLength(4);
    const all = await pages(`/api/v1/bulk/visits?siteId=${s.site.id}&limit=5000`);
    expect(all[0].items).toHaveLength(2500);
  });

  it('rejects a malformed, tampered or foreign cursor with 400 naming cursor', async () => {
    const first = (await env.api('GET', '/api/v1/bulk/visits?limit=10')).json();
    const good: string = first.nextCursor;
    const [tag, at, id] = JSON.parse(Buffer.from(good, 'base64url').toString());
    const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const bad = [
      'garbage!!',
      good.slice(0, -3),
      enc([tag, at, 'x']),
      enc([tag, 'yesterday', id]),
      enc(['forged', at, id]),
    ];
    for (const cursor of bad) {
      const res = await env.api('GET', `/api/v1/bulk/visits?limit=10&cursor=${encodeURIComponent(cursor)}`);
      expect(res.statusCode, cursor).toBe(400);
      expect(res.json().message).toContain('cursor');
    }
    // Bound to its endpoint and filters.
    for (const url of [
      '/api/v1/bulk/calls?',
      '/api/v1/bulk/leads?',
      '/api/v1/bulk/visits?channel=organic_search&',
    ]) {
      const res = await env.api('GET', `${url}cursor=${good}`);
      expect(res.statusCode, url).toBe(400);
      expect(res.json().message).toContain('cursor');
    }
    // The same query with another page size continues.
    const next = await env.api('GET', `/api/v1/bulk/visits?limit=20&cursor=${good}`);
    expect(next.statusCode).toBe(200);
    expect(next.json().items[0].id).not.toBe(first.items[9].id);
  });

  it("never shows another account's rows; a foreign siteId is empty like the list endpoints", async () => {
    const theirs = await pages('/api/v1/bulk/visits?limit=15', (_m, url) => asOther(url));
    const ids = theirs.flatMap((p) => p.items.map((v) => v.siteId));
    expect(ids).toHaveLength(40);
    expect(new Set(ids)).toEqual(new Set([otherSiteId]));
    for (const kind of ['visits', 'calls', 'leads']) {
      const res = await asOther(`/api/v1/bulk/${kind}?siteId=${s.site.id}`);
      expect(res.json()).toEqual({ items: [], nextCursor: null });
      const mine = await env.api('GET', `/api/v1/bulk/${kind}?siteId=${otherSiteId}`);
      expect(mine.json()).toEqual({ items: [], nextCursor: null });
    }
    // Another account's cursor positions nothing of ours: it still only reads the caller's rows.
    const ourCursor = (await env.api('GET', '/api/v1/bulk/visits?limit=1')).json().nextCursor;
    const res = await asOther(`/api/v1/bulk/visits?limit=100&cursor=${ourCursor}`);
    expect(res.statusCode).toBe(200);
    expect(res.json().items.every((v: { siteId: string }) => v.siteId === otherSiteId)).toBe(true);
  });

  it('exports calls in the calls API shape, oldest first, across pages', async () => {
    const at = [
      '2026-10-01T10:00:00Z',
      '2026-10-01T10:00:00Z',
      '2026-10-15T12:00:00Z',
      '2026-11-01T08:30:00Z',
      '2025-02-01T08:30:00Z',
    ];
    for (const [i, t] of at.entries()) {
      const { events } = callEvents({ from: `+7916123456${i}`, to: s.staticNumber.e164, at: new Date(t) });
      const res = await postCallEvents(env.app, s.integration, events);
      expect(res.statusCode, res.body).toBe(200);
    }
    const got = await pages('/api/v1/bulk/calls?limit=2');
    expect(got.map((p) => p.items.length)).toEqual([2, 2, 1]);
    const items = got.flatMap((p) => p.items);
    const starts = items.map((c) => c.startedAt as string);
    expect(starts).toEqual([...starts].sort());
    expect(starts[0]).toBe('2025-02-01T08:30:00.000Z');
    const list = (await env.api('GET', '/api/v1/calls?limit=500')).json().items;
    expect(list).toHaveLength(5);
    for (const call of items) expect(call).toEqual(list.find((c: { id: string }) => c.id === call.id));
    // The calls API filters apply.
    const since = await env.api('GET', '/api/v1/bulk/calls?from=2026-01-01T00:00:00Z&caller=%2B79161234563');
    expect(since.json().items.map((c: { startedAt: string }) => c.startedAt)).toEqual([
      '2026-11-01T08:30:00.000Z',
    ]);
    const bad = await env.api('GET', '/api/v1/bulk/calls?caller=nope');
    expect(bad.statusCode).toBe(400);
  });

  it('exports leads with their visit source, ties on created_at paged by id', async () => {
    await env.db.query(
      `INSERT INTO leads (account_id, id, site_id, visit_id, type, phone, fields, created_at)
       SELECT $1, gen_random_uuid(), v.site_id, v.id, 'form', '+7916555000' || (row_number() OVER (ORDER BY v.id) % 10),
              '{"comment":"перезвоните"}', '2026-06-01T12:00:00Z'
         FROM (SELECT site_id, id FROM visits WHERE account_id = $1 ORDER BY id LIMIT 7) v`,
      [env.accountId],
    );
    const got = await pages('/api/v1/bulk/leads?limit=3');
    expect(got.map((p) => p.items.length)).toEqual([3, 3, 1]);
    const items = got.flatMap((p) => p.items);
    const ids = items.map((l) => l.id as string);
    expect(ids).toEqual([...ids].sort());
    expect(items[0]).toMatchObject({
      type: 'form',
      source: 'yandex',
      medium: 'cpc',
      channel: 'paid_search',
      fields: { comment: 'перезвоните' },
      createdAt: '2026-06-01T12:00:00.000Z',
    });
    expect(items[0].visitStartedAt).toBeTruthy();
    expect((await env.api('GET', '/api/v1/bulk/leads?from=2026-07-01T00:00:00Z')).json().items).toEqual([]);
  });
});
