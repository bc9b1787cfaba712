import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { type CallEvent, reduceCall } from '../src/calls/reducer.js';
import { normalizeAsteriskNumber } from '../src/telephony/asterisk.js';
import { type AmiMessage, AmiParser } from '../src/telephony/asterisk-ami.js';
import { AmiCallTracker, channelEndpoint, unansweredStatus } from '../src/telephony/asterisk-calls.js';
import type { ProviderEvent } from '../src/telephony/event-log.js';

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'ami');
const DID = '74997778800';

function messages(name: string): AmiMessage[] {
  const text = readFileSync(path.join(FIXTURES, name), 'utf8').replaceAll('@@DID@@', DID);
  return new AmiParser(false).push(`${text}\n\n`);
}

const receivedAt = new Date('2026-11-02T12:00:00Z');
function run(msgs: AmiMessage[], tracker = new AmiCallTracker({ normalizeNumber: normalizeAsteriskNumber })) {
  return msgs.flatMap((m, i) => tracker.handle(m, { receivedAt, counter: `c.${i}` }));
}

/** The call the reducer builds from the events, as processCall would (payload fields → CallEvent). */
function reduce(events: ProviderEvent[]) {
  return reduceCall(
    events.map((e, seq) => {
      const p = e.payload as Record<string, unknown>;
      const date = (v: unknown) => (typeof v === 'string' ? new Date(v) : null);
      return {
        type: e.type,
        occurredAt: new Date(e.occurredAt),
        seq,
        from: (p.from as string) ?? null,
        to: (p.to as string) ?? null,
        employee: (p.employee as string) ?? null,
        status: (p.status as CallEvent['status']) ?? null,
        startedAt: date(p.startedAt),
        answeredAt: date(p.answeredAt),
        endedAt: date(p.endedAt),
        talkSeconds: typeof p.talkSeconds === 'number' ? p.talkSeconds : null,
        waitSeconds: typeof p.waitSeconds === 'number' ? p.waitSeconds : null,
      } satisfies CallEvent;
    }),
  );
}

