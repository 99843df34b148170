// Special functions in float64 on the CPU, for estimators that need them (the Kozachenko-Leonenko entropy
// needs psi(N)). Not here: anything on the GPU, or functions of tensors.

/** The Euler-Mascheroni constant, -psi(1). */
export const EULER_GAMMA = 0.5772156649015329;

// The asymptotic series psi(x) ~ ln x - 1/(2x) - sum_k B_2k / (2k x^2k), coefficients B_2k / (2k) for
// k = 1..10. From x >= 6 on, the first omitted term (k = 11) is below 3e-15.
const ASYMPTOTIC = [
  1 / 12,
  -1 / 120,
  1 / 252,
  -1 / 240,
  1 / 132,
  -691 / 32760,
  1 / 12,
  -3617 / 8160,
  43867 / 14364,
  -174611 / 6600,
];

/**
 * The digamma function psi(x) = d/dx ln Gamma(x), to about 1e-15 absolute for x >= 0.5. x < 0.5 uses the reflection
 * psi(x) = psi(1 - x) - pi / tan(pi x); then psi(x) = psi(x + 1) - 1/x raises x to 6 or more, where the
 * asymptotic series takes over. NaN at the poles (0, -1, -2, ...) and for NaN.
 */
export function digamma(x: number): number {
  if (Number.isNaN(x) || (x <= 0 && Number.isInteger(x))) return Number.NaN;
  if (x === Number.POSITIVE_INFINITY) return x;
  if (x < 0.5) {
    // tan has period pi: reduce pi x to (-pi/2, pi/2] first so that x near a pole keeps its precision
    const r = x - Math.round(x);
    return digamma(1 - x) - Math.PI / Math.tan(Math.PI * r);
  }
  let shift = 0;
  while (x < 6) {
    shift += 1 / x;
    x += 1;
  }
  const inv2 = 1 / (x * x);
  let series = 0;
  for (let k = ASYMPTOTIC.length - 1; k >= 0; k--) series = (series + ASYMPTOTIC[k]!) * inv2;
  return Math.log(x) - 0.5 / x - series - shift;
}
