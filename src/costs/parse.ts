// Ad-cost report files → daily cost rows. Pure except for XLSX decoding (exceljs).
//
// Layouts: `generic` (date, source, medium, campaign, ad_group, keyword, campaign_id, impressions,
// clicks, cost, currency), `yandex_direct` (the Direct report export: Russian headers «Дата»,
// «Кампания», «№ Кампании», «Группа», «Условие показа», «Показы», «Клики», «Расход (руб.)», or the
// Reports API field names; a title line before the header, an «Итого»/"Total rows" line after the
// data) and `google_ads` (Day, Campaign, Campaign ID, Ad group, Keyword, Impr./Impressions, Clicks,
// Cost, Currency code; two title lines before the header, "Total: …" lines after the data).
// Money is converted to integer minor units (2 decimals) with string arithmetic, never floats.

import ExcelJS from 'exceljs';

export const COST_FORMATS = ['generic', 'yandex_direct', 'google_ads'] as const;
export type CostFormat = (typeof COST_FORMATS)[number];

export interface CostRow {
  /** 1-based line (CSV/TSV) or sheet row (XLSX) the row came from. */
  line: number;
  date: string;
  source: string;
  medium: string;
  campaign: string;
  adGroup: string;
  keyword: string;
  campaignId: string | null;
  impressions: number;
  clicks: number;
  costMinor: number;
  currency: string;
}

export class CostParseError extends Error {
  constructor(
    readonly line: number | null,
    readonly column: string | null,
    readonly reason: string,
  ) {
    super(
      `${line !== null ? `line ${line}` : 'file'}${column !== null ? `, column "${column}"` : ''}: ${reason}`,
    );
  }
}

type Field =
  | 'date'
  | 'source'
  | 'medium'
  | 'campaign'
  | 'adGroup'
  | 'keyword'
  | 'campaignId'
  | 'impressions'
  | 'clicks'
  | 'cost'
  | 'currency';

interface Layout {
  /** Normalized header (lowercase, single spaces) → field. */
  headers: Record<string, Field>;
  required: Field[];
  source?: string;
  medium?: string;
}

const h = (entries: [Field, string[]][]): Record<string, Field> =>
  Object.fromEntries(entries.flatMap(([field, names]) => names.map((n) => [n, field])));

const LAYOUTS: Record<CostFormat, Layout> = {
  generic: {
    headers: h([
      ['date', ['date']],
      ['source', ['source', 'utm_source']],
      ['medium', ['medium', 'utm_medium']],
      ['campaign', ['campaign', 'utm_campaign']],
      ['adGroup', ['ad_group', 'ad group']],
      ['keyword', ['keyword', 'utm_term']],
      ['campaignId', ['campaign_id', 'campaign id']],
      ['impressions', ['impressions']],
      ['clicks', ['clicks']],
      ['cost', ['cost']],
      ['currency', ['currency']],
    ]),
    required: ['date', 'source', 'medium', 'campaign', 'cost'],
  },
  yandex_direct: {
    headers: h([
      ['date', ['дата', 'date', 'день']],
      ['campaign', ['кампания', 'название кампании', 'campaignname']],
      ['campaignId', ['№ кампании', 'n кампании', 'id кампании', 'campaignid']],
      ['adGroup', ['группа', 'название группы', 'adgroupname']],
      ['keyword', ['условие показа', 'ключевая фраза', 'criterion', 'criteria', 'keyword']],
      ['impressions', ['показы', 'impressions']],
      ['clicks', ['клики', 'clicks']],
      ['cost', ['расход', 'cost']],
      ['currency', ['валюта', 'currency']],
    ]),
    required: ['date', 'campaign', 'cost'],
    source: 'yandex',
    medium: 'cpc',
  },
  google_ads: {
    headers: h([
      ['date', ['day', 'date']],
      ['campaign', ['campaign']],
      ['campaignId', ['campaign id']],
      ['adGroup', ['ad group']],
      ['keyword', ['keyword', 'search keyword']],
      ['impressions', ['impr.', 'impressions']],
      ['clicks', ['clicks']],
      ['cost', ['cost']],
      ['currency', ['currency code', 'currency']],
    ]),
    required: ['date', 'campaign', 'cost'],
    source: 'google',
    medium: 'cpc',
  },
};

