// Debian's chromium and the flags that give it WebGPU on SwiftShader headless: shared by the browser
// project of vitest.config.ts and the demo tests (test/demo-harness.ts). Never a downloaded browser.
export const CHROMIUM_PATH = process.env.WEIGHTGEN_CHROMIUM ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
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
];
