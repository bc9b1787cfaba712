import { describe, expect, it } from 'vitest';
import { ALL_CHANNELS, type Channel, PAID_CHANNELS } from './channel.js';
import {
  ACTIVE_WINDOW_MS,
  chooseNumberSource,
  HEARTBEAT_SECONDS,
  holdUntil,
  type PoolRef,
} from './number-choice.js';

type ChoiceInput = Parameters<typeof chooseNumberSource>[0];

/** The site default (sites/schemas.ts): only paid channels are tracked dynamically. */
const DEFAULT_DYNAMIC: readonly Channel[] = PAID_CHANNELS;

const HOME: PoolRef = { id: 'home', region: null };
const MOSCOW: PoolRef = { id: 'msk', region: 'Moscow' };
const SPB: PoolRef = { id: 'spb', region: 'Saint Petersburg' };
const KZ: PoolRef = { id: 'kz', region: 'KZ' };

function choice(over: Partial<ChoiceInput> = {}): ChoiceInput {
  return {
    isBot: false,
    channel: 'paid_search',
    staticRule: null,
    dynamicChannels: DEFAULT_DYNAMIC,
    multiRegional: false,
    pools: [HOME],
    visitRegion: null,
    visitCountry: null,
    ...over,
  };
}

const RULE = { id: 'rule-1', numberId: 'num-7' };

describe('chooseNumberSource: static channel rules', () => {
  it('a matching static rule gives its number', () => {
    expect(chooseNumberSource(choice({ staticRule: RULE }))).toEqual({
      kind: 'static',
      ruleId: 'rule-1',
      numberId: 'num-7',
    });
  });

  it('a static rule comes first even for bots', () => {
    expect(chooseNumberSource(choice({ staticRule: RULE, isBot: true }))).toEqual({
      kind: 'static',
      ruleId: 'rule-1',
      numberId: 'num-7',
    });
  });

  it('a static rule comes first even for untracked channels and without pools', () => {
    for (const channel of ['organic_search', 'direct', 'internal'] as const) {
      expect(chooseNumberSource(choice({ staticRule: RULE, channel, pools: [] })).kind).toBe('static');
    }
  });
});

describe('chooseNumberSource: default number', () => {
  it('a bot gets the default number', () => {
    expect(chooseNumberSource(choice({ isBot: true }))).toEqual({ kind: 'default', reason: 'bot' });
  });

  it('a bot on an untracked channel is reported as bot', () => {
    expect(chooseNumberSource(choice({ isBot: true, channel: 'direct' }))).toEqual({
      kind: 'default',
      reason: 'bot',
    });
  });

  it.each(['organic_search', 'direct', 'social', 'email', 'referral'] as const)(
    'with the default config, %s is untracked and gets the default number',
    (channel) => {
      expect(chooseNumberSource(choice({ channel }))).toEqual({
        kind: 'default',
        reason: 'untracked_channel',
      });
    },
  );

  it.each(PAID_CHANNELS)('with the default config, %s gets a pool number', (channel) => {
    expect(chooseNumberSource(choice({ channel }))).toEqual({ kind: 'pool', poolId: 'home' });
  });

  it('a channel is tracked when the site lists it', () => {
    expect(
      chooseNumberSource(choice({ channel: 'organic_search', dynamicChannels: ['organic_search'] })),
    ).toEqual({
      kind: 'pool',
      poolId: 'home',
    });
    expect(
      chooseNumberSource(choice({ channel: 'paid_search', dynamicChannels: ['organic_search'] })),
    ).toEqual({
      kind: 'default',
      reason: 'untracked_channel',
    });
  });

  it('with no dynamic channels every visit gets the default number', () => {
    for (const channel of ALL_CHANNELS) {
      expect(chooseNumberSource(choice({ channel, dynamicChannels: [] }))).toEqual({
        kind: 'default',
        reason: 'untracked_channel',
      });
    }
  });

  it('no pool at all gives the default number (no_pool)', () => {
    expect(chooseNumberSource(choice({ pools: [] }))).toEqual({ kind: 'default', reason: 'no_pool' });
    expect(chooseNumberSource(choice({ pools: [], multiRegional: true, visitRegion: 'Moscow' }))).toEqual({
      kind: 'default',
      reason: 'no_pool',
    });
  });
});

describe('chooseNumberSource: internal traffic', () => {
  it('is untracked when direct is untracked', () => {
    expect(chooseNumberSource(choice({ channel: 'internal' }))).toEqual({
      kind: 'default',
      reason: 'untracked_channel',
    });
  });

  it('is tracked like direct when direct is tracked', () => {
    expect(
      chooseNumberSource(choice({ channel: 'internal', dynamicChannels: [...DEFAULT_DYNAMIC, 'direct'] })),
    ).toEqual({ kind: 'pool', poolId: 'home' });
  });

  it('listing internal itself does not track it while direct is untracked', () => {
    expect(
      chooseNumberSource(choice({ channel: 'internal', dynamicChannels: [...DEFAULT_DYNAMIC, 'internal'] })),
    ).toEqual({ kind: 'default', reason: 'untracked_channel' });
  });
});

