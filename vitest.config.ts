import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    exclude: ['tests/artifacts/**', 'node_modules/**'],
    globalSetup: ['tests/global-setup.ts'],
    // Tests spawn real processes (the CLI, brokers, ffmpeg); forks isolate their signal handlers.
    pool: 'forks',
    // One file at a time: several assert wall-clock budgets and frame rates on a 2-core machine.
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
