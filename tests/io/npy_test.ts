/**
 * parseNpy: C- and Fortran-ordered arrays (numpy writes a transposed array, such as
 * transformers' `logits_per_image`, in Fortran order) come back in C order.
 */
import assert from "node:assert/strict";
import { parseNpy } from "../../src/io/npy.ts";

/** A version 1.0 `.npy` file with `header` and `data`, padded as numpy pads it. */
function npy(header: string, data: Uint8Array): Uint8Array {
  const unpadded = 10 + header.length + 1;
  const text = header + " ".repeat((64 - (unpadded % 64)) % 64) + "\n";
  const out = new Uint8Array(10 + text.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(out.buffer).setUint16(8, text.length, true);
  out.set(new TextEncoder().encode(text), 10);
  out.set(data, 10 + text.length);
  return out;
}

Deno.test("parseNpy reads a Fortran-ordered 2-D float32 array in C order", () => {
  // [[0, 1, 2], [3, 4, 5]] stored column by column: 0 3 1 4 2 5.
  const stored = new Float32Array([0, 3, 1, 4, 2, 5]);
  const array = parseNpy(
    npy(
      "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }",
      new Uint8Array(stored.buffer),
    ),
  );
  assert.deepEqual(array.shape, [2, 3]);
  assert.deepEqual([...array.data], [0, 1, 2, 3, 4, 5]);
});

Deno.test("parseNpy reads a Fortran-ordered 3-D int8 array in C order", () => {
  // C order value = 100·i + 10·j + k, shape (2, 3, 2); Fortran stores i fastest, then j, then k.
  const shape = [2, 3, 2];
  const stored: number[] = [];
  for (let k = 0; k < 2; k++) {
    for (let j = 0; j < 3; j++) for (let i = 0; i < 2; i++) stored.push(i * 50 + j * 10 + k);
  }
  const array = parseNpy(
    npy(
      "{'descr': '|i1', 'fortran_order': True, 'shape': (2, 3, 2), }",
      new Uint8Array(Int8Array.from(stored).buffer),
    ),
  );
  assert.deepEqual(array.shape, shape);
  const expected: number[] = [];
  for (let i = 0; i < 2; i++) {
    for (let j = 0; j < 3; j++) for (let k = 0; k < 2; k++) expected.push(i * 50 + j * 10 + k);
  }
  assert.deepEqual([...array.data], expected);
});

Deno.test("parseNpy reads C-ordered arrays as stored", () => {
  const stored = new Float64Array([1.5, -2, 3.25, 4]);
  const array = parseNpy(
    npy(
      "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }",
      new Uint8Array(stored.buffer),
    ),
  );
  assert.deepEqual([...array.data], [1.5, -2, 3.25, 4]);
});
