// Pins every output of the sizing model (recommendations, accuracies, what-if cells, to the last bit) on
// seeded demand, so speed work on model.ts cannot change a result. The snapshot was written by the model
// before that work (commit c5d5d96); a deliberate change of the model updates it with `vitest -u`.
import { describe, expect, it } from 'vitest';
import { traceDemands } from '../simulate/cli.js';
import { mulberry32 } from '../simulate/rng.js';
import { generateTrace } from '../simulate/traffic.js';
import { callTimingOf, type Demand, type ExhaustionPolicy, sizePool } from './model.js';

const MIN = 60_000;
const POLICIES: ExhaustionPolicy[] = ['share', 'default'];

describe('sizePool outputs are pinned', () => {
  it('on a seeded simulator trace (1 day × 10,000 visits), both policies, two targets', () => {
    const { demands, calls } = traceDemands(generateTrace({ seed: 1, days: 1, visitorsPerDay: 10000 }), 15);
    expect(demands.length).toBeGreaterThan(4000);
    for (const exhaustionPolicy of POLICIES)
      for (const target of [0.99, 0.9])
        expect(
          sizePool({
            demands,
            poolSize: 60,
            freezeMinutes: 15,
            exhaustionPolicy,
            callTiming: callTimingOf(calls),
            target,
          }),
        ).toMatchSnapshot(`${exhaustionPolicy} ${target}`);
  });

  it('on random demand with cuts, empty holds and equal starts', () => {
    const rnd = mulberry32(11);
    for (let t = 0; t < 20; t++) {
      const n = 1 + Math.floor(rnd() * 200);
      const demands: Demand[] = Array.from({ length: n }, () => {
        const start = Math.floor(rnd() * 600) * MIN;
        const end = start + Math.floor(rnd() * 40) * MIN;
        const cut = rnd();
        return {
          start,
          activeEnd: end,
          // Some handed over or served later (cut at or after the start), some cut to nothing.
          cutAt: cut < 0.15 ? start + Math.floor(rnd() * 30) * MIN : cut < 0.2 ? start : null,
        };
      });
      const freezeMinutes = [5, 10, 15, 20, 30][t % 5];
      for (const exhaustionPolicy of POLICIES)
        expect(
          sizePool({
            demands,
            poolSize: Math.floor(rnd() * 30),
            freezeMinutes,
            exhaustionPolicy,
            callTiming: { duringVisitShare: rnd() },
            target: [0.99, 0.95, 0.8][t % 3],
            freezes: t % 4 === 0 ? [] : undefined,
          }),
        ).toMatchSnapshot(`random ${t} ${exhaustionPolicy}`);
    }
  });
});
