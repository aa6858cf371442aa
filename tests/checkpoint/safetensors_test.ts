import assert from "node:assert/strict";
import { CheckpointError } from "../../src/checkpoint/checkpoint.ts";
import { readSafetensors } from "../../src/checkpoint/safetensors.ts";
import { assertSameBits, expectedTensors, scratchFile, VECTORS } from "./_vectors.ts";

/** A safetensors file with `header` (serialised as given) followed by `data`. */
function safetensorsBytes(header: unknown, data: Uint8Array, lengthOverride?: bigint): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, lengthOverride ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

async function rejectsNaming(bytes: Uint8Array, pattern: RegExp, tensor?: string): Promise<void> {
  const path = await scratchFile("model.safetensors", bytes);
  await assert.rejects(readSafetensors(path), (error: unknown) => {
    assert.ok(error instanceof CheckpointError, String(error));
    assert.ok(error.message.startsWith(`${path}: `), error.message);
    assert.match(error.message, pattern);
    assert.equal(error.tensor, tensor);
    return true;
  });
}

Deno.test("every element type converts to torch's float32 values, bit for bit", async () => {
  const file = await readSafetensors(`${VECTORS}dtypes/model.safetensors`);
  const expected = await expectedTensors("dtypes");
  assert.deepEqual(file.metadata, { format: "pt" });
  assert.deepEqual(file.tensors.map((t) => t.name), [
    "f32",
    "f16",
    "bf16",
    "f64",
    "i64",
    "i32",
    "i16",
    "i8",
    "u8",
    "bool",
    "scalar",
    "empty",
  ]);
  for (const tensor of file.tensors) {
    const reference = expected.get(tensor.name)!;
    assert.deepEqual(tensor.shape, reference.shape, tensor.name);
    assert.equal(tensor.file, `${VECTORS}dtypes/model.safetensors`);
    assertSameBits(tensor.float32(), reference.float32(), tensor.name);
  }
  const dtypes = Object.fromEntries(file.tensors.map((t) => [t.name, t.dtype]));
  assert.equal(dtypes.f16, "F16");
  assert.equal(dtypes.bf16, "BF16");
  assert.equal(dtypes.i64, "I64");
});

const F32_PAIR = new Uint8Array(new Float32Array([1.5, -2]).buffer);

Deno.test("a well-formed hand-made header reads; padding spaces are allowed", async () => {
  const header = { a: { dtype: "F32", shape: [2], data_offsets: [0, 8] } };
  const json = JSON.stringify(header) + "    ";
  const bytes = new Uint8Array(8 + json.length + 8);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(json.length), true);
  bytes.set(new TextEncoder().encode(json), 8);
  bytes.set(F32_PAIR, 8 + json.length);
  const file = await readSafetensors(await scratchFile("ok.safetensors", bytes));
  assert.deepEqual([...file.tensors[0].float32()], [1.5, -2]);
  assert.deepEqual(file.metadata, {});
});

Deno.test("a truncated file names the tensor whose bytes are cut", async () => {
  // The last bytes of dtypes/model.safetensors are those of "scalar" (4 bytes; "empty" has none).
  const whole = await Deno.readFile(`${VECTORS}dtypes/model.safetensors`);
  await rejectsNaming(
    whole.subarray(0, whole.length - 2),
    /tensor "scalar": data_offsets \[\d+, \d+\] exceed the \d+ data bytes in the file \(truncated\?\)/,
    "scalar",
  );
});

Deno.test("bad headers: each one clear message naming the file and the tensor", async () => {
  await rejectsNaming(new Uint8Array(5), /too short for a safetensors header/);
  await rejectsNaming(
    safetensorsBytes({}, new Uint8Array(0), 1000n),
    /header length 1000 exceeds the file/,
  );
  await rejectsNaming(
    safetensorsBytes({ a: { dtype: "F32", shape: [2], data_offsets: [0, 8] } }, F32_PAIR)
      .subarray(0, 20),
    /header length \d+ exceeds the file/,
  );
  const notJson = safetensorsBytes({}, new Uint8Array(0));
  notJson[8] = 0x7b;
  notJson[9] = 0x7b;
  await rejectsNaming(notJson, /not valid JSON/);
  await rejectsNaming(safetensorsBytes([1, 2], new Uint8Array(0)), /not a JSON object/);
  await rejectsNaming(
    safetensorsBytes({ a: { dtype: "F32", shape: [2], data_offsets: [0, 16] } }, F32_PAIR),
    /tensor "a": data_offsets \[0, 16\] exceed the 8 data bytes/,
    "a",
  );
  await rejectsNaming(
    safetensorsBytes({
      a: { dtype: "F32", shape: [2], data_offsets: [0, 8] },
      b: { dtype: "F32", shape: [1], data_offsets: [4, 8] },
    }, F32_PAIR),
    /tensor "b": data_offsets \[4, 8\] overlap tensor "a" \[0, 8\]/,
    "b",
  );
  await rejectsNaming(
    safetensorsBytes({ a: { dtype: "F8_E4M3", shape: [8], data_offsets: [0, 8] } }, F32_PAIR),
    /tensor "a": unsupported dtype "F8_E4M3"/,
    "a",
  );
  await rejectsNaming(
    safetensorsBytes({ a: { dtype: "F32", shape: [3], data_offsets: [0, 8] } }, F32_PAIR),
    /tensor "a": shape \[3\] of F32 needs 12 bytes but data_offsets \[0, 8\] hold 8/,
    "a",
  );
  await rejectsNaming(
    safetensorsBytes({ a: { dtype: "F32", shape: [-2], data_offsets: [0, 8] } }, F32_PAIR),
    /tensor "a": shape \[-2\] is not a list of non-negative integers/,
    "a",
  );
  await rejectsNaming(
    safetensorsBytes({ a: { dtype: "F32", shape: [2], data_offsets: [8, 0] } }, F32_PAIR),
    /tensor "a": data_offsets \[8, 0\] are reversed/,
    "a",
  );
  await rejectsNaming(
    safetensorsBytes({ __metadata__: { n: 1 } }, new Uint8Array(0)),
    /__metadata__ "n" is not a string/,
  );
});
