/**
 * PyTorch checkpoints end to end through the command line, against the kit's checkpoints/:
 * `eval --model CHECKPOINT_DIR` converts on first use into the cache and gives CLIP_benchmark's
 * numbers for the trained model in both layouts (transformers, through its slow tokenizer files;
 * open_clip, through `--tokenizer`, and through the default tokenizer fetched from a hub); a
 * second run reuses the converted folder; `convert` writes a model folder `eval` reads and fails
 * on a corrupt weight file with one line and nothing left behind; evalscope's example task_cfg
 * runs against a ModelScope hub serving a Chinese-CLIP checkpoint (pytorch_model.bin, vocab.txt,
 * no ONNX) under that model id, then offline.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runCli } from "../_cli.ts";
import { startFakeHub } from "../_fake_hub.ts";
import {
  readFolder,
  retrievalDatasetFiles,
  SEED_MODEL_ID as MODEL_ID,
  SEED_TASK_CFG,
} from "../_hub_fixtures.ts";
import { KIT_DIR, kitTest } from "../_kit.ts";

const CHECKPOINTS = `${KIT_DIR}/checkpoints`;
const EXPECTED = `${KIT_DIR}/expected/tiny-clip-fashion/fashion_mnist_zeroshot_classification.json`;

async function readJson(path: string) {
  return JSON.parse(await Deno.readTextFile(path));
}

/** Runs `eval` of `model` on the kit's fashion_mnist; returns the result and the run. */
async function evalFashion(work: string, model: string, extra: string[] = []) {
  const run = await runCli(
    [
      "eval",
      "--model",
      model,
      "--dataset",
      "fashion_mnist",
      "--dataset-root",
      `${KIT_DIR}/datasets/{dataset}`,
      "--output-dir",
      join(work, "outputs"),
      ...extra,
    ],
    work,
    { CLIPBENCH_CACHE: join(work, "cache"), HF_HOME: join(work, "hf") },
  );
  assert.equal(run.code, 0, run.stderr);
  const name = model.split("/").pop()!;
  const result = await readJson(
    join(work, "outputs", name, "fashion_mnist_zeroshot_classification.json"),
  );
  return { run, result };
}

/** The converted folders in a work folder's cache. */
async function convertedFolders(work: string): Promise<string[]> {
  const folders: string[] = [];
  for await (const entry of Deno.readDir(join(work, "cache", "converted"))) {
    folders.push(entry.name);
  }
  return folders;
}

kitTest(
  "checkpoint eval: tiny-clip-fashion-hf (safetensors, slow tokenizer) gives CLIP_benchmark's numbers; a second run reuses the conversion",
  async () => {
    const work = await Deno.makeTempDir({ prefix: "clipbench_ckpt_hf_" });
    try {
      const expected = await readJson(EXPECTED);
      const first = await evalFashion(work, `${CHECKPOINTS}/tiny-clip-fashion-hf`);
      assert.match(
        first.run.stderr,
        /converting .*tiny-clip-fashion-hf \(clip: model\.safetensors\)/,
      );
      assert.equal(first.result.n_samples, expected.n_samples);
      assert.deepEqual(first.result.metrics, expected.metrics);
      console.log(`tiny-clip-fashion-hf: ${JSON.stringify(first.result.metrics)}`);
      const [converted] = await convertedFolders(work);
      const record = await readJson(
        join(work, "cache", "converted", converted, "clipbench_conversion.json"),
      );
      assert.equal(record.architecture, "clip");
      assert.equal(record.tokenizer, "slow files");

      const second = await evalFashion(work, `${CHECKPOINTS}/tiny-clip-fashion-hf`, [
        "--limit",
        "100",
      ]);
      assert.doesNotMatch(second.run.stderr, /converting/);
      assert.deepEqual(await convertedFolders(work), [converted]);
    } finally {
      await Deno.remove(work, { recursive: true });
    }
  },
);

