/**
 * Element types of stored tensors: their sizes, and the exact conversion of their little-endian
 * bytes to float32 (float16 and bfloat16 exactly, float64 rounded to nearest, integers by value).
 *
 * @module
 */

import type { StoredDtype } from "./checkpoint.ts";

/** Bytes per element of each stored element type. */
export const ELEMENT_SIZE: Readonly<Record<StoredDtype, number>> = {
  F32: 4,
  F16: 2,
  BF16: 2,
  F64: 8,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

/** Whether `name` is one of the {@linkcode StoredDtype} spellings. */
export function isStoredDtype(name: unknown): name is StoredDtype {
  return typeof name === "string" && Object.hasOwn(ELEMENT_SIZE, name);
}

let halfTable: Float32Array | undefined;

/** The float32 value of every float16 bit pattern (built once, 256 KiB). */
function halfToFloatTable(): Float32Array {
  if (halfTable) return halfTable;
  const bits = new Uint32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = (h & 0x8000) << 16;
    const exponent = (h >> 10) & 0x1f;
    let mantissa = h & 0x3ff;
    if (exponent === 0x1f) {
      // Infinity or NaN (payload kept).
      bits[h] = sign | 0x7f800000 | (mantissa << 13);
    } else if (exponent !== 0) {
      bits[h] = sign | ((exponent + 112) << 23) | (mantissa << 13);
    } else if (mantissa === 0) {
      bits[h] = sign;
    } else {
      // Subnormal float16: normalise into float32's wider exponent range.
      let e = 113;
      while ((mantissa & 0x400) === 0) {
        mantissa <<= 1;
        e--;
      }
      bits[h] = sign | (e << 23) | ((mantissa & 0x3ff) << 13);
    }
  }
  halfTable = new Float32Array(bits.buffer);
  return halfTable;
}

/** `bytes` as a typed array of its own, copied when its offset is not a multiple of `align`. */
function aligned(bytes: Uint8Array, align: number): Uint8Array {
  if (bytes.byteOffset % align === 0) return bytes;
  return bytes.slice();
}

/**
 * Converts `bytes` (little-endian elements of `dtype`, a whole number of them) to float32. For
 * `F32` the result is a view of `bytes` when its offset is 4-byte aligned (shares memory).
 */
export function toFloat32(bytes: Uint8Array, dtype: StoredDtype): Float32Array {
  const size = ELEMENT_SIZE[dtype];
  const count = bytes.byteLength / size;
  switch (dtype) {
    case "F32": {
      const a = aligned(bytes, 4);
      return new Float32Array(a.buffer, a.byteOffset, count);
    }
    case "F16": {
      const a = aligned(bytes, 2);
      const halves = new Uint16Array(a.buffer, a.byteOffset, count);
      const table = halfToFloatTable();
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = table[halves[i]];
      return out;
    }
    case "BF16": {
      const a = aligned(bytes, 2);
      const halves = new Uint16Array(a.buffer, a.byteOffset, count);
      const out = new Uint32Array(count);
      for (let i = 0; i < count; i++) out[i] = halves[i] << 16;
      return new Float32Array(out.buffer);
    }
    case "F64": {
      const a = aligned(bytes, 8);
      return Float32Array.from(new Float64Array(a.buffer, a.byteOffset, count));
    }
    case "I64": {
      const a = aligned(bytes, 8);
      const words = new Int32Array(a.buffer, a.byteOffset, count * 2);
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) {
        out[i] = words[2 * i + 1] * 4294967296 + (words[2 * i] >>> 0);
      }
      return out;
    }
    case "I32": {
      const a = aligned(bytes, 4);
      return Float32Array.from(new Int32Array(a.buffer, a.byteOffset, count));
    }
    case "I16": {
      const a = aligned(bytes, 2);
      return Float32Array.from(new Int16Array(a.buffer, a.byteOffset, count));
    }
    case "I8":
      return Float32Array.from(new Int8Array(bytes.buffer, bytes.byteOffset, count));
    case "U8":
      return Float32Array.from(bytes);
    case "BOOL":
      return Float32Array.from(bytes, (b) => (b === 0 ? 0 : 1));
  }
}
