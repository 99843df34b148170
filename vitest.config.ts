// Every test file under test/ runs twice: in Node (Dawn) and in headless Chromium (WebGPU), both on
// whatever adapter is there (SwiftShader on a machine without a GPU). Files named *.node.test.ts use the
// file system or child processes and run in Node only.
import { playwright } from '@vitest/browser-playwright';
import { defineConfig } from 'vitest/config';
import { generateShaders } from './esbuild.config.mjs';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './test/chromium.mjs';

generateShaders();

export default defineConfig({
  test: {
    testTimeout: 120_000,
    env: { WEIGHTGEN_POLL: process.env.WEIGHTGEN_POLL ?? 'patient' }, // Node waits without spinning a core
    hookTimeout: 120_000,
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: {
          name: 'node',
          include: ['test/**/*.test.ts'],
          environment: 'node',
          pool: 'forks',
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'chromium',
          include: ['test/**/*.test.ts'],
          exclude: ['test/**/*.node.test.ts'],
          sequence: { groupOrder: 1 }, // after Node: the machine may have two cores only
          browser: {
            enabled: true,
            headless: true,
            screenshotFailures: false,
            provider: playwright({
              launchOptions: {
                executablePath: CHROMIUM_PATH,
                args: CHROMIUM_ARGS,
              },
            }),
            instances: [{ browser: 'chromium' }],
          },
        },
      },
    ],
  },
});
