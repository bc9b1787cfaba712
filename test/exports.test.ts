import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { setupSite, type TestEnv, testEnv } from './helpers.js';

/** Splits an RFC 4180 document into records of fields (quoted fields may hold separators and newlines). */
function parseCsv(text: string, sep = ','): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === sep) {
      row.push(field);
      field = '';
    } else if (ch === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i++;
    } else field += ch;
  }
  if (field || row.length) rows.push([...row, field]);
  return rows;
}

async function readXlsx(body: Buffer): Promise<unknown[][]> {
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.load(body as unknown as ArrayBuffer);
  const sheet = wb.worksheets[0];
  const rows: unknown[][] = [];
  sheet.eachRow((row) => {
    rows.push((row.values as unknown[]).slice(1));
  });
  return rows;
}

describe('exports', () => {
  let env: TestEnv;
  let other: TestEnv;
  let siteId: string;
  let integrationId: string;

  /** Inserts calls straight into the table: `n` rows from `start`, `stepMs` apart (newest last). */
  async function insertCalls(
    n: number,
    start: string,
    fields: { employee?: string; group?: string; caller?: string; status?: string; site?: string } = {},
    tieEvery = 1,
  ) {
    await env.db.query(
      `INSERT INTO calls (account_id, id, integration_id, provider_call_id, site_id, caller, tracking_number, status,
                          started_at, talk_seconds, employee, group_name, is_unique, is_missed, updated_at)
       SELECT $1, gen_random_uuid(), $2, 'p-' || gen_random_uuid(), $3, $4, '+74951234567', $5,
              $6::timestamptz + (g / $9) * interval '1 second' + (g / $9) * interval '7 microseconds',
              g % 300, $7, $8, g % 2 = 0, g % 5 = 0, now()
         FROM generate_series(0, $10 - 1) g`,
      [
        env.accountId,
        integrationId,
        fields.site ?? siteId,
        fields.caller ?? '+79161234567',
        fields.status ?? 'completed',
        start,
        fields.employee ?? 'Анна',
        fields.group ?? 'Продажи',
        tieEvery,
        n,
      ],
    );
  }

  beforeAll(async () => {
    env = await testEnv('2026-11-02T09:00:00Z');
    other = await testEnv('2026-11-02T09:00:00Z');
    const s = await setupSite(env, { site: { timeZone: 'Europe/Moscow' } });
    siteId = s.site.id;
    integrationId = s.integration.id;
    // Three calls with awkward text on 2026-10-01 (Moscow).
    await insertCalls(1, '2026-10-01T07:00:00Z', { employee: 'Иванов, "Иван"', group: '=1+2' });
    await insertCalls(1, '2026-10-01T08:00:00Z', { employee: '@cmd', group: 'две\nстроки' });
    await insertCalls(1, '2026-10-01T09:00:00Z', {
      employee: 'Пётр; Сидоров',
      group: '-3',
      status: 'missed',
    });
  }, 60_000);
  afterAll(async () => {
    await env?.close();
    await other?.close();
  });

  const dayQuery = () => `siteId=${siteId}&from=2026-10-01T00:00:00%2B03:00&to=2026-10-02T00:00:00%2B03:00`;

  it('exports the call log as CSV with BOM, Russian headers, quoting and formula protection', async () => {
    const res = await env.api('GET', `/api/v1/calls/export.csv?${dayQuery()}`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(res.headers['content-disposition']).toMatch(/^attachment; filename=".*\.csv"; filename\*=UTF-8''/);
    expect(res.rawPayload.subarray(0, 3)).toEqual(Buffer.from([0xef, 0xbb, 0xbf]));
    const text = res.rawPayload.toString('utf8').slice(1);
    const rows = parseCsv(text);
    expect(rows[0].slice(0, 4)).toEqual(['ID звонка', 'Начало', 'Звонящий', 'Номер']);
    expect(rows).toHaveLength(4);
    const col = (name: string) => rows[0].indexOf(name);
    // Newest first, times in the site's zone.
    expect(rows.slice(1).map((r) => r[col('Начало')])).toEqual([
      '2026-10-01 12:00:00',
      '2026-10-01 11:00:00',
      '2026-10-01 10:00:00',
    ]);
    expect(rows.slice(1).map((r) => r[col('Сотрудник')])).toEqual([
      'Пётр; Сидоров',
      "'@cmd",
      'Иванов, "Иван"',
    ]);
    expect(rows.slice(1).map((r) => r[col('Группа')])).toEqual(["'-3", 'две\nстроки', "'=1+2"]);
    expect(rows[1][col('Звонящий')]).toBe("'+79161234567");
    expect(rows[1][col('Статус')]).toBe('missed');
    // The raw text: quoted where needed, doubled quotes.
    expect(text).toContain(',"Иванов, ""Иван""",');
    expect(text).toContain(",'=1+2,");
  });

  it('uses semicolons and English headers on request', async () => {
    const res = await env.api('GET', `/api/v1/calls/export.csv?${dayQuery()}&sep=semicolon&lang=en`);
    const rows = parseCsv(res.rawPayload.toString('utf8').slice(1), ';');
    expect(rows[0].slice(0, 3)).toEqual(['Call ID', 'Started at', 'Caller']);
    const emp = rows[0].indexOf('Employee');
    expect(rows[1][emp]).toBe('Пётр; Сидоров');
    expect(res.rawPayload.toString('utf8')).toContain(';"Пётр; Сидоров";');
    expect(res.rawPayload.toString('utf8')).toContain(';"Иванов, ""Иван""";');
  });

  it('exports the call log as XLSX that matches the API', async () => {
    const res = await env.api('GET', `/api/v1/calls/export.xlsx?${dayQuery()}&lang=en`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('spreadsheetml');
    const rows = await readXlsx(res.rawPayload);
    const api = (await env.api('GET', `/api/v1/calls?${dayQuery()}`)).json();
    expect(rows).toHaveLength(1 + api.total);
    const head = rows[0] as string[];
    const ids = rows.slice(1).map((r) => r[head.indexOf('Call ID')]);
    expect(ids).toEqual(api.items.map((c: { id: string }) => c.id));
    const first = rows[1];
    expect(first[head.indexOf('Employee')]).toBe('Пётр; Сидоров');
    expect(first[head.indexOf('Group')]).toBe('-3'); // XLSX cells are typed text: no formula to defuse
    expect(first[head.indexOf('Started at')]).toEqual(new Date('2026-10-01T12:00:00Z'));
    expect(first[head.indexOf('Missed')]).toBe(1);
  });

  it('streams 5,000 calls in keyset batches, in order across batch boundaries', async () => {
    // Three calls share each timestamp (with microseconds), so ties straddle the 1000-row boundaries.
    await insertCalls(5000, '2026-09-01T00:00:00.123456Z', {}, 3);
    const spy = vi.spyOn(env.db, 'query');
    const q = `siteId=${siteId}&from=2026-09-01T00:00:00Z&to=2026-09-02T00:00:00Z`;
    const res = await env.api('GET', `/api/v1/calls/export.csv?${q}&lang=en`);
    const batches = spy.mock.calls.filter(([sql]) => /LIMIT 1000/.test(String(sql)));
    spy.mockRestore();
    expect(res.statusCode).toBe(200);
    expect(batches).toHaveLength(6); // 5 full batches and an empty one ends it
    const rows = parseCsv(res.rawPayload.toString('utf8').slice(1));
    expect(rows).toHaveLength(5001);
    const ids = rows.slice(1).map((r) => r[0]);
    expect(new Set(ids).size).toBe(5000);
    const expected = await env.db.query<{ id: string }>(
      `SELECT id FROM calls WHERE account_id = $1 AND started_at >= '2026-09-01' AND started_at < '2026-09-02'
        ORDER BY started_at DESC, id DESC`,
      [env.accountId],
    );
    expect(ids).toEqual(expected.map((r) => r.id));

    const xlsx = await env.api('GET', `/api/v1/calls/export.xlsx?${q}`);
    const sheet = await readXlsx(xlsx.rawPayload);
    expect(sheet).toHaveLength(5001);
    expect(sheet.slice(1).map((r) => r[0])).toEqual(ids);
  }, 60_000);

  it('exports a report with every row and totals, equal to the reports API', async () => {
    const q = `siteId=${siteId}&from=2026-09-01&to=2026-10-31`;
    const api = (await env.api('GET', `/api/v1/reports/employee?${q}`)).json();
    const res = await env.api('GET', `/api/v1/reports/employee/export.csv?${q}&lang=en`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-disposition']).toContain('report-employee-2026-09-01_2026-10-31.csv');
    const rows = parseCsv(res.rawPayload.toString('utf8').slice(1));
    expect(rows[0].slice(0, 3)).toEqual(['Employee', 'Visits', 'Calls']);
    expect(rows).toHaveLength(1 + api.total + 1);
    for (const [i, r] of api.rows.entries()) {
      const key = String(r.key);
      expect(rows[i + 1][0]).toBe(/^[=+\-@]/.test(key) ? `'${key}` : key);
      expect(rows[i + 1][2]).toBe(String(r.calls));
      expect(rows[i + 1][rows[0].indexOf('Missed')]).toBe(String(r.missed));
    }
    expect(rows.at(-1)?.slice(0, 3)).toEqual(['Total', '', String(api.totals.calls)]);

    const x = await env.api('GET', `/api/v1/reports/employee/export.xlsx?${q}`);
    const sheet = await readXlsx(x.rawPayload);
    expect(sheet[0][0]).toBe('Сотрудник');
    expect(sheet[1][0]).toBe(api.rows[0].key);
    expect(sheet[1][2]).toBe(api.rows[0].calls);
    expect(sheet.at(-1)?.[0]).toBe('Итого');
  });

  it('rejects bad export input and other accounts’ sites', async () => {
    const bad = [
      `/api/v1/calls/export.pdf?siteId=${siteId}`,
      `/api/v1/calls/export.csv?siteId=${siteId}&sep=tab`,
      `/api/v1/calls/export.csv?siteId=${siteId}&lang=de`,
      `/api/v1/calls/export.csv?siteId=${siteId}&caller=abc`,
      `/api/v1/calls/export.csv?from=yesterday`,
      `/api/v1/reports/nope/export.csv?siteId=${siteId}&from=2026-10-01&to=2026-10-02`,
      `/api/v1/reports/source/export.csv?siteId=${siteId}&from=2026-10-05&to=2026-10-02`,
      `/api/v1/reports/source/export.csv?siteId=${siteId}&from=2026-10-01&to=2026-10-02&bogus=1`,
    ];
    for (const url of bad) expect((await env.api('GET', url)).statusCode, url).toBe(400);
    expect((await other.api('GET', `/api/v1/calls/export.csv?siteId=${siteId}`)).statusCode).toBe(404);
    expect(
      (
        await other.api(
          'GET',
          `/api/v1/reports/source/export.xlsx?siteId=${siteId}&from=2026-10-01&to=2026-10-02`,
        )
      ).statusCode,
    ).toBe(404);
    // Without a site the other account's export is simply empty.
    const empty = await other.api('GET', '/api/v1/calls/export.csv');
    expect(parseCsv(empty.rawPayload.toString('utf8').slice(1))).toHaveLength(1);
    expect((await env.app.inject({ method: 'GET', url: '/api/v1/calls/export.csv' })).statusCode).toBe(401);
  });

  it('serves, lists and revokes a Google Sheets feed', async () => {
    env.clock.set(new Date('2026-10-01T20:30:00Z')); // 23:30 in Moscow
    const created = await env.api('POST', '/api/v1/exports/feeds', {
      kind: 'calls',
      siteId,
      range: 'today',
      lang: 'en',
      name: 'Today',
    });
    expect(created.statusCode).toBe(201);
    const feed = created.json();
    expect(feed.url).toMatch(/\/feeds\/rtf_[A-Za-z0-9_-]+\.csv$/);
    expect(feed.formula).toBe(`=IMPORTDATA("${feed.url}")`);
    const path = new URL(feed.url).pathname;
    const served = await env.app.inject({ method: 'GET', url: path });
    expect(served.statusCode).toBe(200);
    expect(served.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(served.rawPayload[0]).not.toBe(0xef); // no BOM for IMPORTDATA
    const rows = parseCsv(served.body);
    expect(rows[0][0]).toBe('Call ID');
    expect(rows).toHaveLength(4);

    // The range moves with the clock: at 00:30 Moscow on the 2nd, "today" has no calls yet.
    env.clock.set(new Date('2026-10-01T21:30:00Z'));
    expect(parseCsv((await env.app.inject({ method: 'GET', url: path })).body)).toHaveLength(1);

    const report = await env.api('POST', '/api/v1/exports/feeds', {
      kind: 'report',
      siteId,
      dimension: 'employee',
      from: '2026-09-01',
      to: '2026-10-31',
    });
    expect(report.statusCode).toBe(201);
    const rep = parseCsv(
      (await env.app.inject({ method: 'GET', url: new URL(report.json().url).pathname })).body,
    );
    expect(rep[0][0]).toBe('Сотрудник');
    expect(rep.at(-1)?.[0]).toBe('Итого');
    expect(rep.at(-1)?.[2]).toBe('5003');

    const list = (await env.api('GET', `/api/v1/exports/feeds?siteId=${siteId}`)).json();
    expect(list.items.map((f: { id: string }) => f.id).sort()).toEqual([feed.id, report.json().id].sort());
    expect(JSON.stringify(list)).not.toContain(feed.token);
    expect(list.items.find((f: { id: string }) => f.id === feed.id).lastUsedAt).not.toBeNull();

    // Another account can neither see nor revoke it.
    expect((await other.api('GET', '/api/v1/exports/feeds')).json().items).toEqual([]);
    expect((await other.api('DELETE', `/api/v1/exports/feeds/${feed.id}`)).statusCode).toBe(404);
    expect(
      (await other.api('POST', '/api/v1/exports/feeds', { kind: 'calls', siteId, range: 'today' }))
        .statusCode,
    ).toBe(404);

    expect((await env.api('DELETE', `/api/v1/exports/feeds/${feed.id}`)).statusCode).toBe(204);
    expect((await env.app.inject({ method: 'GET', url: path })).statusCode).toBe(404);
    expect((await env.api('DELETE', `/api/v1/exports/feeds/${feed.id}`)).statusCode).toBe(404);
    expect(
      (await env.app.inject({ method: 'GET', url: '/feeds/rtf_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx.csv' }))
        .statusCode,
    ).toBe(404);
    expect((await env.app.inject({ method: 'GET', url: '/feeds/whatever' })).statusCode).toBe(404);
  });

  it('rejects bad feed input', async () => {
    const bad = [
      { kind: 'calls', siteId },
      { kind: 'calls', siteId, range: 'last_1000_days' },
      { kind: 'calls', siteId, range: 'today', from: '2026-10-01', to: '2026-10-02' },
      { kind: 'report', siteId, range: 'today' },
      { kind: 'report', siteId, dimension: 'nope', range: 'today' },
      { kind: 'report', siteId, dimension: 'source', from: '2026-10-05', to: '2026-10-01' },
      { kind: 'calls', siteId, range: 'today', dimension: 'source' },
      { kind: 'calls', siteId: 'x', range: 'today' },
      { kind: 'csv', siteId, range: 'today' },
      { kind: 'calls', siteId, range: 'today', extra: 1 },
    ];
    for (const body of bad)
      expect((await env.api('POST', '/api/v1/exports/feeds', body)).statusCode, JSON.stringify(body)).toBe(
        400,
      );
    expect((await env.api('DELETE', '/api/v1/exports/feeds/not-a-uuid')).statusCode).toBe(400);
  });
});
