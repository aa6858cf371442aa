/**
 * A small, general ONNX model writer: build a graph from nodes, initializers and typed inputs and
 * outputs (static or named dynamic axes), and encode it as a `ModelProto` file that onnxruntime
 * loads, with large initializers optionally in an external-data file beside it
 * (`model.onnx_data`, as transformers.js exports do).
 *
 * ```ts ignore
 * const graph = new GraphBuilder("text_model");
 * graph.input("input_ids", "int64", ["batch_size", "sequence_length"]);
 * graph.initializer("table", "float32", [vocab, dim], weights);
 * const hidden = graph.op("Gather", ["table", "input_ids"], { axis: 0 });
 * graph.node("ReduceMean", [hidden], ["text_embeds"], { axes: [1], keepdims: 0 });
 * graph.output("text_embeds", "float32", ["batch_size", dim]);
 * await saveModel("onnx/text_model.onnx", graph);
 * ```
 *
 * Field numbers are those of `onnx.proto3` (ONNX 1.x). Only what a graph of standard operators
 * needs is written: no functions, sparse tensors or training info.
 *
 * @module
 */

import { concatBytes, ProtoWriter, writeChunks } from "./protobuf.ts";
import { quantizeColumnsInt8 } from "./quantize_int8.ts";

/** onnxruntime's contrib operator domain. */
const MICROSOFT_DOMAIN = "com.microsoft";

/** Element types an input, output or initializer can have. */
export type ElementType =
  | "float32"
  | "float16"
  | "float64"
  | "int64"
  | "int32"
  | "int8"
  | "uint8"
  | "bool";

/** ONNX `TensorProto.DataType` numbers. */
const DATA_TYPE: Record<ElementType, number> = {
  float32: 1,
  uint8: 2,
  int8: 3,
  int32: 6,
  int64: 7,
  bool: 9,
  float16: 10,
  float64: 11,
};

/** Bytes per element. */
const ELEMENT_SIZE: Record<ElementType, number> = {
  float32: 4,
  uint8: 1,
  int8: 1,
  int32: 4,
  int64: 8,
  bool: 1,
  float16: 2,
  float64: 8,
};

/** One axis of a declared shape: a fixed size, or the name of a dynamic axis. */
export type Dim = number | string;

/**
 * Tensor contents: a typed array of the element type (`Float32Array` for float32, `Uint16Array`
 * of binary16 bit patterns for float16, `BigInt64Array` for int64, `Uint8Array` for bool…), or
 * plain numbers converted on encoding.
 */
export type TensorValues = ArrayBufferView | readonly number[];

/** A float attribute whose value happens to be an integer (plain integers are INT attributes). */
export interface FloatAttribute {
  /** Marks the value as FLOAT. */
  readonly float: number;
}

/** A FLOATS attribute (plain number arrays of integers are INTS). */
export interface FloatsAttribute {
  /** Marks the values as FLOATS. */
  readonly floats: readonly number[];
}

/** A TENSOR attribute (e.g. `Constant`'s `value`). */
export interface TensorAttribute {
  /** The tensor. */
  readonly tensor: { type: ElementType; dims: readonly number[]; values: TensorValues };
}

/**
 * A node attribute: an integer (INT), a non-integer number (FLOAT), a string (STRING), an array of
 * integers (INTS) or of numbers with a fraction (FLOATS), or one of the explicit forms.
 */
export type AttributeValue =
  | number
  | string
  | readonly number[]
  | FloatAttribute
  | FloatsAttribute
  | TensorAttribute;

interface ValueInfo {
  readonly name: string;
  readonly type: ElementType;
  readonly shape: readonly Dim[];
}

interface Initializer {
  readonly name: string;
  readonly type: ElementType;
  readonly dims: readonly number[];
  readonly bytes: Uint8Array;
}

interface NodeSpec {
  readonly opType: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attributes: Readonly<Record<string, AttributeValue>>;
  readonly name: string;
  readonly domain: string;
}

