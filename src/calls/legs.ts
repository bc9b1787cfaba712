import type { CallEvent } from './reducer.js';

/** Who a leg reached: a person, or a machine that answers without being one (telephony.md §6.1 roles). */
export type LegKind = 'employee' | 'ivr' | 'voicemail';

export type LegStatus = 'ringing' | 'answered' | 'completed' | 'no-answer' | 'busy' | 'failed' | 'canceled';

/** One attempt to reach an endpoint within a call. */
export interface CallLeg {
  legId: string;
  kind: LegKind;
  employee: string | null;
  /** The endpoint rung: a phone number, a SIP URI, an extension. */
  target: string | null;
  status: LegStatus;
  startedAt: Date;
  answeredAt: Date | null;
  endedAt: Date | null;
  /** Seconds this leg was connected; the provider's leg summary outranks the timestamps. */
  talkSeconds: number | null;
}

export interface CallTransfer {
  from: string | null;
  to: string;
  kind: 'blind' | 'attended';
  at: Date;
}

export interface LegsState {
  legs: CallLeg[];
  transfers: CallTransfer[];
  /** The employee connected last: who finished the call (the call's `employee` is who answered first). */
  finishedBy: string | null;
}

const LEG_TYPES = new Set<CallEvent['type']>(['leg.started', 'leg.answered', 'leg.ended']);

export function isLegEvent(e: CallEvent): boolean {
  return LEG_TYPES.has(e.type) || e.type === 'call.transferred';
}

const seconds = (from: Date, to: Date) => Math.max(0, Math.round((to.getTime() - from.getTime()) / 1000));
const byTime = (a: CallEvent, b: CallEvent) =>
  a.occurredAt.getTime() - b.occurredAt.getTime() || a.seq - b.seq;

/**
 * The legs and transfers of a call from its events, before the call's end is known. Pure; the result depends
 * only on the set of events, so duplicates and disorder are harmless:
 * - a leg's start is its earliest event, its answer the earliest answer, its end the latest end, and a leg end
 *   carrying talk seconds (a summary) outranks one that does not;
 * - a transfer from A to B ends A's open leg at the transfer time, and gives B a leg connected at that time
 *   unless the provider reports a leg for B (attended: B's own leg; blind: any person leg started after it).
 */
export function deriveLegs(events: readonly CallEvent[]): {
  legs: CallLeg[];
  transfers: CallTransfer[];
} {
  const sorted = [...events].sort(byTime);
  const byLeg = new Map<string, CallEvent[]>();
  for (const e of sorted) {
    if (!LEG_TYPES.has(e.type) || !e.legId) continue;
    const list = byLeg.get(e.legId);
    if (list) list.push(e);
    else byLeg.set(e.legId, [e]);
  }
  const legs: CallLeg[] = [...byLeg].map(([legId, legEvents]) => legFromEvents(legId, legEvents));

  const seen = new Set<string>();
  const transfers: CallTransfer[] = [];
  for (const e of sorted) {
    if (e.type !== 'call.transferred' || !e.transfer) continue;
    const t = { ...e.transfer, at: e.occurredAt };
    const key = `${t.from}|${t.to}|${t.kind}|${t.at.getTime()}`;
    if (seen.has(key)) continue;
    seen.add(key);
    transfers.push(t);
  }

  for (const [i, t] of transfers.entries()) {
    const at = t.at.getTime();
    const fromLeg = legs
      .filter(
        (l) => l.kind === 'employee' && l.employee === t.from && l.answeredAt && l.answeredAt.getTime() <= at,
      )
      .at(-1);
    if (fromLeg && !fromLeg.endedAt) {
      fromLeg.endedAt = t.at;
      fromLeg.status = 'completed';
      fromLeg.talkSeconds = seconds(fromLeg.answeredAt as Date, t.at);
    }
    const reported =
      t.kind === 'attended'
        ? legs.some((l) => l.employee === t.to)
        : legs.some((l) => l.kind === 'employee' && l.startedAt.getTime() >= at);
    if (!reported) {
      legs.push({
        legId: `transfer:${i + 1}`,
        kind: 'employee',
        employee: t.to,
        target: null,
        status: 'answered',
        startedAt: t.at,
        answeredAt: t.at,
        endedAt: null,
        talkSeconds: null,
      });
    }
  }
  legs.sort((a, b) => a.startedAt.getTime() - b.startedAt.getTime() || a.legId.localeCompare(b.legId));
  return { legs, transfers };
}

