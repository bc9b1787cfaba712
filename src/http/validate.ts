import { z } from 'zod';
import { HttpError } from './errors.js';

/** Validates data a route could not hand to Fastify's schema (e.g. a body that must stay raw for a signature). */
export function parseOrThrow<S extends z.ZodType>(schema: S, data: unknown, where: string): z.output<S> {
  const result = schema.safeParse(data);
  if (result.success) return result.data;
  const issues = result.error.issues.map((i) => ({
    field: [where, ...i.path.map(String)].join('.'),
    message: i.message,
  }));
  throw new HttpError(
    400,
    'invalid_request',
    issues.map((i) => `${i.field}: ${i.message}`).join('; '),
    issues,
  );
}

/** An IANA time zone name the runtime knows (sites, schedules). */
export const timeZoneName = z.string().refine((tz) => {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}, 'must be an IANA time zone such as Europe/Moscow');

/** `limit` and `offset` of a paged list: 50 rows by default, at most 500. */
export const pageQuery = {
  limit: z.coerce.number().int().min(1).max(500).default(50),
  offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
};
