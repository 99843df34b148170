// Workgroup counts for a 1-D job: the one piece of dispatch geometry every elementwise kernel shares, and
// the invocations of a job whose kernel steps through its values (the optimizers, fill, accumulate, the
// unary and binary elementwise kernels, the strided copy).

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

/**
 * Invocations of a 1-D job over n values whose kernel steps values i, i + threads, ...: one a value on a GPU;
 * on a CPU adapter (SwiftShader) at most CPU_STRIDE_THREADS, as every workgroup and invocation there has a
 * fixed cost (GPU time of an Adam step over the hypernetwork's 633,640 values: 7.5 ms with one invocation a
 * value, 3.9-4.1 ms with 4,096, 3.5-4.4 with 256 or 1,024; 4,096 keeps 64 workgroups for a CPU of many cores).
 */
export function strideThreads(n: number, cpuAdapter: boolean): number {
  return Math.min(n, Math.max(1, forcedThreads ?? (cpuAdapter ? CPU_STRIDE_THREADS : n)));
}

const CPU_STRIDE_THREADS = 4096;
let forcedThreads: number | null = null;

/** Forces strideThreads (tests, benchmarks: results do not change with it); null restores the adapter's. */
export function useStrideThreads(threads: number | null): void {
  forcedThreads = threads;
}
