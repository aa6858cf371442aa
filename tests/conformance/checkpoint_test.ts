/**
 * The kit's PyTorch checkpoints (checkpoints/): for every random model, `model.safetensors` and
 * `pytorch_model.bin` (written by transformers from the same weights) give the same names, shapes
 * and float32 values, tensor by tensor; open_clip's `open_clip_pytorch_model.bin` reads with the
 * names open_clip's `CLIP` uses, and holds the trained weights of `tiny-clip-fashion-hf`.
 */
import assert from "node:assert/strict";
import { KIT_DIR, kitTest } from "../_kit.ts";
import { openCheckpoint } from "../../src/checkpoint/open_checkpoint.ts";
import { readSafetensors } from "../../src/checkpoint/safetensors.ts";
import { readTorchFile } from "../../src/checkpoint/torch_bin.ts";
import type { CheckpointTensor } from "../../src/checkpoint/checkpoint.ts";

const CHECKPOINTS = `${KIT_DIR}/checkpoints`;

function assertSameValues(a: CheckpointTensor, b: CheckpointTensor): void {
  assert.deepEqual(a.shape, b.shape, a.name);
  assert.equal(a.dtype, b.dtype, a.name);
  const x = new Uint32Array(a.float32().slice().buffer);
  const y = new Uint32Array(b.float32().slice().buffer);
  assert.equal(x.length, y.length, a.name);
  for (let i = 0; i < x.length; i++) {
    if (x[i] !== y[i]) assert.fail(`${a.name}: element ${i} differs`);
  }
}

for (const folder of ["clip-tiny-random", "chinese-clip-tiny-random", "siglip-tiny-random"]) {
  kitTest(`${folder}: model.safetensors and pytorch_model.bin hold the same tensors`, async () => {
    const safetensors = (await readSafetensors(`${CHECKPOINTS}/${folder}/model.safetensors`))
      .tensors;
    const torch = await readTorchFile(`${CHECKPOINTS}/${folder}/pytorch_model.bin`);
    assert.deepEqual(
      torch.map((t) => t.name).sort(),
      safetensors.map((t) => t.name).sort(),
    );
    const byName = new Map(torch.map((t) => [t.name, t]));
    for (const tensor of safetensors) assertSameValues(tensor, byName.get(tensor.name)!);
    // openCheckpoint prefers model.safetensors.
    const checkpoint = await openCheckpoint(`${CHECKPOINTS}/${folder}`);
    assert.deepEqual(checkpoint.files, [`${CHECKPOINTS}/${folder}/model.safetensors`]);
    assert.equal(checkpoint.names().length, safetensors.length);
  });
}

kitTest("tiny-clip-fashion-openclip: open_clip names, the trained hf weights", async () => {
  const checkpoint = await openCheckpoint(`${CHECKPOINTS}/tiny-clip-fashion-openclip`);
  assert.deepEqual(checkpoint.files, [
    `${CHECKPOINTS}/tiny-clip-fashion-openclip/open_clip_pytorch_model.bin`,
  ]);
  const names = checkpoint.names();
  for (
    const name of [
      "logit_scale",
      "positional_embedding",
      "text_projection",
      "token_embedding.weight",
      "ln_final.weight",
      "visual.class_embedding",
      "visual.positional_embedding",
      "visual.proj",
      "visual.conv1.weight",
      "visual.ln_pre.weight",
      "visual.ln_post.bias",
      "visual.transformer.resblocks.0.attn.in_proj_weight",
      "visual.transformer.resblocks.0.attn.out_proj.bias",
      "visual.transformer.resblocks.0.mlp.c_fc.weight",
      "transformer.resblocks.0.ln_2.weight",
    ]
  ) {
    assert.ok(names.includes(name), `missing ${name}`);
  }
  // open_clip's visual.proj is the transpose of transformers' visual_projection.weight.
  const hf = await openCheckpoint(`${CHECKPOINTS}/tiny-clip-fashion-hf`);
  const proj = checkpoint.get("visual.proj")!;
  const hfProj = hf.get("visual_projection.weight")!;
  assert.deepEqual([...proj.shape].reverse(), [...hfProj.shape]);
  const [inner, outer] = proj.shape;
  const a = proj.float32();
  const b = hfProj.float32();
  for (let i = 0; i < inner; i++) {
    for (let o = 0; o < outer; o++) assert.equal(a[i * outer + o], b[o * inner + i]);
  }
  assertSameValues(checkpoint.get("logit_scale")!, hf.get("logit_scale")!);
  assertSameValues(
    checkpoint.get("token_embedding.weight")!,
    { ...hf.get("text_model.embeddings.token_embedding.weight")!, name: "token_embedding" },
  );
});
