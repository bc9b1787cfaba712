/** A telephony event in the provider-neutral form every adapter produces. */
export interface CallEvent {
  /** call.recording carries only a recording URL that arrived after the call (Twilio's recording callback). */
  type: 'call.started' | 'call.answered' | 'call.ended' | 'call.recording';
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
}

/**
 * Rebuilds a call from all its events, whatever order they arrived in and however often: the result
 * depends only on the set of events. "Answered" means a person answered (a call.answered event, or an
 * end summary reporting talk time); durations reported by the end summary outrank computed ones.
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
  const sorted = [...events].sort((a, b) => a.occurredAt.getTime() - b.occurredAt.getTime() || a.seq - b.seq);
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

  const startedAt = pick('startedAt') ?? sorted[0].occurredAt;
  const endedAt = ended ? (ended.endedAt ?? ended.occurredAt) : null;
  // A provider may send a summary with talk time and then a bare hang-up: the summary still counts.
  const summaryTalk =
    [...sorted].reverse().find((e) => e.type === 'call.ended' && e.talkSeconds != null)?.talkSeconds ?? null;
  let answeredAt = pick('answeredAt') ?? answeredEvent?.occurredAt ?? null;
  if (!answeredAt && endedAt && summaryTalk !== null && summaryTalk > 0) {
    answeredAt = new Date(endedAt.getTime() - summaryTalk * 1000);
  }
  const answered = answeredAt !== null;

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
    employee: answered ? pick('employee') : null,
    group: pick('group'),
    recordingUrl: pick('recordingUrl'),
    closedBy: ended?.synthetic ? 'sweeper' : null,
  };
}
