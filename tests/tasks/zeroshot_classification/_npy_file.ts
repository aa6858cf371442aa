/**
 * Test helper: `.npy` files, as the multi-label targets of a sample's `npy` field.
 *
 * @module
 */

/** A `.npy` file (version 1.0) holding a 1-D or 2-D array. */
export function npyFile(descr: string, shape: number[], values: number[]): Uint8Array {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  header = header.padEnd(Math.ceil((10 + header.length + 1) / 64) * 64 - 10 - 1) + "\n";
  const size = Number(descr.slice(2));
  const data = new Uint8Array(values.length * size);
  const view = new DataView(data.buffer);
  const little = descr[0] !== ">";
  values.forEach((v, i) => {
    const at = i * size;
    switch (descr.slice(1)) {
      case "b1":
      case "u1":
        return view.setUint8(at, v);
      case "i8":
        return view.setBigInt64(at, BigInt(v), little);
      case "f4":
        return view.setFloat32(at, v, little);
      case "f8":
        return view.setFloat64(at, v, little);
      default:
        throw new Error(`test helper: no writer for ${descr}`);
    }
  });
  const out = new Uint8Array(10 + header.length + data.length);
  out.set([
    0x93,
    ...new TextEncoder().encode("NUMPY"),
    1,
    0,
    header.length & 0xff,
    header.length >> 8,
  ]);
  out.set(new TextEncoder().encode(header), 10);
  out.set(data, 10 + header.length);
  return out;
}

/** The target dtypes the multi-label fixtures cycle through. */
export const TARGET_DTYPES = ["<f4", "|b1", "<i8", "|u1", ">f8"];
