// A page load is the hottest request of the product: a new visit (with its lease of a pool number) and a
// continuing one are each written in one statement without a transaction, unless the visit's day is one
// the report rollup has reached (a clock in the past), which takes the rollup's lock in a transaction.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../src/db/db.js';
import { refreshVisitRollups } from '../src/reports/rollup.js';
import { postVisit, setupSite, type TestEnv, testEnv } from './helpers.js';

const paid = 'https://divany.example/?utm_source=yandex&utm_medium=cpc&utm_campaign=c1';

/** The database with every statement and transaction counted in `n`. */
function counted(db: Db, n: { statements: number; transactions: number }): Db {
  return {
    ...db,
    kind: db.kind,
    query: (sql, params) => {
      n.statements++;
      return db.query(sql, params);
    },
    tx: (fn) => {
      n.transactions++;
      return db.tx((q) =>
        fn({
          query: (sql, params) => {
            n.statements++;
            return q.query(sql, params);
          },
        }),
      );
    },
  };
}

describe('statements of a page load', () => {
  let env: TestEnv;
  const count = { statements: 0, transactions: 0 };
  let siteKey: string;

  beforeAll(async () => {
    env = await testEnv(undefined, undefined, {}, (db) => counted(db, count));
    siteKey = (await setupSite(env, { poolSize: 2 })).site.siteKey;
  });
  afterAll(() => env.close());

  /** The statements and transactions of one page load (the site's lookup included). */
  async function pageLoad(body: Record<string, unknown>) {
    const before = { ...count };
    const res = await postVisit(env.app, { site: siteKey, ...body });
    expect(res.statusCode, res.body).toBe(200);
    return {
      body: res.json(),
      statements: count.statements - before.statements,
      transactions: count.transactions - before.transactions,
    };
  }

  it('a new paid visit: the site with its rules and pools, then one statement leasing a number', async () => {
    const first = await pageLoad({ url: paid, visitor: 'visitor-1' });
    expect(first.body.number).not.toBeNull();
    expect(first).toMatchObject({ statements: 2, transactions: 0 });
    const lease = await env.db.query<{ visit_id: string }>(
      'SELECT visit_id FROM leases WHERE visitor_id = $1',
      ['visitor-1'],
    );
    expect(lease.map((l) => l.visit_id)).toEqual([first.body.visit]);
  });

  it('a new direct visit and a continuing page load', async () => {
    const direct = await pageLoad({ url: 'https://divany.example/', visitor: 'visitor-2' });
    expect(direct).toMatchObject({ statements: 2, transactions: 0 });
    env.clock.advanceMinutes(1);
    const next = await pageLoad({ url: paid, visitor: 'visitor-2', visit: direct.body.visit });
    expect(next.body.visit).toBe(direct.body.visit);
    expect(next).toMatchObject({ statements: 2, transactions: 0 });
  });

  it('a new visit on a day the rollup has reached takes the rollup lock in a transaction', async () => {
    await refreshVisitRollups(env.db, new Date('2026-11-05T12:00:00Z'));
    const late = await pageLoad({ url: paid, visitor: 'visitor-3' });
    expect(late.body.number).not.toBeNull();
    expect(late.transactions).toBe(1);
    const [state] = await env.db.query<{ rolled_to: string }>(
      "SELECT to_char(rolled_to, 'YYYY-MM-DD') AS rolled_to FROM visit_rollup_sites",
    );
    expect(state.rolled_to).toBe('2026-11-02');
  });
});
