import assert from "node:assert/strict";
import { CheckpointError } from "../../src/checkpoint/checkpoint.ts";
import {
  findWeightFiles,
  hasCheckpointWeights,
  openCheckpoint,
} from "../../src/checkpoint/open_checkpoint.ts";
import { assertSameBits, expectedTensors, scratchDir, VECTORS } from "./_vectors.ts";

/** A scratch folder holding copies of vector files under the given names. */
async function folderWith(files: Record<string, string>): Promise<string> {
  const dir = await scratchDir();
  for (const [name, source] of Object.entries(files)) {
    await Deno.copyFile(`${VECTORS}${source}`, `${dir}/${name}`);
  }
  return dir;
}

async function rejectsNaming(
  promise: Promise<unknown>,
  pattern: RegExp,
  tensor?: string,
): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof CheckpointError, String(error));
    assert.match(error.message, pattern);
    assert.equal(error.tensor, tensor);
    return true;
  });
}

for (
  const [folder, index, shards] of [
    ["sharded_safetensors", "model.safetensors.index.json", "model-0000"],
    ["sharded_bin", "pytorch_model.bin.index.json", "pytorch_model-0000"],
  ] as const
) {
  Deno.test(`a sharded checkpoint (${index}) reads every shard`, async () => {
    const dir = `${VECTORS}${folder}`;
    const found = await findWeightFiles(dir);
    assert.equal(found.index, `${dir}/${index}`);
    assert.deepEqual(
      found.files,
      [1, 2].map((n) =>
        `${dir}/${shards}${n}-of-00002.${folder === "sharded_bin" ? "bin" : "safetensors"}`
      ),
    );
    const checkpoint = await openCheckpoint(dir);
    assert.deepEqual(checkpoint.files, found.files);
    const expected = await expectedTensors(folder);
    const weightMap = JSON.parse(await Deno.readTextFile(`${dir}/${index}`)).weight_map;
    assert.deepEqual(checkpoint.names(), [...expected.keys()]);
    for (const [name, reference] of expected) {
      const tensor = checkpoint.get(name)!;
      assert.equal(tensor.file, `${dir}/${weightMap[name]}`, name);
      assertSameBits(tensor.float32(), reference.float32(), name);
    }
    assert.equal(checkpoint.get("layers.9.weight"), undefined);
  });
}

Deno.test("an index naming a tensor its shard lacks is an error naming both", async () => {
  const dir = await folderWith({
    "model-00001-of-00002.safetensors": "sharded_safetensors/model-00001-of-00002.safetensors",
    "model-00002-of-00002.safetensors": "sharded_safetensors/model-00002-of-00002.safetensors",
  });
  const index = JSON.parse(
    await Deno.readTextFile(`${VECTORS}sharded_safetensors/model.safetensors.index.json`),
  );
  index.weight_map["layers.7.weight"] = "model-00002-of-00002.safetensors";
  await Deno.writeTextFile(`${dir}/model.safetensors.index.json`, JSON.stringify(index));
  await rejectsNaming(
    openCheckpoint(dir),
    /model-00002-of-00002\.safetensors: tensor "layers\.7\.weight" listed in model\.safetensors\.index\.json is missing/,
    "layers.7.weight",
  );
  // A tensor stored in both shards.
  await Deno.copyFile(
    `${dir}/model-00001-of-00002.safetensors`,
    `${dir}/model-00002-of-00002.safetensors`,
  );
  delete index.weight_map["layers.7.weight"];
  await Deno.writeTextFile(`${dir}/model.safetensors.index.json`, JSON.stringify(index));
  await rejectsNaming(
    openCheckpoint(dir),
    /tensor "layers\.0\.weight" is also here, but/,
    "layers.0.weight",
  );
  await Deno.writeTextFile(`${dir}/model.safetensors.index.json`, "{}");
  await rejectsNaming(
    openCheckpoint(dir),
    /model\.safetensors\.index\.json: no "weight_map" object/,
  );
});

