/**
 * Multi-label zero-shot classification metric: mean average precision, as CLIP_benchmark's
 * `average_precision_per_class` and `evaluate` compute it (`clip_benchmark/metrics/
 * zeroshot_classification.py`; evalscope's copy is the same).
 *
 * For each class k, the samples are ranked by their logit for k, highest first; with `tp` the
 * number of positives among the first `r` samples, the precision at rank r is `tp / r`, and
 * `AP_k = Σ precision at the ranks of the positives / max(positives, 1)` — uninterpolated (not
 * VOC's 11-point AP), and 0 for a class without positives. `mean_average_precision` is the mean of
 * `AP_k` over all classes.
 *
 * The metric ranks across samples, so {@linkcode MultilabelAccumulator} keeps every logit and
 * target: `N × C` float32 logits and `N × C` bytes of targets, in buffers that grow by doubling.
 *
 * **Float arithmetic.** The reference runs in float32 PyTorch on the CPU, and `.item()` of a
 * float32 is what lands in the result file, so its rounding shows in the printed number. This
 * module reproduces each step bit for bit:
 *
 * - logits are stored as float32 (the reference ranks float32 logits);
 * - `precision = tp / rank` is a correctly rounded float32 division (`Math.fround(tp / rank)`;
 *   both operands are exact float32 integers, and a float64 quotient rounded to float32 is the
 *   float32 quotient);
 * - `precision[truth].sum()` and the class sum inside `ap.mean()` follow torch's CPU float32
 *   `sum` ({@linkcode torchFloat32Sum}): its cascade of partial sums over SIMD vectors, whose width
 *   is a parameter: 8 floats with the AVX2 and default kernels (torch 1.13 uses AVX2 even on
 *   AVX-512 CPUs), 16 with the AVX-512 kernels, which later torch releases may pick on AVX-512
 *   CPUs (`torch.__config__.show()` prints the "CPU capability usage");
 * - `/ max(positives, 1)` and the mean's `/ C` are float32 divisions.
 *
 * Limits of the emulation: torch splits a sum of 32,768 values or more across its threads, so for
 * a class with that many positives (or that many classes) the reference itself depends on the
 * thread count; here such sums are taken in one pass, as torch does with one thread.
 *
 * **Ties.** Samples with equal logits rank in sample order (the lower index first), which is what
 * `torch.sort(..., stable=True)` gives. CLIP_benchmark sorts without `stable`, whose order among
 * equal values is unspecified (torch 1.13's CPU sort keeps it for at most 16 values and reorders
 * larger tied groups). A tie only changes an AP when the tied samples differ in truth.
 *
 * @module
 */

/**
 * Floats per SIMD vector in torch's CPU `sum` kernel: 8 (`Vectorized<float>` of the AVX2 and
 * default kernels) or 16 (the AVX-512 kernels).
 */
export type TorchVectorLanes = 8 | 16;

/** The metric of one multi-label run, with the JSON field name CLIP_benchmark/evalscope write. */
export type MultilabelMetrics = {
  /** Mean over the classes of the average precision (a float32 value, as the reference's). */
  mean_average_precision: number;
};

/** Options of {@linkcode MultilabelAccumulator}. */
export interface MultilabelAccumulatorOptions {
  /** Vector width of the torch `sum` whose rounding is reproduced; default 8. */
  readonly torchVectorLanes?: TorchVectorLanes;
}

const LEVELS = 4; // torch's multi_row_sum: num_levels
const COLUMNS = 4; // torch's row_sum: ilp_factor
const INITIAL_ROWS = 1024;

/** torch's `utils::CeilLog2`: 1 for x ≤ 2, else ⌈log2 x⌉. */
function ceilLog2(x: number): number {
  return x <= 2 ? 1 : 32 - Math.clz32(x - 1);
}

/**
 * torch's `row_sum` (SumKernel.cpp) over `items` consecutive items of `width` floats each (an
 * item is one float, or one SIMD vector of `width` lanes added lane-wise), in float32: the items
 * are read as rows of 4 columns summed by a 4-level cascade (`multi_row_sum`), the leftover items
 * go into column 0, then columns 1–3 are added to column 0. Writes the `width`-lane sum to `out`.
 */
