import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Starts the real servers (Temporal, moto, etcd, kube-apiserver) once per run.
    globalSetup: ['test/support/global-setup.ts'],
    setupFiles: ['test/support/setup-file.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Tests must never silently pass over work: a skipped or todo test fails the run.
    allowOnly: false,
    passWithNoTests: false,
    reporters: ['default'],
    // As bin/firebreak.js does: the SDK's notice that releases after January 2027 need Node 22 is not a test result.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
