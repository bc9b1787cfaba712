// What the ad-platform clients (yandex-direct.ts, google-ads.ts) share.

/** A sync failure with a message fit for the sync log (the provider's status and error, never a token). */
export class AdSyncError extends Error {}

export interface ClientDeps {
  /** Waits between polls and retries; tests pass one that records the delay and returns at once. */
  wait: (ms: number) => Promise<void>;
}

export const realWait = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Local calendar days, both ends included. */
export interface DateRange {
  from: string;
  to: string;
}

/** One HTTP request to a provider; a network failure or timeout becomes an AdSyncError naming the provider. */
export async function request(
  provider: string,
  url: string,
  init: RequestInit,
  timeoutMs = 120_000,
): Promise<Response> {
  try {
    return await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code;
    throw new AdSyncError(`${provider}: request failed (${cause ?? (err as Error).message})`);
  }
}
