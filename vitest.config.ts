import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { SkipGateReporter } from './test/support/skip-gate.reporter.js';

export default defineConfig({
  test: {
    include: ['src/**/*.spec.ts', 'test/**/*.spec.ts', 'test/**/*.e2e-spec.ts'],
    // Fixture ISOs are built with real tools and services start on loopback: give them room.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    globalSetup: ['test/global-setup.ts'],
    // The default output, then the skipped cases; a skip test/expected-skips.json does not list fails the run.
    reporters: ['default', new SkipGateReporter({ listFile: fileURLToPath(new URL('./test/expected-skips.json', import.meta.url)) })],
  },
});
