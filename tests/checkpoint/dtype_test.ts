import assert from "node:assert/strict";
import { ELEMENT_SIZE, isStoredDtype, toFloat32 } from "../../src/checkpoint/dtype.ts";

/** The value of a float16 bit pattern, computed from its fields (independently of the table). */
function halfValue(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0x1f) return mantissa === 0 ? sign * Infinity : NaN;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

Deno.test("every float16 bit pattern converts to its exact value", () => {
  const halves = new Uint16Array(65536);
  for (let i = 0; i < 65536; i++) halves[i] = i;
  const floats = toFloat32(new Uint8Array(halves.buffer), "F16");
  assert.equal(floats.length, 65536);
  for (let i = 0; i < 65536; i++) {
    const expected = halfValue(i);
    if (Number.isNaN(expected)) assert.ok(Number.isNaN(floats[i]), `0x${i.toString(16)}`);
    else assert.ok(Object.is(floats[i], expected), `0x${i.toString(16)}: ${floats[i]}`);
  }
});

Deno.test("bfloat16 is the upper half of a float32", () => {
  const values = new Float32Array([1, -3.75, 0, -0, Infinity, 1.5e-39, 3.0e38]);
  const words = new Uint32Array(values.buffer);
  const halves = Uint16Array.from(words, (w) => w >>> 16);
  const out = toFloat32(new Uint8Array(halves.buffer), "BF16");
  assert.deepEqual([...new Uint32Array(out.buffer)], [...words].map((w) => (w & 0xffff0000) >>> 0));
});

Deno.test("float32 at an aligned offset is a view, unaligned is copied", () => {
  const buffer = new Uint8Array(12);
  new Float32Array(buffer.buffer).set([1, 2, 3]);
  const view = toFloat32(buffer.subarray(4), "F32");
  assert.equal(view.buffer, buffer.buffer);
  assert.deepEqual([...view], [2, 3]);
  const unaligned = new Uint8Array(13);
  unaligned.set(buffer, 1);
  const copy = toFloat32(unaligned.subarray(1), "F32");
  assert.notEqual(copy.buffer, unaligned.buffer);
  assert.deepEqual([...copy], [1, 2, 3]);
});

Deno.test("float64 is rounded to nearest float32, integers keep their values", () => {
  const f64 = new Float64Array([1 / 3, 1e300, -1e-300]);
  assert.deepEqual([...toFloat32(new Uint8Array(f64.buffer), "F64")], [
    Math.fround(1 / 3),
    Infinity,
    -0,
  ]);
  const i64 = new BigInt64Array([0n, -1n, 2n ** 40n + 3n, -(2n ** 53n)]);
  assert.deepEqual([...toFloat32(new Uint8Array(i64.buffer), "I64")], [
    0,
    -1,
    Math.fround(2 ** 40 + 3),
    -(2 ** 53),
  ]);
  const i16 = new Int16Array([-32768, 7]);
  assert.deepEqual([...toFloat32(new Uint8Array(i16.buffer), "I16")], [-32768, 7]);
  assert.deepEqual([...toFloat32(new Uint8Array([255, 1]), "I8")], [-1, 1]);
  assert.deepEqual([...toFloat32(new Uint8Array([255, 1]), "U8")], [255, 1]);
  assert.deepEqual([...toFloat32(new Uint8Array([0, 1, 2]), "BOOL")], [0, 1, 1]);
});

Deno.test("element sizes and dtype names", () => {
  assert.equal(ELEMENT_SIZE.BF16, 2);
  assert.equal(ELEMENT_SIZE.I64, 8);
  assert.ok(isStoredDtype("F16"));
  assert.ok(!isStoredDtype("F8_E4M3"));
  assert.ok(!isStoredDtype("toString"));
});