kitTest(
  "checkpoint eval: --dtype int8 (int8 MatMul weights) stays within half a point of CLIP_benchmark's numbers",
  async () => {
    const work = await Deno.makeTempDir({ prefix: "clipbench_ckpt_int8_" });
    try {
      const expected = await readJson(EXPECTED);
      const { run, result } = await evalFashion(work, `${CHECKPOINTS}/tiny-clip-fashion-hf`, [
        "--dtype",
        "int8",
      ]);
      assert.match(run.stderr, /wrote onnx\/vision_model_int8\.onnx/);
      assert.equal(result.n_samples, expected.n_samples);
      assert.equal(result.clipbench.settings.dtype, "int8");
      for (const metric of ["acc1", "acc5", "mean_per_class_recall"]) {
        const change = result.metrics[metric] - expected.metrics[metric];
        assert.ok(Math.abs(change) <= 0.005, `${metric}: ${result.metrics[metric]} (${change})`);
      }
      console.log(
        `tiny-clip-fashion-hf --dtype int8: ${JSON.stringify(result.metrics)} ` +
          `(float32: ${JSON.stringify(expected.metrics)})`,
      );
    } finally {
      await Deno.remove(work, { recursive: true });
    }
  },
);

kitTest(
  "checkpoint eval: tiny-clip-fashion-openclip with --tokenizer gives CLIP_benchmark's numbers",
  async () => {
    const work = await Deno.makeTempDir({ prefix: "clipbench_ckpt_oc_" });
    try {
      const expected = await readJson(EXPECTED);
      const { result } = await evalFashion(work, `${CHECKPOINTS}/tiny-clip-fashion-openclip`, [
        "--tokenizer",
        `${KIT_DIR}/models/tiny-clip-fashion`,
        "--quiet",
      ]);
      assert.equal(result.n_samples, expected.n_samples);
      assert.deepEqual(result.metrics, expected.metrics);
      console.log(`tiny-clip-fashion-openclip: ${JSON.stringify(result.metrics)}`);
    } finally {
      await Deno.remove(work, { recursive: true });
    }
  },
);

kitTest(
  "checkpoint eval: an open_clip checkpoint without --tokenizer uses OpenAI CLIP's from the hub",
  async () => {
    const tokenizer = await readFolder(`${KIT_DIR}/models/tiny-clip-fashion`);
    const hub = startFakeHub({
      repos: [{
        hub: "huggingface",
        kind: "model",
        id: "openai/clip-vit-base-patch32",
        files: Object.fromEntries(
          Object.entries(tokenizer).filter(([path]) => !path.startsWith("onnx/")),
        ),
      }],
    });
    const work = await Deno.makeTempDir({ prefix: "clipbench_ckpt_octok_" });
    try {
      const run = await runCli(
        [
          "eval",
          "--model",
          `${CHECKPOINTS}/tiny-clip-fashion-openclip`,
          "--dataset",
          "fashion_mnist",
          "--dataset-root",
          `${KIT_DIR}/datasets/{dataset}`,
          "--limit",
          "500",
          "--output-dir",
          "outputs",
          "--quiet",
        ],
        work,
        {
          CLIPBENCH_CACHE: join(work, "cache"),
          HF_ENDPOINT: hub.origin,
          HF_HOME: join(work, "hf"),
        },
      );
      assert.equal(run.code, 0, run.stderr);
      assert.equal(hub.requests("tokenizer.json").length > 0, true);
      const result = await readJson(
        join(
          work,
          "outputs",
          "tiny-clip-fashion-openclip",
          "fashion_mnist_zeroshot_classification.json",
        ),
      );
      assert.equal(result.n_samples, 500);
    } finally {
      await hub.close();
      await Deno.remove(work, { recursive: true });
    }
  },
);

kitTest(
  "convert: a model folder eval reads; a truncated weight file fails in one line, nothing left",
  async () => {
    const work = await Deno.makeTempDir({ prefix: "clipbench_convert_" });
    try {
      const out = join(work, "converted");
      const ok = await runCli(
        ["convert", `${CHECKPOINTS}/clip-tiny-random`, "--output", out],
        work,
      );
      assert.equal(ok.code, 0, ok.stderr);
      const files = (await Array.fromAsync(Deno.readDir(join(out, "onnx")))).map((e) => e.name)
        .sort();
      assert.deepEqual(files, ["text_model.onnx", "vision_model.onnx"]);
      for (const file of ["config.json", "preprocessor_config.json", "clipbench_conversion.json"]) {
        assert.ok((await Deno.stat(join(out, file))).isFile, file);
      }
      const again = await runCli(
        ["convert", `${CHECKPOINTS}/clip-tiny-random`, "--output", out],
        work,
      );
      assert.equal(again.code, 2);
      assert.match(again.stderr, /exists and is not empty/);

      // A truncated model.safetensors.
      const broken = join(work, "broken");
      await Deno.mkdir(broken);
      for (const file of ["config.json", "preprocessor_config.json"]) {
        await Deno.copyFile(`${CHECKPOINTS}/clip-tiny-random/${file}`, join(broken, file));
      }
      const weights = await Deno.readFile(`${CHECKPOINTS}/clip-tiny-random/model.safetensors`);
      await Deno.writeFile(
        join(broken, "model.safetensors"),
        weights.subarray(0, weights.length >> 1),
      );
      const failed = await runCli(["convert", broken, "--output", join(work, "never")], work);
      assert.equal(failed.code, 1, failed.stderr);
      const lines = failed.stderr.trim().split("\n").filter((line) =>
        line.startsWith("clipbench:")
      );
      assert.equal(lines.length, 1, failed.stderr);
      assert.match(lines[0], /model\.safetensors/);
      assert.doesNotMatch(failed.stderr, /^\s+at /m);
      const left = (await Array.fromAsync(Deno.readDir(work))).map((e) => e.name).sort();
      assert.deepEqual(left, ["broken", "converted"]);
    } finally {
      await Deno.remove(work, { recursive: true });
    }
  },
);