/** Currency written in a cost header, e.g. «Расход (руб.)», "Cost (USD)". */
const HEADER_CURRENCIES: [RegExp, string][] = [
  [/бел\.?\s*руб/, 'BYN'],
  [/руб|₽|rub/, 'RUB'],
  [/тенге|₸|kzt/, 'KZT'],
  [/грн|₴|uah/, 'UAH'],
  [/usd|\$|долл/, 'USD'],
  [/eur|€|евро/, 'EUR'],
  [/\b(try|лир)/, 'TRY'],
];

const normHeader = (s: string) =>
  s
    .replace(/^\uFEFF/, '')
    .replace(/[\s\u00a0]+/g, ' ')
    .trim()
    .toLowerCase();

/** Header → field, with the currency a cost header names («Расход (руб.)» → RUB). */
function matchHeader(layout: Layout, raw: string): { field: Field; currency?: string } | null {
  const name = normHeader(raw);
  const exact = layout.headers[name];
  if (exact) return { field: exact };
  const m = /^(.*?)\s*[(,]\s*(.+?)\)?$/.exec(name);
  if (m && layout.headers[m[1].trim()] === 'cost') {
    const cur = HEADER_CURRENCIES.find(([re]) => re.test(m[2]));
    return { field: 'cost', currency: cur?.[1] ?? m[2].toUpperCase() };
  }
  return null;
}

// --- Table decoding -----------------------------------------------------------------------------

export type Cell = string | number | Date | null;
export interface Table {
  rows: { line: number; cells: Cell[] }[];
}

export const isXlsx = (buf: Buffer) =>
  buf.length >= 4 && buf[0] === 0x50 && buf[1] === 0x4b && buf[2] === 0x03 && buf[3] === 0x04;

function decodeText(buf: Buffer): string {
  if (buf[0] === 0xff && buf[1] === 0xfe) return buf.subarray(2).toString('utf16le');
  if (buf[0] === 0xfe && buf[1] === 0xff) {
    const swapped = Buffer.from(buf.subarray(2));
    swapped.swap16();
    return swapped.toString('utf16le');
  }
  const text = buf.toString('utf8');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** RFC 4180 CSV (or TSV / semicolon-separated) with quoted fields; the delimiter is guessed per file. */
export function parseDelimited(text: string): Table {
  const firstLines = text.split(/\r?\n/).slice(0, 10).join('\n');
  const count = (ch: string) => firstLines.split(ch).length - 1;
  const delimiter = ['\t', ';', ','].reduce((best, ch) => (count(ch) > count(best) ? ch : best), '\t');
  const rows: Table['rows'] = [];
  let cells: string[] = [];
  let cell = '';
  let quoted = false;
  let line = 1;
  let rowLine = 1;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          cell += '"';
          i++;
        } else quoted = false;
      } else {
        if (ch === '\n') line++;
        cell += ch;
      }
    } else if (ch === '"' && cell === '') quoted = true;
    else if (ch === delimiter) {
      cells.push(cell);
      cell = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      cells.push(cell);
      rows.push({ line: rowLine, cells });
      cells = [];
      cell = '';
      line++;
      rowLine = line;
    } else cell += ch;
  }
  if (cell !== '' || cells.length > 0) {
    cells.push(cell);
    rows.push({ line: rowLine, cells });
  }
  return { rows };
}

export async function parseXlsx(buf: Buffer): Promise<Table> {
  const wb = new ExcelJS.Workbook();
  try {
    await wb.xlsx.load(buf as unknown as ArrayBuffer);
  } catch {
    throw new CostParseError(null, null, 'not a readable XLSX workbook');
  }
  const sheet = wb.worksheets[0];
  if (!sheet) throw new CostParseError(null, null, 'the workbook has no worksheet');
  const rows: Table['rows'] = [];
  sheet.eachRow({ includeEmpty: false }, (row, rowNumber) => {
    const cells: Cell[] = [];
    for (let c = 1; c <= row.cellCount; c++) {
      const v = row.getCell(c).value;
      if (v === null || v === undefined) cells.push(null);
      else if (typeof v === 'number' || typeof v === 'string' || v instanceof Date) cells.push(v);
      else if (typeof v === 'object' && 'result' in v) cells.push((v.result as Cell) ?? null);
      else if (typeof v === 'object' && 'richText' in v) cells.push(v.richText.map((t) => t.text).join(''));
      else if (typeof v === 'object' && 'text' in v) cells.push(String(v.text));
      else cells.push(String(v));
    }
    rows.push({ line: rowNumber, cells });
  });
  return { rows };
}

