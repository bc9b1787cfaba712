// CSV cells and lines (RFC 4180) with spreadsheet formula-injection protection. Pure.

export type Cell = string | number | boolean | Date | null | undefined;

/** A byte-order mark: Excel reads a UTF-8 CSV as UTF-8 (Cyrillic intact) only when the file starts with it. */
export const BOM = '\uFEFF';

/**
 * Text a spreadsheet would run as a formula (= + - @, and tab / carriage return that some apps strip
 * before parsing) gets a leading single quote so it shows as text. Numbers stay numbers.
 */
export function protectFormula(text: string): string {
  return /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
}

/** The text of one cell: numbers as is, dates as ISO 8601, booleans as 1/0, null as empty. */
export function cellText(value: Cell): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '';
  if (typeof value === 'boolean') return value ? '1' : '0';
  if (value instanceof Date) return value.toISOString();
  return protectFormula(value);
}

/** One field, quoted when it holds the separator, a quote, CR or LF; inner quotes are doubled. */
export function csvField(value: Cell, sep: string): string {
  const text = cellText(value);
  return text.includes(sep) || /["\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** One record ending in CRLF, as RFC 4180 has it. */
export function csvLine(values: readonly Cell[], sep: string): string {
  return `${values.map((v) => csvField(v, sep)).join(sep)}\r\n`;
}