/** The little-endian bytes of tensor contents of `type` with `count` elements. */
export function tensorBytes(type: ElementType, values: TensorValues, count: number): Uint8Array {
  let bytes: Uint8Array;
  if (ArrayBuffer.isView(values)) {
    bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  } else {
    const list = values as readonly number[];
    bytes = new Uint8Array(list.length * ELEMENT_SIZE[type]);
    const view = new DataView(bytes.buffer);
    list.forEach((v, i) => {
      switch (type) {
        case "float32":
          return view.setFloat32(i * 4, v, true);
        case "float64":
          return view.setFloat64(i * 8, v, true);
        case "int64":
          return view.setBigInt64(i * 8, BigInt(v), true);
        case "int32":
          return view.setInt32(i * 4, v, true);
        case "float16":
          return view.setUint16(i * 2, v, true); // bit patterns
        case "int8":
          return view.setInt8(i, v);
        default:
          return view.setUint8(i, v);
      }
    });
  }
  if (bytes.length !== count * ELEMENT_SIZE[type]) {
    throw new RangeError(
      `${type} tensor of ${count} elements needs ${
        count * ELEMENT_SIZE[type]
      } bytes, got ${bytes.length}`,
    );
  }
  return bytes;
}

/** The largest finite float16. */
const FLOAT16_MAX = 65504;

/** float32 little-endian bytes as float16 bytes (nearest even, clamped to ±65504). */
function toFloat16Bytes(bytes: Uint8Array): Uint8Array {
  const values = new Float32Array(bytes.length / 4);
  new Uint8Array(values.buffer).set(bytes);
  for (let i = 0; i < values.length; i++) {
    values[i] = Math.max(-FLOAT16_MAX, Math.min(FLOAT16_MAX, values[i]));
  }
  return new Uint8Array(new Float16Array(values).buffer);
}

function elementCount(dims: readonly number[]): number {
  return dims.reduce((n, d) => n * d, 1);
}

/** Builds one ONNX graph: its inputs, outputs, initializers and nodes, in order. */
export class GraphBuilder {
  /** Graph name. */
  readonly name: string;
  readonly #inputs: ValueInfo[] = [];
  readonly #outputs: ValueInfo[] = [];
  readonly #valueInfos: ValueInfo[] = [];
  readonly #initializers: Initializer[] = [];
  readonly #nodes: NodeSpec[] = [];
  #counter = 0;

  /**
   * Creates an empty graph.
   *
   * @param name Graph name (`GraphProto.name`).
   */
  constructor(name: string) {
    this.name = name;
  }

  /** Declares a graph input; returns its name. */
  input(name: string, type: ElementType, shape: readonly Dim[]): string {
    this.#inputs.push({ name, type, shape });
    return name;
  }

  /** Declares a graph output (produced by a node, or an input); returns its name. */
  output(name: string, type: ElementType, shape: readonly Dim[]): string {
    this.#outputs.push({ name, type, shape });
    return name;
  }

  /** Declares the type of an intermediate value (optional: onnxruntime infers shapes). */
  valueInfo(name: string, type: ElementType, shape: readonly Dim[]): string {
    this.#valueInfos.push({ name, type, shape });
    return name;
  }

