/**
 * Pool sizing model speed: `sizePool` (what GET /api/v1/sites/{id}/sizing computes per pool, what-if table
 * included) on the demand of a seeded simulator trace, with sharing and with the default number.
 *
 *   npx tsx bench/sizing.ts [--days 7] [--visitors-per-day 40000] [--seed 1] [--freeze-min 15]
 *                           [--rounds 3] [--baseline GIT_REF]
 *
 * The demand is the trace's paid visits as `simulate --sizes` builds it (`traceDemands`); the current pool
 * is the trace's peak at the freeze time. --baseline loads src/pool-sizing/model.ts as it was at GIT_REF
 * (written next to the current one for the run, then removed) and times it alternately with the current
 * model in the same process, so both see the same machine load; it also checks the two give identical
 * results. Only ratios within one run mean much on a shared machine. Results go into BENCHMARKS.md by hand.
 */
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual, parseArgs } from 'node:util';
import * as current from '../src/pool-sizing/model.js';
import { traceDemands } from '../src/simulate/cli.js';
import { peakOverlap } from '../src/simulate/min-pool.js';
import { generateTrace } from '../src/simulate/traffic.js';

type SizePool = typeof current.sizePool;

const { values } = parseArgs({
  options: {
    days: { type: 'string', default: '7' },
    'visitors-per-day': { type: 'string', default: '40000' },
    seed: { type: 'string', default: '1' },
    'freeze-min': { type: 'string', default: '15' },
    rounds: { type: 'string', default: '3' },
    baseline: { type: 'string' },
  },
});
const days = Number(values.days);
const visitorsPerDay = Number(values['visitors-per-day']);
const freezeMinutes = Number(values['freeze-min']);
const rounds = Number(values.rounds);

const trace = generateTrace({ seed: Number(values.seed), days, visitorsPerDay });
const { demands, calls } = traceDemands(trace, freezeMinutes);
const poolSize = peakOverlap(current.holdsAt(demands, freezeMinutes)).peak;
const timing = current.callTimingOf(calls);

async function loadBaseline(ref: string): Promise<SizePool> {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const source = execFileSync('git', ['show', `${ref}:src/pool-sizing/model.ts`], {
    cwd: root,
    encoding: 'utf8',
  });
  const file = `${root}src/pool-sizing/model-baseline-${process.pid}.ts`;
  writeFileSync(file, source);
  try {
    return ((await import(file)) as typeof current).sizePool;
  } finally {
    rmSync(file);
  }
}

function timed(sizePool: SizePool, policy: current.ExhaustionPolicy) {
  const began = performance.now();
  const result = sizePool({
    demands,
    poolSize,
    freezeMinutes,
    exhaustionPolicy: policy,
    callTiming: timing,
    target: 0.99,
  });
  return { ms: performance.now() - began, result };
}

const models: [string, SizePool][] = [['current', current.sizePool]];
if (values.baseline) models.unshift([`baseline ${values.baseline}`, await loadBaseline(values.baseline)]);

console.log(
  `demands ${demands.length}, pool ${poolSize}, freeze ${freezeMinutes} min, what-if freezes ${current.WHAT_IF_FREEZES.join('/')}; load ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
const best = new Map<string, number>();
for (const policy of ['share', 'default'] as const) {
  for (let round = 0; round < rounds; round++) {
    // Alternate the order so neither model always runs first (warm-up, GC debt).
    const order = round % 2 === 0 ? models : [...models].reverse();
    const results = order.map(([name, sizePool]) => {
      const { ms, result } = timed(sizePool, policy);
      const key = `${policy}\t${name}`;
      best.set(key, Math.min(best.get(key) ?? Number.POSITIVE_INFINITY, ms));
      console.log(
        `${policy}\t${name}\tround ${round + 1}\t${ms.toFixed(0)} ms\trecommended ${result.recommended}`,
      );
      return result;
    });
    if (results.length === 2 && !isDeepStrictEqual(results[0], results[1]))
      throw new Error(`${policy}: the baseline and the current model disagree`);
  }
}
console.log('\npolicy\tmodel\tbest ms');
for (const [key, ms] of best) console.log(`${key}\t${ms.toFixed(0)}`);
console.log(
  `load after ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