function legFromEvents(legId: string, events: readonly CallEvent[]): CallLeg {
  const latest = <K extends 'employee' | 'target' | 'legKind'>(key: K) => {
    for (let i = events.length - 1; i >= 0; i--) {
      const v = events[i][key];
      if (v !== undefined && v !== null) return v as NonNullable<CallEvent[K]>;
    }
    return null;
  };
  const answers = events.filter((e) => e.type === 'leg.answered');
  const ends = events.filter((e) => e.type === 'leg.ended');
  const end = ends.filter((e) => e.talkSeconds != null).at(-1) ?? ends.at(-1);
  const endedAt = end ? (end.endedAt ?? end.occurredAt) : null;
  let answeredAt = answers.length
    ? new Date(Math.min(...answers.map((e) => (e.answeredAt ?? e.occurredAt).getTime())))
    : null;
  // A leg summary with talk time says the leg was connected even when its answer event is missing.
  if (!answeredAt && end && endedAt && end.talkSeconds != null && end.talkSeconds > 0) {
    answeredAt = new Date(endedAt.getTime() - end.talkSeconds * 1000);
  }
  const startedAt = new Date(Math.min(...events.map((e) => e.occurredAt.getTime())));
  let status: LegStatus;
  if (!end) status = answeredAt ? 'answered' : 'ringing';
  else if (answeredAt) status = 'completed';
  else status = end.status && end.status !== 'completed' ? end.status : 'no-answer';
  return {
    legId,
    kind: latest('legKind') ?? 'employee',
    employee: latest('employee'),
    target: latest('target'),
    status,
    startedAt,
    answeredAt,
    endedAt,
    talkSeconds: answeredAt && endedAt ? (end?.talkSeconds ?? seconds(answeredAt, endedAt)) : end ? 0 : null,
  };
}

/** The first person leg that connected: who answered the call (an IVR or voicemail answering does not count). */
export function firstPersonAnswer(legs: readonly CallLeg[]): CallLeg | null {
  let first: CallLeg | null = null;
  for (const l of legs) {
    if (l.kind !== 'employee' || !l.answeredAt) continue;
    if (!first || l.answeredAt.getTime() < (first.answeredAt as Date).getTime()) first = l;
  }
  return first;
}

/**
 * Closes the legs still open when the call ended: a connected leg ends with the call, a leg still ringing was
 * canceled if someone else answered and unanswered otherwise. `finishedBy` is the person connected last.
 */
export function closeLegs(
  derived: { legs: CallLeg[]; transfers: CallTransfer[] },
  call: { endedAt: Date | null; answered: boolean },
): LegsState {
  const legs = derived.legs.map((l) => {
    if (l.endedAt || !call.endedAt) return l;
    if (l.answeredAt)
      return {
        ...l,
        status: 'completed' as const,
        endedAt: call.endedAt,
        talkSeconds: seconds(l.answeredAt, call.endedAt),
      };
    return {
      ...l,
      status: call.answered ? ('canceled' as const) : ('no-answer' as const),
      endedAt: call.endedAt,
      talkSeconds: 0,
    };
  });
  // Still connected counts as ending last; among equal ends the later answer finished the call.
  const endOf = (l: CallLeg) => l.endedAt?.getTime() ?? Number.POSITIVE_INFINITY;
  const connected = legs.filter((l) => l.kind === 'employee' && l.answeredAt);
  const last = connected.reduce<CallLeg | null>(
    (best, l) =>
      !best ||
      endOf(l) > endOf(best) ||
      (endOf(l) === endOf(best) && (l.answeredAt as Date) >= (best.answeredAt as Date))
        ? l
        : best,
    null,
  );
  return { legs, transfers: derived.transfers, finishedBy: last?.employee ?? null };
}
