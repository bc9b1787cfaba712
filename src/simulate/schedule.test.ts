import { describe, expect, it } from 'vitest';
import { runWindowed } from './schedule.js';

interface Job {
  at: number;
  key: number;
  name: string;
  /** How long the job takes, in real milliseconds. */
  ms: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs the jobs and records, per job, when it started and finished (as positions in one event log). */
async function trace(jobs: Job[], concurrency: number, windowMs: number) {
  const log: string[] = [];
  let running = 0;
  let maxRunning = 0;
  await runWindowed(jobs, {
    concurrency,
    windowMs,
    keyOf: (j) => j.key,
    run: async (j) => {
      log.push(`start ${j.name}`);
      maxRunning = Math.max(maxRunning, ++running);
      await sleep(j.ms);
      running--;
      log.push(`end ${j.name}`);
    },
  });
  return { log, maxRunning, pos: (event: string) => log.indexOf(event) };
}

describe('runWindowed', () => {
  it('concurrency 1 runs strictly in order', async () => {
    const jobs: Job[] = [
      { at: 0, key: 1, name: 'a', ms: 20 },
      { at: 1, key: 2, name: 'b', ms: 1 },
      { at: 2, key: 3, name: 'c', ms: 1 },
    ];
    const { log, maxRunning } = await trace(jobs, 1, 10_000);
    expect(log).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
    expect(maxRunning).toBe(1);
  });

  it('runs jobs of different keys within the window at once, one key in order', async () => {
    const jobs: Job[] = [
      { at: 0, key: 1, name: 'a1', ms: 30 },
      { at: 1, key: 2, name: 'b', ms: 1 },
      { at: 2, key: 1, name: 'a2', ms: 1 },
    ];
    const { pos, maxRunning } = await trace(jobs, 4, 10);
    // b overtakes the slow a1; a2 waits for a1 (same key).
    expect(pos('end b')).toBeLessThan(pos('end a1'));
    expect(pos('start a2')).toBeGreaterThan(pos('end a1'));
    expect(maxRunning).toBe(2);
  });

  it('does not start a job before every job more than the window earlier has finished', async () => {
    const jobs: Job[] = [
      { at: 0, key: 1, name: 'slow', ms: 30 },
      { at: 5, key: 2, name: 'near', ms: 1 },
      { at: 20, key: 3, name: 'far', ms: 1 },
    ];
    const { pos } = await trace(jobs, 4, 10);
    expect(pos('start near')).toBeLessThan(pos('end slow'));
    expect(pos('start far')).toBeGreaterThan(pos('end slow'));
  });

  it('never has more than `concurrency` jobs running', async () => {
    const jobs: Job[] = Array.from({ length: 12 }, (_, i) => ({ at: i, key: i, name: `j${i}`, ms: 5 }));
    const { maxRunning, log } = await trace(jobs, 3, 1_000);
    expect(maxRunning).toBe(3);
    expect(log.filter((e) => e.startsWith('end'))).toHaveLength(12);
  });

  it('throws the first failure after the started jobs settle, and starts no new ones', async () => {
    const ran: string[] = [];
    const jobs = [
      { at: 0, key: 1, name: 'ok' },
      { at: 1, key: 2, name: 'bad' },
      { at: 100, key: 3, name: 'later' },
    ];
    await expect(
      runWindowed(jobs, {
        concurrency: 2,
        windowMs: 10,
        keyOf: (j) => j.key,
        run: async (j) => {
          await sleep(j.name === 'ok' ? 20 : 1);
          if (j.name === 'bad') throw new Error('bad job');
          ran.push(j.name);
        },
      }),
    ).rejects.toThrow('bad job');
    expect(ran).toEqual(['ok']);
  });
});
