import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccount } from '../src/accounts/keys.js';
import { ManualClock } from '../src/clock.js';
import type { Db } from '../src/db/db.js';
import {
  enqueueJob,
  JobFailure,
  type JobKinds,
  jobViews,
  retryJobNow,
  runDueJobs,
} from '../src/jobs/queue.js';
import { testDb } from './helpers.js';

let db: Db;
let accountId: string;
let otherAccount: string;
const clock = new ManualClock('2026-11-02T09:00:00Z');

beforeAll(async () => {
  db = await testDb();
  accountId = await createAccount(db, clock, 'A');
  otherAccount = await createAccount(db, clock, 'B');
});
afterAll(() => db.close());

/** A kind whose outcome per attempt is scripted; records every payload it ran. */
function scripted(outcomes: Array<'ok' | Error>) {
  const runs: Array<{ key: string; attempt: number; payload: unknown }> = [];
  const kind = {
    retryBaseMs: 60_000,
    maxAttempts: 4,
    async run(job: { key: string; attempt: number; payload: unknown }) {
      runs.push({ key: job.key, attempt: job.attempt, payload: job.payload });
      const outcome = outcomes[Math.min(job.attempt - 1, outcomes.length - 1)];
      if (outcome instanceof Error) throw outcome;
      return { status: 200 };
    },
  };
  return { kind, runs };
}

describe('job queue', () => {
  it('enqueues once per key and runs the job with its payload', async () => {
    const { kind, runs } = scripted(['ok']);
    const kinds: JobKinds = { 'test.once': kind };
    const first = await enqueueJob(db, clock, { accountId, kind: 'test.once', key: 'k1', payload: { n: 1 } });
    const again = await enqueueJob(db, clock, { accountId, kind: 'test.once', key: 'k1', payload: { n: 2 } });
    expect(again).toEqual({ id: first.id, created: false });
    expect(first.created).toBe(true);
    // The same key in another account is another job.
    const other = await enqueueJob(db, clock, {
      accountId: otherAccount,
      kind: 'test.once',
      key: 'k1',
      payload: {},
    });
    expect(other.created).toBe(true);

    const results = await runDueJobs({ db, clock, kinds });
    expect(results.map((r) => r.status)).toEqual(['succeeded', 'succeeded']);
    expect(runs.find((r) => r.key === 'k1' && (r.payload as { n?: number }).n === 1)).toBeTruthy();
    expect(await runDueJobs({ db, clock, kinds })).toEqual([]);

    const [view] = await jobViews(db, accountId, [first.id]);
    expect(view).toMatchObject({
      status: 'succeeded',
      attempts: 1,
      result: { status: 200 },
      nextAttemptAt: null,
    });
    expect(view.attemptLog).toHaveLength(1);
    expect(await jobViews(db, otherAccount, [first.id])).toEqual([]);
  });

  it('retries with doubling delays on the injected clock, then gives up', async () => {
    const { kind, runs } = scripted([new Error('HTTP 503')]);
    const kinds: JobKinds = { 'test.flaky': kind };
    const { id } = await enqueueJob(db, clock, {
      accountId,
      kind: 'test.flaky',
      key: 'f',
      payload: {},
      maxAttempts: 4,
    });
    const start = clock.now().getTime();
    const dueTimes: number[] = [];
    for (let i = 0; i < 4; i++) {
      const [r] = await runDueJobs({ db, clock, kinds });
      expect(r.attempt).toBe(i + 1);
      if (r.nextAttemptAt) {
        dueTimes.push(r.nextAttemptAt.getTime() - clock.now().getTime());
        // Not due a millisecond early.
        clock.set(new Date(r.nextAttemptAt.getTime() - 1));
        expect(await runDueJobs({ db, clock, kinds })).toEqual([]);
        clock.set(r.nextAttemptAt);
      } else expect(r.status).toBe('failed');
    }
    expect(dueTimes).toEqual([60_000, 120_000, 240_000]);
    expect(runs).toHaveLength(4);
    const [view] = await jobViews(db, accountId, [id]);
    expect(view).toMatchObject({ status: 'failed', attempts: 4, lastError: 'HTTP 503' });
    expect(view.attemptLog.map((a) => a.success)).toEqual([false, false, false, false]);
    expect(clock.now().getTime() - start).toBe(420_000);
  });

  it('fails at once on a permanent error and honours a retry-after', async () => {
    const permanent = scripted([
      new JobFailure('HTTP 400: bad field', { retry: false, detail: { status: 400 } }),
    ]);
    const throttled = scripted([new JobFailure('HTTP 429', { retryAfterMs: 3_600_000 }), 'ok']);
    const kinds: JobKinds = { 'test.permanent': permanent.kind, 'test.throttled': throttled.kind };
    const p = await enqueueJob(db, clock, { accountId, kind: 'test.permanent', key: 'p', payload: {} });
    await enqueueJob(db, clock, { accountId, kind: 'test.throttled', key: 't', payload: {} });
    const results = await runDueJobs({ db, clock, kinds });
    const byKind = Object.fromEntries(results.map((r) => [r.kind, r]));
    expect(byKind['test.permanent'].status).toBe('failed');
    expect(byKind['test.throttled'].nextAttemptAt?.getTime()).toBe(clock.now().getTime() + 3_600_000);
    const [view] = await jobViews(db, accountId, [p.id]);
    expect(view.attemptLog[0].detail).toEqual({ status: 400 });

    // A manual retry of the failed job gets one more attempt; it now succeeds.
    permanent.kind.run = async () => ({ status: 200 });
    const manual = await retryJobNow({ db, clock, kinds }, accountId, p.id);
    expect(manual).toMatchObject({ success: true, status: 'succeeded', attempt: 2 });
    expect(await retryJobNow({ db, clock, kinds }, otherAccount, p.id)).toBe('not_found');
  });

  it('a job claimed by a worker that died is run again once its lease expires', async () => {
    const { kind, runs } = scripted(['ok']);
    const kinds: JobKinds = { 'test.lease': kind };
    await enqueueJob(db, clock, { accountId, kind: 'test.lease', key: 'l', payload: {} });
    // Simulate a claim that never finished.
    await db.query(`UPDATE jobs SET locked_until = $1 WHERE kind = 'test.lease'`, [
      new Date(clock.now().getTime() + 5 * 60_000),
    ]);
    expect(await runDueJobs({ db, clock, kinds })).toEqual([]);
    clock.advance(5 * 60_000);
    expect((await runDueJobs({ db, clock, kinds })).map((r) => r.status)).toEqual(['succeeded']);
    expect(runs).toHaveLength(1);
  });

  it('never runs a job twice when workers race for it', async () => {
    const { kind, runs } = scripted(['ok']);
    const kinds: JobKinds = { 'test.race': kind };
    for (let i = 0; i < 30; i++)
      await enqueueJob(db, clock, { accountId, kind: 'test.race', key: `r${i}`, payload: {} });
    const passes = await Promise.all(
      Array.from({ length: 4 }, () => runDueJobs({ db, clock, kinds, batchSize: 10 })),
    );
    let total = passes.flat().length;
    while (total < 30) total += (await runDueJobs({ db, clock, kinds, batchSize: 10 })).length;
    expect(total).toBe(30);
    expect(new Set(runs.map((r) => r.key)).size).toBe(30);
    expect(runs).toHaveLength(30);
  });
});