export async function readTable(buf: Buffer): Promise<Table> {
  if (buf.length === 0) throw new CostParseError(null, null, 'the file is empty');
  return isXlsx(buf) ? parseXlsx(buf) : parseDelimited(decodeText(buf));
}

// --- Values ------------------------------------------------------------------------------------

const cellText = (c: Cell): string =>
  c === null ? '' : c instanceof Date ? c.toISOString().slice(0, 10) : String(c).trim();

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

function validDate(y: number, m: number, d: number): string | null {
  const date = new Date(Date.UTC(y, m - 1, d));
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== m - 1 || date.getUTCDate() !== d) return null;
  return date.toISOString().slice(0, 10);
}

/** 2026-11-09, 09.11.2026, 09/11/2026 (day first), "Nov 9, 2026", or an XLSX date cell. */
export function parseDate(c: Cell): string | null {
  if (c instanceof Date) return validDate(c.getUTCFullYear(), c.getUTCMonth() + 1, c.getUTCDate());
  const s = cellText(c);
  let m = /^(\d{4})-(\d{2})-(\d{2})(?:[ T].*)?$/.exec(s);
  if (m) return validDate(+m[1], +m[2], +m[3]);
  m = /^(\d{1,2})[./](\d{1,2})[./](\d{4})$/.exec(s);
  if (m) return validDate(+m[3], +m[2], +m[1]);
  m = /^([A-Za-z]{3})[a-z]*\.? (\d{1,2}), (\d{4})$/.exec(s);
  if (m) {
    const month = MONTHS.indexOf(m[1].toLowerCase()) + 1;
    return month ? validDate(+m[3], month, +m[2]) : null;
  }
  return null;
}

/**
 * A decimal written with spaces or commas as thousands separators and a decimal comma or point:
 * «1 234,56», "1,234.56", "1.234,56", "1234.5". Returns the digits as [sign, integer, fraction].
 */
