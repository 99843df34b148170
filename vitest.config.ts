// Every test file under test/ runs twice: in Node (Dawn) and in headless Chromium (WebGPU), both on
// whatever adapter is there (SwiftShader on a machine without a GPU). Files named *.node.test.ts use the
// file system or child processes and run in Node only.
import { playwright } from '@vitest/browser-playwright';
import { defineConfig } from 'vitest/config';
import { generateShaders } from './esbuild.config.mjs';

generateShaders();

const chromium = process.env.WEIGHTGEN_CHROMIUM ?? '/usr/bin/chromium';

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
                executablePath: chromium,
                args: [
                  '--enable-unsafe-webgpu',
                  '--no-sandbox',
                  '--disable-background-networking',
                  '--disable-component-update',
                  '--no-first-run',
                  '--disable-sync',
                  '--enable-features=Vulkan',
                  '--use-angle=swiftshader',
                  // as in Node (src/gpu/device.ts): no bounds checks, no zeroing of workgroup memory
                  '--enable-dawn-features=disable_robustness,disable_workgroup_init',
                ],
              },
            }),
            instances: [{ browser: 'chromium' }],
          },
        },
      },
    ],
  },
});
