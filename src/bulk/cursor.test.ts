import { describe, expect, it } from 'vitest';
import { HttpError } from '../http/errors.js';
import { decodeCursor, encodeCursor, queryTag } from './cursor.js';

const key = { at: '2026-03-01T10:00:00.123456Z', id: '0b6c3f4e-2f55-4c39-9a61-6f0c9a7e1d2a' };

function rejects(raw: string, tag: string): HttpError {
  try {
    decodeCursor(raw, tag);
  } catch (err) {
    if (err instanceof HttpError) return err;
    throw err;
  }
  throw new Error('cursor accepted');
}

describe('bulk cursors', () => {
  it('round-trip the key for the same query', () => {
    const tag = queryTag('visits', { siteId: 'a', from: undefined, limit: 5 });
    const raw = encodeCursor(tag, key);
    expect(raw).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(raw, tag)).toEqual(key);
  });

  it('tag the endpoint and filters, not the page size or property order', () => {
    expect(queryTag('visits', { a: 1, b: 2, limit: 5 })).toBe(queryTag('visits', { b: 2, a: 1, limit: 9 }));
    expect(queryTag('visits', { a: 1 })).not.toBe(queryTag('calls', { a: 1 }));
    expect(queryTag('visits', { a: 1 })).not.toBe(queryTag('visits', { a: 2 }));
  });

  it('reject malformed, tampered and foreign cursors with a 400 naming cursor', () => {
    const tag = queryTag('calls', {});
    const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const bad = [
      'not a cursor!',
      'abc',
      enc({ at: key.at, id: key.id }),
      enc([tag, '2026-03-01 10:00:00', key.id]),
      enc([tag, key.at, 'not-a-uuid']),
      enc([tag, key.at, key.id, 'extra']),
      enc([tag, '2026-13-45T99:00:00.000000Z', key.id]),
      enc([queryTag('leads', {}), key.at, key.id]),
    ];
    for (const raw of bad) {
      const err = rejects(raw, tag);
      expect(err.statusCode, raw).toBe(400);
      expect(err.message).toMatch(/^querystring\.cursor: /);
    }
  });
});
