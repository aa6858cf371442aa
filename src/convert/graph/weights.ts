/**
 * Where a graph builder gets its weights: a {@linkcode WeightSource} answers each tensor by name
 * (transformers' parameter names, e.g. `vision_model.encoder.layers.0.mlp.fc1.weight`) in the
 * layout the graph uses. A checkpoint's source reads (and, for open_clip, renames or slices) the
 * stored tensors; the model generator's source draws seeded random values.
 *
 * @module
 */

/**
 * What a weight is, which fixes its layout and (for generated weights) its scale:
 *
 * - `linear`: a `Linear`'s weight laid out `[in, out]` for `MatMul` (the transpose of PyTorch's
 *   `[out, in]`);
 * - `bias`, `norm_scale`, `norm_bias`: vectors;
 * - `embedding`: a table or a single embedding (class token, positions), as stored;
 * - `patch_kernel`: the patch `Conv`'s `[width, channels, patch, patch]` kernel, as stored;
 * - `scalar`: a one-element value such as a logit scale, shape `[]` or `[1]`.
 */
export type WeightRole =
  | "linear"
  | "bias"
  | "norm_scale"
  | "norm_bias"
  | "embedding"
  | "patch_kernel"
  | "scalar";

/** A provider of float32 weights by name. */
export interface WeightSource {
  /**
   * The values of weight `name` laid out as `dims` (for `linear`, `[in, out]`).
   *
   * @throws {Error} (a subclass saying which) when the weight is missing or has another shape.
   */
  read(name: string, dims: readonly number[], role: WeightRole): Float32Array;
  /** Whether a weight `name` exists (for optional parts such as a projection's bias). */
  has(name: string): boolean;
}
