import { defineConfig } from 'vitest/config';

// One run executes everything: pure unit tests and the namespace/interop tests that need root and the
// Debian packages installed by scripts/bootstrap. Forks, not threads: native addons and network
// namespaces are per-process state.
export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', 'dist/**', '.lab/**'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
    // The namespace and interop tests time real daemons on a 2-core machine that CI shares with
    // nothing else but that may still stall; one retry in CI keeps a scheduling hiccup from failing a
    // run, while a real bug fails both attempts. Locally a failure shows at once.
    retry: process.env.CI ? 1 : 0,
  },
});
