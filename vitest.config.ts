// Test runner settings: isolated-vm needs --no-node-snapshot on Node >= 20, so tests run in forked workers with it.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'host/**/*.test.ts', 'storage/**/*.test.ts', 'bench/**/*.test.ts', 'guest-sdk/**/*.test.ts'],
    pool: 'forks',
    execArgv: ['--no-node-snapshot'],
    // The JSON report lets .ci/run print a plain "N passed, N failed" closing line.
    reporters: ['default', ['json', { outputFile: '.vitest/results.json' }]],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
