/**
 * Tests of src/model/onnx_float16.ts against the runtime's own `Float16Array` (IEEE binary16, round to
 * nearest even), which Deno provides.
 */
import assert from "node:assert/strict";
import {
  float16BitsToNumber,
  float32ToFloat16Bits,
  fromFloat16Bits,
  toFloat16Bits,
} from "../../src/model/onnx_float16.ts";

// deno-lint-ignore no-explicit-any
const NativeFloat16Array = (globalThis as any).Float16Array as
  | (new (values: ArrayLike<number> | ArrayBuffer) => ArrayLike<number> & { buffer: ArrayBuffer })
  | undefined;

Deno.test("every binary16 pattern decodes to the value Float16Array gives", () => {
  assert.ok(NativeFloat16Array, "this runtime has Float16Array");
  const bits = new Uint16Array(65536).map((_, i) => i);
  const native = new NativeFloat16Array(bits.buffer);
  const ours = fromFloat16Bits(bits);
  for (let i = 0; i < 65536; i++) {
    assert.ok(
      Object.is(ours[i], native[i]) || (Number.isNaN(ours[i]) && Number.isNaN(native[i])),
      `bits ${i.toString(16)}: ${ours[i]} vs ${native[i]}`,
    );
  }
});

Deno.test("float32 → binary16 rounds to nearest even, as Float16Array does", () => {
  assert.ok(NativeFloat16Array, "this runtime has Float16Array");
  const special = [
    0,
    -0,
    1,
    -1,
    65504,
    65519.99,
    65520,
    1e6,
    -1e6,
    Infinity,
    -Infinity,
    2 ** -24,
    2 ** -25,
    3 * 2 ** -26,
    2 ** -14,
    2 ** -14 - 2 ** -25,
    1 + 2 ** -11,
    1 + 3 * 2 ** -11,
    0.1,
    1 / 3,
  ];
  // Every float32 around the rounding boundaries, plus pseudo-random bit patterns.
  const values = new Float32Array(special.length + 200000);
  values.set(special);
  const randomBits = new Uint32Array(values.buffer, special.length * 4);
  let state = 12345;
  for (let i = 0; i < randomBits.length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    randomBits[i] = state;
  }
  const native = new Uint16Array(new NativeFloat16Array(values).buffer);
  const ours = toFloat16Bits(values);
  for (let i = 0; i < values.length; i++) {
    if (Number.isNaN(values[i])) {
      assert.ok(Number.isNaN(float16BitsToNumber(ours[i])));
      continue;
    }
    assert.equal(
      ours[i],
      native[i],
      `${values[i]}: ${ours[i].toString(16)} vs ${native[i].toString(16)}`,
    );
  }
  assert.equal(float32ToFloat16Bits(65520), 0x7c00); // rounds up to infinity
  assert.equal(float32ToFloat16Bits(2 ** -25), 0); // a tie, to even: zero
  assert.equal(float32ToFloat16Bits(3 * 2 ** -26), 1);
});
