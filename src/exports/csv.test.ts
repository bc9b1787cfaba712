import { describe, expect, it } from 'vitest';
import { localToday } from '../time/zone.js';
import { cellText, csvField, csvLine, protectFormula } from './csv.js';
import { resolveRange } from './routes.js';
import { contentDisposition } from './write.js';

describe('csv', () => {
  it('quotes per RFC 4180 and ends records with CRLF', () => {
    expect(csvLine(['a', 'b,c', 'say "hi"', 'two\nlines', null, 3.5], ',')).toBe(
      'a,"b,c","say ""hi""","two\nlines",,3.5\r\n',
    );
    expect(csvField('b,c', ';')).toBe('b,c');
    expect(csvField('b;c', ';')).toBe('"b;c"');
  });
  it('neutralizes formulas in text but not numbers', () => {
    for (const s of ['=1+2', '+7 495', '-2', '@SUM(A1)', '\t=x']) expect(protectFormula(s)).toBe(`'${s}`);
    expect(protectFormula('Диван')).toBe('Диван');
    expect(cellText(-5)).toBe('-5');
    expect(csvField('=HYPERLINK("http://x","y")', ',')).toBe('"\'=HYPERLINK(""http://x"",""y"")"');
  });
  it('names files in ASCII and UTF-8', () => {
    expect(contentDisposition('звонки-2026-11-02.csv')).toBe(
      `attachment; filename="______-2026-11-02.csv"; filename*=UTF-8''${encodeURIComponent('звонки-2026-11-02.csv')}`,
    );
  });
  it('resolves relative ranges on a local day', () => {
    expect(resolveRange('last_30_days', '2026-03-10')).toEqual({ from: '2026-02-09', to: '2026-03-10' });
    expect(resolveRange('last_month', '2026-03-10')).toEqual({ from: '2026-02-01', to: '2026-02-28' });
    expect(resolveRange('this_month', '2026-03-10')).toEqual({ from: '2026-03-01', to: '2026-03-10' });
    expect(resolveRange('yesterday', '2026-01-01')).toEqual({ from: '2025-12-31', to: '2025-12-31' });
    // 22:30 UTC is already the next day in Moscow.
    expect(localToday(new Date('2026-11-02T22:30:00Z'), 'Europe/Moscow')).toBe('2026-11-03');
  });
});
