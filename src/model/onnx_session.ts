/**
 * One onnxruntime session over an ONNX graph file, with what clipbench reads from it: the declared
 * inputs and outputs (names, element types, static or named axes), tensors built in the element
 * type each input declares (int64 or int32 ids; float32 or float16 pixels), and float outputs
 * read back as float32 whatever their declared type.
 *
 * float16 crosses the boundary as binary16 bit patterns in a `Uint16Array`. onnxruntime-common
 * re-views such data as a `Float16Array` where the runtime has one (Deno does), and
 * onnxruntime-node's native binding cannot read a `Float16Array` under Deno (it sees 0 bytes), so
 * an input tensor keeps its `Uint16Array` as its `data` ({@linkcode GraphSession.floatTensor});
 * outputs are read through their bytes, whichever array type they come in.
 *
 * A session can be shared by several encoders (a joint `model.onnx` serves both modalities): it
 * is closed when the last holder releases it.
 *
 * @module
 */

import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import process from "node:process";
import * as ort from "onnxruntime-node";
import { ModelError } from "../errors.ts";

/** onnxruntime's graph optimisation levels (`graphOptimizationLevel`). */
export type GraphOptimizationLevel = "disabled" | "basic" | "extended" | "all";

/** The graph optimisation levels, from none to all. */
export const GRAPH_OPTIMIZATION_LEVELS: readonly GraphOptimizationLevel[] = [
  "disabled",
  "basic",
  "extended",
  "all",
];

/** Execution providers clipbench can ask onnxruntime-node for. */
export type ExecutionProvider = "cpu" | "cuda";

/** Session settings shared by every graph of a model. */
export interface SessionSettings {
  /**
   * onnxruntime intra-op threads; 0 or undefined lets onnxruntime choose (one per core). The
   * evaluation pipeline chooses its own default beside its decoding workers (see
   * `src/pipeline/core_split.ts`).
   */
  readonly threads?: number;
  /**
   * Execution provider; `cpu` by default. `cuda` needs onnxruntime-node's CUDA provider
   * libraries, which its npm package does not bundle (see {@linkcode availableExecutionProviders}):
   * asking for it without them is a {@linkcode ModelError}.
   */
  readonly executionProvider?: ExecutionProvider;
  /** Graph optimisations onnxruntime applies when it loads a graph; default `all`. */
  readonly graphOptimizationLevel?: GraphOptimizationLevel;
  /**
   * onnxruntime's CPU memory arena (`enableCpuMemArena`); default `true`. Without it every
   * intermediate tensor is allocated and freed per run: less resident memory, usually slower.
   */
  readonly memoryArena?: boolean;
}

/** The folder of onnxruntime-node's native binding, where provider libraries must lie. */
function bindingFolder(): string | undefined {
  try {
    const require = createRequire(import.meta.url);
    const root = dirname(require.resolve("onnxruntime-node/package.json"));
    return join(root, "bin", "napi-v6", process.platform, process.arch);
  } catch {
    return undefined;
  }
}

/** File name of a provider's shared library on this platform. */
function providerLibrary(name: string): string {
  if (process.platform === "win32") return `onnxruntime_providers_${name}.dll`;
  if (process.platform === "darwin") return `libonnxruntime_providers_${name}.dylib`;
  return `libonnxruntime_providers_${name}.so`;
}

/**
 * The execution providers this onnxruntime-node can use here: `cpu`, and `cuda` when the binding
 * was built with it (`listSupportedBackends`) and its provider libraries are installed beside the
 * binding (the npm package does not bundle them; onnxruntime-node's install script fetches them
 * with `--onnxruntime-node-install=cuda12`). Whether a GPU and its driver work is only known when
 * a session is created.
 */
export function availableExecutionProviders(): ExecutionProvider[] {
  const available: ExecutionProvider[] = ["cpu"];
  const cuda = ort.listSupportedBackends().find((backend) => backend.name === "cuda");
  if (cuda === undefined) return available;
  const folder = bindingFolder();
  const installed = cuda.bundled ||
    (folder !== undefined && ["shared", "cuda"].every((name) => {
      try {
        return Deno.statSync(join(folder, providerLibrary(name))).isFile;
      } catch {
        return false;
      }
    }));
  if (installed) available.push("cuda");
  return available;
}