export function parseDecimal(c: Cell): { negative: boolean; int: string; frac: string } | null {
  if (typeof c === 'number') {
    if (!Number.isFinite(c)) return null;
    return parseDecimal(c.toFixed(6));
  }
  let s = cellText(c).replace(/[\s\u00a0\u202f']/g, '');
  if (s === '' || s === '--') return null;
  const negative = s.startsWith('-');
  if (negative) s = s.slice(1);
  if (!/^[\d.,]+$/.test(s) || !/\d/.test(s)) return null;
  const commas = s.split(',').length - 1;
  const dots = s.split('.').length - 1;
  let int: string;
  let frac = '';
  if (commas > 0 && dots > 0) {
    const dec = s.lastIndexOf(',') > s.lastIndexOf('.') ? ',' : '.';
    const thousands = dec === ',' ? '.' : ',';
    if (s.split(dec).length - 1 > 1) return null;
    [int, frac] = s.split(thousands).join('').split(dec);
    if (!/^\d{1,3}$/.test(s.split(thousands)[0])) return null;
  } else if (commas + dots > 1) {
    const sep = commas ? ',' : '.';
    const groups = s.split(sep);
    if (!/^\d{1,3}$/.test(groups[0]) || groups.slice(1).some((g) => !/^\d{3}$/.test(g))) return null;
    int = groups.join('');
  } else if (commas + dots === 1) {
    const sep = commas ? ',' : '.';
    [int, frac] = s.split(sep);
    // "1,234" is a thousands group; "1,23" and "1.5" are decimals.
    if (sep === ',' && /^\d{3}$/.test(frac) && int.length <= 3 && int !== '0') {
      int += frac;
      frac = '';
    }
  } else int = s;
  if (!/^\d+$/.test(int || '0') || !/^\d*$/.test(frac)) return null;
  return { negative, int: int || '0', frac };
}

/** Money → integer minor units (two decimals, half up). */
export function toMinor(c: Cell): number | null {
  const d = parseDecimal(c);
  if (!d) return null;
  const frac = `${d.frac}000`.slice(0, 3);
  let minor = Number(d.int) * 100 + Number(frac.slice(0, 2));
  if (Number(frac[2]) >= 5) minor += 1;
  if (!Number.isSafeInteger(minor)) return null;
  return d.negative ? -minor : minor;
}

export function toCount(c: Cell): number | null {
  const d = parseDecimal(c);
  if (!d || d.negative || /[1-9]/.test(d.frac)) return null;
  const n = Number(d.int);
  return Number.isSafeInteger(n) ? n : null;
}

const TOTAL_ROW = /^(итого|всего|total)/i;

// --- Rows ----------------------------------------------------------------------------------------

/** Finds the header row, maps columns and converts every data row; the first bad cell throws. */
export function tableToRows(table: Table, format: CostFormat, defaultCurrency: string): CostRow[] {
  const layout = LAYOUTS[format];
  let headerIndex = -1;
  let columns: { index: number; field: Field; name: string }[] = [];
  let headerCurrency: string | undefined;
  for (let i = 0; i < Math.min(table.rows.length, 20) && headerIndex < 0; i++) {
    const found: typeof columns = [];
    let cur: string | undefined;
    table.rows[i].cells.forEach((cell, index) => {
      const m = matchHeader(layout, cellText(cell));
      if (m && !found.some((f) => f.field === m.field)) {
        found.push({ index, field: m.field, name: cellText(cell) });
        if (m.currency) cur = m.currency;
      }
    });
    if (layout.required.every((f) => found.some((c) => c.field === f))) {
      headerIndex = i;
      columns = found;
      headerCurrency = cur;
    }
  }
  if (headerIndex < 0) {
    const names = layout.required.map((f) => Object.entries(layout.headers).find(([, v]) => v === f)?.[0]);
    throw new CostParseError(
      null,
      null,
      `no header row with the columns ${names.join(', ')} (format ${format})`,
    );
  }
  const col = (f: Field) => columns.find((c) => c.field === f);
  const out: CostRow[] = [];
  for (const { line, cells } of table.rows.slice(headerIndex + 1)) {
    if (cells.every((c) => cellText(c) === '')) continue;
    const first = cellText(cells[0]);
    if (TOTAL_ROW.test(first) || (format === 'yandex_direct' && /^total rows/i.test(first))) continue;
    const value = (f: Field): Cell => {
      const c = col(f);
      return c ? (cells[c.index] ?? null) : null;
    };
    const text = (f: Field) => {
      const t = cellText(value(f));
      return t === '--' ? '' : t;
    };
    const fail = (f: Field, reason: string): never => {
      throw new CostParseError(line, col(f)?.name ?? f, reason);
    };
    const date = parseDate(value('date'));
    if (!date) fail('date', `"${text('date')}" is not a date (YYYY-MM-DD or DD.MM.YYYY)`);
    const campaign = text('campaign');
    if (!campaign) fail('campaign', 'is empty');
    const source = (layout.source ?? text('source')).toLowerCase();
    if (!source) fail('source', 'is empty');
    const medium = (layout.medium ?? text('medium')).toLowerCase();
    if (!medium) fail('medium', 'is empty');
    const count = (f: Field) => {
      if (!col(f) || text(f) === '') return 0;
      const n = toCount(value(f));
      if (n === null) fail(f, `"${text(f)}" is not a whole non-negative number`);
      return n as number;
    };
    const costMinor = toMinor(value('cost'));
    if (costMinor === null) fail('cost', `"${text('cost')}" is not an amount`);
    if ((costMinor as number) < 0) fail('cost', 'must not be negative');
    const currency = (text('currency') || headerCurrency || defaultCurrency).toUpperCase();
    if (!/^[A-Z]{3}$/.test(currency)) fail('currency', `"${currency}" is not an ISO 4217 code`);
    const campaignId = text('campaignId') || null;
    if (campaignId !== null && campaignId.length > 100) fail('campaignId', 'is longer than 100 characters');
    out.push({
      line,
      date: date as string,
      source: source.slice(0, 500),
      medium: medium.slice(0, 500),
      campaign: campaign.slice(0, 500),
      adGroup: text('adGroup').slice(0, 500),
      keyword: text('keyword').slice(0, 500),
      campaignId,
      impressions: count('impressions'),
      clicks: count('clicks'),
      costMinor: costMinor as number,
      currency,
    });
  }
  return out;
}

export async function parseCostFile(buf: Buffer, format: CostFormat, defaultCurrency: string) {
  return tableToRows(await readTable(buf), format, defaultCurrency);
}
