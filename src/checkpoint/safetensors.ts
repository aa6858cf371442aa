/**
 * The safetensors format: an 8-byte little-endian header length, a JSON header naming every
 * tensor's `dtype`, `shape` and `data_offsets` (relative to the byte buffer after the header) plus
 * an optional `__metadata__` string map, then the bytes. Everything in the header is validated
 * before any tensor is handed out (header within the file, offsets in bounds and non-overlapping,
 * dtype known, shape × element size = byte length); tensor bytes are read from disk when
 * `float32()` is called.
 *
 * @module
 */

import { CheckpointError, type CheckpointTensor, type StoredDtype } from "./checkpoint.ts";
import { ELEMENT_SIZE, isStoredDtype, toFloat32 } from "./dtype.ts";
import { FileBytes } from "./file_bytes.ts";

/** Largest header accepted (the reference implementation's limit). */
const MAX_HEADER_BYTES = 100_000_000;

/** A parsed safetensors file. */
export interface SafetensorsFile {
  /** The file's path. */
  readonly path: string;
  /** The header's `__metadata__` (empty when there is none). */
  readonly metadata: Readonly<Record<string, string>>;
  /** Its tensors in the order of their bytes in the file (names as stored). */
  readonly tensors: readonly CheckpointTensor[];
}

/**
 * Reads and validates the header of the safetensors file `path`; tensor values are read when
 * asked for.
 *
 * @throws CheckpointError naming the file (and the tensor) when the header is malformed.
 */
export async function readSafetensors(path: string): Promise<SafetensorsFile> {
  const file = await FileBytes.open(path);
  const fail = (message: string, tensor?: string): never => {
    throw new CheckpointError(
      `${path}: ${tensor === undefined ? "" : `tensor "${tensor}": `}${message}`,
      { path, tensor },
    );
  };
  if (file.size < 8) fail(`truncated: ${file.size} bytes, too short for a safetensors header`);
  file.hold();
  let headerBytes: Uint8Array;
  let headerLength: number;
  try {
    const lengthBytes = file.read(0, 8, "the header length");
    const big = new DataView(lengthBytes.buffer).getBigUint64(0, true);
    if (big > BigInt(file.size - 8)) {
      fail(
        `header length ${big} exceeds the file (${file.size} bytes): truncated or not safetensors`,
      );
    }
    headerLength = Number(big);
    if (headerLength > MAX_HEADER_BYTES) fail(`header length ${headerLength} is implausibly large`);
    headerBytes = file.read(8, headerLength, "the header");
  } finally {
    file.release();
  }
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(headerBytes));
  } catch (cause) {
    throw new CheckpointError(`${path}: the safetensors header is not valid JSON (${cause})`, {
      path,
      cause,
    });
  }
  if (header === null || typeof header !== "object" || Array.isArray(header)) {
    fail("the safetensors header is not a JSON object");
  }
  const dataStart = 8 + headerLength;
  const dataLength = file.size - dataStart;
  const metadata: Record<string, string> = {};
  const entries: {
    name: string;
    dtype: StoredDtype;
    shape: number[];
    begin: number;
    end: number;
  }[] = [];
  for (const [name, value] of Object.entries(header as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (value === null || typeof value !== "object" || Array.isArray(value)) {
        fail("__metadata__ is not an object of strings");
      }
      for (const [key, text] of Object.entries(value as Record<string, unknown>)) {
        if (typeof text !== "string") fail(`__metadata__ "${key}" is not a string`);
        metadata[key] = text as string;
      }
      continue;
    }
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      fail("the header entry is not an object", name);
    }
    const { dtype, shape, data_offsets: offsets } = value as Record<string, unknown>;
    if (!isStoredDtype(dtype)) fail(`unsupported dtype ${JSON.stringify(dtype)}`, name);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      fail(`shape ${JSON.stringify(shape)} is not a list of non-negative integers`, name);
    }
    if (
      !Array.isArray(offsets) || offsets.length !== 2 ||
      !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)
    ) {
      fail(`data_offsets ${JSON.stringify(offsets)} is not a pair of non-negative integers`, name);
    }
    const [begin, end] = offsets as number[];
    if (begin > end) fail(`data_offsets [${begin}, ${end}] are reversed`, name);
    if (end > dataLength) {
      fail(
        `data_offsets [${begin}, ${end}] exceed the ${dataLength} data bytes in the file ` +
          `(truncated?)`,
        name,
      );
    }
    const elements = (shape as number[]).reduce((a, b) => a * b, 1);
    const expected = elements * ELEMENT_SIZE[dtype as StoredDtype];
    if (expected !== end - begin) {
      fail(
        `shape [${(shape as number[]).join(", ")}] of ${dtype} needs ${expected} bytes ` +
          `but data_offsets [${begin}, ${end}] hold ${end - begin}`,
        name,
      );
    }
    entries.push({ name, dtype: dtype as StoredDtype, shape: shape as number[], begin, end });
  }
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  for (let i = 1; i < entries.length; i++) {
    const previous = entries[i - 1];
    const current = entries[i];
    if (current.begin < previous.end) {
      fail(
        `data_offsets [${current.begin}, ${current.end}] overlap tensor "${previous.name}" ` +
          `[${previous.begin}, ${previous.end}]`,
        current.name,
      );
    }
  }
  const tensors = entries.map((entry): CheckpointTensor => ({
    name: entry.name,
    dtype: entry.dtype,
    shape: Object.freeze([...entry.shape]),
    file: path,
    float32: () =>
      toFloat32(
        file.read(
          dataStart + entry.begin,
          entry.end - entry.begin,
          `tensor "${entry.name}"`,
          entry.name,
        ),
        entry.dtype,
      ),
  }));
  return { path, metadata, tensors };
}
