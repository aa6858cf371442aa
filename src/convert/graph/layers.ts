/**
 * Transformer building blocks as ONNX subgraphs, in the operator mix of a PyTorch export of CLIP
 * (`MatMul` + `Add` linears, `LayerNormalization`, multi-head attention as
 * `Reshape`/`Transpose`/`MatMul`/`Softmax`, QuickGELU or GELU MLPs, pre-LayerNorm residual
 * blocks), so onnxruntime sees and optimises what it sees in an exported model. Weights come from
 * a {@linkcode WeightSource} by transformers' parameter names (a checkpoint's, or the model
 * generator's seeded random ones).
 *
 * @module
 */

import type { GraphBuilder } from "../../onnx/builder.ts";
import type { Activation } from "./clip_shape.ts";
import type { WeightRole, WeightSource } from "./weights.ts";

/** Where layers are added: the graph, the weights, and shared constants. */
export class LayerContext {
  /** The graph being built. */
  readonly graph: GraphBuilder;
  /** Where weights come from. */
  readonly weights: WeightSource;
  readonly #constants = new Map<string, string>();

  /** Starts adding layers to `graph` with weights from `weights`. */
  constructor(graph: GraphBuilder, weights: WeightSource) {
    this.graph = graph;
    this.weights = weights;
  }

  /** The weight `name` as an initializer laid out as `dims` (see {@linkcode WeightRole}). */
  weight(name: string, dims: readonly number[], role: WeightRole): string {
    return this.graph.initializer(name, "float32", dims, this.weights.read(name, dims, role));
  }

  /** A shared int64 constant (shapes, axes), created once per distinct value. */
  int64(values: readonly number[], scalar = false): string {
    const key = `i64:${scalar ? "s" : ""}${values.join(",")}`;
    let name = this.#constants.get(key);
    if (name === undefined) {
      name = `const_i64_${this.#constants.size}`;
      this.graph.initializer(name, "int64", scalar ? [] : [values.length], values);
      this.#constants.set(key, name);
    }
    return name;
  }

  /** A shared float32 scalar constant. */
  float(value: number): string {
    const key = `f32:${value}`;
    let name = this.#constants.get(key);
    if (name === undefined) {
      name = `const_f32_${this.#constants.size}`;
      this.graph.initializer(name, "float32", [], [value]);
      this.#constants.set(key, name);
    }
    return name;
  }
}

/**
 * `x · W + b` over the last axis, as a PyTorch `Linear` exports (`MatMul` with the transposed
 * weight as an initializer, then `Add`).
 */
export function linear(
  ctx: LayerContext,
  name: string,
  input: string,
  inDim: number,
  outDim: number,
  bias = true,
): string {
  const weight = ctx.weight(`${name}.weight`, [inDim, outDim], "linear");
  const product = ctx.graph.op("MatMul", [input, weight]);
  if (!bias) return product;
  return ctx.graph.op("Add", [product, ctx.weight(`${name}.bias`, [outDim], "bias")]);
}

/** LayerNorm over the last axis (opset 17 `LayerNormalization`; PyTorch's default ε 1e-5). */
export function layerNorm(
  ctx: LayerContext,
  name: string,
  input: string,
  dim: number,
  epsilon = 1e-5,
): string {
  const scale = ctx.weight(`${name}.weight`, [dim], "norm_scale");
  const bias = ctx.weight(`${name}.bias`, [dim], "norm_bias");
  return ctx.graph.op("LayerNormalization", [input, scale, bias], { axis: -1, epsilon });
}

/**
 * QuickGELU (x·σ(1.702x)), GELU (0.5·x·(1 + erf(x/√2))) or tanh-approximated GELU
 * (0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))), as PyTorch exports them.
 */
