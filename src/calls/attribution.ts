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
}

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
    const active =
      lease.leftAt === null && input.at.getTime() - lease.lastSeenAt.getTime() <= ACTIVE_WINDOW_MS;
    const confidence = active ? 1 : 0.95;
    return {
      method: 'dynamic',
      confidence,
      visitId: lease.visitId,
      candidates: [{ visitId: lease.visitId, score: confidence, reasons: [active ? 'active' : 'frozen'] }],
    };
  }
  if (input.leasesAt.length > 1) {
    const candidates = rankShared(input);
    return { method: 'dynamic', confidence: candidates[0].score, visitId: candidates[0].visitId, candidates };
  }
  const last = input.lastLeaseBefore;
  const graceMs = input.lateGraceMinutes * 60_000;
  if (last && graceMs > 0) {
    const gap = input.at.getTime() - last.heldUntil.getTime();
    if (gap >= 0 && gap <= graceMs) {
      // Confidence falls from 0.7 at the end of the freeze to 0.2 at the end of the grace window.
      const confidence = round(0.7 - 0.5 * (gap / graceMs));
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
    confidence: 0.5,
    visitId: input.historyVisitId,
    candidates: [{ visitId: input.historyVisitId, score: 0.5, reasons: ['caller_history'] }],
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
    const active =
      lease.leftAt === null && input.at.getTime() - lease.lastSeenAt.getTime() <= ACTIVE_WINDOW_MS;
    if (active) {
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

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
