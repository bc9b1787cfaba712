// Turns grouped raw rows into a report table: metrics, totals, comparison, sorting, paging. Pure.

import { addRaw, deriveMetrics, emptyRaw, type Metric, type Metrics, type RawCounts } from './metrics.js';

export type Key = string | number;

export interface RawRow {
  key: Key;
  raw: RawCounts;
}

export type SortField = Metric | 'key';

export interface TableOptions {
  hasVisits: boolean;
  /** Whether rows carry ad costs (empty rows then show cost 0 rather than null). */
  hasCost?: boolean;
  sort: SortField;
  order: 'asc' | 'desc';
  limit: number;
  offset: number;
  /** Rows of the comparison period; per-row `previous` is matched by key (after `previousKey`). */
  previous?: RawRow[];
  /** Maps a current key to the key of the same row in the previous period; null: no per-row comparison. */
  previousKey?: ((key: Key) => Key) | null;
}

export type TableRow = { key: Key } & Metrics & { previous?: Metrics | null };

export interface Table {
  total: number;
  rows: TableRow[];
  totals: Metrics;
  previousTotals?: Metrics;
}

const compareKeys = (a: Key, b: Key) =>
  typeof a === 'number' && typeof b === 'number'
    ? a - b
    : String(a) < String(b)
      ? -1
      : String(a) > String(b)
        ? 1
        : 0;

/** Sorts by one field; null values go last in either order; ties are broken by key ascending. */
export function sortRows<T extends { key: Key } & Metrics>(
  rows: T[],
  sort: SortField,
  order: 'asc' | 'desc',
): T[] {
  const dir = order === 'asc' ? 1 : -1;
  return [...rows].sort((a, b) => {
    if (sort === 'key') return dir * compareKeys(a.key, b.key) || 0;
    const x = a[sort];
    const y = b[sort];
    if (x !== y) {
      if (x === null) return 1;
      if (y === null) return -1;
      return dir * (x - y);
    }
    return compareKeys(a.key, b.key);
  });
}

const sumRaw = (rows: RawRow[], hasVisits: boolean, hasCost = false) =>
  rows.reduce((acc, r) => addRaw(acc, r.raw), emptyRaw(hasVisits, hasCost));

export function buildTable(current: RawRow[], o: TableOptions): Table {
  const previousByKey = new Map((o.previous ?? []).map((r) => [r.key, r.raw]));
  const rows: TableRow[] = current.map((r) => {
    const row: TableRow = { key: r.key, ...deriveMetrics(r.raw) };
    if (o.previous) {
      row.previous = o.previousKey
        ? deriveMetrics(previousByKey.get(o.previousKey(r.key)) ?? emptyRaw(o.hasVisits, o.hasCost))
        : null;
    }
    return row;
  });
  const sorted = sortRows(rows, o.sort, o.order);
  const table: Table = {
    total: rows.length,
    rows: sorted.slice(o.offset, o.offset + o.limit),
    totals: deriveMetrics(sumRaw(current, o.hasVisits, o.hasCost)),
  };
  if (o.previous) table.previousTotals = deriveMetrics(sumRaw(o.previous, o.hasVisits, o.hasCost));
  return table;
}
