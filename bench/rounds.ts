/**
 * Interleaved rounds of the bench's image measures and their spread. A busy neighbour halves
 * every figure on a small machine, so one run says little: each round runs every measure once —
 * the inference ceiling and the end-to-end run alternate which goes first — and each figure
 * records the machine's load (the 1-minute load average, where `/proc/loadavg` exists) when it
 * was taken. Ratios are computed within a round (figures measured minutes apart are not
 * divided), then summarised as min / median / max over the rounds.
 *
 * @module
 */

/** A figure with the load it was measured under. */
export interface Loaded<T> {
  /** The measure. */
  readonly value: T;
  /** The 1-minute load average when it started, or null where it cannot be read. */
  readonly load: number | null;
}

/** The machine's 1-minute load average (Linux `/proc/loadavg`), or null. */
export function loadAverage(): number | null {
  try {
    const first = Deno.readTextFileSync("/proc/loadavg").split(" ")[0];
    const value = Number(first);
    return Number.isFinite(value) ? value : null;
  } catch {
    return null;
  }
}

/** Runs `measure`, noting the load average when it starts. */
export async function withLoad<T>(measure: () => Promise<T>): Promise<Loaded<T>> {
  const load = loadAverage();
  return { value: await measure(), load };
}

/** Min, median and max of some numbers (the median of an even count: the mean of the middle two). */
export interface Spread {
  /** Smallest. */
  readonly min: number;
  /** Middle. */
  readonly median: number;
  /** Largest. */
  readonly max: number;
  /** How many values (rounds). */
  readonly count: number;
}

/** The spread of `values` (at least one). */
export function spread(values: readonly number[]): Spread {
  if (values.length === 0) throw new RangeError("no values to summarise");
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  const median = sorted.length % 2 === 1
    ? sorted[middle]
    : (sorted[middle - 1] + sorted[middle]) / 2;
  return { min: sorted[0], median, max: sorted[sorted.length - 1], count: sorted.length };
}

/** The spread of the values that are numbers, or null when none is. */
export function spreadOf(values: readonly (number | null | undefined)[]): Spread | null {
  const numbers = values.filter((v): v is number => typeof v === "number" && Number.isFinite(v));
  return numbers.length === 0 ? null : spread(numbers);
}

/** `12.3 / 13.0 / 14.1` (min / median / max) with `digits` decimals. */
export function formatSpread(s: Spread | null, digits = 1): string {
  if (s === null) return "n/a";
  if (s.count === 1) return s.median.toFixed(digits);
  return `${s.min.toFixed(digits)} / ${s.median.toFixed(digits)} / ${s.max.toFixed(digits)}`;
}
