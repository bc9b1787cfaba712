import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { reduceCall } from '../src/calls/reducer.js';
import { toCallEvent } from '../src/calls/service.js';
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

/** The call the reducer builds from the events, as processCall does. */
function reduce(events: ProviderEvent[]) {
  return reduceCall(
    events.map((e, seq) =>
      toCallEvent(
        { type: e.type, occurred_at: new Date(e.occurredAt), payload: e.payload as Record<string, unknown> },
        seq,
      ),
    ),
  );
}

describe('AmiCallTracker', () => {
  it('maps a full answered call: started, answered by the DialEnd’s destination, ended, CDRs', () => {
    const all = run(messages('answered-call.txt'));
    const events = all.filter((e) => e.type.startsWith('call.'));
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
    expect(reduce(all)).toMatchObject({
      status: 'completed',
      caller: '+79161234567',
      trackingNumber: '+74997778800',
      employee: 'PJSIP/101',
      talkSeconds: 40,
      waitSeconds: 6,
    });
  });

  it('maps each dialed destination to a leg: DialBegin rings it, DialEnd answers or ends it, its Hangup ends it', () => {
    const legEvents = run(messages('answered-call.txt')).filter((e) => e.type.startsWith('leg.'));
    expect(
      legEvents.map((e) => {
        const p = e.payload as Record<string, unknown>;
        return [e.type, p.legId, p.employee ?? null, p.status ?? null];
      }),
    ).toEqual([
      ['leg.started', '1793610300.102', 'PJSIP/101', null],
      ['leg.started', '1793610300.103', 'PJSIP/102', null],
      ['leg.answered', '1793610300.102', 'PJSIP/101', null],
      ['leg.ended', '1793610300.103', 'PJSIP/102', 'canceled'],
      ['leg.ended', '1793610300.102', null, null],
    ]);
    expect(new Set(legEvents.map((e) => e.providerCallId))).toEqual(new Set(['1793610300.101']));
    const call = reduce(run(messages('answered-call.txt')));
    expect(call.legs.map((l) => [l.employee, l.status, l.answeredAt?.toISOString() ?? null])).toEqual([
      ['PJSIP/101', 'completed', '2026-11-02T09:05:05.120Z'],
      ['PJSIP/102', 'canceled', null],
    ]);
    expect(call.finishedBy).toBe('PJSIP/101');
    const busy = reduce(run(messages('busy-call.txt')));
    expect(busy.legs.every((l) => l.status === 'busy')).toBe(true);
  });

  it('maps BlindTransfer and AttendedTransfer (documented fields) to call.transferred', () => {
    const t = new AmiCallTracker({ normalizeNumber: normalizeAsteriskNumber });
    const ts = (s: number) => ({ Timestamp: `${1793610000 + s}.000000` });
    const msgs: AmiMessage[] = [
      {
        Event: 'Newchannel',
        Uniqueid: '7.1',
        Linkedid: '7.1',
        CallerIDNum: '79161112255',
        Exten: DID,
        ...ts(0),
      },
      {
        Event: 'DialBegin',
        Uniqueid: '7.1',
        Linkedid: '7.1',
        DestChannel: 'PJSIP/101-00000010',
        DestUniqueid: '7.2',
        DialString: '101',
        ...ts(1),
      },
      {
        Event: 'DialEnd',
        Uniqueid: '7.1',
        Linkedid: '7.1',
        DestChannel: 'PJSIP/101-00000010',
        DestUniqueid: '7.2',
        DialStatus: 'ANSWER',
        ...ts(5),
      },
      // 101 sends the caller to extension 102 (blind).
      {
        Event: 'BlindTransfer',
        Result: 'Success',
        TransfererChannel: 'PJSIP/101-00000010',
        TransfererUniqueid: '7.2',
        TransfererLinkedid: '7.1',
        TransfereeChannel: 'PJSIP/trunk-0000000f',
        TransfereeUniqueid: '7.1',
        TransfereeLinkedid: '7.1',
        IsExternal: 'No',
        Context: 'employees',
        Extension: '102',
        ...ts(35),
      },
      { Event: 'Hangup', Uniqueid: '7.2', Linkedid: '7.1', Channel: 'PJSIP/101-00000010', ...ts(35) },
      {
        Event: 'DialBegin',
        Uniqueid: '7.1',
        Linkedid: '7.1',
        DestChannel: 'PJSIP/102-00000011',
        DestUniqueid: '7.3',
        DialString: '102',
        ...ts(36),
      },
      {
        Event: 'DialEnd',
        Uniqueid: '7.1',
        Linkedid: '7.1',
        DestChannel: 'PJSIP/102-00000011',
        DestUniqueid: '7.3',
        DialStatus: 'ANSWER',
        ...ts(40),
      },
      // 102 consults 103 on its own channel (another call) and completes an attended transfer.
      {
        Event: 'AttendedTransfer',
        Result: 'Success',
        OrigTransfererChannel: 'PJSIP/102-00000011',
        OrigTransfererUniqueid: '7.3',
        OrigTransfererLinkedid: '7.1',
        SecondTransfererChannel: 'PJSIP/102-00000012',
        SecondTransfererUniqueid: '8.1',
        SecondTransfererLinkedid: '8.1',
        TransfereeChannel: 'PJSIP/trunk-0000000f',
        TransfereeUniqueid: '7.1',
        TransfereeLinkedid: '7.1',
        TransferTargetChannel: 'PJSIP/103-00000013',
        TransferTargetUniqueid: '8.2',
        TransferTargetLinkedid: '8.1',
        DestType: 'Bridge',
        ...ts(70),
      },
      { Event: 'Hangup', Uniqueid: '7.3', Linkedid: '7.1', Channel: 'PJSIP/102-00000011', ...ts(70) },
      { Event: 'Hangup', Uniqueid: '7.1', Linkedid: '7.1', Channel: 'PJSIP/trunk-0000000f', ...ts(130) },
      // A failed transfer changes nothing.
      { Event: 'BlindTransfer', Result: 'Fail', TransfereeLinkedid: '7.1', Extension: '104', ...ts(131) },
    ];
    const events = msgs.flatMap((m, i) => t.handle(m, { receivedAt, counter: String(i) }));
    const transfers = events.filter((e) => e.type === 'call.transferred');
    expect(transfers.map((e) => [e.providerCallId, (e.payload as { transfer: unknown }).transfer])).toEqual([
      ['7.1', { from: 'PJSIP/101', to: '102', kind: 'blind' }],
      ['7.1', { from: 'PJSIP/102', to: 'PJSIP/103', kind: 'attended' }],
    ]);
    const call = reduce(events);
    expect(call).toMatchObject({ status: 'completed', employee: 'PJSIP/101', finishedBy: 'PJSIP/103' });
    expect(call.legs.map((l) => [l.employee, l.talkSeconds])).toEqual([
      ['PJSIP/101', 30],
      ['PJSIP/102', 30],
      ['PJSIP/103', 60],
    ]);
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
