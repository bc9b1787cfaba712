import type { FastifyInstance } from 'fastify';
import { parsePhone } from '../phone/phone.js';

/**
 * Form-encoded provider webhooks (TwiML family, Mango, Zadarma): their signatures cover the body as sent,
 * so the body stays a raw string until it is checked.
 */
export function keepRawForm(scope: FastifyInstance): void {
  scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) =>
    done(null, body),
  );
}

export interface Form {
  /** Every value of every field, in the order sent. */
  all: Record<string, string[]>;
  /** The first value of each field. */
  first: Record<string, string>;
}

export function parseForm(raw: unknown): Form {
  const all: Form['all'] = {};
  const first: Form['first'] = {};
  for (const [name, value] of new URLSearchParams(typeof raw === 'string' ? raw : '')) {
    const values = all[name] ?? [];
    values.push(value);
    all[name] = values;
    first[name] ??= value;
  }
  return { all, first };
}

/**
 * A number as a provider writes it (`+74951234567`, or international digits without the plus as Mango and
 * Zadarma send them) in E.164; anything else (an extension, "anonymous") is kept as sent.
 */
export function providerNumber(raw: string): string {
  const digits = raw.trim();
  return parsePhone(/^\d{8,15}$/.test(digits) ? `+${digits}` : digits) ?? raw;
}
