/**
 * A reader for NumPy's `.npy` format (versions 1.0, 2.0 and 3.0), used for multi-label targets
 * stored in WebDataset `npy` members and for reference tensors in tests.
 *
 * Supported dtypes: booleans, signed and unsigned integers of 1, 2, 4 and 8 bytes, and float16,
 * float32 and float64, in either byte order, C order. Object arrays, structured dtypes and
 * Fortran-ordered arrays are rejected with a `SyntaxError` naming what was found.
 *
 * @module
 */

/** A decoded array: its shape, dtype descriptor and values in C order. */
export interface NpyArray {
  /** The shape; `[]` for a 0-d array. */
  readonly shape: readonly number[];
  /** The NumPy dtype descriptor, e.g. `<f4`. */
  readonly descr: string;
  /**
   * Values in C order. 8-byte integers come as `BigInt64Array`/`BigUint64Array`, float16 is
   * widened to `Float32Array`, booleans are `Uint8Array` of 0/1.
   */
  readonly data:
    | Float32Array
    | Float64Array
    | Int8Array
    | Uint8Array
    | Int16Array
    | Uint16Array
    | Int32Array
    | Uint32Array
    | BigInt64Array
    | BigUint64Array;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/**
 * Parses the bytes of a `.npy` file.
 *
 * @throws {SyntaxError} when the bytes are not a supported `.npy` array.
 */
export function parseNpy(bytes: Uint8Array): NpyArray {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new SyntaxError("not a .npy file (bad magic)");
  }
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLength: number;
  let headerStart: number;
  if (major === 1) {
    headerLength = view.getUint16(8, true);
    headerStart = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw new SyntaxError(".npy header is truncated");
    headerLength = view.getUint32(8, true);
    headerStart = 12;
  } else {
    throw new SyntaxError(`unsupported .npy version ${major}.${bytes[7]}`);
  }
  const dataStart = headerStart + headerLength;
  if (dataStart > bytes.length) throw new SyntaxError(".npy header is truncated");
  const header = new TextDecoder(major === 3 ? "utf-8" : "latin1").decode(
    bytes.subarray(headerStart, dataStart),
  );
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw new SyntaxError(`cannot parse .npy header ${JSON.stringify(header.trim())}`);
  }
  const dtype: string = descr;
  const shape = shapeText.split(",").map((s) => s.trim()).filter((s) => s !== "").map(Number);
  if (shape.some((n) => !Number.isInteger(n) || n < 0)) {
    throw new SyntaxError(`bad .npy shape (${shapeText})`);
  }
  const count = shape.reduce((a, b) => a * b, 1);
  const order = descr[0];
  const kind = descr.slice(1);
  const little = order === "<" || order === "|" || order === "=";
  if (!little && order !== ">") throw new SyntaxError(`unsupported .npy dtype ${descr}`);
  const itemSize = Number(kind.slice(1));
  if (dataStart + count * itemSize > bytes.length) {
    throw new SyntaxError(
      `.npy data is truncated: ${count} × ${itemSize} bytes expected, ${
        bytes.length - dataStart
      } present`,
    );
  }
  // Values are returned in C order; a Fortran-ordered file stores the first axis fastest.
  const source = fortran === "True" ? fortranIndex(shape) : (i: number) => i;
  const at = (i: number) => dataStart + source(i) * itemSize;
  if (fortran === "True" && (kind === "b1" || kind === "u1" || kind === "i1")) {
    const out = kind === "i1" ? new Int8Array(count) : new Uint8Array(count);
    for (let i = 0; i < count; i++) {
      const value = kind === "i1" ? view.getInt8(at(i)) : view.getUint8(at(i));
      out[i] = kind === "b1" ? (value ? 1 : 0) : value;
    }
    return { shape, descr, data: out };
  }
  switch (kind) {
    case "b1":
    case "u1": {
      const out = bytes.slice(dataStart, dataStart + count);
      if (kind === "b1") { for (let i = 0; i < count; i++) out[i] = out[i] ? 1 : 0; }
      return { shape, descr, data: out };
    }
    case "i1":
      return {
        shape,
        descr,
        data: new Int8Array(bytes.slice(dataStart, dataStart + count).buffer),
      };
    case "i2":
      return fill(new Int16Array(count), (i) => view.getInt16(at(i), little));
    case "u2":
      return fill(new Uint16Array(count), (i) => view.getUint16(at(i), little));
    case "i4":
      return fill(new Int32Array(count), (i) => view.getInt32(at(i), little));
    case "u4":
      return fill(new Uint32Array(count), (i) => view.getUint32(at(i), little));
    case "i8":
      return fill(new BigInt64Array(count), (i) => view.getBigInt64(at(i), little));
    case "u8":
      return fill(new BigUint64Array(count), (i) => view.getBigUint64(at(i), little));
    case "f2":
      return fill(new Float32Array(count), (i) => halfToFloat(view.getUint16(at(i), little)));
    case "f4":
      return fill(new Float32Array(count), (i) => view.getFloat32(at(i), little));
    case "f8":
      return fill(new Float64Array(count), (i) => view.getFloat64(at(i), little));
    default:
      throw new SyntaxError(`unsupported .npy dtype ${descr}`);
  }

  function fill<T extends NpyArray["data"]>(
    out: T,
    read: (i: number) => T extends BigInt64Array | BigUint64Array ? bigint : number,
  ): NpyArray {
    const sink = out as unknown as { [i: number]: number | bigint };
    for (let i = 0; i < count; i++) sink[i] = read(i);
    return { shape, descr: dtype, data: out };
  }
}

/** Maps a C-order element index of `shape` to its position in Fortran order. */
function fortranIndex(shape: readonly number[]): (i: number) => number {
  const strides: number[] = [];
  let stride = 1;
  for (const size of shape) {
    strides.push(stride);
    stride *= size;
  }
  return (i: number) => {
    let rest = i;
    let position = 0;
    for (let axis = shape.length - 1; axis >= 0; axis--) {
      position += (rest % shape[axis]) * strides[axis];
      rest = Math.floor(rest / shape[axis]);
    }
    return position;
  };
}

/** Converts an IEEE 754 half-precision bit pattern to a number. */
function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}
