/**
 * Runs time-ordered jobs concurrently under two rules that keep a replay faithful:
 * - jobs with the same key (one visitor's page loads, pings and calls) run one after another, in order;
 * - a job starts only once every job more than `windowMs` earlier has finished, so concurrency only
 *   reorders jobs of different keys that are less than `windowMs` apart.
 * At most `concurrency` jobs are started and unfinished at once. `concurrency` 1 is the plain sequential
 * replay. The first failure stops new jobs and is thrown once the started ones settle.
 */
export async function runWindowed<J extends { at: number }>(
  jobs: readonly J[],
  opts: {
    concurrency: number;
    windowMs: number;
    keyOf: (job: J) => number;
    run: (job: J) => Promise<void>;
    /** Called after each finished job with the count so far. */
    onDone?: (done: number) => void;
  },
): Promise<void> {
  const { concurrency, windowMs, keyOf, run } = opts;
  if (concurrency <= 1) {
    let done = 0;
    for (const job of jobs) {
      await run(job);
      opts.onDone?.(++done);
    }
    return;
  }
  // Settled promises of jobs, by index; dropped once passed so a million-job replay does not keep them all.
  const finished: Array<Promise<void> | undefined> = [];
  const lastOfKey = new Map<number, Promise<void>>();
  const running = new Set<Promise<void>>();
  let oldest = 0;
  let done = 0;
  let failure: { error: unknown } | null = null;
  for (let i = 0; i < jobs.length && !failure; i++) {
    const job = jobs[i];
    while (oldest < i && jobs[oldest].at < job.at - windowMs) {
      await finished[oldest];
      finished[oldest++] = undefined;
    }
    while (running.size >= concurrency) await Promise.race(running);
    if (failure) break;
    const key = keyOf(job);
    const previous = lastOfKey.get(key);
    const started = (previous ? previous.then(() => run(job)) : run(job)).then(
      () => {
        opts.onDone?.(++done);
      },
      (error: unknown) => {
        failure ??= { error };
      },
    );
    // A failed job resolves `started` (the failure is kept aside), so waiters never see a rejection.
    const settled = started.then(() => {
      running.delete(settled);
      if (lastOfKey.get(key) === settled) lastOfKey.delete(key);
    });
    running.add(settled);
    lastOfKey.set(key, settled);
    finished.push(settled);
  }
  await Promise.all(running);
  if (failure) throw (failure as { error: unknown }).error;
}
