import { describe, expect, it } from 'vitest';
import { exampleFlow as flow } from './example.js';
import { type Flow, flowSchema } from './model.js';
import { type Cursor, StepError, scheduleBranch, step } from './step.js';

const tz = 'Europe/Moscow';
// 2026-11-02 is a Monday; Moscow is UTC+3 all year.
const at = (iso: string) => ({ now: new Date(iso), timeZone: tz });
const monday10 = at('2026-11-02T07:00:00Z');
const start = (ctx = monday10) => step(flow, null, { kind: 'start' }, ctx);

describe('step: schedule', () => {
  const node = flow.nodes.hours as Extract<Flow['nodes'][string], { kind: 'schedule' }>;
  it.each([
    ['2026-11-02T05:59:59Z', 'vm', 'Monday 08:59:59 MSK: closed'],
    ['2026-11-02T06:00:00Z', 'menu', 'Monday 09:00 MSK: open'],
    ['2026-11-02T15:59:59Z', 'menu', 'Monday 18:59:59 MSK: open'],
    ['2026-11-02T16:00:00Z', 'vm', 'Monday 19:00 MSK: closed'],
    ['2026-11-06T15:30:00Z', 'menu', 'Friday 18:30 MSK: open'],
    ['2026-11-07T08:00:00Z', 'vm', 'Saturday 11:00 MSK: closed'],
    ['2026-11-01T21:00:00Z', 'vm', 'Monday 00:00 MSK (still Sunday in UTC): closed'],
    ['2026-12-31T08:00:00Z', 'holidayMsg', 'Thursday 31 Dec 11:00 MSK: holiday'],
    ['2026-12-30T21:30:00Z', 'holidayMsg', '31 Dec 00:30 MSK, 30 Dec in UTC: holiday by the local date'],
    ['2026-12-31T20:59:00Z', 'holidayMsg', '31 Dec 23:59 MSK'],
    ['2027-01-04T06:00:00Z', 'menu', 'Monday 4 Jan 09:00 MSK: open again'],
  ])('%s → %s (%s)', (iso, expected) => {
    expect(scheduleBranch(node, at(iso))).toBe(expected);
  });

  it('uses the schedule’s own time zone over the site’s', () => {
    const vladivostok = { ...node, timeZone: 'Asia/Vladivostok' };
    // 07:00Z is 10:00 in Moscow but 17:00 in Vladivostok (UTC+10); 09:30Z is 19:30 there.
    expect(scheduleBranch(vladivostok, at('2026-11-02T07:00:00Z'))).toBe('menu');
    expect(scheduleBranch(vladivostok, at('2026-11-02T09:30:00Z'))).toBe('vm');
  });

  it('treats a holiday without its own branch as closed', () => {
    expect(scheduleBranch({ ...node, holiday: undefined }, at('2026-12-31T08:00:00Z'))).toBe('vm');
  });

  it('plays a message and goes on inline when it is a holiday', () => {
    expect(start(at('2026-12-31T08:00:00Z'))).toEqual({
      instructions: [
        { op: 'say', text: 'С праздником! Мы отдыхаем.', language: 'ru-RU' },
        { op: 'record', prompt: 'Оставьте сообщение после сигнала', language: 'ru-RU', maxLengthSec: 120 },
      ],
      cursor: { node: 'vm' },
    });
  });
});

describe('step: menu', () => {
  const gather = {
    op: 'gather',
    prompt: 'Отдел продаж — 1, сервис — 2',
    language: 'ru-RU',
    numDigits: 1,
    timeoutSec: 5,
  };
  it('asks for a key during working hours', () => {
    expect(start()).toEqual({ instructions: [gather], cursor: { node: 'menu' } });
  });

  it('follows the key pressed', () => {
    const r = step(flow, { node: 'menu' }, { kind: 'digits', digits: '2' }, monday10);
    expect(r.cursor).toEqual({ node: 'service', member: 0 });
  });

  it('repeats the prompt once on timeout, then takes the timeout branch', () => {
    const again = step(flow, { node: 'menu' }, { kind: 'timeout' }, monday10);
    expect(again).toEqual({ instructions: [gather], cursor: { node: 'menu', attempt: 1 } });
    const gaveUp = step(flow, { node: 'menu', attempt: 1 }, { kind: 'timeout' }, monday10);
    expect(gaveUp.cursor).toEqual({ node: 'sales' });
    expect(gaveUp.instructions[0]).toMatchObject({ op: 'dial' });
  });

  it('treats empty digits as a timeout and an unknown key as invalid (falling back to onTimeout)', () => {
    expect(step(flow, { node: 'menu' }, { kind: 'digits', digits: '' }, monday10).cursor).toEqual({
      node: 'menu',
      attempt: 1,
    });
    expect(
      step(flow, { node: 'menu', attempt: 1 }, { kind: 'digits', digits: '9' }, monday10).cursor,
    ).toEqual({
      node: 'sales',
    });
    const strict = flowSchema.parse({
      start: 'm',
      nodes: {
        m: { kind: 'menu', prompt: 'p', options: { '1': 'a' }, onTimeout: 'a', onInvalid: 'h' },
        a: { kind: 'hangup' },
        h: { kind: 'play', text: 'Нет такого пункта', next: 'a' },
      },
    });
    expect(step(strict, { node: 'm' }, { kind: 'digits', digits: '7' }, monday10)).toEqual({
      instructions: [{ op: 'say', text: 'Нет такого пункта', language: 'ru-RU' }, { op: 'hangup' }],
      cursor: null,
    });
  });
});

