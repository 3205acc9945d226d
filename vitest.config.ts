import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Integration tests start real daemons on fixed loopback addresses; run files one at a time.
    fileParallelism: false,
    pool: 'forks',
  },
});
