import { describe, expect, it } from 'vitest';
import { HttpError } from '../http/errors.js';
import { parseAmoLeadChanges } from './hooks.js';
import { amoDealStatus, bitrixDealStatus } from './jobs.js';

describe('amoCRM webhook lead changes', () => {
  it('reads status and update entries, the last one per lead winning', () => {
    const form = new URLSearchParams({
      'leads[update][0][id]': '11',
      'leads[update][0][status_id]': '777',
      'leads[update][0][price]': '100',
      'leads[status][0][id]': '11',
      'leads[status][0][status_id]': '142',
      'leads[status][0][price]': '2500',
      'leads[status][0][updated_at]': '1762678800',
      'leads[status][1][id]': '12',
      'leads[status][1][status_id]': '143',
      'account[subdomain]': 'divany',
    });
    expect(parseAmoLeadChanges(form)).toEqual([
      { leadId: '11', statusId: 142, price: '2500', updatedAt: '1762678800' },
      { leadId: '12', statusId: 143, price: null, updatedAt: null },
    ]);
    expect(parseAmoLeadChanges(new URLSearchParams('account[subdomain]=divany'))).toEqual([]);
  });

  it('refuses ids, statuses and prices that are not numbers, naming the key', () => {
    const cases: Array<[Record<string, string>, string]> = [
      [{ 'leads[status][0][id]': 'x' }, 'leads[status][0][id]'],
      [{ 'leads[status][0][id]': '1' }, 'leads[status][0][status_id]'],
      [
        { 'leads[add][0][id]': '1', 'leads[add][0][status_id]': '1', 'leads[add][0][price]': '1,5' },
        'leads[add][0][price]',
      ],
    ];
    for (const [fields, key] of cases) {
      const parse = () => parseAmoLeadChanges(new URLSearchParams(fields));
      expect(parse).toThrow(HttpError);
      expect(parse).toThrow(key);
    }
  });
});

describe('deal statuses', () => {
  it('maps amoCRM 142/143 and Bitrix24 S/F to won/lost, anything else to open', () => {
    expect([142, 143, 777].map(amoDealStatus)).toEqual(['won', 'lost', 'open']);
    expect(['S', 'F', 'P', undefined].map(bitrixDealStatus)).toEqual(['won', 'lost', 'open', 'open']);
  });
});
