/**
 * PyTorch's zip checkpoint format (`torch.save` since 1.6; `pytorch_model.bin`,
 * `open_clip_pytorch_model.bin`, `.pt` / `.pth` state dicts): `<archive>/data.pkl` unpickled under
 * the allowlist of {@linkcode unpickleTorch}, its storages the stored entries
 * `<archive>/data/<key>`. A top-level dict with a `state_dict` dict gives that dict's tensors.
 * Strided views (transposes, storage offsets) are gathered into row-major order by `float32()`.
 * Legacy (pre-zip) torch files and TorchScript archives are refused by name.
 *
 * @module
 */

import { CheckpointError, type CheckpointTensor } from "./checkpoint.ts";
import { ELEMENT_SIZE, toFloat32 } from "./dtype.ts";
import { FileBytes } from "./file_bytes.ts";
import { describe, type PickleValue, type TensorRef, unpickleTorch } from "./pickle.ts";
import { looksLikeZip, readZipDirectory, type ZipEntry } from "./zip.ts";

/**
 * The tensors of the torch zip checkpoint `path`, names as stored, in pickle order. Reads the
 * directory and the pickle now; each tensor's bytes when its `float32()` is called.
 *
 * @throws CheckpointError naming the file (and tensor or global) when it is not a torch zip
 *   checkpoint, is truncated or corrupt, or its pickle asks for a global outside the allowlist.
 */
export async function readTorchFile(path: string): Promise<readonly CheckpointTensor[]> {
  const file = await FileBytes.open(path);
  const fail = (message: string, tensor?: string): never => {
    throw new CheckpointError(
      `${path}: ${tensor === undefined ? "" : `tensor "${tensor}": `}${message}`,
      { path, tensor },
    );
  };
  const head = file.read(0, Math.min(4, file.size), "the file signature");
  if (!looksLikeZip(head)) {
    if (head[0] === 0x80) {
      fail(
        "a legacy (pre-1.6, non-zip) torch.save file, which is not supported: re-save it with " +
          "torch >= 1.6 or as safetensors",
      );
    }
    fail("not a PyTorch zip checkpoint (no ZIP signature)");
  }
  const entries = readZipDirectory(file);
  const pickles = [...entries.keys()].filter((name) => /^[^/]+\/data\.pkl$/.test(name));
  if (pickles.length !== 1) {
    fail(
      pickles.length === 0
        ? "no <archive>/data.pkl entry: not a torch.save checkpoint"
        : `several data.pkl entries: ${pickles.join(", ")}`,
    );
  }
  const archive = pickles[0].slice(0, -"/data.pkl".length);
  if (entries.has(`${archive}/constants.pkl`)) {
    fail("a TorchScript archive (torch.jit.save), not a state dict: save the state_dict instead");
  }
  const byteorder = entries.get(`${archive}/byteorder`);
  if (byteorder) {
    const order = new TextDecoder().decode(
      file.read(byteorder.offset, byteorder.size, "the byteorder entry"),
    ).trim();
    if (order !== "little") fail(`byte order "${order}" is not supported (only little-endian)`);
  }
  const pickleEntry = entries.get(pickles[0])!;
  const root = unpickleTorch(
    file.read(pickleEntry.offset, pickleEntry.size, "the data.pkl entry"),
    path,
  );
  const stateDict = selectStateDict(root);
  if (!stateDict) fail(`the pickle holds a ${describe(root)}, not a state dict`);
  const tensors: CheckpointTensor[] = [];
  for (const [key, value] of stateDict!) {
    if (typeof key !== "string" || !isTensor(value)) continue;
    const entry = entries.get(`${archive}/data/${value.storage.key}`);
    if (!entry) fail(`its storage ${archive}/data/${value.storage.key} is missing`, key);
    tensors.push(torchTensor(file, key, value, entry!));
  }
  if (tensors.length === 0) fail("the state dict holds no tensors");
  return tensors;
}

function isTensor(value: PickleValue): value is TensorRef {
  return value !== null && typeof value === "object" &&
    (value as { kind?: string }).kind === "tensor";
}

