import type { CallStatus } from './reducer.js';

/** The stored boolean column of each call class. */
export const CLASS_COLUMNS = {
  unique: 'is_unique',
  targeted: 'is_targeted',
  unique_targeted: 'is_unique_targeted',
  first_targeted: 'is_first_targeted',
  repeat: 'is_repeat',
  missed: 'is_missed',
} as const;
export type CallClass = keyof typeof CLASS_COLUMNS;

export interface ClassifiableCall {
  id: string;
  startedAt: Date;
  status: CallStatus;
  answeredAt: Date | null;
  talkSeconds: number | null;
  group: string | null;
}

export interface ClassSettings {
  targetedThresholdSeconds: number;
  countUniqueness: boolean;
  /** null: all history. */
  uniquenessWindowDays: number | null;
  /** When non-empty, only calls routed to one of these groups can be targeted. */
  leadGroups: readonly string[];
}

export interface CallClasses {
  unique: boolean;
  targeted: boolean;
  uniqueTargeted: boolean;
  firstTargeted: boolean;
  repeat: boolean;
  missed: boolean;
}

const terminal: ReadonlySet<CallStatus> = new Set(['completed', 'missed', 'busy', 'failed', 'canceled']);

/** Whether a call alone qualifies as targeted (DESIGN §4): answered by a person, long enough, right group. */
export function isTargeted(call: ClassifiableCall, s: ClassSettings): boolean {
  if (!call.answeredAt) return false;
  if ((call.talkSeconds ?? 0) < s.targetedThresholdSeconds) return false;
  return s.leadGroups.length === 0 || (call.group !== null && s.leadGroups.includes(call.group));
}

/**
 * Classes of every call from one caller number to one site (DESIGN §4). Uniqueness looks back over the
 * caller's earlier calls within the window, so the whole history of the caller is classified together.
 */
export function classifyCallerCalls(
  calls: readonly ClassifiableCall[],
  s: ClassSettings,
): Map<string, CallClasses> {
  const sorted = [...calls].sort(
    (a, b) => a.startedAt.getTime() - b.startedAt.getTime() || (a.id < b.id ? -1 : 1),
  );
  const windowMs =
    s.uniquenessWindowDays === null ? Number.POSITIVE_INFINITY : s.uniquenessWindowDays * 86_400_000;
  const out = new Map<string, CallClasses>();
  sorted.forEach((call, i) => {
    const earlier = sorted
      .slice(0, i)
      .filter((e) => call.startedAt.getTime() - e.startedAt.getTime() <= windowMs);
    const targeted = isTargeted(call, s);
    const unique = !s.countUniqueness || earlier.length === 0;
    out.set(call.id, {
      unique,
      targeted,
      uniqueTargeted: unique && targeted,
      firstTargeted: targeted && !earlier.some((e) => isTargeted(e, s)),
      repeat: !unique,
      missed: terminal.has(call.status) && !call.answeredAt,
    });
  });
  return out;
}
