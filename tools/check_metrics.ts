/**
 * Checks the metrics of a result file against expected values, each to the decimals it is
 * written with (`acc1=0.75` accepts 0.745 ≤ acc1 < 0.755; `mean_per_class_recall=0.7529` accepts
 * 0.75285 ≤ … < 0.75295). CI uses it on the demo's result (.ci/run), so that a run that writes a
 * file with the wrong numbers fails.
 *
 * ```sh
 * deno run --allow-read tools/check_metrics.ts outputs/tiny-clip-demo/fashion_mnist_1k_zeroshot_classification.json \
 *   acc1=0.75 acc5=0.995 mean_per_class_recall=0.7529
 * ```
 *
 * Exit status: 0 when every metric matches, 1 when one differs or is missing (each named on
 * stderr), 2 for bad arguments or a file that is not a result.
 *
 * @module
 */

/** One expected metric: its name, value and the tolerance its decimals give. */
export interface ExpectedMetric {
  /** Metric name, as in the result's `metrics`. */
  readonly name: string;
  /** The value as written. */
  readonly text: string;
  /** The value. */
  readonly value: number;
  /** Half a unit of its last decimal. */
  readonly tolerance: number;
}

/**
 * Parses `name=value`.
 *
 * @throws {Error} when the argument is not of that form or the value is not a finite number.
 */
export function parseExpected(argument: string): ExpectedMetric {
  const match = /^([A-Za-z0-9_@.-]+)=(-?\d+(?:\.(\d+))?)$/.exec(argument);
  if (match === null) throw new Error(`expected NAME=NUMBER (e.g. acc1=0.75), got '${argument}'`);
  const decimals = match[3]?.length ?? 0;
  return {
    name: match[1],
    text: match[2],
    value: Number(match[2]),
    tolerance: 0.5 * 10 ** -decimals + 1e-12,
  };
}

/**
 * The differences between `metrics` and the expected values: one line per metric that is
 * missing, not a number, or off by more than its tolerance; empty when all match.
 */
export function metricMismatches(
  metrics: Readonly<Record<string, unknown>>,
  expected: readonly ExpectedMetric[],
): string[] {
  const problems: string[] = [];
  for (const { name, text, value, tolerance } of expected) {
    const actual = metrics[name];
    if (typeof actual !== "number" || !Number.isFinite(actual)) {
      problems.push(`${name}: expected ${text}, found ${JSON.stringify(actual ?? null)}`);
    } else if (Math.abs(actual - value) > tolerance) {
      problems.push(`${name}: expected ${text}, found ${actual}`);
    }
  }
  return problems;
}

async function main(args: string[]): Promise<number> {
  const [path, ...wanted] = args;
  if (path === undefined || wanted.length === 0) {
    console.error("usage: check_metrics.ts RESULT.json NAME=VALUE...");
    return 2;
  }
  let expected: ExpectedMetric[];
  let metrics: Record<string, unknown>;
  try {
    expected = wanted.map(parseExpected);
    const result = JSON.parse(await Deno.readTextFile(path));
    if (result === null || typeof result.metrics !== "object" || result.metrics === null) {
      throw new Error(`${path} has no metrics object`);
    }
    metrics = result.metrics;
  } catch (error) {
    console.error(`check_metrics: ${(error as Error).message}`);
    return 2;
  }
  const problems = metricMismatches(metrics, expected);
  for (const problem of problems) console.error(`check_metrics: ${path}: ${problem}`);
  if (problems.length > 0) return 1;
  console.log(`${path}: ${expected.map((e) => `${e.name} ${e.text}`).join(", ")}: ok`);
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
