/**
 * Resolving a model argument: local folders pass through untouched, hub ids need the shape
 * `org/name`, and a repository's files are chosen for a dtype as src/model/files.ts chooses
 * graphs (towers, else the joint graph, with their external data), with the messages for
 * repositories that lack configs, graphs of the dtype, or ONNX altogether (over the fake hub).
 */

import assert from "node:assert/strict";
import { ModelError } from "../../src/errors.ts";
import {
  KNOWN_ONNX_EXPORTS,
  onnxExportAdvice,
  resolveModel,
  selectModelFiles,
} from "../../src/hub/resolve_model.ts";
import { startFakeHub } from "../_fake_hub.ts";

const CONFIGS = ["config.json", "preprocessor_config.json", "tokenizer.json"];

Deno.test("local folders pass through untouched; other arguments must be org/name", async () => {
  const demo = new URL("../../examples/demo/tiny-clip-demo", import.meta.url).pathname;
  assert.deepEqual(await resolveModel(demo, { offline: true }), {
    dir: demo,
    name: "tiny-clip-demo",
    source: "local",
    files: [],
  });
  for (const missing of ["./no/such/folder", "/abs/missing", "~/x/y", "a/b/c", "plain", "a/../b"]) {
    await assert.rejects(
      resolveModel(missing, { offline: true }),
      (error) =>
        error instanceof ModelError &&
        error.message ===
          `model folder not found: ${missing} (nor is it a hub id of the form org/name)`,
      missing,
    );
  }
});

Deno.test("file choice: towers where present, else the joint graph, with external data", () => {
  const repo = [
    ...CONFIGS,
    "tokenizer_config.json",
    "special_tokens_map.json",
    "onnx/model.onnx",
    "onnx/model.onnx_data",
    "onnx/vision_model.onnx",
    "onnx/model_fp16.onnx",
    "onnx/model_fp16.onnx_data",
    "onnx/model_fp16.onnx_data_1",
    "onnx/model_fp16.onnx_data_x",
    "onnx/text_model_quantized.onnx",
    "onnx/vision_model_quantized.onnx",
    "onnx/text_model_quantized.onnx_data",
  ];
  // fp32: the vision tower, and the joint graph for text (with its data).
  const fp32 = selectModelFiles(repo, "fp32");
  assert.deepEqual(fp32.graphs, ["onnx/vision_model.onnx", "onnx/model.onnx"]);
  assert.deepEqual(fp32.files, [
    ...CONFIGS,
    "tokenizer_config.json",
    "onnx/vision_model.onnx",
    "onnx/model.onnx",
    "onnx/model.onnx_data",
  ]);
  assert.deepEqual(selectModelFiles(repo, "fp16").files.slice(4), [
    "onnx/model_fp16.onnx",
    "onnx/model_fp16.onnx_data",
    "onnx/model_fp16.onnx_data_1",
  ]);
  assert.deepEqual(selectModelFiles(repo, "q8").files.slice(4), [
    "onnx/vision_model_quantized.onnx",
    "onnx/text_model_quantized.onnx",
    "onnx/text_model_quantized.onnx_data",
  ]);
  const q4 = selectModelFiles(repo, "q4");
  assert.deepEqual(q4.graphs, []);
  assert.equal(
    q4.wantedGraphs,
    "onnx/vision_model_q4.onnx and onnx/text_model_q4.onnx, or onnx/model_q4.onnx",
  );
  const bare = selectModelFiles(["onnx/model.onnx"], "fp32");
  assert.deepEqual(bare.missingRequired, CONFIGS);
  assert.deepEqual(bare.onnxFiles, ["onnx/model.onnx"]);
});

Deno.test("export advice: a known transformers.js export, and optimum", () => {
  const seed = onnxExportAdvice("AI-ModelScope/chinese-clip-vit-large-patch14-336px", "modelscope");
  assert.match(
    seed,
    /^An ONNX export of this model exists on Hugging Face: Xenova\/chinese-clip-vit-large-patch14-336px \(--hub huggingface --model Xenova\/chinese-clip-vit-large-patch14-336px\)\./,
  );
  assert.match(
    seed,
    /modelscope download --model AI-ModelScope\/chinese-clip-vit-large-patch14-336px/,
  );
  assert.match(seed, /optimum-cli export onnx --model /);
  assert.match(seed, /move <dir>\/model\.onnx to <dir>\/onnx\/model\.onnx/);
  const unknown = onnxExportAdvice("someone/my-clip", "huggingface");
  assert.equal(
    unknown,
    "To export one yourself with Hugging Face optimum: `optimum-cli export onnx --model " +
      "someone/my-clip <dir>`, then move <dir>/model.onnx to <dir>/onnx/model.onnx and pass " +
      "--model <dir>.",
  );
  assert.doesNotMatch(onnxExportAdvice("Xenova/clip-vit-base-patch32", "huggingface"), /exists/);
  for (const [name, id] of Object.entries(KNOWN_ONNX_EXPORTS)) assert.equal(id, `Xenova/${name}`);
});

Deno.test("repositories lacking configs, the dtype's graphs, or graphs in onnx/ are named", async () => {
  const bytes = new Uint8Array(8);
  const hub = startFakeHub({
    repos: [
      {
        hub: "huggingface",
        kind: "model",
        id: "someone/optimum-layout",
        files: { "config.json": "{}", "model.onnx": bytes, "tokenizer.json": "{}" },
      },
      {
        hub: "huggingface",
        kind: "model",
        id: "someone/no-tokenizer",
        files: { "config.json": "{}", "preprocessor_config.json": "{}", "onnx/model.onnx": bytes },
      },
    ],
  });
  const cache = await Deno.makeTempDir({ prefix: "clipbench_models_" });
  try {
    const options = { hub: "huggingface" as const, endpoint: hub.origin, cacheDir: cache };
    await assert.rejects(
      resolveModel("someone/optimum-layout", options),
      (error) =>
        error instanceof ModelError &&
        error.message ===
          "huggingface:someone/optimum-layout@main has no fp32 graphs (onnx/vision_model.onnx " +
            "and onnx/text_model.onnx, or onnx/model.onnx); variants in onnx/: none; other ONNX " +
            "files: model.onnx (clipbench reads graphs from onnx/)",
    );
    await assert.rejects(
      resolveModel("someone/no-tokenizer", options),
      (error) =>
        error instanceof ModelError &&
        /someone\/no-tokenizer@main has no tokenizer\.json \(files: config\.json, onnx\/model\.onnx, preprocessor_config\.json\)$/
          .test(error.message),
    );
    // Nothing was downloaded for either.
    assert.equal(
      hub.log.filter((r) => r.method === "GET" && r.path.includes("/resolve/")).length,
      0,
    );
  } finally {
    await hub.close();
    await Deno.remove(cache, { recursive: true });
  }
});
