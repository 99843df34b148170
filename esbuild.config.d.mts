/** Writes src/gpu/shaders.gen.ts from shaders/*.wgsl; returns the number of kernel modules (the prelude is not one). */
export function generateShaders(): number;

/**
 * Module `name`'s WGSL: the prelude, then the file's text (a prelude declaration the file makes itself is left
 * out, line count kept, and reported in `notes`).
 */
export function composeModule(prelude: string, name: string, text: string): { code: string; notes: string[] };

/** The numeric module-scope `const`s of a WGSL text (`known`: constants declared before it, e.g. the prelude's). */
export function shaderConsts(text: string, known?: Record<string, number>): Record<string, number>;