export function activate(ctx: LayerContext, kind: Activation, input: string): string {
  const g = ctx.graph;
  if (kind === "quick_gelu") {
    const gate = g.op("Sigmoid", [g.op("Mul", [input, ctx.float(1.702)])]);
    return g.op("Mul", [input, gate]);
  }
  if (kind === "gelu_pytorch_tanh") {
    const cube = g.op("Mul", [g.op("Mul", [input, input]), input]);
    const inner = g.op("Add", [input, g.op("Mul", [cube, ctx.float(0.044715)])]);
    const tanh = g.op("Tanh", [g.op("Mul", [inner, ctx.float(Math.sqrt(2 / Math.PI))])]);
    const half = g.op("Mul", [input, ctx.float(0.5)]);
    return g.op("Mul", [half, g.op("Add", [tanh, ctx.float(1)])]);
  }
  const erf = g.op("Erf", [g.op("Div", [input, ctx.float(Math.SQRT2)])]);
  const half = g.op("Mul", [input, ctx.float(0.5)]);
  return g.op("Mul", [half, g.op("Add", [erf, ctx.float(1)])]);
}

/**
 * An additive key mask from an int64 `attention_mask` `[batch, sequence]` (1 for tokens, 0 for
 * padding): `(1 - mask) · masked`, shaped `[batch, 1, 1, sequence]` to add to every query row of
 * every head's scores.
 */
export function keyPaddingMask(ctx: LayerContext, attentionMask: string, masked: number): string {
  const g = ctx.graph;
  const kept = g.op("Cast", [attentionMask], { to: 1 }); // float32
  const padding = g.op("Mul", [g.op("Sub", [ctx.float(1), kept]), ctx.float(masked)]);
  return g.op("Unsqueeze", [padding, ctx.int64([1, 2])]);
}

/** Sizes of one transformer block. */
export interface BlockShape {
  /** Residual width. */
  readonly width: number;
  /** Attention heads. */
  readonly heads: number;
  /** MLP hidden size. */
  readonly intermediate: number;
  /** MLP activation. */
  readonly activation: Activation;
}

/**
 * Multi-head attention of `queries` `[batch | 1, queries, width]` over `keysAndValues`
 * `[batch, sequence, width]`: q, k, v linears (`<name>.{q,k,v}_proj`), heads split with
 * `Reshape` + `Transpose`, `softmax(q·kᵀ/√d + mask)·v`, heads merged, output linear
 * (`<name>.out_proj`).
 *
 * @param mask An additive mask broadcast to `[batch, heads, queries, sequence]` (0 or a large
 *   negative), or none.
 */
export function attention(
  ctx: LayerContext,
  name: string,
  queries: string,
  keysAndValues: string,
  shape: BlockShape,
  mask?: string,
): string {
  const g = ctx.graph;
  const { width, heads } = shape;
  const headDim = width / heads;
  const split = ctx.int64([0, 0, heads, headDim]);
  const heads4d = (value: string, perm: number[]) =>
    g.op("Transpose", [g.op("Reshape", [value, split])], { perm });
  const q = linear(ctx, `${name}.q_proj`, queries, width, width);
  const scaledQ = g.op("Mul", [q, ctx.float(1 / Math.sqrt(headDim))]);
  const queryHeads = heads4d(scaledQ, [0, 2, 1, 3]); // [B, H, Q, D]
  const project = (part: string) => linear(ctx, `${name}.${part}`, keysAndValues, width, width);
  let scores: string; // [B, H, Q, S]
  if (queries === keysAndValues) {
    // Self-attention: q·kᵀ as PyTorch's exports compute it, the heads folded into the batch
    // ([B·H, S, D] times the transpose of [B·H, S, D]), which onnxruntime runs as one MatMul
    // with the transpose fused — faster than transposing k to [B, H, D, S].
    const keyHeads = heads4d(project("k_proj"), [0, 2, 1, 3]); // [B, H, S, D]
    const length = g.op("Shape", [queries], { start: 1, end: 2 });
    const minusOne = ctx.int64([-1]);
    const fold = g.op("Concat", [minusOne, length, ctx.int64([headDim])], { axis: 0 });
    const foldedKeys = g.op("Reshape", [keyHeads, fold]);
    const keysT = g.op("Transpose", [foldedKeys], { perm: [0, 2, 1] });
    const folded = g.op("MatMul", [g.op("Reshape", [queryHeads, fold]), keysT]); // [B·H, S, S]
    const unfold = g.op("Concat", [minusOne, ctx.int64([heads]), length, length], { axis: 0 });
    scores = g.op("Reshape", [folded, unfold]);
  } else {
    // Cross-attention (a pooling probe shared by the batch): k as [B, H, D, S].
    const keys = heads4d(project("k_proj"), [0, 2, 3, 1]);
    scores = g.op("MatMul", [queryHeads, keys]);
  }
  const values = heads4d(project("v_proj"), [0, 2, 1, 3]); // [B, H, S, D]
  if (mask !== undefined) scores = g.op("Add", [scores, mask]);
  const weights = g.op("Softmax", [scores], { axis: -1 });
  const context = g.op("Transpose", [g.op("MatMul", [weights, values])], { perm: [0, 2, 1, 3] });
  const merged = g.op("Reshape", [context, ctx.int64([0, 0, width])]);
  return linear(ctx, `${name}.out_proj`, merged, width, width);
}

