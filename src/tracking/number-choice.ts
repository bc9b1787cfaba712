import type { Channel } from './channel.js';

export interface PoolRef {
  id: string;
  /** null: the home pool. */
  region: string | null;
}

export type NumberSource =
  | { kind: 'static'; ruleId: string; numberId: string }
  | { kind: 'default'; reason: 'bot' | 'untracked_channel' | 'no_pool' }
  | { kind: 'pool'; poolId: string };

/**
 * Which number a visit gets (DESIGN §5): a matching static channel rule, then the default number for bots
 * and channels not tracked dynamically, then the pool of the visitor's region (multi-regional sites) or
 * the home pool.
 */
export function chooseNumberSource(input: {
  isBot: boolean;
  channel: Channel;
  staticRule: { id: string; numberId: string } | null;
  dynamicChannels: readonly Channel[];
  multiRegional: boolean;
  pools: readonly PoolRef[];
  visitRegion: string | null;
  visitCountry: string | null;
}): NumberSource {
  if (input.staticRule)
    return { kind: 'static', ruleId: input.staticRule.id, numberId: input.staticRule.numberId };
  if (input.isBot) return { kind: 'default', reason: 'bot' };
  // Internal referrers mean the visit's source was lost (e.g. a new session mid-site): treat as direct.
  const channel = input.channel === 'internal' ? 'direct' : input.channel;
  if (!input.dynamicChannels.includes(channel)) return { kind: 'default', reason: 'untracked_channel' };
  const pool = input.multiRegional
    ? regionalPool(input.pools, input.visitRegion, input.visitCountry)
    : undefined;
  const chosen = pool ?? input.pools.find((p) => p.region === null);
  return chosen ? { kind: 'pool', poolId: chosen.id } : { kind: 'default', reason: 'no_pool' };
}

function regionalPool(pools: readonly PoolRef[], region: string | null, country: string | null) {
  const same = (a: string, b: string | null) => b !== null && a.toLowerCase() === b.toLowerCase();
  return (
    pools.find((p) => p.region !== null && same(p.region, region)) ??
    pools.find((p) => p.region !== null && same(p.region, country))
  );
}

/** The widget heartbeats this often while the page is visible. */
export const HEARTBEAT_SECONDS = 30;

/** A visit counts as on the page while its last heartbeat is this recent (two heartbeats may be missed). */
export const ACTIVE_WINDOW_MS = HEARTBEAT_SECONDS * 2 * 1000;

/**
 * How long a lease is held after the visitor's last sign of life. While the page is visible it
 * heartbeats; a missed heartbeat or two is tolerated before the freeze starts.
 */
export function holdUntil(lastSeen: Date, freezeMinutes: number, left: boolean): Date {
  const grace = left ? 0 : ACTIVE_WINDOW_MS;
  return new Date(lastSeen.getTime() + grace + freezeMinutes * 60_000);
}
