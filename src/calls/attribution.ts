import { ACTIVE_WINDOW_MS } from '../tracking/number-choice.js';

/** `callback`: a callback the visitor asked for on the site (src/callbacks), attributed to that visit. */
export type AttributionMethod = 'dynamic' | 'static' | 'default' | 'history' | 'late' | 'callback' | 'none';

export interface LeaseCandidate {
  visitId: string;
  visitorId: string;
  startedAt: Date;
  lastSeenAt: Date;
  leftAt: Date | null;
  heldUntil: Date;
  visitCountry: string | null;
}

export interface Candidate {
  visitId: string;
  score: number;
  reasons: string[];
}

export interface Attribution {
  method: AttributionMethod;
  confidence: number;
  visitId: string | null;
  candidates: Candidate[];
}

export interface AttributionInput {
  at: Date;
  numberKind: 'pool' | 'static' | 'default' | null;
  /** Leases of the called number whose interval contains `at`. */
  leasesAt: readonly LeaseCandidate[];
  /** The number's last lease that ended before `at`, if any. */
  lastLeaseBefore: LeaseCandidate | null;
  lateGraceMinutes: number;
  /** Visitors this caller number is already linked to through earlier attributed calls. */
  callerVisitorIds: readonly string[];
  /** The latest visit (before `at`) of one of those visitors. */
  historyVisitId: string | null;
  callerCountry: string | null;
  /**
   * Distinct visitors that held the called number at some time in the `RECENT_HOLDERS_HOURS` before the
   * call, the holders at call time and the last holder included. Each other one read the number and may
   * call it late: the more there are, the less a call proves its holder.
   */
  recentHolders: number;
}

/** How far back `recentHolders` looks. */
export const RECENT_HOLDERS_HOURS = 3;

/** The confidence of a caller-history attribution: the right share of such calls on simulated traffic. */
const HISTORY_CONFIDENCE = 0.55;
/** Caller history with the holder's visitor multiplies its call rate by this; history with another visitor divides. */
const CALLER_HISTORY_FACTOR = 8;

/**
 * Which visit produced a call (DESIGN §5). One lease holding the number at call time is exact; several
 * (overflow sharing) are ranked and all kept with scores; none falls back to the last holder within the
 * late-call grace window, then to the caller's history, with falling confidence.
 */
export function attributeCall(input: AttributionInput): Attribution {
  if (input.numberKind === 'static')
    return { method: 'static', confidence: 1, visitId: null, candidates: [] };
  const history = historyAttribution(input);
  if (input.numberKind !== 'pool')
    return (
      history ?? {
        method: input.numberKind ? 'default' : 'none',
        confidence: 0,
        visitId: null,
        candidates: [],
      }
    );

  if (input.leasesAt.length === 1) {
    const lease = input.leasesAt[0];
    const active = isActive(lease, input.at);
    const confidence = callConfidence(input, lease, input.leasesAt, false);
    return {
      method: 'dynamic',
      confidence,
      visitId: lease.visitId,
      candidates: [{ visitId: lease.visitId, score: confidence, reasons: [active ? 'active' : 'frozen'] }],
    };
  }
  if (input.leasesAt.length > 1) {
    // Scores rank the holders among themselves; the confidence also weighs everyone else who read the number.
    const candidates = rankShared(input);
    const top = input.leasesAt.find((l) => l.visitId === candidates[0].visitId) as LeaseCandidate;
    const confidence = callConfidence(input, top, input.leasesAt, false);
    return { method: 'dynamic', confidence, visitId: candidates[0].visitId, candidates };
  }
  const last = input.lastLeaseBefore;
  const graceMs = input.lateGraceMinutes * 60_000;
  if (last && graceMs > 0) {
    const gap = input.at.getTime() - last.heldUntil.getTime();
    if (gap >= 0 && gap <= graceMs) {
      const confidence = callConfidence(input, last, [last], true);
      return {
        method: 'late',
        confidence,
        visitId: last.visitId,
        candidates: [{ visitId: last.visitId, score: confidence, reasons: ['last_holder'] }],
      };
    }
  }
  return history ?? { method: 'none', confidence: 0, visitId: null, candidates: [] };
}

