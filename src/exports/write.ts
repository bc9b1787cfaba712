// Streams rows to an HTTP reply as CSV or XLSX. Rows arrive as an async iterable of batches, which is
// only pulled as fast as the client reads: CSV through a lazy Readable, XLSX through exceljs's
// streaming WorkbookWriter that commits every row and waits for the output to drain.

import { once } from 'node:events';
import { PassThrough, Readable } from 'node:stream';
import ExcelJS from 'exceljs';
import type { FastifyReply } from 'fastify';
import { type Column, headers, type Lang } from './columns.js';
import { BOM, type Cell, csvLine } from './csv.js';

export type Format = 'csv' | 'xlsx';

export interface CsvOptions {
  sep: ',' | ';';
  bom: boolean;
}

/** Extra rows after the data (a report's totals), as ready cells. */
export type Trailer = Cell[][];

export function csvStream<R>(
  columns: Column<R>[],
  lang: Lang,
  batches: AsyncIterable<R[]>,
  o: CsvOptions,
  trailer: Trailer = [],
): Readable {
  async function* lines() {
    yield (o.bom ? BOM : '') + csvLine(headers(columns, lang), o.sep);
    for await (const batch of batches) {
      let chunk = '';
      for (const row of batch)
        chunk += csvLine(
          columns.map((c) => c.value(row)),
          o.sep,
        );
      yield chunk;
    }
    for (const cells of trailer) yield csvLine(cells, o.sep);
  }
  return Readable.from(lines(), { objectMode: false });
}

const LOCAL_TIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;

/** XLSX cells: text as text (no formulas are ever written), local "YYYY-MM-DD HH:MM:SS" as a date. */
function xlsxCell(value: Cell): ExcelJS.CellValue {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string' && LOCAL_TIME.test(value)) return new Date(`${value.replace(' ', 'T')}Z`);
  if (typeof value === 'boolean') return value ? 1 : 0;
  return value;
}

export function xlsxStream<R>(
  columns: Column<R>[],
  lang: Lang,
  sheetName: string,
  batches: AsyncIterable<R[]>,
  trailer: Trailer = [],
): Readable {
  const out = new PassThrough();
  const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: out, useStyles: true });
  const sheet = workbook.addWorksheet(sheetName.slice(0, 31), { views: [{ state: 'frozen', ySplit: 1 }] });
  sheet.columns = columns.map((c) => ({ header: c[lang], key: c.id, width: c.width ?? 16 }));
  sheet.getRow(1).font = { bold: true };
  sheet.getRow(1).commit();
  const dateFormat = 'yyyy-mm-dd hh:mm:ss';
  (async () => {
    for await (const batch of batches) {
      for (const r of batch) {
        const row = sheet.addRow(columns.map((c) => xlsxCell(c.value(r))));
        row.eachCell((cell) => {
          if (cell.value instanceof Date) cell.numFmt = dateFormat;
        });
        row.commit();
      }
      if (out.writableNeedDrain) await once(out, 'drain');
    }
    for (const cells of trailer) {
      const row = sheet.addRow(cells.map(xlsxCell));
      row.font = { bold: true };
      row.commit();
    }
    sheet.commit();
    await workbook.commit();
  })().catch((err: unknown) => out.destroy(err as Error));
  return out;
}

const CONTENT_TYPE: Record<Format, string> = {
  csv: 'text/csv; charset=utf-8',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
};

/** RFC 6266: an ASCII fallback plus the UTF-8 name. */
export function contentDisposition(filename: string): string {
  const ascii = filename.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(filename)}`;
}

export function sendFile(
  reply: FastifyReply,
  format: Format,
  filename: string,
  body: Readable,
): FastifyReply {
  return reply
    .header('content-type', CONTENT_TYPE[format])
    .header('content-disposition', contentDisposition(filename))
    .header('cache-control', 'no-store')
    .header('x-content-type-options', 'nosniff')
    .send(body);
}
