import { type AmiMessage, amiField } from './asterisk-ami.js';
import type { ProviderEvent } from './event-log.js';

/**
 * Maps the AMI events of a call (reference/telephony.md §2.2) to normalized call events. Pure apart
 * from its own memory of the calls in progress: no I/O, no clock (times come from the events'
 * `Timestamp` header, present with `timestampevents=yes` in manager.conf, or from the receipt time).
 *
 * - The call id is `Linkedid` (the Uniqueid of the oldest channel of the call), the leg id `Uniqueid`.
 * - Newchannel / Newstate of the inbound channel (Uniqueid = Linkedid) with a numeric Exten:
 *   call.started, CallerIDNum → from, Exten → to.
 * - DialBegin / DialEnd: `DialStatus: ANSWER` → call.answered with the destination channel's endpoint
 *   (`PJSIP/101`) as the employee; BUSY / NOANSWER / CANCEL / CHANUNAVAIL… are noted for the hang-up.
 * - Every DialBegin / DialEnd is also a leg (leg id `DestUniqueid`): leg.started, then leg.answered or
 *   leg.ended with the DialStatus; an answered leg's own Hangup ends it.
 * - BlindTransfer / AttendedTransfer (Result: Success): call.transferred from the transferer's endpoint to
 *   the extension (blind) or the transfer target's endpoint (attended).
 * - BridgeEnter of a bridge with two or more channels: call.answered, if no DialEnd said so already.
 * - Hangup of the inbound channel: call.ended (completed, or busy / failed / no-answer from the dials).
 * - Cdr (authoritative, cdr_manager): call.ended with Disposition, BillableSeconds → talkSeconds and
 *   Duration − BillableSeconds → waitSeconds. A CDR counts as answered only when it has a destination
 *   channel: an IVR or Playback answering the caller is not a person answering.
 *
 * Idempotency keys follow telephony.md §6.4: `Event:Uniqueid[:DestUniqueid]:<Timestamp or counter>`,
 * and `Cdr:UniqueID:StartTime:DestinationChannel`. Duplicates and out-of-order events are harmless: the
 * event log skips repeated keys and the reducer rebuilds the call from whatever set of events it has.
 */

export interface TrackerOptions {
  /** Normalizes a caller id or an Exten to E.164; null when it is not a phone number. */
  normalizeNumber?: (raw: string) => string | null;
  /** Forget a call this long after its last event (ms). */
  retainMs?: number;
  /** At most this many calls are remembered; the oldest are forgotten first. */
  maxCalls?: number;
}

export interface EventContext {
  receivedAt: Date;
  /** Unique per received message (e.g. `<connection start ms>.<n>`); used when there is no Timestamp. */
  counter: string;
}

interface Dial {
  channel: string;
  status: string | null;
}

interface CallMemory {
  startedTo: string | null;
  answered: boolean;
  employee: string | null;
  dials: Map<string, Dial>;
  cdrDispositions: string[];
  lastSeen: number;
}

const UNKNOWN_CALLER = new Set(['', '<unknown>', 'unknown', 'anonymous', 'restricted']);

/** The endpoint a channel belongs to: `PJSIP/101-0000001a` → `PJSIP/101`, `Local/101@ctx-00c9;1` → `Local/101@ctx`. */
export function channelEndpoint(channel: string): string {
  return channel.replace(/-[0-9a-f]+(;\d+)?$/i, '');
}

/** E.164 from what Asterisk shows: `+79161234567`, `79161234567` (no plus) or anything libphonenumber parses. */
export function defaultNormalize(parse: (s: string) => string | null) {
  return (raw: string): string | null => {
    const s = raw.trim();
    if (!s) return null;
    return parse(s) ?? (/^\d{10,15}$/.test(s) ? parse(`+${s}`) : null);
  };
}

/** `Timestamp: 1483732263.182800` (seconds since the epoch) as a Date. */
function amiTime(m: AmiMessage): Date | null {
  const ts = amiField(m, 'Timestamp');
  if (!ts || !/^\d{9,11}(\.\d+)?$/.test(ts)) return null;
  return new Date(Math.round(Number(ts) * 1000));
}

/** How an unanswered call ended, from the dial attempts it made (§6.3: busy only if every target was busy). */
export function unansweredStatus(dialStatuses: readonly (string | null)[]): 'busy' | 'failed' | 'no-answer' {
  const known = dialStatuses.filter((s): s is string => s !== null);
  if (known.length === 0) return 'no-answer';
  if (known.every((s) => s === 'BUSY')) return 'busy';
  if (known.every((s) => s === 'CHANUNAVAIL' || s === 'CONGESTION' || s === 'INVALIDARGS')) return 'failed';
  return 'no-answer';
}

