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

export const REQUEST_TIMEOUT_MS = 120_000;

/** The error of a request to a provider that got no answer (network failure or timeout). */
export function requestFailed(provider: string, err: unknown): AdSyncError {
  const cause = (err as { cause?: { code?: string } }).cause?.code;
  return new AdSyncError(`${provider}: request failed (${cause ?? (err as Error).message})`);
}

/** One HTTP request to a provider; a network failure or timeout becomes an AdSyncError naming the provider. */
export async function request(
  provider: string,
  url: string,
  init: RequestInit,
  timeoutMs = REQUEST_TIMEOUT_MS,
): Promise<Response> {
  try {
    return await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    throw requestFailed(provider, err);
  }
}
