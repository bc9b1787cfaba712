import type { TFunction } from 'i18next';

// No relative imports: the server's tests (node16 resolution) read API errors with this code too.

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** The request fields a 400 names (`name`, `domains.0`), without the `body.`/`querystring.` prefix. */
    readonly fields: string[] = [],
  ) {
    super(message);
  }
}

/** The error of a failed response, from the API's error body `{ error, message, issues? }`. */
export function apiError(status: number, statusText: string, data: unknown): ApiError {
  const body = (data ?? {}) as { error?: string; message?: string; issues?: unknown };
  const fields = Array.isArray(body.issues)
    ? body.issues.map((i) => String(i?.field ?? '').replace(/^(body|querystring|params)\.?/, ''))
    : [];
  return new ApiError(
    status,
    body.error ?? 'error',
    body.message ?? statusText,
    [...new Set(fields)].filter(Boolean),
  );
}

/**
 * What the user reads when a request fails: a sentence in the UI's language for every error code the API
 * documents, plus the fields a validation error names. The server's own message (English, for integrators)
 * is the fallback for codes the UI does not know, since it still names the problem.
 */
export function errorText(t: TFunction, error: unknown): string {
  if (error instanceof ApiError) {
    const known = t(`errors.codes.${error.code}`, { defaultValue: '' });
    if (!known) return error.message;
    return error.fields.length > 0
      ? `${known} ${t('errors.fields', { fields: error.fields.join(', ') })}`
      : known;
  }
  // fetch() rejects with a TypeError when the server cannot be reached at all.
  if (error instanceof TypeError) return t('errors.network');
  return error instanceof Error ? error.message : String(error);
}