describe('step: ring groups, forward, voicemail, hangup', () => {
  it('rings a simultaneous group all at once and reports the group when answered', () => {
    const r = step(flow, { node: 'menu' }, { kind: 'digits', digits: '1' }, monday10);
    expect(r).toEqual({
      instructions: [
        {
          op: 'dial',
          targets: [
            { kind: 'phone', number: '+79161112233', name: 'Анна' },
            { kind: 'sip', uri: 'sip:101@pbx.example.com', name: 'Борис' },
          ],
          timeoutSec: 20,
          record: true,
          whisper: false,
        },
      ],
      cursor: { node: 'sales' },
    });
    expect(step(flow, { node: 'sales' }, { kind: 'dial', status: 'answered' }, monday10)).toEqual({
      instructions: [{ op: 'hangup' }],
      cursor: null,
      connected: { group: 'Продажи', employee: null },
    });
    expect(step(flow, { node: 'sales' }, { kind: 'dial', status: 'no-answer' }, monday10).cursor).toEqual({
      node: 'vm',
    });
  });

  it('walks a sequential group member by member on no answer or busy, then goes to next', () => {
    let cursor: Cursor | null = { node: 'service', member: 0 };
    const r1 = step(flow, cursor, { kind: 'dial', status: 'no-answer' }, monday10);
    expect(r1).toEqual({
      instructions: [
        {
          op: 'dial',
          targets: [{ kind: 'phone', number: '+79035550009', name: 'Иван' }],
          timeoutSec: 15,
          record: false,
          whisper: false,
        },
      ],
      cursor: { node: 'service', member: 1 },
    });
    cursor = r1.cursor;
    const r2 = step(flow, cursor, { kind: 'dial', status: 'busy' }, monday10);
    expect(r2.cursor).toEqual({ node: 'vm' });
    expect(r2.instructions).toEqual([
      { op: 'record', prompt: 'Оставьте сообщение после сигнала', language: 'ru-RU', maxLengthSec: 120 },
    ]);
  });

  it('names the member of a sequential group who answered', () => {
    const r = step(flow, { node: 'service', member: 1 }, { kind: 'dial', status: 'answered' }, monday10);
    expect(r.connected).toEqual({ group: 'Сервис', employee: 'Иван' });
  });

  it('stops when the caller hangs up while it rings', () => {
    expect(
      step(flow, { node: 'service', member: 0 }, { kind: 'dial', status: 'canceled' }, monday10),
    ).toEqual({
      instructions: [{ op: 'hangup' }],
      cursor: null,
    });
  });

  it('hangs up after voicemail', () => {
    expect(step(flow, { node: 'vm' }, { kind: 'recorded' }, monday10)).toEqual({
      instructions: [{ op: 'hangup' }],
      cursor: null,
    });
  });

  it('forwards to a number and falls back to next, or hangs up without one', () => {
    const f = flowSchema.parse({
      start: 'hello',
      nodes: {
        hello: { kind: 'play', text: 'Соединяю', next: 'fwd' },
        fwd: { kind: 'forward', number: '+79160000000', timeoutSec: 25, next: 'last' },
        last: { kind: 'forward', number: '+79160000001' },
      },
    });
    expect(step(f, null, { kind: 'start' }, monday10)).toEqual({
      instructions: [
        { op: 'say', text: 'Соединяю', language: 'ru-RU' },
        {
          op: 'dial',
          targets: [{ kind: 'phone', number: '+79160000000' }],
          timeoutSec: 25,
          record: false,
          whisper: false,
        },
      ],
      cursor: { node: 'fwd' },
    });
    const next = step(f, { node: 'fwd' }, { kind: 'dial', status: 'failed' }, monday10);
    expect(next.cursor).toEqual({ node: 'last' });
    expect(next.instructions[0]).toMatchObject({ op: 'dial', timeoutSec: 30 });
    expect(step(f, { node: 'last' }, { kind: 'dial', status: 'no-answer' }, monday10)).toEqual({
      instructions: [{ op: 'hangup' }],
      cursor: null,
    });
    expect(step(f, { node: 'fwd' }, { kind: 'dial', status: 'answered' }, monday10).connected).toEqual({
      group: null,
      employee: '+79160000000',
    });
  });

  it('refuses input a node does not take and cursors to missing nodes', () => {
    expect(() => step(flow, { node: 'vm' }, { kind: 'digits', digits: '1' }, monday10)).toThrow(StepError);
    expect(() => step(flow, { node: 'gone' }, { kind: 'timeout' }, monday10)).toThrow(/no longer exists/);
  });

  it('does not spin on an unvalidated loop without input', () => {
    const loop = flowSchema.parse({
      start: 'a',
      nodes: { a: { kind: 'play', text: 'a', next: 'b' }, b: { kind: 'play', text: 'b', next: 'a' } },
    });
    expect(() => step(loop, null, { kind: 'start' }, monday10)).toThrow(/loop without caller input/);
  });
});
