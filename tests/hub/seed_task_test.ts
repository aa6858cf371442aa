/**
 * The seed's evalscope `task_cfg` end to end through the library, against the fake hub over real
 * HTTP: model `AI-ModelScope/chinese-clip-vit-large-patch14-336px` and datasets `muge` and
 * `flickr8k` from ModelScope (reached through `MODELSCOPE_DOMAIN`), cached under the
 * configuration's `cache_dir`, evaluated with zero-shot retrieval to result files.
 *
 * The real repository holds PyTorch weights only: served that way, the run stops with the
 * message that says so and names an ONNX export. Served as a tiny ONNX export (the Chinese-CLIP
 * joint graph of tests/_onnx_fixtures.ts), the run completes, and its metrics equal those of the
 * same datasets read from a local folder.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { planFromTaskConfig } from "../../src/run/config.ts";
import { openWebDataset } from "../../src/dataset/wds.ts";
import { ModelError } from "../../src/errors.ts";
import { resolveDataset } from "../../src/hub/resolve_dataset.ts";
import { resolveModel } from "../../src/hub/resolve_model.ts";
import { ClipModel } from "../../src/model/model.ts";
import { writeResult } from "../../src/results/result.ts";
import { evaluateZeroShotRetrieval } from "../../tasks/zeroshot_retrieval/mod.ts";
import { type FakeHub, type FakeRepo, startFakeHub } from "../_fake_hub.ts";
import {
  pytorchOnlyFiles,
  type RepoFiles,
  retrievalDatasetFiles,
  SEED_MODEL_ID as MODEL_ID,
  SEED_TASK_CFG,
  tinyChineseClipFiles,
} from "../_hub_fixtures.ts";

/** Retries without real waiting. */
const FAST_HTTP = {
  clock: { sleep: () => Promise.resolve(), random: () => 0.5, now: () => Date.now() },
};

async function withSeedHub(
  modelFiles: RepoFiles,
  body: (hub: FakeHub, work: string, datasets: Record<string, RepoFiles>) => Promise<void>,
): Promise<void> {
  const datasets: Record<string, RepoFiles> = {
    muge: await retrievalDatasetFiles({ shards: 2, perShard: 3 }),
    flickr8k: await retrievalDatasetFiles({ shards: 1, perShard: 5 }),
  };
  const repos: FakeRepo[] = [
    { hub: "modelscope", kind: "model", id: MODEL_ID, files: modelFiles },
    ...Object.entries(datasets).map(([name, files]): FakeRepo => ({
      hub: "modelscope",
      kind: "dataset",
      id: `clip-benchmark/wds_${name}`,
      files,
    })),
  ];
  const hub = startFakeHub({ repos });
  const work = await Deno.makeTempDir({ prefix: "clipbench_seed_" });
  try {
    await body(hub, work, datasets);
    assert.equal(hub.overLimit, false);
  } finally {
    await hub.close();
    await Deno.remove(work, { recursive: true });
  }
}

Deno.test("seed task_cfg: the real repository (PyTorch weights only) fails with export advice", async () => {
  await withSeedHub(pytorchOnlyFiles(), async (hub, work) => {
    const plan = planFromTaskConfig(SEED_TASK_CFG, "seed task_cfg");
    const env = environment(hub, work);
    await assert.rejects(
      resolveModel(plan.models![0].id, { env, http: FAST_HTTP }),
      (error) => {
        assert.ok(error instanceof ModelError);
        assert.match(
          error.message,
          /modelscope:AI-ModelScope\/chinese-clip-vit-large-patch14-336px@master has no ONNX graphs/,
        );
        assert.match(error.message, /pytorch_model\.bin/);
        assert.match(error.message, /Xenova\/chinese-clip-vit-large-patch14-336px/);
        assert.match(error.message, /optimum-cli export onnx --model/);
        return true;
      },
    );
    // Nothing was downloaded: only the listing was asked for.
    assert.deepEqual(hub.requests("FilePath="), []);
  });
});