function torchRowSum(
  values: Float32Array,
  items: number,
  width: number,
  out: Float32Array,
): void {
  const rows = Math.floor(items / COLUMNS);
  // acc[(level * COLUMNS + column) * width + lane]; a Float32Array rounds every store to float32.
  const acc = new Float32Array(LEVELS * COLUMNS * width);
  const rowFloats = COLUMNS * width;
  const levelPower = Math.max(4, Math.floor(ceilLog2(rows) / LEVELS));
  const levelStep = 2 ** levelPower;
  const levelMask = levelStep - 1;
  const addRow = (row: number) => {
    const base = row * rowFloats;
    for (let i = 0; i < rowFloats; i++) acc[i] += values[base + i];
  };
  let row = 0;
  while (row + levelStep <= rows) {
    for (let j = 0; j < levelStep; j++) addRow(row++);
    for (let level = 1; level < LEVELS; level++) {
      const to = level * rowFloats;
      const from = to - rowFloats;
      for (let i = 0; i < rowFloats; i++) {
        acc[to + i] += acc[from + i];
        acc[from + i] = 0;
      }
      if ((row & (levelMask * 2 ** (level * levelPower))) !== 0) break;
    }
  }
  for (; row < rows; row++) addRow(row);
  for (let level = 1; level < LEVELS; level++) {
    for (let i = 0; i < rowFloats; i++) acc[i] += acc[level * rowFloats + i];
  }
  for (let item = rows * COLUMNS; item < items; item++) {
    for (let lane = 0; lane < width; lane++) acc[lane] += values[item * width + lane];
  }
  for (let column = 1; column < COLUMNS; column++) {
    for (let lane = 0; lane < width; lane++) acc[lane] += acc[column * width + lane];
  }
  out.set(acc.subarray(0, width));
}

/**
 * The sum of a contiguous float32 array rounded exactly as PyTorch's CPU `tensor.sum()` rounds it
 * (`cascade_sum` in aten/src/ATen/native/cpu/SumKernel.cpp; checked against torch 1.13.1; one
 * thread, fewer than 32,768 values): with fewer values than one vector, torch's `row_sum` cascade
 * over the scalars; otherwise the cascade over whole vectors (lane-wise), then the leftover values
 * added in order to 0, then the vector's lanes in order.
 *
 * @param values The float32 values.
 * @param lanes Floats per SIMD vector in the torch being reproduced (default 8).
 * @returns The float32 sum, as a number.
 */
export function torchFloat32Sum(values: Float32Array, lanes: TorchVectorLanes = 8): number {
  const n = values.length;
  if (n < lanes) {
    const out = new Float32Array(1);
    torchRowSum(values, n, 1, out);
    return Math.fround(0 + out[0]);
  }
  const vectors = Math.floor(n / lanes);
  const vectorSum = new Float32Array(lanes);
  torchRowSum(values, vectors, lanes, vectorSum);
  let sum = 0;
  for (let i = vectors * lanes; i < n; i++) sum = Math.fround(sum + values[i]);
  for (let lane = 0; lane < lanes; lane++) sum = Math.fround(sum + vectorSum[lane]);
  return Math.fround(0 + sum);
}

/**
 * Per-class average precision of `n × classes` scores and 0/1 targets (row-major), exactly as
 * CLIP_benchmark's `average_precision_per_class` computes it in float32 (see the module notes).
 *
 * @returns One float32 AP per class.
 */
export function averagePrecisionPerClass(
  scores: Float32Array,
  targets: Uint8Array,
  n: number,
  classes: number,
  lanes: TorchVectorLanes = 8,
): Float32Array {
  if (scores.length < n * classes || targets.length < n * classes) {
    throw new RangeError(`${n} × ${classes} scores and targets expected`);
  }
  const ap = new Float32Array(classes);
  const column = new Float32Array(n);
  const order = new Uint32Array(n);
  const precisions = new Float32Array(n);
  // Highest first; equal scores by sample index; NaN above everything, as torch sorts it.
  const byScoreDescending = (a: number, b: number) => {
    const sa = column[a];
    const sb = column[b];
    if (sa > sb) return -1;
    if (sa < sb) return 1;
    const aIsNaN = sa !== sa;
    if (aIsNaN !== (sb !== sb)) return aIsNaN ? -1 : 1;
    return a - b;
  };
  for (let k = 0; k < classes; k++) {
    for (let i = 0; i < n; i++) {
      column[i] = scores[i * classes + k];
      order[i] = i;
    }
    order.sort(byScoreDescending);
    let positives = 0;
    for (let rank = 0; rank < n; rank++) {
      if (targets[order[rank] * classes + k] === 1) {
        positives++;
        precisions[positives - 1] = Math.fround(positives / (rank + 1));
      }
    }
    const sum = torchFloat32Sum(precisions.subarray(0, positives), lanes);
    ap[k] = Math.fround(sum / Math.max(positives, 1));
  }
  return ap;
}

