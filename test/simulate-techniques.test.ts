import { afterEach, describe, expect, it } from 'vitest';
import type { Db } from '../src/db/db.js';
import { runSimulation, type Technique } from '../src/simulate/run.js';
import { testDb } from './helpers.js';
import { at, handTrace } from './sim-trace.js';

// Each technique switched off on a trace where it decides the answer. Sharing is off throughout, so an
// exhausted pool shows the default number and the loss is visible as an unattributed call.
// Each test starts a database and the app: minutes on a loaded 2-core machine, hence the timeouts.
describe('simulator technique switches on hand-made traces', { timeout: 120_000 }, () => {
  let db: Db | undefined;
  afterEach(async () => {
    await db?.close();
    db = undefined;
  });
  const run = async (trace: ReturnType<typeof handTrace>, techniques: Technique[]) => {
    await db?.close();
    db = await testDb();
    return runSimulation({ db, trace, freezeMinutes: 5, pool: 1, policy: 'smart', techniques });
  };

  /** A paid-search crawler at 0–1 min, then a person at 2–4 min who calls at 3; one pool number. */
  const botFirst = () =>
    handTrace(
      [
        [0, 1],
        [2, 4],
      ],
      [[1, 3]],
      { 0: { bot: true } },
    );

  it('bot exclusion on: the crawler gets the default number, the person the pool number', async () => {
    const r = await run(botFirst(), ['lru', 'activity', 'bot-exclusion']);
    expect(r).toMatchObject({ calls: 1, correctInFreeze: 1, exhaustions: 0, unattributed: 0 });
  });

  it('bot exclusion off: the crawler holds the only number, the person sees the default one', async () => {
    const r = await run(botFirst(), ['lru', 'activity']);
    expect(r).toMatchObject({ calls: 1, correctInFreeze: 0, exhaustions: 1, unattributed: 1 });
    expect(r.byMethod).toEqual({ default: { count: 1, correct: 0 } });
  });

  /**
   * V0 reads one page at 0 and stays until 30, calling at 25; V1 comes at 10–11. Heartbeats hold V0's
   * number until 30 + 5. Without them the server last saw V0 at 0, so the number is free at 0 + 1 + 5 = 6
   * and V1 takes it at 10: V0's call at 25 reaches the number's last holder, V1 (a late attribution).
   */
  const longVisit = () =>
    handTrace(
      [
        [0, 30],
        [10, 11],
      ],
      [[0, 25]],
    );

  it('activity on: the open page keeps its number, the call is exact', async () => {
    const r = await run(longVisit(), ['lru', 'activity', 'bot-exclusion']);
    expect(r).toMatchObject({ calls: 1, correctInFreeze: 1, wrong: 0, exhaustions: 1 });
    expect(r.byMethod).toEqual({ dynamic: { count: 1, correct: 1 } });
    // Page loads, V0's keep-alive pings at 5, 10, 15, 20, its ping at the call, the leave beacons, the call.
    expect(r.actions).toBe(2 + 4 + 1 + 2 + 1);
  });

  it('activity off: only page loads and calls are replayed, the number moves on, the call goes wrong', async () => {
    const r = await run(longVisit(), ['lru', 'bot-exclusion']);
    expect(r).toMatchObject({ calls: 1, correctInFreeze: 0, wrong: 1, exhaustions: 0, actions: 3 });
    expect(r.byMethod).toEqual({ late: { count: 1, correct: 0 } });
  });

  /** V0 (0–10 min) never scrolls to the number; V1 (1–3 min) sees it at load and calls at 2; one number. */
  const unseen = () =>
    handTrace(
      [
        [0, 10],
        [1, 3],
      ],
      [[1, 2]],
      { 0: { visibleAt: null } },
    );

  it('lazy on: a visit that never shows the number takes none, so the caller gets it', async () => {
    const r = await run(unseen(), ['lru', 'activity', 'bot-exclusion', 'lazy']);
    expect(r).toMatchObject({ calls: 1, correctInFreeze: 1, exhaustions: 0, unattributed: 0 });
    const leases = await (db as Db).query<{ n: number }>('SELECT count(*)::int AS n FROM leases');
    expect(leases[0].n).toBe(1);
  });

  it('lazy off: the number is leased at page load, the visit that never shows it holds it', async () => {
    const r = await run(unseen(), ['lru', 'activity', 'bot-exclusion']);
    expect(r).toMatchObject({ calls: 1, correctInFreeze: 0, exhaustions: 1, unattributed: 1 });
  });

  it('lazy on: the lease starts when the number comes into view, not at page load', async () => {
    const trace = handTrace([[0, 10]], [[0, 8]], { 0: { visibleAt: at(4) } });
    const r = await run(trace, ['lru', 'activity', 'bot-exclusion', 'lazy']);
    expect(r).toMatchObject({ calls: 1, correctInFreeze: 1 });
    const leases = await (db as Db).query<{ started_at: Date }>('SELECT started_at FROM leases');
    expect(leases.map((l) => l.started_at.getTime())).toEqual([at(4)]);
  });

  it('reports the techniques and the site settings they map to', async () => {
    const r = await run(longVisit(), ['stickiness', 'activity']);
    expect(r.techniques).toEqual(['stickiness', 'activity']);
    expect(r.exhaustionPolicy).toBe('default');
    const [site] = await (db as Db).query<{
      number_selection: string;
      visitor_stickiness: boolean;
      lease_on: string;
    }>('SELECT number_selection, visitor_stickiness, lease_on FROM sites');
    expect(site).toEqual({ number_selection: 'random', visitor_stickiness: true, lease_on: 'load' });
  });
});

describe('concurrent replay', () => {
  it('runs every action at its own instant (stored times are the trace times)', {
    timeout: 120_000,
  }, async () => {
    // Three visits and three calls; a 10-minute window lets all of them overlap on PostgreSQL.
    const trace = handTrace(
      [
        [0, 2],
        [1, 3],
        [4, 6],
      ],
      [
        [1, 5],
        [2, 5.5],
        [0, 6],
      ],
    );
    const db = await testDb();
    try {
      const r = await runSimulation({
        db,
        trace,
        freezeMinutes: 5,
        pool: 3,
        policy: 'smart',
        concurrency: 4,
        windowMs: 10 * 60_000,
      });
      expect(r.concurrency).toBe(db.kind === 'postgres' ? 4 : 1);
      expect(r).toMatchObject({ calls: 3, correctInFreeze: 3, wrong: 0, exhaustions: 0 });
      const visits = await db.query<{ started_at: Date }>(
        'SELECT started_at FROM visits ORDER BY started_at',
      );
      expect(visits.map((v) => v.started_at.getTime())).toEqual([at(0), at(1), at(4)]);
      const left = await db.query<{ left_at: Date }>('SELECT left_at FROM visits ORDER BY started_at');
      expect(left.map((v) => v.left_at.getTime())).toEqual([at(2), at(3), at(6)]);
      const events = await db.query<{ received_at: Date }>(
        'SELECT DISTINCT received_at FROM call_events ORDER BY received_at',
      );
      expect(events.map((e) => e.received_at.getTime())).toEqual([at(5), at(5.5), at(6)]);
    } finally {
      await db.close();
    }
  });
});
