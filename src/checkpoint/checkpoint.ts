/**
 * A PyTorch checkpoint as clipbench reads it: named tensors from one or more weight files
 * (`model.safetensors`, `pytorch_model.bin`, their sharded `*.index.json` forms, open_clip's
 * `open_clip_model.safetensors` / `open_clip_pytorch_model.bin` / `.pt` state dicts), read lazily
 * and handed out as float32.
 *
 * @module
 */

import { ModelError } from "../errors.ts";

/** Element types a stored tensor can have (safetensors' spelling). */
export type StoredDtype =
  | "F32"
  | "F16"
  | "BF16"
  | "F64"
  | "I64"
  | "I32"
  | "I16"
  | "I8"
  | "U8"
  | "BOOL";

/** One stored tensor. */
export interface CheckpointTensor {
  /** Its name in the state dict (`module.` prefixes stripped). */
  readonly name: string;
  /** Its stored element type. */
  readonly dtype: StoredDtype;
  /** Its shape (`[]` for a scalar). */
  readonly shape: readonly number[];
  /** The file it is stored in. */
  readonly file: string;
  /**
   * Its values as float32 in row-major order of `shape` (a strided PyTorch view is gathered),
   * converted from float16 / bfloat16 / float64 / integers. May share memory with the file's
   * buffer: do not write to it.
   */
  float32(): Float32Array;
}

/** The tensors of a checkpoint, by name. */
export interface Checkpoint {
  /** The weight files read, in order (several for a sharded checkpoint). */
  readonly files: readonly string[];
  /** Every tensor name, in file order. */
  names(): string[];
  /** The tensor `name`, or `undefined`. */
  get(name: string): CheckpointTensor | undefined;
}

/**
 * A weight file that cannot be read as a checkpoint (truncated, corrupt, a pickle asking for a
 * global outside the tensor-rebuild allowlist), or a tensor missing or mis-shaped for the
 * architecture. The message names the file and, where one is involved, the tensor or the global.
 */
export class CheckpointError extends ModelError {
  /** The tensor involved, where there is one. */
  readonly tensor?: string;

  /**
   * Creates an instance.
   *
   * @param message What is wrong, naming the file and the tensor (or global, or option).
   * @param options `path` (the file), `tensor`, and `cause`.
   */
  constructor(
    message: string,
    options: { path?: string; tensor?: string; cause?: unknown } = {},
  ) {
    super(message, { path: options.path, cause: options.cause });
    this.tensor = options.tensor;
  }
}