/** A losing dial attempt's DialStatus as a leg's end status. */
function legEndStatus(dialStatus: string): 'busy' | 'no-answer' | 'canceled' | 'failed' {
  if (dialStatus === 'BUSY') return 'busy';
  if (dialStatus === 'CANCEL') return 'canceled';
  if (dialStatus === 'CHANUNAVAIL' || dialStatus === 'CONGESTION' || dialStatus === 'INVALIDARGS')
    return 'failed';
  return 'no-answer';
}

function cdrStatus(dispositions: readonly string[]): 'completed' | 'busy' | 'failed' | 'no-answer' {
  if (dispositions.includes('ANSWERED')) return 'completed';
  if (dispositions.length > 0 && dispositions.every((d) => d === 'BUSY')) return 'busy';
  if (dispositions.length > 0 && dispositions.every((d) => d === 'FAILED')) return 'failed';
  return 'no-answer';
}

export class AmiCallTracker {
  private calls = new Map<string, CallMemory>();
  /** Uniqueid → Linkedid of every leg seen, so a Cdr (which carries only UniqueID) finds its call. */
  private legs = new Map<string, string>();
  private readonly normalize: (raw: string) => string | null;
  private readonly retainMs: number;
  private readonly maxCalls: number;

  constructor(opts: TrackerOptions = {}) {
    this.normalize = opts.normalizeNumber ?? ((s) => (/^\+\d{7,15}$/.test(s) ? s : null));
    this.retainMs = opts.retainMs ?? 2 * 60 * 60 * 1000;
    this.maxCalls = opts.maxCalls ?? 10_000;
  }

  /** Calls currently remembered (for tests and metrics). */
  get size(): number {
    return this.calls.size;
  }

  private memory(callId: string, now: number): CallMemory {
    let c = this.calls.get(callId);
    if (!c) {
      c = {
        startedTo: null,
        answered: false,
        employee: null,
        dials: new Map(),
        cdrDispositions: [],
        lastSeen: now,
      };
      this.calls.set(callId, c);
    }
    c.lastSeen = now;
    return c;
  }

  private forgetOld(now: number): void {
    for (const [id, c] of this.calls) {
      if (now - c.lastSeen <= this.retainMs && this.calls.size <= this.maxCalls) break;
      this.calls.delete(id);
    }
    if (this.legs.size > this.maxCalls * 8) {
      for (const leg of this.legs.keys()) {
        this.legs.delete(leg);
        if (this.legs.size <= this.maxCalls * 4) break;
      }
    }
  }