/** onnxruntime session options for `settings`, after checking them. */
function sessionOptions(
  path: string,
  settings: SessionSettings,
): ort.InferenceSession.SessionOptions {
  const provider = settings.executionProvider ?? "cpu";
  if (provider !== "cpu" && provider !== "cuda") {
    throw new ModelError(`unknown execution provider ${JSON.stringify(provider)}: cpu or cuda`, {
      path,
    });
  }
  if (provider === "cuda" && !availableExecutionProviders().includes("cuda")) {
    throw new ModelError(
      `the cuda execution provider is not available: onnxruntime-node's CUDA provider libraries ` +
        `(${providerLibrary("cuda")}, ${providerLibrary("shared")}) are not installed beside its ` +
        `binding in ${bindingFolder() ?? "its package"}; use the cpu provider`,
      { path },
    );
  }
  const level = settings.graphOptimizationLevel ?? "all";
  if (!GRAPH_OPTIMIZATION_LEVELS.includes(level)) {
    throw new ModelError(
      `unknown graph optimisation level ${JSON.stringify(level)}: ${
        GRAPH_OPTIMIZATION_LEVELS.join(", ")
      }`,
      { path },
    );
  }
  const threads = settings.threads ?? 0;
  if (!Number.isInteger(threads) || threads < 0) {
    throw new ModelError(`intra-op threads must be an integer ≥ 0, got ${threads}`, { path });
  }
  const options: ort.InferenceSession.SessionOptions = {
    executionProviders: [provider],
    interOpNumThreads: 1,
    graphOptimizationLevel: level,
    enableCpuMemArena: settings.memoryArena ?? true,
  };
  if (threads > 0) options.intraOpNumThreads = threads;
  return options;
}

/** A graph input or output as the graph declares it. */
export interface GraphValue {
  /** The name. */
  readonly name: string;
  /** Element type (`float32`, `float16`, `int64`, …); undefined for non-tensor values. */
  readonly type?: string;
  /** Each axis: a fixed size, or the name of a dynamic axis (`batch_size`). */
  readonly shape: readonly (number | string)[];
}

interface OrtValueMetadata {
  readonly name: string;
  readonly isTensor: boolean;
  readonly type?: string;
  readonly shape?: readonly (number | string)[];
}

function toGraphValues(list: readonly unknown[]): Map<string, GraphValue> {
  const values = new Map<string, GraphValue>();
  for (const entry of list as readonly OrtValueMetadata[]) {
    values.set(entry.name, {
      name: entry.name,
      type: entry.isTensor ? entry.type : undefined,
      shape: entry.shape ?? [],
    });
  }
  return values;
}

/** The fixed size of `axis` of a declared value, when the graph fixes it. */
export function staticAxis(value: GraphValue, axis: number): number | undefined {
  const dim = value.shape[axis];
  return typeof dim === "number" && dim > 0 ? dim : undefined;
}

/** An open ONNX graph. */
export class GraphSession {
  /** Path of the ONNX file. */
  readonly path: string;
  /** Declared inputs, in graph order. */
  readonly inputs: ReadonlyMap<string, GraphValue>;
  /** Declared outputs, in graph order. */
  readonly outputs: ReadonlyMap<string, GraphValue>;
  readonly #session: ort.InferenceSession;
  #holders = 1;

  private constructor(path: string, session: ort.InferenceSession) {
    this.path = path;
    this.#session = session;
    this.inputs = toGraphValues(session.inputMetadata);
    this.outputs = toGraphValues(session.outputMetadata);
  }

  /**
   * Opens a graph file (external-data files named in it, such as `model.onnx_data`, are read by
   * onnxruntime from beside it).
   *
   * @throws {ModelError} naming the file when it is missing or onnxruntime cannot load it, and
   * for settings it cannot honour (an unavailable execution provider, an unknown optimisation
   * level, a negative thread count).
   */
  static async open(path: string, settings: SessionSettings = {}): Promise<GraphSession> {
    try {
      await Deno.stat(path);
    } catch (error) {
      throw new ModelError(`model file not found: ${path}`, { path, cause: error });
    }
    const options = sessionOptions(path, settings);
    try {
      return new GraphSession(path, await ort.InferenceSession.create(path, options));
    } catch (error) {
      throw new ModelError(`cannot load ONNX graph ${path}: ${(error as Error).message}`, {
        path,
        cause: error,
      });
    }
  }

