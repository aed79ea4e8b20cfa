import { defineConfig } from 'vitest/config';

/**
 * The end-to-end suite: a real kube-apiserver and etcd (test/e2e/global-setup.ts), real `podpatterns serve`
 * processes, webhook configurations from the chart. Test files run one after another: they share the
 * cluster, and each installs cluster-wide webhook configurations.
 */
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.test.ts'],
    globalSetup: ['test/e2e/global-setup.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    teardownTimeout: 60_000,
  },
});