Deno.test("seed task_cfg: muge and flickr8k from ModelScope, end to end to result files", async () => {
  await withSeedHub(await tinyChineseClipFiles(), async (hub, work, datasets) => {
    const plan = planFromTaskConfig(SEED_TASK_CFG, "seed task_cfg");
    assert.deepEqual(plan.models, [{ id: MODEL_ID, revision: undefined, hub: undefined }]);
    assert.deepEqual(plan.datasets, ["muge", "flickr8k"]);
    const env = environment(hub, work);
    const cacheDir = join(work, plan.cacheDir!);
    const outputDir = join(work, "outputs");

    const model = await resolveModel(plan.models![0].id, { env, http: FAST_HTTP });
    assert.equal(model.source, "modelscope");
    assert.equal(model.name, "chinese-clip-vit-large-patch14-336px");
    assert.equal(
      model.dir,
      join(work, "modelscope", "models", "AI-ModelScope", "chinese-clip-vit-large-patch14-336px"),
    );
    assert.deepEqual(model.files, [
      "config.json",
      "preprocessor_config.json",
      "tokenizer.json",
      "tokenizer_config.json",
      "onnx/model.onnx",
    ]);
    const clip = await ClipModel.load(model.dir);
    const written: string[] = [];
    try {
      assert.equal(clip.family.name, "chinese_clip");
      for (const name of plan.datasets!) {
        const resolved = await resolveDataset(name, {
          env,
          cacheDir,
          split: plan.split,
          http: FAST_HTTP,
        });
        assert.equal(resolved.mode, "cache");
        assert.equal(resolved.task, "retrieval");
        const dataset = await openWebDataset(resolved.location, { split: plan.split });
        assert.equal(dataset.type, "retrieval");
        const options = {
          datasetName: name,
          batchSize: plan.batchSize,
          limit: plan.limit,
          recallK: [1, 5],
        };
        const result = await evaluateZeroShotRetrieval(clip, dataset, options);
        const samples = name === "muge" ? 6 : 5;
        assert.equal(result.n_samples, samples);
        assert.equal(result.n_captions, samples * 2);
        assert.deepEqual(Object.keys(result.metrics), [
          "image_retrieval_recall@1",
          "text_retrieval_recall@1",
          "image_retrieval_recall@5",
          "text_retrieval_recall@5",
        ]);
        // The same bytes read from a plain folder score the same.
        const folder = join(work, "local", name);
        await writeFiles(folder, datasets[name]);
        const local = await evaluateZeroShotRetrieval(clip, await openWebDataset(folder), options);
        assert.deepEqual(result.metrics, local.metrics);
        written.push(await writeResult(outputDir, result));
      }
    } finally {
      await clip.release();
    }
    assert.deepEqual(written, [
      join(outputDir, "chinese-clip-vit-large-patch14-336px", "muge_zeroshot_retrieval.json"),
      join(outputDir, "chinese-clip-vit-large-patch14-336px", "flickr8k_zeroshot_retrieval.json"),
    ]);
    const saved = JSON.parse(await Deno.readTextFile(written[0]));
    assert.equal(saved.dataset, "muge");
    assert.equal(saved.task, "zeroshot_retrieval");

    // The datasets were cached under cache_dir in ModelScope's layout; a second resolution reads
    // the cache: listings are asked again, no file is downloaded again.
    const shard = join(cacheDir, "clip-benchmark", "wds_muge", "test", "1.tar");
    assert.deepEqual(await Deno.readFile(shard), datasets.muge["test/1.tar"]);
    const downloads = hub.log.filter((r) => r.path.includes("FilePath=")).length;
    const again = await resolveDataset("muge", { env, cacheDir, http: FAST_HTTP });
    const reread = await openWebDataset(again.location);
    let count = 0;
    for await (const _ of reread.samples()) count++;
    assert.equal(count, 6);
    assert.equal(hub.log.filter((r) => r.path.includes("FilePath=")).length, downloads);
  });
});

function environment(hub: FakeHub, work: string) {
  const variables: Record<string, string> = {
    MODELSCOPE_DOMAIN: hub.origin,
    MODELSCOPE_CACHE: join(work, "modelscope"),
    HOME: work,
  };
  return (name: string) => variables[name];
}

async function writeFiles(dir: string, files: RepoFiles): Promise<void> {
  for (const [path, bytes] of Object.entries(files)) {
    const file = join(dir, ...path.split("/"));
    await Deno.mkdir(join(file, ".."), { recursive: true });
    await Deno.writeFile(file, bytes);
  }
}