describe('chooseNumberSource: pools', () => {
  const pools = [MOSCOW, HOME, SPB, KZ];

  it('multi-regional: the pool of the visit region', () => {
    expect(chooseNumberSource(choice({ multiRegional: true, pools, visitRegion: 'Moscow' }))).toEqual({
      kind: 'pool',
      poolId: 'msk',
    });
    expect(
      chooseNumberSource(
        choice({ multiRegional: true, pools, visitRegion: 'Saint Petersburg', visitCountry: 'RU' }),
      ),
    ).toEqual({ kind: 'pool', poolId: 'spb' });
  });

  it('multi-regional: the region matches case-insensitively', () => {
    for (const visitRegion of ['moscow', 'MOSCOW', 'mOsCoW']) {
      expect(chooseNumberSource(choice({ multiRegional: true, pools, visitRegion }))).toEqual({
        kind: 'pool',
        poolId: 'msk',
      });
    }
  });

  it('multi-regional: falls back to a pool named after the visit country', () => {
    expect(
      chooseNumberSource(choice({ multiRegional: true, pools, visitRegion: 'Almaty', visitCountry: 'kz' })),
    ).toEqual({ kind: 'pool', poolId: 'kz' });
    expect(
      chooseNumberSource(choice({ multiRegional: true, pools, visitRegion: null, visitCountry: 'KZ' })),
    ).toEqual({
      kind: 'pool',
      poolId: 'kz',
    });
  });

  it('multi-regional: the region pool wins over the country pool', () => {
    const regionAndCountry: PoolRef[] = [{ id: 'ru', region: 'RU' }, MOSCOW, HOME];
    expect(
      chooseNumberSource(
        choice({ multiRegional: true, pools: regionAndCountry, visitRegion: 'Moscow', visitCountry: 'RU' }),
      ),
    ).toEqual({ kind: 'pool', poolId: 'msk' });
  });

  it('multi-regional: a region without its own pool gets the home pool', () => {
    expect(
      chooseNumberSource(choice({ multiRegional: true, pools, visitRegion: 'Kazan', visitCountry: 'RU' })),
    ).toEqual({ kind: 'pool', poolId: 'home' });
    expect(
      chooseNumberSource(choice({ multiRegional: true, pools, visitRegion: null, visitCountry: null })),
    ).toEqual({ kind: 'pool', poolId: 'home' });
  });

  it('multi-regional: no matching pool and no home pool gives no_pool', () => {
    expect(
      chooseNumberSource(choice({ multiRegional: true, pools: [MOSCOW, SPB], visitRegion: 'Kazan' })),
    ).toEqual({ kind: 'default', reason: 'no_pool' });
  });

  it('single-region: regional pools are ignored, the home pool serves everyone', () => {
    expect(
      chooseNumberSource(choice({ multiRegional: false, pools, visitRegion: 'Moscow', visitCountry: 'KZ' })),
    ).toEqual({ kind: 'pool', poolId: 'home' });
  });

  it('single-region: without a home pool there is no pool, even if a regional one matches', () => {
    expect(
      chooseNumberSource(choice({ multiRegional: false, pools: [MOSCOW, KZ], visitRegion: 'Moscow' })),
    ).toEqual({ kind: 'default', reason: 'no_pool' });
  });

  it('the home pool is never mistaken for a region match', () => {
    // A null region on the visit must not match the home pool's null region as a regional pool.
    expect(
      chooseNumberSource(choice({ multiRegional: true, pools: [HOME, MOSCOW], visitRegion: null })),
    ).toEqual({ kind: 'pool', poolId: 'home' });
  });
});

describe('holdUntil', () => {
  const seen = new Date('2026-03-02T12:00:00Z');

  it('while the visitor is on the page: last seen + 2 heartbeats (60 s) + freeze time', () => {
    expect(HEARTBEAT_SECONDS).toBe(30);
    expect(holdUntil(seen, 15, false)).toEqual(new Date('2026-03-02T12:16:00Z'));
    expect(holdUntil(seen, 5, false)).toEqual(new Date('2026-03-02T12:06:00Z'));
  });

  it('after the visitor left: last seen + freeze time, no heartbeat grace', () => {
    expect(holdUntil(seen, 15, true)).toEqual(new Date('2026-03-02T12:15:00Z'));
    expect(holdUntil(seen, 30, true)).toEqual(new Date('2026-03-02T12:30:00Z'));
  });

  it('leaving shortens the hold by exactly the active window', () => {
    for (const freeze of [5, 15, 30]) {
      const stay = holdUntil(seen, freeze, false).getTime();
      const left = holdUntil(seen, freeze, true).getTime();
      expect(stay - left).toBe(ACTIVE_WINDOW_MS);
    }
  });

  it('does not mutate the last-seen date', () => {
    const d = new Date(seen);
    holdUntil(d, 10, false);
    expect(d).toEqual(seen);
  });
});