kitTest(
  "checkpoint eval: evalscope's example task_cfg against a ModelScope Chinese-CLIP checkpoint, then offline",
  async () => {
    const checkpoint = await readFolder(`${CHECKPOINTS}/chinese-clip-tiny-random`);
    delete checkpoint["model.safetensors"]; // as on ModelScope: pytorch_model.bin only
    for (const path of Object.keys(checkpoint)) {
      if (path.startsWith("reference/")) delete checkpoint[path];
    }
    // The kit's processor config says size {shortest_edge: 32}, which transformers'
    // ChineseCLIPImageProcessor.resize cannot use (it reads size["height"] and size["width"]);
    // the real repository's says {height: 336, width: 336}: serve that form at the tiny size.
    const processor = JSON.parse(
      new TextDecoder().decode(checkpoint["preprocessor_config.json"]),
    );
    processor.size = { height: 32, width: 32 };
    checkpoint["preprocessor_config.json"] = new TextEncoder().encode(JSON.stringify(processor));
    const hub = startFakeHub({
      repos: [
        { hub: "modelscope", kind: "model", id: MODEL_ID, files: checkpoint },
        {
          hub: "modelscope",
          kind: "dataset",
          id: "clip-benchmark/wds_muge",
          files: await retrievalDatasetFiles({ shards: 2, perShard: 3 }),
        },
        {
          hub: "modelscope",
          kind: "dataset",
          id: "clip-benchmark/wds_flickr8k",
          files: await retrievalDatasetFiles({ shards: 1, perShard: 5 }),
        },
      ],
    });
    const work = await Deno.makeTempDir({ prefix: "clipbench_ckpt_hub_" });
    try {
      await Deno.writeTextFile(
        join(work, "task_cfg.json"),
        JSON.stringify(SEED_TASK_CFG),
      );
      const env = {
        CLIPBENCH_CACHE: join(work, "clipbench"),
        MODELSCOPE_DOMAIN: hub.origin,
        MODELSCOPE_CACHE: join(work, "modelscope"),
        HF_HOME: join(work, "hf"),
      };
      const online = await runCli(
        ["eval", "--config", "task_cfg.json", "--recall-k", "1", "5"],
        work,
        env,
      );
      assert.equal(online.code, 0, online.stderr);
      assert.match(online.stderr, /converting .*\(chinese_clip: pytorch_model\.bin\)/);
      assert.equal(hub.requests("model.safetensors").length, 0);
      const name = "chinese-clip-vit-large-patch14-336px";
      const first = await readJson(join(work, "outputs", name, "muge_zeroshot_retrieval.json"));
      assert.equal(first.task, "zeroshot_retrieval");
      assert.equal(first.n_samples, 6);

      await hub.close();
      const offline = await runCli(
        [
          "eval",
          "--config",
          "task_cfg.json",
          "--recall-k",
          "1",
          "5",
          "--offline",
          "--output-dir",
          "again",
        ],
        work,
        env,
      );
      assert.equal(offline.code, 0, offline.stderr);
      assert.doesNotMatch(offline.stderr, /converting/);
      const second = await readJson(join(work, "again", name, "muge_zeroshot_retrieval.json"));
      assert.deepEqual(second.metrics, first.metrics);
    } finally {
      await hub.close().catch(() => {});
      await Deno.remove(work, { recursive: true });
    }
  },
);