  /** Names of the declared inputs, comma-separated, for messages. */
  get inputList(): string {
    return [...this.inputs.keys()].join(", ");
  }

  /** Names of the declared outputs, comma-separated, for messages. */
  get outputList(): string {
    return [...this.outputs.keys()].join(", ");
  }

  /** Registers one more holder; the session closes when every holder has released it. */
  retain(): this {
    this.#holders++;
    return this;
  }

  /** Releases one holder's claim; the last release closes the session. */
  async release(): Promise<void> {
    if (this.#holders <= 0) return;
    this.#holders--;
    if (this.#holders === 0) await this.#session.release();
  }

  /** The declared input `name`, or a ModelError listing the inputs the graph has. */
  input(name: string): GraphValue {
    const value = this.inputs.get(name);
    if (!value) {
      throw new ModelError(
        `${this.path} has no '${name}' input; its inputs are: ${this.inputList}`,
        {
          path: this.path,
        },
      );
    }
    return value;
  }

  /**
   * The first of `names` that the graph outputs.
   *
   * @throws {ModelError} listing the names looked for and the outputs the graph has.
   */
  pickOutput(names: readonly string[]): GraphValue {
    for (const name of names) {
      const value = this.outputs.get(name);
      if (value) {
        if (value.type !== "float32" && value.type !== "float16") {
          throw new ModelError(
            `${this.path}: output '${name}' is ${value.type}; only float32 and float16 are supported`,
            { path: this.path },
          );
        }
        return value;
      }
    }
    throw new ModelError(
      `${this.path} has no ${
        names.map((n) => `'${n}'`).join(" or ")
      } output; its outputs are: ${this.outputList}`,
      { path: this.path },
    );
  }

  /**
   * A float tensor for input `name` in the element type the graph declares for it (float32 as is;
   * float16 converted, rounding to nearest even).
   */
  floatTensor(name: string, values: Float32Array, dims: readonly number[]): ort.Tensor {
    const type = this.input(name).type;
    if (type === "float32") return new ort.Tensor("float32", values, dims);
    if (type === "float16") {
      // The runtime's Float16Array rounds to nearest even, as numpy's astype(np.float16) does.
      const bits = new Uint16Array(new Float16Array(values).buffer);
      const tensor = new ort.Tensor("float16", bits, dims);
      // Keep the Uint16Array for the native binding (see the module note).
      Object.defineProperty(tensor, "data", { value: bits });
      return tensor;
    }
    throw new ModelError(
      `${this.path}: input '${name}' is ${type}; only float32 and float16 are supported`,
      { path: this.path },
    );
  }

  /** An integer tensor for input `name` in the type the graph declares (int64 or int32). */
  integerTensor(name: string, values: Int32Array, dims: readonly number[]): ort.Tensor {
    const type = this.input(name).type;
    if (type === "int32") return new ort.Tensor("int32", values, dims);
    if (type === "int64") {
      const wide = new BigInt64Array(values.length);
      for (let i = 0; i < values.length; i++) wide[i] = BigInt(values[i]);
      return new ort.Tensor("int64", wide, dims);
    }
    throw new ModelError(
      `${this.path}: input '${name}' is ${type}, expected int64 or int32`,
      { path: this.path },
    );
  }

  /**
   * Runs the graph and returns output `outputName` as float32 values (float16 converted).
   *
   * @throws {ModelError} when the output is not a float tensor.
   */
  async runFloat(
    feeds: Record<string, ort.Tensor>,
    outputName: string,
  ): Promise<{ data: Float32Array; dims: readonly number[] }> {
    const outputs = await this.#session.run(feeds, [outputName]);
    try {
      const output = outputs[outputName];
      const raw = output.data as ArrayBufferView & { length: number };
      let data: Float32Array;
      if (output.type === "float32") {
        data = new Float32Array(raw as Float32Array);
      } else if (output.type === "float16") {
        data = Float32Array.from(new Float16Array(raw.buffer, raw.byteOffset, raw.length));
      } else {
        throw new ModelError(
          `${this.path}: output '${outputName}' is ${output.type}, expected float32 or float16`,
          { path: this.path },
        );
      }
      return { data, dims: output.dims };
    } finally {
      for (const tensor of Object.values(outputs)) tensor.dispose?.();
    }
  }
}