/**
 * The mean of per-class APs as `ap.mean().item()` computes it: torch's float32 sum divided by the
 * number of classes in float32.
 */
export function meanAveragePrecision(ap: Float32Array, lanes: TorchVectorLanes = 8): number {
  if (ap.length === 0) throw new RangeError("no classes");
  return Math.fround(torchFloat32Sum(ap, lanes) / ap.length);
}

/** Collects the logits and multi-hot targets of a multi-label run and computes its mAP. */
export class MultilabelAccumulator {
  /** Number of classes (columns of the logits and targets). */
  readonly numClasses: number;
  readonly #lanes: TorchVectorLanes;
  #samples = 0;
  #scores: Float32Array;
  #targets: Uint8Array;

  /**
   * Creates an instance.
   *
   * @param numClasses Number of classes; at least 1.
   * @param options The torch vector width to reproduce.
   */
  constructor(numClasses: number, options: MultilabelAccumulatorOptions = {}) {
    if (!Number.isInteger(numClasses) || numClasses < 1) {
      throw new RangeError(`number of classes must be a positive integer, got ${numClasses}`);
    }
    const lanes = options.torchVectorLanes ?? 8;
    if (lanes !== 8 && lanes !== 16) {
      throw new RangeError(`torch vector lanes must be 8 or 16, got ${lanes}`);
    }
    this.numClasses = numClasses;
    this.#lanes = lanes;
    this.#scores = new Float32Array(INITIAL_ROWS * numClasses);
    this.#targets = new Uint8Array(INITIAL_ROWS * numClasses);
  }

  /** Samples added so far. */
  get count(): number {
    return this.#samples;
  }

  /**
   * Adds a batch.
   *
   * @param logits `targets.length × numClasses` scores, row-major (stored as float32).
   * @param targets One multi-hot row of `numClasses` 0/1 values per sample.
   */
  update(logits: ArrayLike<number>, targets: readonly ArrayLike<number>[]): void {
    const classes = this.numClasses;
    if (logits.length !== targets.length * classes) {
      throw new RangeError(
        `logits hold ${logits.length} values, ${targets.length} × ${classes} expected`,
      );
    }
    for (const [row, target] of targets.entries()) {
      if (target.length !== classes) {
        throw new RangeError(`target row ${row} has ${target.length} values, ${classes} expected`);
      }
      for (let c = 0; c < classes; c++) {
        if (target[c] !== 0 && target[c] !== 1) {
          throw new RangeError(`target row ${row} has ${target[c]} at class ${c}; 0 or 1 expected`);
        }
      }
    }
    this.#reserve(this.#samples + targets.length);
    const base = this.#samples * classes;
    for (let i = 0; i < logits.length; i++) this.#scores[base + i] = logits[i];
    for (const [row, target] of targets.entries()) {
      this.#targets.set(target, base + row * classes);
    }
    this.#samples += targets.length;
  }

  /** The average precision of each class over everything added so far (float32 values). */
  averagePrecisions(): Float32Array {
    if (this.#samples === 0) throw new RangeError("no samples were scored");
    return averagePrecisionPerClass(
      this.#scores,
      this.#targets,
      this.#samples,
      this.numClasses,
      this.#lanes,
    );
  }

  /** The torch vector width whose sums are reproduced. */
  get torchVectorLanes(): TorchVectorLanes {
    return this.#lanes;
  }

  /**
   * Copies of the rows added so far, in the order they were added: `count × numClasses` float32
   * scores and 0/1 targets, row-major. Adding these rows, in this order, to a new accumulator
   * gives the same metric bit for bit (a shard's partial result holds them).
   */
  rows(): { scores: Float32Array; targets: Uint8Array; count: number } {
    const size = this.#samples * this.numClasses;
    return {
      scores: this.#scores.slice(0, size),
      targets: this.#targets.slice(0, size),
      count: this.#samples,
    };
  }

  /** The metric of everything added so far. */
  result(): MultilabelMetrics {
    return { mean_average_precision: meanAveragePrecision(this.averagePrecisions(), this.#lanes) };
  }

  #reserve(rows: number): void {
    const capacity = this.#targets.length / this.numClasses;
    if (rows <= capacity) return;
    const grown = Math.max(rows, capacity * 2) * this.numClasses;
    const scores = new Float32Array(grown);
    scores.set(this.#scores);
    const targets = new Uint8Array(grown);
    targets.set(this.#targets);
    this.#scores = scores;
    this.#targets = targets;
  }
}