Deno.test("module. prefixes are stripped; a {state_dict} .pt is found as the one loose file", async () => {
  const dir = await folderWith({ "epoch_2.pt": "state_dict_pt/epoch_2.pt" });
  assert.deepEqual((await findWeightFiles(dir)).files, [`${dir}/epoch_2.pt`]);
  const checkpoint = await openCheckpoint(dir);
  assert.deepEqual(checkpoint.names(), ["logit_scale", "visual.proj", "text_projection"]);
  const expected = await expectedTensors("state_dict_pt");
  for (const name of checkpoint.names()) {
    assertSameBits(checkpoint.get(name)!.float32(), expected.get(name)!.float32(), name);
  }
  assert.equal(checkpoint.get("text_projection")!.dtype, "F16");
  const safetensors = await openCheckpoint(`${VECTORS}module_safetensors`);
  assert.deepEqual(safetensors.names(), ["logit_scale", "visual.proj", "text_projection"]);
  assert.equal(safetensors.files[0], `${VECTORS}module_safetensors/open_clip_model.safetensors`);
});

Deno.test("the known names win, in priority order", async () => {
  const dir = await folderWith({
    "open_clip_pytorch_model.bin": "dtypes/pytorch_model.bin",
    "open_clip_model.safetensors": "dtypes/model.safetensors",
    "pytorch_model.bin": "dtypes/pytorch_model.bin",
    "model.safetensors": "dtypes/model.safetensors",
    "epoch_2.pt": "state_dict_pt/epoch_2.pt",
    "training_args.bin": "bad/legacy.bin",
  });
  const order = [
    "model.safetensors",
    "pytorch_model.bin",
    "open_clip_model.safetensors",
    "open_clip_pytorch_model.bin",
  ];
  for (const name of order) {
    assert.deepEqual((await findWeightFiles(dir)).files, [`${dir}/${name}`]);
    await Deno.remove(`${dir}/${name}`);
  }
  // Left: epoch_2.pt and training_args.bin, which is never taken as weights.
  assert.deepEqual((await findWeightFiles(dir)).files, [`${dir}/epoch_2.pt`]);
  assert.equal((await findWeightFiles(dir)).format, "torch");
});

Deno.test("several loose candidates, or none, are errors listing what was seen", async () => {
  const dir = await folderWith({
    "a.pt": "state_dict_pt/epoch_2.pt",
    "b.pth": "state_dict_pt/epoch_2.pt",
  });
  await rejectsNaming(
    findWeightFiles(dir),
    /several weight files and none of the known names: a\.pt, b\.pth/,
  );
  // There are weights; which to read is for openCheckpoint to say.
  assert.equal(await hasCheckpointWeights(dir), true);
  await rejectsNaming(openCheckpoint(dir), /several weight files/);
  const empty = await scratchDir();
  await rejectsNaming(openCheckpoint(empty), /no PyTorch weights \(looked for model\.safetensors/);
  assert.equal(await hasCheckpointWeights(empty), false);
  assert.equal(await hasCheckpointWeights(`${VECTORS}dtypes`), true);
  assert.equal(await hasCheckpointWeights(`${empty}/nonexistent`), false);
  const brokenIndex = await scratchDir();
  await Deno.writeTextFile(`${brokenIndex}/pytorch_model.bin.index.json`, "[");
  assert.equal(await hasCheckpointWeights(brokenIndex), true);
  await rejectsNaming(
    openCheckpoint(brokenIndex),
    /pytorch_model\.bin\.index\.json: not a readable JSON index/,
  );
});

Deno.test("a module.-prefixed name colliding with a plain one is an error", async () => {
  const dir = await scratchDir();
  const header = JSON.stringify({
    "w": { dtype: "F32", shape: [1], data_offsets: [0, 4] },
    "module.w": { dtype: "F32", shape: [1], data_offsets: [4, 8] },
  });
  const bytes = new Uint8Array(8 + header.length + 8);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(header.length), true);
  bytes.set(new TextEncoder().encode(header), 8);
  await Deno.writeFile(`${dir}/model.safetensors`, bytes);
  await rejectsNaming(openCheckpoint(dir), /tensor "w" is stored twice/, "w");
});

Deno.test("an aborted signal stops opening", async () => {
  const controller = new AbortController();
  controller.abort(new Error("stop"));
  await assert.rejects(
    openCheckpoint(`${VECTORS}sharded_bin`, { signal: controller.signal }),
    /stop/,
  );
});
