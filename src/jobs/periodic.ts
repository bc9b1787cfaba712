/** A background loop started by `ringtrace start`. */
export interface PeriodicWorker {
  /** Stops the loop; resolves once the pass in flight has finished. */
  stop(): Promise<void>;
}

/**
 * Runs `pass` now, then again after the delay (ms) it returns, until stopped. A failing pass is reported
 * to `onError` and retried after `errorDelayMs`; passes never overlap.
 */
export function runPeriodically(
  pass: () => Promise<number>,
  opts: { errorDelayMs: number; onError: (err: unknown) => void },
): PeriodicWorker {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  const tick = () => {
    running = (async () => {
      let delay = opts.errorDelayMs;
      try {
        delay = await pass();
      } catch (err) {
        opts.onError(err);
      }
      if (!stopped) timer = setTimeout(tick, delay);
    })();
  };
  timer = setTimeout(tick, 0);
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
