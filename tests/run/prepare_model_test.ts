/**
 * From a plan's model to what `ClipModel.load` reads: an ONNX folder passes through; a checkpoint
 * folder is converted into `<cacheDir>/converted/<key>` once and reused; `--no-convert` and a
 * `--dtype` other than fp32 refuse a checkpoint; a checkpoint without a tokenizer needs
 * `--tokenizer`, except an open_clip one, which gets OpenAI CLIP's from the (fake) Hugging Face
 * hub, through `HF_ENDPOINT` or the plan's endpoint when the plan's hub is Hugging Face.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { conversionKey } from "../../src/convert/conversion_cache.ts";
import { CONVERSION_RECORD } from "../../src/convert/convert.ts";
import { ModelError } from "../../src/errors.ts";
import { DEFAULT_OPEN_CLIP_TOKENIZER } from "../../src/hub/resolve_tokenizer.ts";
import { ClipModel } from "../../src/model/model.ts";
import { completePlan, type EvalPlan } from "../../src/run/config.ts";
import { prepareModel } from "../../src/run/prepare_model.ts";
import { safetensorsBytes } from "../../tools/checkpoint/safetensors_writer.ts";
import { type TensorShapes, tensorsOf } from "../convert/_convert_fixture.ts";
import { entries, inTempDir, tinyCheckpoint } from "../convert/_generated_checkpoint.ts";
import { type FakeHub, startFakeHub } from "../_fake_hub.ts";

const DEMO = new URL("../../examples/demo/tiny-clip-demo", import.meta.url).pathname;
const TOKENIZER_FILES = ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"];
const TEXTS = ["a photo of a sneaker", "a photo of a bag"];

/** A plan evaluating `model` with the conversion cache in `cacheDir`. */
function planFor(model: string, cacheDir: string, settings: Partial<EvalPlan> = {}): EvalPlan {
  return completePlan({ models: [{ id: model }], datasets: ["unused"], cacheDir, ...settings });
}

/** The text embeddings of `texts` by the model in `dir` (with `tokenizerDir`'s tokenizer). */
async function textEmbeddings(dir: string, tokenizerDir?: string): Promise<Float32Array> {
  const model = await ClipModel.load(dir, { tokenizerDir });
  try {
    return (await model.encodeTexts(TEXTS)).embeddings;
  } finally {
    await model.release();
  }
}

/** A tinyCheckpoint without any tokenizer file. */
async function checkpointWithoutTokenizer(folder: string, seed = 0): Promise<string> {
  await tinyCheckpoint(folder, seed);
  for (const file of TOKENIZER_FILES) await Deno.remove(join(folder, file));
  return folder;
}

/** `error` is a ModelError whose message includes every fragment. */
function modelErrorWith(...fragments: string[]) {
  return (error: unknown) => {
    assert.ok(error instanceof ModelError, String(error));
    for (const fragment of fragments) assert.ok(error.message.includes(fragment), error.message);
    return true;
  };
}

Deno.test("prepareModel: an ONNX model folder passes through, nothing is converted", async () => {
  await inTempDir(async (cache) => {
    assert.deepEqual(await prepareModel(planFor(DEMO, cache), { id: DEMO }), { dir: DEMO });
    assert.deepEqual(await entries(cache), []);
  });
});

Deno.test("prepareModel: a checkpoint is converted into <cacheDir>/converted/<key>, then reused", async () => {
  await inTempDir(async (work) => {
    const checkpoint = await tinyCheckpoint(join(work, "ckpt"));
    const cache = join(work, "cache");
    const lines: string[] = [];
    const plan = planFor(checkpoint, cache);
    const first = await prepareModel(plan, { id: checkpoint }, { log: (l) => lines.push(l) });
    assert.deepEqual(first, {
      dir: join(cache, "converted", await conversionKey(checkpoint, cache)),
    });
    assert.ok(
      lines.some((line) => line.startsWith(`converting ${checkpoint} (clip:`)),
      lines.join("\n"),
    );
    const record = JSON.parse(await Deno.readTextFile(join(first.dir, CONVERSION_RECORD)));
    assert.equal(record.tokenizer, "tokenizer.json");
    assert.deepEqual(await entries(join(first.dir, "onnx")), [
      "text_model.onnx",
      "vision_model.onnx",
    ]);

    lines.length = 0;
    const second = await prepareModel(plan, { id: checkpoint }, { log: (l) => lines.push(l) });
    assert.deepEqual(second, first);
    assert.deepEqual(lines, []);
    assert.deepEqual(await entries(join(cache, "converted")), [first.dir.split("/").pop()]);
  });
});