  /** Adds a constant tensor (weights); returns its name. */
  initializer(
    name: string,
    type: ElementType,
    dims: readonly number[],
    values: TensorValues,
  ): string {
    this.#initializers.push({
      name,
      type,
      dims: [...dims],
      bytes: tensorBytes(type, values, elementCount(dims)),
    });
    return name;
  }

  /** Adds a node with named outputs; returns the output names. */
  node(
    opType: string,
    inputs: readonly string[],
    outputs: readonly string[],
    attributes: Readonly<Record<string, AttributeValue>> = {},
    options: { name?: string; domain?: string } = {},
  ): readonly string[] {
    this.#nodes.push({
      opType,
      inputs: [...inputs],
      outputs: [...outputs],
      attributes,
      name: options.name ?? `${opType}_${this.#nodes.length}`,
      domain: options.domain ?? "",
    });
    return outputs;
  }

  /** Adds a single-output node whose output gets a fresh name; returns that name. */
  op(
    opType: string,
    inputs: readonly string[],
    attributes: Readonly<Record<string, AttributeValue>> = {},
  ): string {
    const output = `${opType.toLowerCase()}_${this.#counter++}`;
    this.node(opType, inputs, [output], attributes);
    return output;
  }

  /**
   * Makes the graph compute in float16, as transformers.js's `*_fp16.onnx` exports do: float32
   * initializers, inputs, outputs and declared values become float16, and `Cast`s to float32 cast
   * to float16. Values are rounded to the nearest float16 and clamped to ±65504, so that a large
   * negative mask value (−1e9, float32's minimum) stays finite, as `torch.finfo(float16).min` is.
   */
  convertToFloat16(): void {
    const retype = (info: ValueInfo): ValueInfo =>
      info.type === "float32" ? { ...info, type: "float16" } : info;
    for (const list of [this.#inputs, this.#outputs, this.#valueInfos]) {
      list.splice(0, list.length, ...list.map(retype));
    }
    this.#initializers.splice(
      0,
      this.#initializers.length,
      ...this.#initializers.map((init) =>
        init.type === "float32"
          ? { ...init, type: "float16" as const, bytes: toFloat16Bytes(init.bytes) }
          : init
      ),
    );
    for (const [i, node] of this.#nodes.entries()) {
      if (node.opType === "Cast" && node.attributes.to === DATA_TYPE.float32) {
        this.#nodes[i] = { ...node, attributes: { ...node.attributes, to: DATA_TYPE.float16 } };
      }
    }
  }

  /**
   * Quantises the weights of every `MatMul` whose second input is a 2-D float32 initializer of at
   * least `minElements` values to int8, per output column (src/onnx/quantize_int8.ts), and runs
   * it as onnxruntime's `com.microsoft` `DynamicQuantizeMatMul` (activations quantised per call).
   * Other MatMuls (attention's products of two activations) stay float32.
   *
   * @returns How many MatMuls were quantised.
   */
  quantizeMatMulWeights(minElements = 4096): number {
    const byName = new Map(this.#initializers.map((init, i) => [init.name, i]));
    const used = new Map<string, number>();
    for (const node of this.#nodes) {
      for (const input of node.inputs) used.set(input, (used.get(input) ?? 0) + 1);
    }
    let quantized = 0;
    for (const [i, node] of this.#nodes.entries()) {
      if (node.opType !== "MatMul" || node.domain !== "") continue;
      const at = byName.get(node.inputs[1]);
      if (at === undefined) continue;
      const init = this.#initializers[at];
      if (init.type !== "float32" || init.dims.length !== 2) continue;
      if (elementCount(init.dims) < minElements || used.get(init.name) !== 1) continue;
      const [rows, columns] = init.dims;
      const weights = new Float32Array(
        init.bytes.buffer.slice(init.bytes.byteOffset, init.bytes.byteOffset + init.bytes.length),
      );
      const { values, scales } = quantizeColumnsInt8(weights, rows, columns);
      this.#initializers[at] = {
        name: `${init.name}_quantized`,
        type: "int8",
        dims: init.dims,
        bytes: new Uint8Array(values.buffer),
      };
      const scale = this.initializer(`${init.name}_scale`, "float32", [columns], scales);
      const zero = this.initializer(
        `${init.name}_zero_point`,
        "int8",
        [columns],
        new Int8Array(columns),
      );
      this.#nodes[i] = {
        ...node,
        opType: "DynamicQuantizeMatMul",
        domain: MICROSOFT_DOMAIN,
        inputs: [node.inputs[0], `${init.name}_quantized`, scale, zero],
      };
      quantized++;
    }
    return quantized;
  }

  /** The operator domains the graph's nodes use besides the default one. */
  get extraDomains(): readonly string[] {
    return [...new Set(this.#nodes.map((n) => n.domain).filter((d) => d !== ""))];
  }

  /** Bytes of all initializers (what the model file holds, less the graph's structure). */
  get initializerBytes(): number {
    return this.#initializers.reduce((sum, init) => sum + init.bytes.length, 0);
  }

  /** Names of the declared inputs. */
  get inputNames(): readonly string[] {
    return this.#inputs.map((i) => i.name);
  }

  /**
   * Encodes the graph as a `GraphProto`. Initializers of at least `external.minBytes` bytes are
   * written to `external.chunks` (to be stored in the file `external.location`) instead of inline.
   */
  encode(external?: ExternalDataSink): ProtoWriter {
    const graph = new ProtoWriter();
    for (const node of this.#nodes) graph.message(1, encodeNode(node));
    graph.string(2, this.name);
    for (const init of this.#initializers) graph.message(5, encodeInitializer(init, external));
    for (const input of this.#inputs) graph.message(11, encodeValueInfo(input));
    for (const output of this.#outputs) graph.message(12, encodeValueInfo(output));
    for (const info of this.#valueInfos) graph.message(13, encodeValueInfo(info));
    return graph;
  }
}

/** Where external initializer data goes while a model is encoded. */
export interface ExternalDataSink {
  /** File name written into the graph, relative to the model file. */
  readonly location: string;
  /** Initializers of at least this many bytes go to the external file. */
  readonly minBytes: number;
  /** The external file's contents, appended in order. */
  readonly chunks: Uint8Array[];
  /** Bytes appended so far. */
  offset: number;
}

/** Alignment of each tensor in an external-data file. */
const EXTERNAL_ALIGNMENT = 64;

function encodeInitializer(init: Initializer, external?: ExternalDataSink): ProtoWriter {
  const tensor = new ProtoWriter();
  tensor.packedVarints(1, init.dims);
  tensor.varint(2, DATA_TYPE[init.type]);
  tensor.string(8, init.name);
  if (external && init.bytes.length >= external.minBytes) {
    const padding = (EXTERNAL_ALIGNMENT - (external.offset % EXTERNAL_ALIGNMENT)) %
      EXTERNAL_ALIGNMENT;
    if (padding > 0) external.chunks.push(new Uint8Array(padding));
    const offset = external.offset + padding;
    external.chunks.push(init.bytes);
    external.offset = offset + init.bytes.length;
    const entries: [string, string][] = [
      ["location", external.location],
      ["offset", String(offset)],
      ["length", String(init.bytes.length)],
    ];
    for (const [key, value] of entries) {
      tensor.message(13, new ProtoWriter().string(1, key).string(2, value));
    }
    tensor.varint(14, 1); // data_location: EXTERNAL
  } else {
    tensor.bytes(9, init.bytes);
  }
  return tensor;
}

function encodeValueInfo(info: ValueInfo): ProtoWriter {
  const shape = new ProtoWriter();
  for (const dim of info.shape) {
    const d = new ProtoWriter();
    if (typeof dim === "number") d.varint(1, dim);
    else d.string(2, dim);
    shape.message(1, d);
  }
  const tensorType = new ProtoWriter().varint(1, DATA_TYPE[info.type]).message(2, shape);
  const type = new ProtoWriter().message(1, tensorType);
  return new ProtoWriter().string(1, info.name).message(2, type);
}

/** ONNX `AttributeProto.AttributeType` numbers. */
const ATTRIBUTE_TYPE = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7 } as const;

function isNumberList(value: AttributeValue): value is readonly number[] {
  return Array.isArray(value);
}

function encodeAttribute(name: string, value: AttributeValue): ProtoWriter {
  const attr = new ProtoWriter().string(1, name);
  if (typeof value === "number") {
    if (Number.isInteger(value)) attr.varint(3, value).varint(20, ATTRIBUTE_TYPE.INT);
    else attr.float(2, value).varint(20, ATTRIBUTE_TYPE.FLOAT);
  } else if (typeof value === "string") {
    attr.string(4, value).varint(20, ATTRIBUTE_TYPE.STRING);
  } else if (isNumberList(value)) {
    if (value.every(Number.isInteger)) attr.packedVarints(8, value).varint(20, ATTRIBUTE_TYPE.INTS);
    else attr.packedFloats(7, value).varint(20, ATTRIBUTE_TYPE.FLOATS);
  } else if ("float" in value) {
    attr.float(2, value.float).varint(20, ATTRIBUTE_TYPE.FLOAT);
  } else if ("floats" in value) {
    attr.packedFloats(7, value.floats).varint(20, ATTRIBUTE_TYPE.FLOATS);
  } else {
    const { type, dims, values } = value.tensor;
    const tensor = new ProtoWriter().packedVarints(1, dims).varint(2, DATA_TYPE[type]);
    tensor.bytes(9, tensorBytes(type, values, elementCount(dims)));
    attr.message(5, tensor).varint(20, ATTRIBUTE_TYPE.TENSOR);
  }
  return attr;
}

function encodeNode(node: NodeSpec): ProtoWriter {
  const out = new ProtoWriter();
  for (const input of node.inputs) out.string(1, input);
  for (const output of node.outputs) out.string(2, output);
  out.string(3, node.name);
  out.string(4, node.opType);
  for (const [name, value] of Object.entries(node.attributes)) {
    out.message(5, encodeAttribute(name, value));
  }
  if (node.domain !== "") out.string(7, node.domain);
  return out;
}

/** Model-level settings. */
export interface ModelOptions {
  /** Default-domain opset version (default 17). */
  readonly opset?: number;
  /** `ModelProto.ir_version` (default 8, which onnxruntime reads for opsets up to 17). */
  readonly irVersion?: number;
  /** Opsets of other domains, e.g. `{ domain: "com.microsoft", version: 1 }`. */
  readonly extraOpsets?: readonly { domain: string; version: number }[];
  /** `ModelProto.producer_name` (default `clipbench`). */
  readonly producer?: string;
}

/** An encoded model: the `.onnx` bytes, and the external-data file's bytes where there is one. */
export interface EncodedModel {
  /** The `ModelProto`. */
  readonly model: Uint8Array;
  /** Contents of the external-data file named in the graph, when initializers went there. */
  readonly externalData?: Uint8Array;
}

/**
 * Encodes a graph as a `ModelProto`.
 *
 * @param external Put initializers of at least `minBytes` bytes (default 1024) in a separate
 *   file named `location` (relative to the model file).
 */
export function encodeModel(
  graph: GraphBuilder,
  options: ModelOptions = {},
  external?: { location: string; minBytes?: number },
): EncodedModel {
  const sink: ExternalDataSink | undefined = external
    ? { location: external.location, minBytes: external.minBytes ?? 1024, chunks: [], offset: 0 }
    : undefined;
  const model = modelProto(graph, options, sink);
  const externalData = sink && sink.offset > 0 ? concatBytes(sink.chunks, sink.offset) : undefined;
  return { model: model.finish(), externalData };
}

/** The `ModelProto` of a graph, its large initializers (with a sink) left to the sink. */
function modelProto(
  graph: GraphBuilder,
  options: ModelOptions,
  sink: ExternalDataSink | undefined,
): ProtoWriter {
  const model = new ProtoWriter();
  model.varint(1, options.irVersion ?? 8);
  model.string(2, options.producer ?? "clipbench");
  model.message(7, graph.encode(sink));
  model.message(8, new ProtoWriter().string(1, "").varint(2, options.opset ?? 17));
  const extras = [...(options.extraOpsets ?? [])];
  // A domain the nodes use and the options do not name gets version 1 (com.microsoft's).
  for (const domain of graph.extraDomains) {
    if (!extras.some((extra) => extra.domain === domain)) extras.push({ domain, version: 1 });
  }
  for (const extra of extras) {
    model.message(8, new ProtoWriter().string(1, extra.domain).varint(2, extra.version));
  }
  return model;
}

/**
 * Writes a graph to `path` as an ONNX model, streamed: neither the model nor its external data is
 * assembled in memory (the initializers are written from the graph's own buffers). With
 * `externalData`, initializers of at least `minBytes` (default 1024) go to `<path>_data` (e.g.
 * `model.onnx_data`), which onnxruntime reads from beside the model.
 */
export async function saveModel(
  path: string,
  graph: GraphBuilder,
  options: ModelOptions & { externalData?: boolean | { minBytes: number } } = {},
): Promise<void> {
  const dataPath = `${path}_data`;
  const sink: ExternalDataSink | undefined = options.externalData
    ? {
      location: dataPath.slice(dataPath.lastIndexOf("/") + 1),
      minBytes: typeof options.externalData === "object" ? options.externalData.minBytes : 1024,
      chunks: [],
      offset: 0,
    }
    : undefined;
  const model = modelProto(graph, options, sink);
  await using file = await Deno.open(path, { write: true, create: true, truncate: true });
  await model.writeTo(file);
  if (sink && sink.offset > 0) {
    await using data = await Deno.open(dataPath, { write: true, create: true, truncate: true });
    await writeChunks(data, sink.chunks);
  }
}
