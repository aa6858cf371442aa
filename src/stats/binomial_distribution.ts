/**
 * The binomial distribution's probability mass and tail sums, accurate to a few units in the last
 * place over the whole range (n up to 2⁵³, probabilities down to the smallest doubles).
 *
 * The mass uses Catherine Loader's saddle-point expansion ("Fast and accurate computation of
 * binomial probabilities", 2000), the method R's `dbinom` uses: with the Stirling-formula error
 * δ(m) = log m! − log(√(2πm)·(m/e)^m) and the deviance term bd0(x, μ) = x·log(x/μ) + μ − x
 * (computed by its series when x is near μ, where the direct form cancels),
 *
 *   P(X = x) = exp(δ(n) − δ(x) − δ(n − x) − bd0(x, n·p) − bd0(n − x, n·q)) · √(n / (2π·x·(n − x))).
 *
 * No term is a difference of large logarithms, so the relative error does not grow with n as
 * `exp(lgamma(n + 1) − …)` would. Tails are sums of masses taken from the small end, stopping
 * once further terms cannot change the sum.
 *
 * @module
 */

const LOG_2PI = Math.log(2 * Math.PI);

/** δ(m) for m = 0…15 from exact factorials (m! ≤ 15! is exact in a double). */
const SMALL_STIRLING_ERRORS: readonly number[] = (() => {
  const values = [0];
  let factorial = 1;
  for (let m = 1; m <= 15; m++) {
    factorial *= m;
    values.push(Math.log(factorial) - (m + 0.5) * Math.log(m) + m - 0.5 * LOG_2PI);
  }
  return values;
})();

/**
 * δ(m) = log m! − log(√(2πm)·(m/e)^m) for a non-negative integer m: exact factorials up to 15,
 * then the Stirling series 1/(12m) − 1/(360m³) + 1/(1260m⁵) − 1/(1680m⁷) + 1/(1188m⁹), whose
 * next term is below 10⁻¹⁶ from m = 16 on.
 */
export function stirlingError(m: number): number {
  if (m <= 15) return SMALL_STIRLING_ERRORS[m];
  const mm = m * m;
  return (1 / 12 - (1 / 360 - (1 / 1260 - (1 / 1680 - 1 / 1188 / mm) / mm) / mm) / mm) / m;
}

/**
 * bd0(x, μ) = x·log(x/μ) + μ − x ≥ 0, by the series
 * 2x·Σ v^(2j+1)/(2j+1) − (x − μ)·v with v = (x − μ)/(x + μ) when x is within 10 % of μ.
 */
export function deviance(x: number, mean: number): number {
  if (Math.abs(x - mean) < 0.1 * (x + mean)) {
    let v = (x - mean) / (x + mean);
    let sum = (x - mean) * v;
    let term = 2 * x * v;
    v *= v;
    for (let j = 1; j < 1000; j++) {
      term *= v;
      const next = sum + term / (2 * j + 1);
      if (next === sum) return next;
      sum = next;
    }
    return sum;
  }
  return x * Math.log(x / mean) + mean - x;
}

/** Checks n (a non-negative integer) and p (in (0, 1)). */
function checkParameters(n: number, p: number): void {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new RangeError(`n must be a non-negative integer, got ${n}`);
  }
  if (!(p > 0 && p < 1)) throw new RangeError(`p must lie in (0, 1), got ${p}`);
}

/**
 * P(X = k) for X ~ Binomial(n, p), 0 < p < 1; 0 for k outside 0…n.
 *
 * @throws {RangeError} when n is not a non-negative integer or p is not in (0, 1).
 */
export function binomialPmf(k: number, n: number, p: number): number {
  checkParameters(n, p);
  if (!Number.isInteger(k) || k < 0 || k > n) return 0;
  const q = 1 - p;
  if (k === 0 || k === n) {
    if (n === 0) return 1;
    // All trials fail (k = 0) or all succeed (k = n).
    const [mass, other] = k === 0 ? [q, p] : [p, q];
    const logMass = other < 0.1 ? -deviance(n, n * mass) - n * other : n * Math.log(mass);
    return Math.exp(logMass);
  }
  const logCore = stirlingError(n) - stirlingError(k) - stirlingError(n - k) -
    deviance(k, n * p) - deviance(n - k, n * q);
  const logScale = LOG_2PI + Math.log(k) + Math.log1p(-k / n);
  return Math.exp(logCore - 0.5 * logScale);
}

/**
 * Σ P(X = i) for i from `from` to `to` (inclusive, either order), where the masses decrease from
 * `from` towards `to` (`from` on the mode's side). Terms are collected until they no longer change
 * the sum, then added smallest first.
 */
function monotoneTailSum(from: number, to: number, n: number, p: number): number {
  const step = to >= from ? 1 : -1;
  const terms: number[] = [];
  let running = 0;
  for (let i = from; step > 0 ? i <= to : i >= to; i += step) {
    const term = binomialPmf(i, n, p);
    if (term === 0 || (running > 0 && term < running * 1e-18)) break;
    terms.push(term);
    running += term;
  }
  let sum = 0;
  for (let j = terms.length - 1; j >= 0; j--) sum += terms[j];
  return sum;
}

/**
 * P(X ≤ k), summing the masses from k down, for k at or below the mode ((n + 1)·p); 1 for k ≥ n
 * and 0 for k < 0.
 *
 * @throws {RangeError} when k lies above the mode (where the masses below k do not all decrease).
 */
export function binomialLowerTail(k: number, n: number, p: number): number {
  checkParameters(n, p);
  if (k < 0) return 0;
  if (k >= n) return 1;
  const top = Math.floor(k);
  if (top > (n + 1) * p) throw new RangeError(`P(X <= ${k}) is summed only up to the mode`);
  return monotoneTailSum(top, 0, n, p);
}

/**
 * P(X > k), summing the masses from k + 1 up, for k + 1 at or above the mode; 0 for k ≥ n and 1
 * for k < 0.
 *
 * @throws {RangeError} when k + 1 lies below the mode.
 */
export function binomialUpperTail(k: number, n: number, p: number): number {
  checkParameters(n, p);
  if (k >= n) return 0;
  if (k < 0) return 1;
  const bottom = Math.floor(k) + 1;
  if (bottom < (n + 1) * p - 1) throw new RangeError(`P(X > ${k}) is summed only from the mode`);
  return monotoneTailSum(bottom, n, n, p);
}