describe('AmiCallTracker', () => {
  it('maps a full answered call: started, answered by the DialEnd’s destination, ended, CDRs', () => {
    const events = run(messages('answered-call.txt'));
    expect(events.map((e) => [e.type, e.key])).toEqual([
      ['call.started', 'Newchannel:1793610300.101:1793610300.012000'],
      ['call.answered', 'DialEnd:1793610300.101:1793610300.102:1793610305.120000'],
      ['call.ended', 'Hangup:1793610300.101:1793610346.310000'],
      ['call.ended', 'Cdr:1793610300.101:2026-11-02 09:05:00:PJSIP/101-00000002'],
      ['call.ended', 'Cdr:1793610300.101:2026-11-02 09:05:00:PJSIP/102-00000003'],
    ]);
    expect(new Set(events.map((e) => e.providerCallId))).toEqual(new Set(['1793610300.101']));
    expect(events[0].payload).toMatchObject({ from: '+79161234567', to: '+74997778800' });
    expect(events[1].payload).toMatchObject({
      employee: 'PJSIP/101',
      answeredAt: '2026-11-02T09:05:05.120Z',
    });
    expect(events[2].payload).toMatchObject({ status: 'completed' });
    expect(events[3].payload).toMatchObject({ status: 'completed', talkSeconds: 40, waitSeconds: 6 });
    // The losing leg's NO ANSWER CDR carries no talk time that could zero the answered one.
    expect(events[4].payload).not.toHaveProperty('talkSeconds');
    expect(reduce(events)).toMatchObject({
      status: 'completed',
      caller: '+79161234567',
      trackingNumber: '+74997778800',
      employee: 'PJSIP/101',
      talkSeconds: 40,
      waitSeconds: 6,
    });
  });

  it('gives the same keys when replayed (duplicates collapse in the event log) and in any order', () => {
    const msgs = messages('answered-call.txt');
    const once = run(msgs);
    // A restarted tracker seeing the stream again, or a shuffled stream, yields the same call.
    expect(run(msgs).map((e) => e.key)).toEqual(once.map((e) => e.key));
    const shuffled = [...msgs].reverse();
    const events = run(shuffled);
    expect(reduce(events)).toMatchObject({ status: 'completed', talkSeconds: 40, employee: 'PJSIP/101' });
  });

  it('busy: every target busy → busy; nobody answers → no-answer', () => {
    const busy = run(messages('busy-call.txt'));
    expect(
      busy.filter((e) => e.type === 'call.ended').map((e) => (e.payload as { status: string }).status),
    ).toEqual(['busy', 'busy']);
    expect(reduce(busy)).toMatchObject({ status: 'busy', talkSeconds: 0, employee: null });
    const noAnswer = run(messages('no-answer-call.txt'));
    expect(reduce(noAnswer)).toMatchObject({ status: 'missed', talkSeconds: 0, waitSeconds: 20 });
    expect(unansweredStatus(['BUSY', 'NOANSWER'])).toBe('no-answer');
    expect(unansweredStatus(['CHANUNAVAIL'])).toBe('failed');
    expect(unansweredStatus([])).toBe('no-answer');
  });

  it('BridgeEnter answers a call no DialEnd reported (a pickup), once', () => {
    const t = new AmiCallTracker({ normalizeNumber: normalizeAsteriskNumber });
    const base = { Linkedid: '5.1', Timestamp: '1793610000.000000' };
    const out = [
      { Event: 'Newchannel', Uniqueid: '5.1', CallerIDNum: '+79161112233', Exten: '74997778801', ...base },
      { Event: 'BridgeEnter', Uniqueid: '5.1', BridgeNumChannels: '1', ...base },
      {
        Event: 'BridgeEnter',
        Uniqueid: '5.7',
        Channel: 'PJSIP/105-0000000c',
        BridgeNumChannels: '2',
        ...base,
      },
      {
        Event: 'BridgeEnter',
        Uniqueid: '5.8',
        Channel: 'PJSIP/106-0000000d',
        BridgeNumChannels: '2',
        ...base,
      },
    ].flatMap((m, i) => t.handle(m, { receivedAt, counter: String(i) }));
    expect(out.map((e) => e.type)).toEqual(['call.started', 'call.answered']);
    expect(out[1].payload).toMatchObject({ employee: 'PJSIP/105' });
  });

  it('an IVR answering (a CDR without a destination channel) is not a person answering', () => {
    const t = new AmiCallTracker({ normalizeNumber: normalizeAsteriskNumber });
    const events = (
      [
        { Event: 'Newchannel', Uniqueid: '6.1', Linkedid: '6.1', CallerIDNum: '79161112244', Exten: DID },
        { Event: 'Hangup', Uniqueid: '6.1', Linkedid: '6.1', Cause: '16' },
        {
          Event: 'Cdr',
          UniqueID: '6.1',
          DestinationChannel: '',
          LastApplication: 'BackGround',
          StartTime: '2026-11-02 09:00:00',
          Duration: '12',
          BillableSeconds: '12',
          Disposition: 'ANSWERED',
        },
      ] as AmiMessage[]
    ).flatMap((m, i) => t.handle(m, { receivedAt, counter: `x.${i}` }));
    // No Timestamp header (timestampevents=no): receipt time and the per-connection counter.
    expect(events[0].key).toBe('Newchannel:6.1:x.0');
    expect(events[0].occurredAt).toEqual(receivedAt);
    expect(events[2].payload).toMatchObject({ status: 'no-answer' });
    expect(reduce(events)).toMatchObject({ status: 'missed', talkSeconds: 0 });
  });

  it('ignores internal calls and channels of employees for call.started', () => {
    const t = new AmiCallTracker({ normalizeNumber: normalizeAsteriskNumber });
    const out = (
      [
        { Event: 'Newchannel', Uniqueid: '7.1', Linkedid: '7.1', CallerIDNum: '101', Exten: '102' },
        { Event: 'Newchannel', Uniqueid: '7.1', Linkedid: '7.1', CallerIDNum: '101', Exten: 's' },
        { Event: 'Newchannel', Uniqueid: '7.2', Linkedid: '7.1', CallerIDNum: '102', Exten: DID },
        { Event: 'Hangup', Uniqueid: '7.2', Linkedid: '7.1' },
        { Event: 'FullyBooted', Status: 'Fully Booted' },
      ] as AmiMessage[]
    ).flatMap((m, i) => t.handle(m, { receivedAt, counter: String(i) }));
    expect(out).toEqual([]);
  });

  it('names endpoints from channels and normalizes Asterisk numbers', () => {
    expect(channelEndpoint('PJSIP/101-0000001a')).toBe('PJSIP/101');
    expect(channelEndpoint('SIP/1004-000000ae')).toBe('SIP/1004');
    expect(channelEndpoint('Local/919999000001@default-000001c9;1')).toBe('Local/919999000001@default');
    expect(normalizeAsteriskNumber('79161234567')).toBe('+79161234567');
    expect(normalizeAsteriskNumber('+79161234567')).toBe('+79161234567');
    expect(normalizeAsteriskNumber('101')).toBeNull();
    expect(normalizeAsteriskNumber('s')).toBeNull();
  });

  it('forgets old calls', () => {
    const t = new AmiCallTracker({ retainMs: 1000, normalizeNumber: normalizeAsteriskNumber });
    t.handle(
      { Event: 'Newchannel', Uniqueid: '8.1', Linkedid: '8.1', Timestamp: '1793610000' },
      { receivedAt, counter: '1' },
    );
    t.handle(
      { Event: 'Newchannel', Uniqueid: '9.1', Linkedid: '9.1', Timestamp: '1793610005' },
      { receivedAt, counter: '2' },
    );
    expect(t.size).toBe(1);
  });
});