  /** The normalized events one AMI event yields (often none). */
  handle(m: AmiMessage, ctx: EventContext): ProviderEvent[] {
    const event = amiField(m, 'Event');
    if (!event) return [];
    const at = amiTime(m) ?? ctx.receivedAt;
    const stamp = amiField(m, 'Timestamp') ?? ctx.counter;
    const now = at.getTime();
    const out: ProviderEvent[] = [];
    const uniqueid = amiField(m, 'Uniqueid') ?? '';
    const linkedid = amiField(m, 'Linkedid') || this.legs.get(uniqueid) || uniqueid;
    if (uniqueid) {
      // A call's map entry moves to the end on every event, so forgetOld() sees the oldest first.
      const c = this.calls.get(linkedid);
      if (c) {
        this.calls.delete(linkedid);
        this.calls.set(linkedid, c);
      }
    }

    switch (event) {
      case 'Newchannel':
      case 'Newstate': {
        if (!uniqueid) break;
        this.legs.set(uniqueid, linkedid);
        const call = this.memory(linkedid, now);
        if (uniqueid !== linkedid) break;
        const to = this.normalize(amiField(m, 'Exten') ?? '');
        if (!to || call.startedTo === to) break;
        call.startedTo = to;
        const callerRaw = amiField(m, 'CallerIDNum') ?? '';
        const from = UNKNOWN_CALLER.has(callerRaw.toLowerCase())
          ? null
          : (this.normalize(callerRaw) ?? callerRaw);
        out.push({
          key: `${event}:${uniqueid}:${stamp}`,
          providerCallId: linkedid,
          type: 'call.started',
          occurredAt: at,
          payload: {
            from,
            to,
            startedAt: at.toISOString(),
            asterisk: { event, uniqueid, channel: amiField(m, 'Channel'), exten: amiField(m, 'Exten') },
          },
        });
        break;
      }
      case 'DialBegin':
      case 'DialEnd': {
        const dest = amiField(m, 'DestUniqueid') ?? '';
        if (!uniqueid || !dest) break;
        this.legs.set(uniqueid, linkedid);
        this.legs.set(dest, linkedid);
        const call = this.memory(linkedid, now);
        const channel = amiField(m, 'DestChannel') ?? '';
        const dial = call.dials.get(dest) ?? { channel, status: null };
        call.dials.set(dest, dial);
        const employee = channelEndpoint(channel);
        const asterisk = { event, uniqueid, destUniqueid: dest, destChannel: channel };
        if (event === 'DialBegin') {
          out.push({
            key: `DialBegin:${uniqueid}:${dest}:${stamp}`,
            providerCallId: linkedid,
            type: 'leg.started',
            occurredAt: at,
            payload: {
              legId: dest,
              employee,
              target: amiField(m, 'DialString') || amiField(m, 'DestExten') || null,
              asterisk,
            },
          });
          break;
        }
        const status = (amiField(m, 'DialStatus') ?? '').toUpperCase();
        dial.status = status || null;
        out.push({
          key: `DialEnd:${uniqueid}:${dest}:${stamp}:leg`,
          providerCallId: linkedid,
          type: status === 'ANSWER' ? 'leg.answered' : 'leg.ended',
          occurredAt: at,
          payload: {
            legId: dest,
            employee,
            ...(status === 'ANSWER' ? { answeredAt: at.toISOString() } : { status: legEndStatus(status) }),
            asterisk: { ...asterisk, dialStatus: status },
          },
        });
        if (status !== 'ANSWER' || call.answered) break;
        call.answered = true;
        call.employee = channelEndpoint(channel);
        out.push({
          key: `DialEnd:${uniqueid}:${dest}:${stamp}`,
          providerCallId: linkedid,
          type: 'call.answered',
          occurredAt: at,
          payload: {
            answeredAt: at.toISOString(),
            employee: call.employee,
            asterisk: { event, uniqueid, destUniqueid: dest, destChannel: channel, dialStatus: status },
          },
        });
        break;
      }
      case 'BridgeEnter': {
        if (!uniqueid) break;
        this.legs.set(uniqueid, linkedid);
        const call = this.memory(linkedid, now);
        const channels = Number(amiField(m, 'BridgeNumChannels') ?? '0');
        if (call.answered || !(channels >= 2)) break;
        const channel = amiField(m, 'Channel') ?? '';
        const answeredDial = [...call.dials.values()].find((d) => d.status === 'ANSWER');
        const employee =
          uniqueid !== linkedid
            ? channelEndpoint(channel)
            : answeredDial
              ? channelEndpoint(answeredDial.channel)
              : call.dials.size === 1
                ? channelEndpoint([...call.dials.values()][0].channel)
                : null;
        call.answered = true;
        call.employee = employee;
        out.push({
          key: `BridgeEnter:${uniqueid}:${stamp}`,
          providerCallId: linkedid,
          type: 'call.answered',
          occurredAt: at,
          payload: {
            answeredAt: at.toISOString(),
            ...(employee ? { employee } : {}),
            asterisk: { event, uniqueid, channel, bridge: amiField(m, 'BridgeUniqueid') },
          },
        });
        break;
      }
      case 'Hangup': {
        if (!uniqueid) break;
        const call = this.memory(linkedid, now);
        // Only the inbound channel's hang-up ends the call; an answered employee leg's hang-up ends that leg.
        if (uniqueid !== linkedid) {
          if (call.dials.get(uniqueid)?.status !== 'ANSWER') break;
          out.push({
            key: `Hangup:${uniqueid}:${stamp}`,
            providerCallId: linkedid,
            type: 'leg.ended',
            occurredAt: at,
            payload: { legId: uniqueid, endedAt: at.toISOString(), asterisk: { event, uniqueid } },
          });
          break;
        }
        const status = call.answered
          ? 'completed'
          : unansweredStatus([...call.dials.values()].map((d) => d.status));
        const cause = amiField(m, 'Cause');
        out.push({
          key: `Hangup:${uniqueid}:${stamp}`,
          providerCallId: linkedid,
          type: 'call.ended',
          occurredAt: at,
          payload: {
            status,
            endedAt: at.toISOString(),
            asterisk: {
              event,
              uniqueid,
              cause: cause === undefined ? null : Number(cause),
              causeText: amiField(m, 'Cause-txt') ?? null,
            },
          },
        });
        break;
      }
      // https://docs.asterisk.org/Asterisk_20_Documentation/API_Documentation/AMI_Events/BlindTransfer/ :
      // the transferer (employee) sends the transferee (caller) to Extension@Context; the new leg's DialBegin follows.
      case 'BlindTransfer': {
        const callId = amiField(m, 'TransfereeLinkedid') ?? '';
        const extension = amiField(m, 'Extension') ?? '';
        if (!callId || !extension || amiField(m, 'Result') !== 'Success') break;
        const transferer = amiField(m, 'TransfererUniqueid') ?? '';
        this.memory(callId, now);
        out.push({
          key: `BlindTransfer:${transferer}:${stamp}`,
          providerCallId: callId,
          type: 'call.transferred',
          occurredAt: at,
          payload: {
            transfer: {
              from: channelEndpoint(amiField(m, 'TransfererChannel') ?? '') || null,
              to: extension,
              kind: 'blind',
            },
            asterisk: { event, transfererUniqueid: transferer, context: amiField(m, 'Context') ?? null },
          },
        });
        break;
      }
      // https://docs.asterisk.org/Asterisk_20_Documentation/API_Documentation/AMI_Events/AttendedTransfer/ :
      // OrigTransferer is the employee's channel with the caller (Transferee), TransferTarget the consulted
      // employee, whose channel belongs to the consultation call (another Linkedid).
      case 'AttendedTransfer': {
        const callId = amiField(m, 'TransfereeLinkedid') || amiField(m, 'OrigTransfererLinkedid') || '';
        const target = amiField(m, 'TransferTargetChannel') ?? '';
        if (!callId || !target || amiField(m, 'Result') !== 'Success') break;
        const transferer = amiField(m, 'OrigTransfererUniqueid') ?? '';
        this.memory(callId, now);
        out.push({
          key: `AttendedTransfer:${transferer}:${stamp}`,
          providerCallId: callId,
          type: 'call.transferred',
          occurredAt: at,
          payload: {
            transfer: {
              from: channelEndpoint(amiField(m, 'OrigTransfererChannel') ?? '') || null,
              to: channelEndpoint(target),
              kind: 'attended',
            },
            asterisk: {
              event,
              origTransfererUniqueid: transferer,
              transferTargetUniqueid: amiField(m, 'TransferTargetUniqueid') ?? null,
              destType: amiField(m, 'DestType') ?? null,
            },
          },
        });
        break;
      }
      case 'Cdr': {
        const cdrUniqueid = amiField(m, 'UniqueID') ?? '';
        if (!cdrUniqueid) break;
        const callId = this.legs.get(cdrUniqueid) ?? cdrUniqueid;
        const call = this.memory(callId, now);
        const disposition = (amiField(m, 'Disposition') ?? '').toUpperCase();
        const destChannel = amiField(m, 'DestinationChannel') ?? '';
        // An IVR or a Playback answers the caller too; only a destination channel is a person.
        const human = disposition === 'ANSWERED' && destChannel !== '';
        call.cdrDispositions.push(
          human ? 'ANSWERED' : disposition === 'ANSWERED' ? 'NO ANSWER' : disposition,
        );
        const billable = Number(amiField(m, 'BillableSeconds') ?? 'NaN');
        const duration = Number(amiField(m, 'Duration') ?? 'NaN');
        const talk = human && Number.isFinite(billable) ? billable : null;
        const wait = talk !== null && Number.isFinite(duration) && duration >= talk ? duration - talk : null;
        out.push({
          key: `Cdr:${cdrUniqueid}:${amiField(m, 'StartTime') ?? ''}:${destChannel}`,
          providerCallId: callId,
          type: 'call.ended',
          occurredAt: at,
          payload: {
            status: cdrStatus(call.cdrDispositions),
            endedAt: at.toISOString(),
            // Only an answered CDR reports talk time: a losing leg's NO ANSWER must not zero it.
            ...(talk !== null ? { talkSeconds: talk } : {}),
            ...(wait !== null ? { waitSeconds: wait } : {}),
            ...(human ? { employee: channelEndpoint(destChannel) } : {}),
            asterisk: {
              event,
              uniqueid: cdrUniqueid,
              disposition,
              duration: Number.isFinite(duration) ? duration : null,
              billableSeconds: Number.isFinite(billable) ? billable : null,
              destinationChannel: destChannel || null,
              startTime: amiField(m, 'StartTime') ?? null,
              answerTime: amiField(m, 'AnswerTime') ?? null,
              endTime: amiField(m, 'EndTime') ?? null,
            },
          },
        });
        break;
      }
      default:
        break;
    }
    this.forgetOld(now);
    return out;
  }
}