Deno.test("prepareModel: --no-convert and a quantised --dtype refuse a checkpoint by name", async () => {
  await inTempDir(async (work) => {
    const checkpoint = await tinyCheckpoint(join(work, "ckpt"));
    const cache = join(work, "cache");
    await assert.rejects(
      prepareModel(planFor(checkpoint, cache, { noConvert: true }), { id: checkpoint }),
      modelErrorWith(checkpoint, "holds PyTorch weights and no ONNX graphs", "--no-convert"),
    );
    await assert.rejects(
      prepareModel(planFor(checkpoint, cache, { dtype: "q8" }), { id: checkpoint }),
      modelErrorWith(checkpoint, "is a PyTorch checkpoint", "--dtype q8"),
    );
    // Neither converted anything.
    assert.equal(await Deno.stat(cache).then(() => true, () => false), false);
  });
});

Deno.test("prepareModel: a CLIP checkpoint without a tokenizer needs --tokenizer, then uses it", async () => {
  await inTempDir(async (work) => {
    const checkpoint = await checkpointWithoutTokenizer(join(work, "bare"));
    const cache = join(work, "cache");
    await assert.rejects(
      prepareModel(planFor(checkpoint, cache), { id: checkpoint }),
      modelErrorWith(`${checkpoint} has no tokenizer files`, "pass --tokenizer"),
    );
    const prepared = await prepareModel(
      planFor(checkpoint, cache, { tokenizer: DEMO }),
      { id: checkpoint },
    );
    assert.equal(prepared.tokenizerDir, DEMO);
    assert.ok(prepared.dir.startsWith(join(cache, "converted")));
    // The same weights with the tokenizer in the checkpoint give the same embeddings.
    const whole = await tinyCheckpoint(join(work, "whole"));
    const reference = await prepareModel(planFor(whole, cache), { id: whole });
    assert.equal(reference.tokenizerDir, undefined);
    assert.deepEqual(
      await textEmbeddings(prepared.dir, prepared.tokenizerDir),
      await textEmbeddings(reference.dir),
    );
  });
});

/** A tiny open_clip `CLIP` state dict, as open_clip names it (vocabulary and context of CLIP's). */
function openClipShapes(): TensorShapes {
  const block = (prefix: string): TensorShapes => ({
    [`${prefix}ln_1.weight`]: [8],
    [`${prefix}ln_1.bias`]: [8],
    [`${prefix}attn.in_proj_weight`]: [24, 8],
    [`${prefix}attn.in_proj_bias`]: [24],
    [`${prefix}attn.out_proj.weight`]: [8, 8],
    [`${prefix}attn.out_proj.bias`]: [8],
    [`${prefix}ln_2.weight`]: [8],
    [`${prefix}ln_2.bias`]: [8],
    [`${prefix}mlp.c_fc.weight`]: [16, 8],
    [`${prefix}mlp.c_fc.bias`]: [16],
    [`${prefix}mlp.c_proj.weight`]: [8, 16],
    [`${prefix}mlp.c_proj.bias`]: [8],
  });
  return {
    "visual.conv1.weight": [8, 3, 4, 4],
    "visual.class_embedding": [8],
    "visual.positional_embedding": [5, 8],
    "visual.ln_pre.weight": [8],
    "visual.ln_pre.bias": [8],
    ...block("visual.transformer.resblocks.0."),
    "visual.ln_post.weight": [8],
    "visual.ln_post.bias": [8],
    "visual.proj": [8, 8],
    "token_embedding.weight": [1024, 8],
    "positional_embedding": [77, 8],
    ...block("transformer.resblocks.0."),
    "ln_final.weight": [8],
    "ln_final.bias": [8],
    "text_projection": [8, 8],
    "logit_scale": [],
  };
}

/** Writes a tiny open_clip checkpoint (no tokenizer files) into `folder`. */
async function tinyOpenClipCheckpoint(folder: string): Promise<string> {
  await Deno.mkdir(folder, { recursive: true });
  const tensors = tensorsOf(
    openClipShapes(),
    (_, count, index) => Float32Array.from({ length: count }, (_, i) => Math.sin(i + index) * 0.2),
  );
  await Deno.writeFile(join(folder, "open_clip_model.safetensors"), safetensorsBytes(tensors));
  const config = {
    model_cfg: {
      embed_dim: 8,
      vision_cfg: {
        image_size: 8,
        patch_size: 4,
        width: 8,
        head_width: 4,
        layers: 1,
        mlp_ratio: 2,
      },
      text_cfg: {
        context_length: 77,
        vocab_size: 1024,
        width: 8,
        heads: 2,
        layers: 1,
        mlp_ratio: 2,
      },
    },
    preprocess_cfg: { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] },
  };
  await Deno.writeTextFile(join(folder, "open_clip_config.json"), JSON.stringify(config));
  return folder;
}