function historyAttribution(input: AttributionInput): Attribution | null {
  if (!input.historyVisitId) return null;
  return {
    method: 'history',
    confidence: HISTORY_CONFIDENCE,
    visitId: input.historyVisitId,
    candidates: [{ visitId: input.historyVisitId, score: HISTORY_CONFIDENCE, reasons: ['caller_history'] }],
  };
}

/** Shared number: rank holders by caller history, caller country vs visit country, and recency. */
function rankShared(input: AttributionInput): Candidate[] {
  const raw = input.leasesAt.map((lease) => {
    let weight = 1;
    const reasons: string[] = [];
    if (input.callerVisitorIds.includes(lease.visitorId)) {
      weight *= 8;
      reasons.push('caller_history');
    }
    if (input.callerCountry && lease.visitCountry) {
      if (input.callerCountry === lease.visitCountry) {
        weight *= 1.5;
        reasons.push('same_country');
      } else {
        weight *= 0.5;
        reasons.push('other_country');
      }
    }
    if (isActive(lease, input.at)) {
      weight *= 2;
      reasons.push('active');
    }
    // Fresher activity is likelier to have led to the call: halve the weight every 10 minutes of silence.
    const silentMinutes = Math.max(0, (input.at.getTime() - lease.lastSeenAt.getTime()) / 60_000);
    weight *= 0.5 ** (silentMinutes / 10);
    return { visitId: lease.visitId, weight, reasons };
  });
  const total = raw.reduce((sum, c) => sum + c.weight, 0);
  return raw
    .map((c) => ({ visitId: c.visitId, score: round(c.weight / total), reasons: c.reasons }))
    .sort((a, b) => b.score - a.score);
}

function isActive(lease: LeaseCandidate, at: Date): boolean {
  return lease.leftAt === null && at.getTime() - lease.lastSeenAt.getTime() <= ACTIVE_WINDOW_MS;
}

/**
 * The chance that the call came from the chosen holder: its own call rate against the rates of the other
 * holders at call time and of everyone else who held the number recently (one unit each, and at least one:
 * someone unseen may always call late). The rates are fitted on simulated traffic (BENCHMARKS.md,
 * "Confidence calibration (session 5)"): an active visitor calls far likelier than anyone else; after it
 * leaves, its rate falls fast with the minutes since its last activity; after the freeze (`late`) it stays
 * high for a few minutes, then is small. Caller history with a holder's visitor raises its rate, history
 * with another visitor only lowers it.
 */
function callConfidence(
  input: AttributionInput,
  chosen: LeaseCandidate,
  holders: readonly LeaseCandidate[],
  late: boolean,
): number {
  const rate = (lease: LeaseCandidate) => ownCallRate(input, lease, late);
  const holderRates = holders.reduce((total, lease) => total + rate(lease), 0);
  const others = Math.max(1, input.recentHolders - new Set(holders.map((l) => l.visitorId)).size);
  return round(rate(chosen) / (holderRates + others));
}

function ownCallRate(input: AttributionInput, lease: LeaseCandidate, late: boolean): number {
  const minutesSince = (t: Date) => Math.max(0, (input.at.getTime() - t.getTime()) / 60_000);
  let rate: number;
  if (late) rate = 0.3 + 50 / (1 + (minutesSince(lease.heldUntil) / 4) ** 4);
  else if (isActive(lease, input.at)) rate = 180;
  else rate = 80 / (1 + (minutesSince(lease.lastSeenAt) / 1.2) ** 2);
  if (input.callerVisitorIds.includes(lease.visitorId)) rate *= CALLER_HISTORY_FACTOR;
  else if (input.callerVisitorIds.length > 0) rate /= CALLER_HISTORY_FACTOR;
  return rate;
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