/**
 * Multi-head self-attention over `[batch, sequence, width]` (see {@linkcode attention}).
 *
 * @param mask An additive `[sequence, sequence]` mask (0 or a large negative), or none.
 */
export function selfAttention(
  ctx: LayerContext,
  name: string,
  input: string,
  shape: BlockShape,
  mask?: string,
): string {
  return attention(ctx, name, input, input, shape, mask);
}

/** The block's MLP: linear → activation → linear. */
export function mlp(ctx: LayerContext, name: string, input: string, shape: BlockShape): string {
  const hidden = linear(ctx, `${name}.fc1`, input, shape.width, shape.intermediate);
  const activated = activate(ctx, shape.activation, hidden);
  return linear(ctx, `${name}.fc2`, activated, shape.intermediate, shape.width);
}

/** What a pre-LayerNorm block may change beyond its sizes; each default is OpenAI CLIP's. */
export interface BlockOptions {
  /** ε of the block's LayerNorms; default 1e-5. */
  readonly layerNormEpsilon?: number;
  /**
   * Whether the attention and MLP outputs are multiplied by learned per-channel gains before the
   * residual sums (open_clip's LayerScale): weights `<block>.layer_scale1.lambda1` and
   * `<block>.layer_scale2.lambda1`, `[width]`. Default false.
   */
  readonly layerScale?: boolean;
}

/**
 * A pre-LayerNorm residual block: x + attn(ln1(x)), then + mlp(ln2(x)) (each branch times its
 * layer-scale gains with `options.layerScale`).
 */
export function transformerBlock(
  ctx: LayerContext,
  name: string,
  input: string,
  shape: BlockShape,
  mask?: string,
  options: BlockOptions = {},
): string {
  const g = ctx.graph;
  const epsilon = options.layerNormEpsilon ?? 1e-5;
  const scaled = (branch: string, gains: string) =>
    options.layerScale
      ? g.op("Mul", [branch, ctx.weight(`${name}.${gains}.lambda1`, [shape.width], "norm_scale")])
      : branch;
  const attended = selfAttention(
    ctx,
    `${name}.self_attn`,
    layerNorm(ctx, `${name}.layer_norm1`, input, shape.width, epsilon),
    shape,
    mask,
  );
  const afterAttention = g.op("Add", [input, scaled(attended, "layer_scale1")]);
  const transformed = mlp(
    ctx,
    `${name}.mlp`,
    layerNorm(ctx, `${name}.layer_norm2`, afterAttention, shape.width, epsilon),
    shape,
  );
  return g.op("Add", [afterAttention, scaled(transformed, "layer_scale2")]);
}

/** `count` blocks in sequence, named `<prefix>.layers.<i>`. */
export function transformer(
  ctx: LayerContext,
  prefix: string,
  input: string,
  shape: BlockShape,
  count: number,
  mask?: string,
  options: BlockOptions = {},
): string {
  let hidden = input;
  for (let i = 0; i < count; i++) {
    hidden = transformerBlock(ctx, `${prefix}.layers.${i}`, hidden, shape, mask, options);
  }
  return hidden;
}
