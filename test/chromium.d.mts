/** Debian's chromium (or WEIGHTGEN_CHROMIUM). */
export const CHROMIUM_PATH: string;
/** The flags that give headless Chromium WebGPU on SwiftShader. */
export const CHROMIUM_ARGS: string[];
