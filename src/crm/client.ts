import { JobFailure } from '../jobs/queue.js';

export interface CrmResponse {
  status: number;
  headers: Headers;
  /** Parsed JSON, or the text when the body is not JSON, or null when empty. */
  body: unknown;
}

const TIMEOUT_MS = 15_000;

/**
 * One JSON request to a CRM. Network failures and timeouts throw a retryable error; the caller decides
 * what each status means for its API. `label` names the request in logs without the secret parts of its URL.
 */
export async function sendJson(
  label: string,
  url: string,
  init: { method: string; headers?: Record<string, string>; body?: unknown },
): Promise<CrmResponse> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: init.method,
      headers: {
        accept: 'application/json',
        ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...init.headers,
      },
      body: init.body !== undefined ? JSON.stringify(init.body) : undefined,
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (err) {
    throw new JobFailure(`${label}: ${err instanceof Error ? err.message : String(err)}`, {
      detail: { request: label },
    });
  }
  const text = await res.text();
  let body: unknown = null;
  if (text !== '') {
    try {
      body = JSON.parse(text);
    } catch {
      body = text.slice(0, 2000);
    }
  }
  return { status: res.status, headers: res.headers, body };
}

/** Milliseconds a Retry-After header asks for (seconds or an HTTP date), if any. */
export function retryAfterMs(headers: Headers, now: Date): number | undefined {
  const value = headers.get('retry-after');
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now.getTime());
}
