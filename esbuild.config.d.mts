/** Writes src/gpu/shaders.gen.ts from shaders/*.wgsl; returns the number of shaders. */
export function generateShaders(): number;
