/** How outgoing webhooks are retried and when a subscription is given up on. */
export interface WebhookSettings {
  /** First retry delay; each next one doubles (no jitter: the schedule is exact and documented). */
  retryBaseMs: number;
  /** Longest single delay between two attempts. */
  retryMaxDelayMs: number;
  /** Attempts per event, the first included. */
  maxAttempts: number;
  /** Per-attempt HTTP timeout. */
  timeoutMs: number;
  /** A subscription is disabled when this many consecutive events failed all their attempts... */
  disableAfterFailedEvents: number;
  /** ...and it had no successful attempt for this long. */
  disableAfterMs: number;
  /** How often the worker looks for due deliveries. */
  pollMs: number;
  /** Deliveries attempted per pass. */
  batchSize: number;
}

const HOUR = 3_600_000;

/**
 * Defaults: retries after 1, 2, 4 ... 512, 1024 minutes — 12 attempts over 34 hours, so a receiver may be
 * down for a whole day without losing an event. Overridable through RINGTRACE_WEBHOOK_* variables.
 */
export function webhookSettings(
  env: NodeJS.ProcessEnv = process.env,
  overrides: Partial<WebhookSettings> = {},
): WebhookSettings {
  const num = (name: string, fallback: number) => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < 0)
      throw new Error(`Invalid configuration: ${name}=${raw} is not a number`);
    return n;
  };
  return {
    retryBaseMs: num('RINGTRACE_WEBHOOK_RETRY_BASE_MS', 60_000),
    retryMaxDelayMs: num('RINGTRACE_WEBHOOK_RETRY_MAX_DELAY_MS', 24 * HOUR),
    maxAttempts: num('RINGTRACE_WEBHOOK_MAX_ATTEMPTS', 12),
    timeoutMs: num('RINGTRACE_WEBHOOK_TIMEOUT_MS', 10_000),
    disableAfterFailedEvents: num('RINGTRACE_WEBHOOK_DISABLE_AFTER_EVENTS', 3),
    disableAfterMs: num('RINGTRACE_WEBHOOK_DISABLE_AFTER_MS', 24 * HOUR),
    pollMs: num('RINGTRACE_WEBHOOK_POLL_MS', 1000),
    batchSize: 20,
    ...overrides,
  };
}

/** Delay before attempt `attempt + 1`, after `attempt` failed attempts (1-based). */
export function retryDelayMs(settings: WebhookSettings, attempt: number): number {
  return Math.min(settings.retryBaseMs * 2 ** (attempt - 1), settings.retryMaxDelayMs);
}

/** Total span from the first attempt to the last one. */
export function retrySpanMs(settings: WebhookSettings): number {
  let total = 0;
  for (let a = 1; a < settings.maxAttempts; a++) total += retryDelayMs(settings, a);
  return total;
}
