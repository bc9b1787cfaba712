import { describe, expect, it } from 'vitest';
import { type Directory, flowReferences, resolveFlow } from './directory.js';
import { flowSchema } from './model.js';
import { step } from './step.js';
import { whisperText } from './whisper.js';

const ANNA = '00000000-0000-4000-8000-00000000000a';
const BORIS = '00000000-0000-4000-8000-00000000000b';
const VERA = '00000000-0000-4000-8000-00000000000c';
const SALES = '00000000-0000-4000-8000-0000000000a1';

const flow = flowSchema.parse({
  start: 'sales',
  nodes: {
    sales: {
      kind: 'ringGroup',
      strategy: 'sequential',
      targets: [{ kind: 'employee', employeeId: VERA }],
      groupId: SALES,
      whisper: true,
      next: 'vm',
    },
    vm: { kind: 'voicemail', prompt: 'Оставьте сообщение' },
  },
});

const directory = (available: Record<string, boolean>): Directory => ({
  employees: new Map([
    [
      ANNA,
      {
        id: ANNA,
        name: 'Анна',
        available: available.anna ?? true,
        endpoints: [
          { kind: 'sip', uri: 'sip:101@pbx.example' },
          { kind: 'phone', number: '+79160000001' },
        ],
      },
    ],
    [
      BORIS,
      {
        id: BORIS,
        name: 'Борис',
        available: available.boris ?? true,
        endpoints: [{ kind: 'phone', number: '+79160000002' }],
      },
    ],
    [
      VERA,
      {
        id: VERA,
        name: 'Вера',
        available: available.vera ?? true,
        endpoints: [{ kind: 'sip', uri: 'sip:103@pbx.example' }],
      },
    ],
  ]),
  groups: new Map([[SALES, { id: SALES, name: 'Продажи', members: [ANNA, BORIS, VERA] }]]),
});
const ctx = { now: new Date('2026-11-02T10:00:00Z'), timeZone: 'Europe/Moscow' };

describe('resolving employees and groups', () => {
  it('turns employees and the group into named endpoints, in order, without duplicates', () => {
    const node = resolveFlow(flow, directory({})).nodes.sales;
    expect(node).toMatchObject({
      name: 'Продажи',
      targets: [
        { kind: 'sip', uri: 'sip:103@pbx.example', name: 'Вера' },
        { kind: 'sip', uri: 'sip:101@pbx.example', name: 'Анна' },
        { kind: 'phone', number: '+79160000001', name: 'Анна' },
        { kind: 'phone', number: '+79160000002', name: 'Борис' },
      ],
    });
    expect(flowReferences(flow)).toEqual({ employees: [VERA], groups: [SALES] });
  });

  it('leaves unavailable employees out, and reports who answered by name', () => {
    const resolved = resolveFlow(flow, directory({ anna: false, vera: false }));
    const first = step(resolved, null, { kind: 'start' }, ctx);
    expect(first.instructions).toEqual([
      {
        op: 'dial',
        targets: [{ kind: 'phone', number: '+79160000002', name: 'Борис' }],
        timeoutSec: 20,
        record: false,
        whisper: true,
      },
    ]);
    const answered = step(resolved, first.cursor, { kind: 'dial', status: 'answered' }, ctx);
    expect(answered.connected).toEqual({ group: 'Продажи', employee: 'Борис' });
  });

  it('passes a call on to `next` when nobody in the group is available', () => {
    const resolved = resolveFlow(flow, directory({ anna: false, boris: false, vera: false }));
    const r = step(resolved, null, { kind: 'start' }, ctx);
    expect(r.instructions.map((i) => i.op)).toEqual(['record']);
    expect(r.cursor).toEqual({ node: 'vm' });
  });

  it('refuses to step a flow whose employees were not resolved', () => {
    expect(() => step(flow, null, { kind: 'start' }, ctx)).toThrow(/not resolved/);
  });
});

describe('whisper text', () => {
  it('names the source, campaign and keyword in the flow’s language', () => {
    const call = { channel: 'paid_search', source: 'yandex', campaign: 'sofa_sale', keyword: 'купить диван' };
    expect(whisperText(call, 'ru-RU')).toBe(
      'Звонок с сайта: источник yandex, кампания sofa_sale, ключевое слово купить диван.',
    );
    expect(whisperText({ ...call, channel: 'static', keyword: null }, 'en-US')).toBe(
      'A call from an ad: source yandex, campaign sofa_sale.',
    );
    expect(whisperText(null, 'ru-RU')).toBe('Звонок с сайта, источник не определён.');
  });
});
