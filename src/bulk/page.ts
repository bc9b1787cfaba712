// One keyset page: rows strictly after the cursor key in (time, id) order, plus the cursor of the next page.

import type { Queryable } from '../db/db.js';
import { decodeCursor, encodeCursor, type Key } from './cursor.js';

export interface PageQuery {
  /** `SELECT ... FROM ...` of the rows, without WHERE. */
  select: string;
  /** Conditions over `select` and their parameters ($1 is the account). */
  where: string[];
  params: unknown[];
  /** The key columns in `select`'s FROM (e.g. `c.started_at`, `c.id`) and the names they are selected as. */
  timeColumn: string;
  idColumn: string;
  timeName: string;
  /** What the cursor belongs to (see queryTag). */
  tag: string;
  cursor?: string;
  limit: number;
}

/** The key as UTC text with microseconds, so equal-looking timestamps never skip or repeat rows. */
const keyText = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

export async function keysetPage(
  db: Queryable,
  q: PageQuery,
): Promise<{ rows: Record<string, unknown>[]; nextCursor: string | null }> {
  const where = [...q.where];
  const params = [...q.params];
  if (q.cursor) {
    const after: Key = decodeCursor(q.cursor, q.tag);
    params.push(after.at, after.id);
    const at = `$${params.length - 1}::timestamptz`;
    const id = `$${params.length}::uuid`;
    // The first condition is the one an index on the time column can serve.
    where.push(`${q.timeColumn} >= ${at}`, `(${q.timeColumn}, ${q.idColumn}) > (${at}, ${id})`);
  }
  // One row more than the page tells whether another page follows.
  const rows = await db.query<Record<string, unknown>>(
    `SELECT p.*, ${keyText(`p.${q.timeName}`)} AS bulk_key_at
       FROM (${q.select} WHERE ${where.join(' AND ')}
             ORDER BY ${q.timeColumn}, ${q.idColumn} LIMIT ${q.limit + 1}) p
      ORDER BY p.${q.timeName}, p.id`,
    params,
  );
  const more = rows.length > q.limit;
  const page = more ? rows.slice(0, q.limit) : rows;
  const last = page[page.length - 1];
  const nextCursor = more ? encodeCursor(q.tag, { at: String(last.bulk_key_at), id: String(last.id) }) : null;
  return { rows: page.map(({ bulk_key_at: _, ...row }) => row), nextCursor };
}
