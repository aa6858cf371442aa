import assert from "node:assert/strict";
import { CheckpointError } from "../../src/checkpoint/checkpoint.ts";
import { readTorchFile } from "../../src/checkpoint/torch_bin.ts";
import { assertSameBits, expectedTensors, scratchFile, VECTORS } from "./_vectors.ts";

async function rejectsNaming(path: string, pattern: RegExp, tensor?: string): Promise<void> {
  await assert.rejects(readTorchFile(path), (error: unknown) => {
    assert.ok(error instanceof CheckpointError, String(error));
    assert.ok(error.message.startsWith(`${path}: `), error.message);
    assert.match(error.message, pattern);
    assert.equal(error.tensor, tensor);
    return true;
  });
}

for (const folder of ["dtypes", "zip64"]) {
  Deno.test(`${folder}/pytorch_model.bin: every dtype and strided view equals torch's float()`, async () => {
    const tensors = await readTorchFile(`${VECTORS}${folder}/pytorch_model.bin`);
    const expected = await expectedTensors("dtypes");
    assert.deepEqual(tensors.map((t) => t.name), [...expected.keys()]);
    for (const tensor of tensors) {
      const reference = expected.get(tensor.name)!;
      assert.deepEqual(tensor.shape, reference.shape, tensor.name);
      assertSameBits(tensor.float32(), reference.float32(), tensor.name);
    }
    const byName = new Map(tensors.map((t) => [t.name, t]));
    assert.equal(byName.get("f16")!.dtype, "F16");
    assert.equal(byName.get("bf16")!.dtype, "BF16");
    assert.equal(byName.get("view.half_transposed")!.dtype, "F16");
    assert.deepEqual(byName.get("view.transposed")!.shape, [6, 5]);
    assert.deepEqual(byName.get("view.sliced")!.shape, [3, 3]);
    assert.deepEqual(byName.get("scalar")!.shape, []);
  });
}

Deno.test("an open_clip training checkpoint gives its state_dict's tensors", async () => {
  const tensors = await readTorchFile(`${VECTORS}state_dict_pt/epoch_2.pt`);
  assert.deepEqual(tensors.map((t) => t.name), [
    "module.logit_scale",
    "module.visual.proj",
    "module.text_projection",
  ]);
  const expected = await expectedTensors("state_dict_pt");
  for (const tensor of tensors) {
    assertSameBits(tensor.float32(), expected.get(tensor.name.slice(7))!.float32(), tensor.name);
  }
});

Deno.test("malicious pickles are refused naming the global and the file", async () => {
  await rejectsNaming(
    `${VECTORS}bad/malicious_posix_system.bin`,
    /refused global "posix\.system"/,
  );
  await rejectsNaming(
    `${VECTORS}bad/malicious_builtins_eval.bin`,
    /refused global "builtins\.eval"/,
  );
});

Deno.test("legacy, compressed, truncated and incomplete torch files: one clear message", async () => {
  await rejectsNaming(`${VECTORS}bad/legacy.bin`, /legacy \(pre-1\.6, non-zip\) torch\.save file/);
  await rejectsNaming(`${VECTORS}bad/deflated.bin`, /compressed \(method 8\)/);
  // 65536 × 65536 elements of one stored zero: refused before anything is allocated.
  await rejectsNaming(
    `${VECTORS}bad/huge_view.bin`,
    /tensor "w": its 4294967296 elements exceed the 2147483647 a tensor may have/,
    "w",
  );
  await rejectsNaming(
    `${VECTORS}bad/missing_storage.bin`,
    /tensor "w": its storage _good\/data\/0 is missing/,
    "w",
  );
  const whole = await Deno.readFile(`${VECTORS}dtypes/pytorch_model.bin`);
  await rejectsNaming(
    await scratchFile("pytorch_model.bin", whole.subarray(0, whole.length - 100)),
    /truncated or not a ZIP archive/,
  );
  await rejectsNaming(
    await scratchFile("notes.bin", new TextEncoder().encode("hello, not weights")),
    /not a PyTorch zip checkpoint/,
  );
});

Deno.test("a storage cut short after opening is an error naming the tensor", async () => {
  const whole = await Deno.readFile(`${VECTORS}dtypes/pytorch_model.bin`);
  const path = await scratchFile("pytorch_model.bin", whole);
  const tensors = await readTorchFile(path);
  await Deno.truncate(path, 100);
  assert.throws(() => tensors[0].float32(), (error: unknown) => {
    assert.ok(error instanceof CheckpointError);
    assert.match(error.message, /truncated: tensor "f32" needs bytes/);
    assert.equal(error.tensor, "f32");
    return true;
  });
});
