/**
 * Per-column symmetric int8 quantisation of a MatMul weight, as onnxruntime's
 * `quantize_dynamic(per_channel=True, weight_type=QInt8)` computes it for `MatMul`: for each
 * output column `n` of a `[K, N]` weight, `scale[n] = max_k |W[k, n]| / 127` (1 for an all-zero
 * column), `q[k, n] = clamp(round(W[k, n] / scale[n]), -127, 127)` with rounding half to even
 * (NumPy's `rint`), zero point 0. onnxruntime's `DynamicQuantizeMatMul` (com.microsoft) then
 * quantises the activations per call (uint8, asymmetric) and multiplies in integers — on CPUs with
 * AVX-512 VNNI or AVX2 with its int8 kernels.
 *
 * @module
 */

/** The largest magnitude of a symmetric int8 value. */
const QMAX = 127;

/** A quantised `[K, N]` weight: int8 values in the same layout, and a scale per column. */
export interface Int8Columns {
  /** `q[k * N + n]`. */
  readonly values: Int8Array;
  /** `scale[n]`, float32. */
  readonly scales: Float32Array;
}

/** Rounds half to even, as NumPy's `rint` (and onnxruntime's quantiser) do. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x); // half up
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Quantises a row-major `[rows, columns]` float32 weight per column (see the module
 * documentation).
 */
export function quantizeColumnsInt8(
  weights: Float32Array,
  rows: number,
  columns: number,
): Int8Columns {
  if (weights.length !== rows * columns) {
    throw new RangeError(
      `expected ${rows}×${columns} = ${rows * columns} values, got ${weights.length}`,
    );
  }
  const scales = new Float32Array(columns);
  for (let k = 0; k < rows; k++) {
    const row = k * columns;
    for (let n = 0; n < columns; n++) {
      const magnitude = Math.abs(weights[row + n]);
      if (magnitude > scales[n]) scales[n] = magnitude;
    }
  }
  // (2 · max) / 254 in float32, as onnxruntime's `compute_scale_zp` on float32 arrays.
  for (let n = 0; n < columns; n++) scales[n] = scales[n] === 0 ? 1 : scales[n] / QMAX;
  const values = new Int8Array(rows * columns);
  for (let k = 0; k < rows; k++) {
    const row = k * columns;
    for (let n = 0; n < columns; n++) {
      // The quotient in float32, as NumPy divides float32 arrays.
      const q = roundHalfEven(Math.fround(weights[row + n] / scales[n]));
      values[row + n] = q > QMAX ? QMAX : q < -QMAX ? -QMAX : q;
    }
  }
  return { values, scales };
}