/** The dict of tensors in `root`: `root` itself, or its `state_dict` entry. */
function selectStateDict(root: PickleValue): Map<PickleValue, PickleValue> | undefined {
  if (!(root instanceof Map)) return undefined;
  const nested = root.get("state_dict");
  if (nested instanceof Map) return nested;
  return root;
}

/** A checkpoint tensor reading `ref`'s elements from the storage entry `entry` of `file`. */
/** The most elements one tensor may have (a float32 array's limit; a view can repeat a storage). */
const MAX_TENSOR_ELEMENTS = 2 ** 31 - 1;

function torchTensor(
  file: FileBytes,
  name: string,
  ref: TensorRef,
  entry: ZipEntry,
): CheckpointTensor {
  const { storage, offset, shape, stride } = ref;
  const elementSize = ELEMENT_SIZE[storage.dtype];
  const fail = (message: string): never => {
    throw new CheckpointError(`${file.path}: tensor "${name}": ${message}`, {
      path: file.path,
      tensor: name,
    });
  };
  if (entry.size < storage.numel * elementSize) {
    fail(
      `storage ${entry.name} holds ${entry.size} bytes, less than its ${storage.numel} ` +
        `${storage.dtype} elements`,
    );
  }
  const naturals = (list: readonly number[]) =>
    list.every((n) => Number.isSafeInteger(n) && n >= 0);
  if (
    !naturals(shape) || !naturals(stride) || !naturals([offset]) || shape.length !== stride.length
  ) {
    fail(
      `its view (offset ${offset}, size [${shape.join(", ")}], stride [${stride.join(", ")}]) ` +
        `is not made of non-negative integers, one stride per dimension`,
    );
  }
  const count = shape.reduce((a, b) => a * b, 1);
  if (count > MAX_TENSOR_ELEMENTS) {
    fail(`its ${count} elements exceed the ${MAX_TENSOR_ELEMENTS} a tensor may have`);
  }
  let last = offset;
  for (let d = 0; d < shape.length; d++) last += (shape[d] - 1) * stride[d];
  if (count > 0 && last >= storage.numel) {
    fail(
      `its view (offset ${offset}, size [${shape.join(", ")}], stride [${stride.join(", ")}]) ` +
        `exceeds its storage of ${storage.numel} elements`,
    );
  }
  return {
    name,
    dtype: storage.dtype,
    shape: Object.freeze([...shape]),
    file: file.path,
    float32: () => {
      if (count === 0) return new Float32Array(0);
      const span = last - offset + 1;
      const bytes = file.read(
        entry.offset + offset * elementSize,
        span * elementSize,
        `tensor "${name}"`,
        name,
      );
      const values = toFloat32(bytes, storage.dtype);
      return isRowMajor(shape, stride) ? values : gather(values, shape, stride);
    },
  };
}

/** Whether `stride` is the row-major stride of `shape` (dimensions of size 1 ignored). */
function isRowMajor(shape: readonly number[], stride: readonly number[]): boolean {
  let expected = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] !== 1 && stride[d] !== expected) return false;
    expected *= shape[d];
  }
  return true;
}

/** The elements of the strided view (`shape`, `stride`, offset 0) of `source`, row-major. */
function gather(
  source: Float32Array,
  shape: readonly number[],
  stride: readonly number[],
): Float32Array {
  const rank = shape.length;
  const count = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(count);
  const inner = shape[rank - 1];
  const innerStride = stride[rank - 1];
  const index = new Array<number>(rank).fill(0);
  let base = 0;
  for (let written = 0; written < count; written += inner) {
    for (let i = 0; i < inner; i++) out[written + i] = source[base + i * innerStride];
    // Advance the odometer over the outer dimensions.
    for (let d = rank - 2; d >= 0; d--) {
      index[d]++;
      base += stride[d];
      if (index[d] < shape[d]) break;
      base -= stride[d] * shape[d];
      index[d] = 0;
    }
  }
  return out;
}
