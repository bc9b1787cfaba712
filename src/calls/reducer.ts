import {
  type CallLeg,
  type CallTransfer,
  closeLegs,
  deriveLegs,
  firstPersonAnswer,
  isLegEvent,
  type LegKind,
} from './legs.js';

/** A telephony event in the provider-neutral form every adapter produces. */
export interface CallEvent {
  /**
   * call.recording carries only a recording URL that arrived after the call (Twilio's recording callback).
   * leg.* events describe one attempt to reach an endpoint (legId); call.transferred moves the call between
   * employees (telephony.md §6.2, §6.6).
   */
  type:
    | 'call.started'
    | 'call.answered'
    | 'call.ended'
    | 'call.recording'
    | 'leg.started'
    | 'leg.answered'
    | 'leg.ended'
    | 'call.transferred';
  occurredAt: Date;
  /** Receipt order, breaking ties between events with the same provider time. */
  seq: number;
  from?: string | null;
  to?: string | null;
  employee?: string | null;
  group?: string | null;
  /** Final disposition, on call.ended. */
  status?: 'completed' | 'no-answer' | 'busy' | 'failed' | 'canceled' | null;
  startedAt?: Date | null;
  answeredAt?: Date | null;
  endedAt?: Date | null;
  talkSeconds?: number | null;
  waitSeconds?: number | null;
  recordingUrl?: string | null;
  /**
   * Written by the stale-call sweeper, not the provider (telephony.md §6.3). It closes the call only while
   * nothing real says otherwise: a real call.ended, or a real event after the sweeper's close time, wins.
   */
  synthetic?: boolean;
  /** The leg a leg.* event belongs to. */
  legId?: string | null;
  /** What the leg reached (default: an employee); an ivr or voicemail leg answering is not a person answering. */
  legKind?: LegKind | null;
  /** The endpoint a leg rings (number, SIP URI, extension). */
  target?: string | null;
  /** On call.transferred: between which employees, and how. */
  transfer?: { from: string | null; to: string; kind: 'blind' | 'attended' } | null;
}

export type CallStatus = 'ringing' | 'answered' | 'completed' | 'missed' | 'busy' | 'failed' | 'canceled';

export interface CallState {
  caller: string | null;
  trackingNumber: string | null;
  status: CallStatus;
  startedAt: Date;
  answeredAt: Date | null;
  endedAt: Date | null;
  waitSeconds: number | null;
  talkSeconds: number | null;
  employee: string | null;
  group: string | null;
  recordingUrl: string | null;
  /** 'sweeper' when the call's end is the sweeper's synthetic call.ended, not the provider's. */
  closedBy: 'sweeper' | null;
  legs: CallLeg[];
  transfers: CallTransfer[];
  /** The employee connected last (after transfers); `employee` is who answered first. */
  finishedBy: string | null;
}

/**
 * Rebuilds a call from all its events, whatever order they arrived in and however often: the result
 * depends only on the set of events. "Answered" means a person answered (a call.answered event, or an
 * end summary reporting talk time); durations reported by the end summary outrank computed ones.
 * Legs and transfers come from leg events (see legs.ts): the first person leg to connect answers the call and
 * names its employee; an IVR or voicemail leg answering does not.
 * A synthetic end (the sweeper's) counts only while no real call.ended exists and no real event (other than a
 * late recording) happened after it.
 */
export function reduceCall(all: readonly CallEvent[]): CallState {
  if (all.length === 0) throw new Error('a call needs at least one event');
  const real = all.filter((e) => !e.synthetic);
  const lastLive = Math.max(
    ...real.filter((e) => e.type !== 'call.recording').map((e) => e.occurredAt.getTime()),
  );
  const events = real.some((e) => e.type === 'call.ended')
    ? real
    : all.filter((e) => !e.synthetic || !(e.occurredAt.getTime() < lastLive));
  const timeline = [...events].sort(
    (a, b) => a.occurredAt.getTime() - b.occurredAt.getTime() || a.seq - b.seq,
  );
  // Call-level fields come from call events; leg events speak for their leg only.
  const sorted = timeline.filter((e) => !isLegEvent(e));
  const derived = deriveLegs(timeline);
  const personLeg = firstPersonAnswer(derived.legs);
  const pick = <K extends keyof CallEvent>(key: K): NonNullable<CallEvent[K]> | null => {
    // The latest event that carries a value wins; the end summary comes last.
    for (let i = sorted.length - 1; i >= 0; i--) {
      const v = sorted[i][key];
      if (v !== undefined && v !== null) return v as NonNullable<CallEvent[K]>;
    }
    return null;
  };
  const answeredEvent = sorted.find((e) => e.type === 'call.answered');
  const ended = [...sorted].reverse().find((e) => e.type === 'call.ended');

  const startedAt = pick('startedAt') ?? timeline[0].occurredAt;
  const endedAt = ended ? (ended.endedAt ?? ended.occurredAt) : null;
  // A provider may send a summary with talk time and then a bare hang-up: the summary still counts.
  const summaryTalk =
    [...sorted].reverse().find((e) => e.type === 'call.ended' && e.talkSeconds != null)?.talkSeconds ?? null;
  const callAnswer = pick('answeredAt') ?? answeredEvent?.occurredAt ?? null;
  // A person leg connecting answers the call too; whichever answer came first counts.
  const legFirst = personLeg?.answeredAt && (!callAnswer || personLeg.answeredAt <= callAnswer);
  let answeredAt = legFirst ? personLeg.answeredAt : callAnswer;
  if (!answeredAt && endedAt && summaryTalk !== null && summaryTalk > 0) {
    answeredAt = new Date(endedAt.getTime() - summaryTalk * 1000);
  }
  const answered = answeredAt !== null;
  const employee = answered ? ((legFirst ? personLeg?.employee : null) ?? pick('employee')) : null;
  const legsState = closeLegs(derived, { endedAt, answered });

  let status: CallStatus;
  if (ended) {
    if (answered) status = 'completed';
    else if (ended.status === 'busy' || ended.status === 'failed' || ended.status === 'canceled')
      status = ended.status;
    else status = 'missed';
  } else {
    status = answered ? 'answered' : 'ringing';
  }

  const seconds = (from: Date, to: Date) => Math.max(0, Math.round((to.getTime() - from.getTime()) / 1000));
  const talkSeconds = answered
    ? (summaryTalk ?? pick('talkSeconds') ?? (endedAt ? seconds(answeredAt!, endedAt) : null))
    : ended
      ? 0
      : null;
  const waitSeconds =
    pick('waitSeconds') ??
    (answeredAt ? seconds(startedAt, answeredAt) : endedAt ? seconds(startedAt, endedAt) : null);

  return {
    caller: pick('from'),
    trackingNumber: pick('to'),
    status,
    startedAt,
    answeredAt,
    endedAt,
    waitSeconds,
    talkSeconds,
    employee,
    group: pick('group'),
    recordingUrl: pick('recordingUrl'),
    closedBy: ended?.synthetic ? 'sweeper' : null,
    legs: legsState.legs,
    transfers: legsState.transfers,
    finishedBy: legsState.finishedBy ?? employee,
  };
}