/** Runs `body` with HF_* variables pointing at a fake Hugging Face hub serving OpenAI CLIP's tokenizer. */
async function withTokenizerHub(
  work: string,
  body: (hub: FakeHub, hfCache: string) => Promise<void>,
): Promise<void> {
  const files: Record<string, Uint8Array> = {
    "config.json": new TextEncoder().encode("{}"),
    "pytorch_model.bin": new Uint8Array(64),
  };
  for (const file of TOKENIZER_FILES) files[file] = await Deno.readFile(join(DEMO, file));
  const hub = startFakeHub({
    repos: [{ hub: "huggingface", kind: "model", id: DEFAULT_OPEN_CLIP_TOKENIZER, files }],
  });
  const hfCache = join(work, "hf");
  const names = ["HF_ENDPOINT", "HF_HUB_CACHE", "CLIPBENCH_HUB_ENDPOINT", "HF_HUB_OFFLINE"];
  const saved = names.map((name) => Deno.env.get(name));
  try {
    for (const name of names) Deno.env.delete(name);
    Deno.env.set("HF_HUB_CACHE", hfCache);
    await body(hub, hfCache);
    assert.equal(hub.overLimit, false);
  } finally {
    names.forEach((name, i) =>
      saved[i] === undefined ? Deno.env.delete(name) : Deno.env.set(name, saved[i]!)
    );
    await hub.close();
  }
}

Deno.test("prepareModel: an open_clip checkpoint without a tokenizer gets OpenAI CLIP's from Hugging Face", async () => {
  await inTempDir(async (work) => {
    const checkpoint = await tinyOpenClipCheckpoint(join(work, "open_clip"));
    const cache = join(work, "cache");
    await withTokenizerHub(work, async (hub, hfCache) => {
      Deno.env.set("HF_ENDPOINT", hub.origin);
      const prepared = await prepareModel(planFor(checkpoint, cache), { id: checkpoint });
      assert.ok(prepared.tokenizerDir !== undefined);
      assert.ok(prepared.tokenizerDir.startsWith(hfCache), prepared.tokenizerDir);
      assert.deepEqual(
        await Deno.readFile(join(prepared.tokenizerDir, "tokenizer.json")),
        await Deno.readFile(join(DEMO, "tokenizer.json")),
      );
      assert.equal(hub.log.some((r) => r.path.includes("pytorch_model.bin")), false);
      const record = JSON.parse(await Deno.readTextFile(join(prepared.dir, CONVERSION_RECORD)));
      assert.equal(record.architecture, "open_clip");
      assert.equal(record.tokenizer, "none");
      const embeddings = await textEmbeddings(prepared.dir, prepared.tokenizerDir);
      assert.equal(embeddings.length, TEXTS.length * 8);
      assert.ok(embeddings.every(Number.isFinite));
      // Offline, the cached tokenizer answers without a request.
      const before = hub.log.length;
      const offline = await prepareModel(planFor(checkpoint, cache, { offline: true }), {
        id: checkpoint,
      });
      assert.deepEqual(offline, prepared);
      assert.equal(hub.log.length, before);
    });
  });
});

Deno.test("prepareModel: with the plan's hub Hugging Face, the default tokenizer comes from the plan's endpoint", async () => {
  await inTempDir(async (work) => {
    const checkpoint = await tinyOpenClipCheckpoint(join(work, "open_clip"));
    const cache = join(work, "cache");
    await withTokenizerHub(work, async (hub) => {
      // HF_ENDPOINT names a hub without the tokenizer's repository: the plan's endpoint wins.
      const elsewhere = startFakeHub({ repos: [] });
      try {
        Deno.env.set("HF_ENDPOINT", elsewhere.origin);
        const plan = planFor(checkpoint, cache, { hub: "huggingface", endpoint: hub.origin });
        const prepared = await prepareModel(plan, { id: checkpoint });
        assert.ok(prepared.tokenizerDir !== undefined);
        assert.equal(elsewhere.log.length, 0);
        assert.ok(hub.requests("tokenizer.json").length > 0);
      } finally {
        await elsewhere.close();
      }
    });
  });
});
