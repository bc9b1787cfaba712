// Opaque keyset cursors of the bulk export API: base64url of the last row's key, bound to the endpoint
// and the filters it was issued for, so it cannot silently continue a different query.

import { createHash } from 'node:crypto';
import { HttpError } from '../http/errors.js';

/** The sort key of one row: its timestamp as UTC text with microseconds, and its id. */
export interface Key {
  at: string;
  id: string;
}

const AT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A short digest of the endpoint and its filters (limit and cursor excluded): what a cursor belongs to. */
export function queryTag(kind: string, filters: Record<string, unknown>): string {
  const entries = Object.entries(filters)
    .filter(([name, value]) => value !== undefined && name !== 'limit' && name !== 'cursor')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return createHash('sha256')
    .update(JSON.stringify([kind, entries]))
    .digest('base64url')
    .slice(0, 12);
}

export function encodeCursor(tag: string, key: Key): string {
  return Buffer.from(JSON.stringify([tag, key.at, key.id]), 'utf8').toString('base64url');
}

const invalid = (message: string) =>
  new HttpError(400, 'invalid_request', `querystring.cursor: ${message}`, [
    { field: 'querystring.cursor', message },
  ]);

/** The key a cursor continues after; a malformed, tampered or foreign cursor is a 400 naming `cursor`. */
export function decodeCursor(raw: string, tag: string): Key {
  if (!/^[A-Za-z0-9_-]{1,400}$/.test(raw)) throw invalid('is not a cursor returned by this API');
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
  } catch {
    throw invalid('is not a cursor returned by this API');
  }
  if (
    !Array.isArray(value) ||
    value.length !== 3 ||
    !value.every((v) => typeof v === 'string') ||
    !AT.test(value[1]) ||
    Number.isNaN(Date.parse(value[1])) ||
    !UUID.test(value[2])
  ) {
    throw invalid('is not a cursor returned by this API');
  }
  if (value[0] !== tag) {
    throw invalid('belongs to another endpoint or other filters; start again without a cursor');
  }
  return { at: value[1], id: value[2] };
}
