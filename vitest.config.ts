import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Browser and server state settles at machine speed; a loaded 2-core CI box needs more than the 1 s default.
    expect: { poll: { timeout: 10_000, interval: 100 } },
  },
});
