import { describe, expect, it } from 'vitest';
import { runPeriodically } from './periodic.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('runPeriodically', () => {
  it('runs at once, again after the returned delay, retries after errors, and stops after the pass in flight', async () => {
    const calls: number[] = [];
    const errors: unknown[] = [];
    let finished = 0;
    const worker = runPeriodically(
      async () => {
        calls.push(Date.now());
        if (calls.length === 2) throw new Error('boom');
        await sleep(20);
        finished++;
        return 10;
      },
      { errorDelayMs: 5, onError: (err) => errors.push(err) },
    );
    await sleep(150);
    await worker.stop();
    const count = calls.length;
    expect(count).toBeGreaterThanOrEqual(3);
    expect(errors).toHaveLength(1);
    // stop() waited for the running pass: every pass but the failed one finished.
    expect(finished).toBe(count - 1);
    await sleep(50);
    expect(calls).toHaveLength(count);
  });
});
