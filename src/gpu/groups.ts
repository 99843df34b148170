// Workgroup counts for a 1-D job: the one piece of dispatch geometry every elementwise kernel shares.

/**
 * Workgroup counts for n threads in workgroups of `size`, spread over x and y so that neither exceeds
 * the 65,535 limit. Shaders rebuild the flat index from the workgroup id (`flat_index`, shaders/prelude.wgsl).
 */
export function groups1d(n: number, size = 64): [number, number, number] {
  const g = Math.ceil(n / size);
  if (g <= 65535) return [g, 1, 1];
  const y = Math.ceil(g / 65535);
  return [Math.ceil(g / y), y, 1];
}
