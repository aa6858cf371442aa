/**
 * Writes float32 tensors as a safetensors file: the header (an 8-byte little-endian length, then
 * the JSON naming each tensor's `dtype`, `shape` and `data_offsets`, padded with spaces to a
 * multiple of 8 bytes as the reference writer pads it) is computed from the shapes alone, then
 * each tensor's values are made and written in turn.
 *
 * {@linkcode writeSafetensors} streams to a file with no more than one tensor in memory at a time
 * (a 1.6 GB checkpoint is written with some 65 MB of buffers: the bench's generated checkpoints);
 * {@linkcode safetensorsBytes} returns a small file's bytes (the tests' checkpoints).
 *
 * @module
 */

/** One float32 tensor to write: its name, shape, and a function that fills its values. */
export interface TensorToWrite {
  /** Its name in the file. */
  readonly name: string;
  /** Its shape (`[]` for a scalar). */
  readonly shape: readonly number[];
  /** Fills `out` (row-major, zeroed, `shape`'s element count long) with the values. */
  fill(out: Float32Array): void;
}

/** Elements of a tensor of `shape`. */
export function elementCount(shape: readonly number[]): number {
  return shape.reduce((n, d) => n * d, 1);
}

/**
 * The bytes before the tensor data: the 8-byte header length and the JSON header (tensors in the
 * order given, `__metadata__` first when there is any), padded to a multiple of 8.
 *
 * @throws {RangeError} for a repeated name or a shape that is not a list of integers ≥ 0.
 */
export function safetensorsHeader(
  tensors: readonly TensorToWrite[],
  metadata: Readonly<Record<string, string>> = {},
): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const tensor of tensors) {
    if (tensor.name === "__metadata__" || Object.hasOwn(header, tensor.name)) {
      throw new RangeError(`tensor name ${JSON.stringify(tensor.name)} is repeated or reserved`);
    }
    if (!tensor.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new RangeError(`tensor ${tensor.name}: bad shape [${tensor.shape.join(", ")}]`);
    }
    const bytes = elementCount(tensor.shape) * 4;
    header[tensor.name] = {
      dtype: "F32",
      shape: [...tensor.shape],
      data_offsets: [offset, offset + bytes],
    };
    offset += bytes;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + padded).fill(0x20, 8);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  return out;
}

/** The values of `tensor`, made by its `fill`. */
function valuesOf(tensor: TensorToWrite): Float32Array {
  const values = new Float32Array(elementCount(tensor.shape));
  tensor.fill(values);
  return values;
}

/**
 * The bytes of a safetensors file holding `tensors` (all of them in memory at once: for small
 * files).
 *
 * @throws {RangeError} as {@linkcode safetensorsHeader} does.
 */
export function safetensorsBytes(
  tensors: readonly TensorToWrite[],
  metadata: Readonly<Record<string, string>> = {},
): Uint8Array {
  const header = safetensorsHeader(tensors, metadata);
  const data = tensors.map(valuesOf);
  const out = new Uint8Array(header.length + data.reduce((n, v) => n + v.byteLength, 0));
  out.set(header);
  let at = header.length;
  for (const values of data) {
    out.set(new Uint8Array(values.buffer), at);
    at += values.byteLength;
  }
  return out;
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await file.write(bytes.subarray(written));
}

/**
 * Writes `tensors` to the safetensors file `path` (replacing it), one tensor in memory at a time.
 *
 * @returns The file's size in bytes.
 * @throws {RangeError} as {@linkcode safetensorsHeader} does.
 */
export async function writeSafetensors(
  path: string,
  tensors: readonly TensorToWrite[],
  metadata: Readonly<Record<string, string>> = {},
): Promise<number> {
  const header = safetensorsHeader(tensors, metadata);
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  try {
    await writeAll(file, header);
    let size = header.length;
    for (const tensor of tensors) {
      const values = valuesOf(tensor);
      await writeAll(file, new Uint8Array(values.buffer));
      size += values.byteLength;
    }
    return size;
  } finally {
    file.close();
  }
}
