/**
 * The command line against a hub it reaches through `MODELSCOPE_DOMAIN` / `HF_ENDPOINT`: the
 * seed's evalscope task_cfg (a ModelScope model id, datasets muge and flickr8k by name, a
 * cache_dir) runs end to end to its result files, served by the fake hub over real HTTP; a second
 * run works offline from the caches; `cli.ts datasets` shows what is cached.
 */
import assert from "node:assert/strict";
import { runCli } from "../_cli.ts";
import { startFakeHub } from "../_fake_hub.ts";
import {
  retrievalDatasetFiles,
  SEED_MODEL_ID as MODEL_ID,
  SEED_TASK_CFG,
  tinyChineseClipFiles,
} from "../_hub_fixtures.ts";

Deno.test("cli: the seed's task_cfg runs from a hub, then offline from the caches", async () => {
  const hub = startFakeHub({
    repos: [
      { hub: "modelscope", kind: "model", id: MODEL_ID, files: await tinyChineseClipFiles() },
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
  const work = await Deno.makeTempDir({ prefix: "clipbench_cli_hub_" });
  try {
    await Deno.writeTextFile(
      `${work}/task_cfg.json`,
      JSON.stringify(SEED_TASK_CFG),
    );
    const env = {
      CLIPBENCH_CACHE: `${work}/clipbench`,
      MODELSCOPE_DOMAIN: hub.origin,
      MODELSCOPE_CACHE: `${work}/modelscope`,
      HF_HOME: `${work}/hf`,
    };
    const run = await runCli(
      ["eval", "--config", "task_cfg.json", "--recall-k", "1", "5"],
      work,
      env,
    );
    assert.equal(run.code, 0, run.stderr);
    for (const dataset of ["muge", "flickr8k"]) {
      const path =
        `${work}/outputs/chinese-clip-vit-large-patch14-336px/${dataset}_zeroshot_retrieval.json`;
      const result = JSON.parse(await Deno.readTextFile(path));
      assert.equal(result.model, "chinese-clip-vit-large-patch14-336px");
      assert.equal(result.task, "zeroshot_retrieval");
      assert.ok("image_retrieval_recall@5" in result.metrics);
    }
    const first = JSON.parse(
      await Deno.readTextFile(
        `${work}/outputs/chinese-clip-vit-large-patch14-336px/muge_zeroshot_retrieval.json`,
      ),
    );

    // The hub goes away; --offline reads the model and the datasets from the caches.
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
    const second = JSON.parse(
      await Deno.readTextFile(
        `${work}/again/chinese-clip-vit-large-patch14-336px/muge_zeroshot_retrieval.json`,
      ),
    );
    assert.deepEqual(second.metrics, first.metrics);

    const listing = await runCli(["datasets", "--cache-dir", "cache"], work, env);
    assert.equal(listing.code, 0, listing.stderr);
    assert.match(
      listing.stdout,
      /^muge\s+retrieval\s+clip-benchmark\/wds_muge\s+-\s+complete \(2\/2 shards\)/m,
    );
    assert.match(
      listing.stdout,
      /^cars\s+classification\s+clip-benchmark\/wds_cars\s+clip-benchmark\/wds_cars\s+-/m,
    );
    assert.equal(listing.stdout.trim().split("\n").length, 2 + 43);
  } finally {
    await hub.close().catch(() => {});
    await Deno.remove(work, { recursive: true });
  }
});
