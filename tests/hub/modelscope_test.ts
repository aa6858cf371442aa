/**
 * Models and datasets from a ModelScope hub (the fake hub of tests/_fake_hub.ts, over real HTTP,
 * reached through `MODELSCOPE_DOMAIN` with a full `http://` URL): the SDK's URL shapes and JSON
 * answers, the cache layout under `MODELSCOPE_CACHE` (`models/<org>/<name>`, `.` written `___`)
 * with the `.msc` index the SDK reads, SHA-256 checks of cached files, the session-cookie token,
 * and the paged dataset listing.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { DatasetError, ModelError } from "../../src/errors.ts";
import { openHubRepository } from "../../src/hub/hub_repository.ts";
import { readCacheIndex } from "../../src/hub/pickle_index.ts";
import { resolveModel } from "../../src/hub/resolve_model.ts";
import { type FakeHub, type FakeRepo, startFakeHub } from "../_fake_hub.ts";
import { type RepoFiles, retrievalDatasetFiles, tinyChineseClipFiles } from "../_hub_fixtures.ts";

const MODEL = "clipbench/tiny-clip-v1.5";
const FAST_HTTP = {
  clock: { sleep: () => Promise.resolve(), random: () => 0.5, now: () => Date.now() },
};

interface Setup {
  hub: FakeHub;
  work: string;
  files: RepoFiles;
  env: (name: string) => string | undefined;
  modelDir: string;
}

async function withHub(
  options: { token?: string; env?: Record<string, string>; extraRepos?: FakeRepo[] },
  body: (setup: Setup) => Promise<void>,
): Promise<void> {
  const files = await tinyChineseClipFiles();
  const hub = startFakeHub({
    repos: [
      { hub: "modelscope", kind: "model", id: MODEL, files, token: options.token },
      ...options.extraRepos ?? [],
    ],
  });
  const work = await Deno.makeTempDir({ prefix: "clipbench_ms_" });
  const variables: Record<string, string> = {
    MODELSCOPE_DOMAIN: hub.origin,
    MODELSCOPE_CACHE: join(work, "ms"),
    ...options.env,
  };
  try {
    await body({
      hub,
      work,
      files,
      env: (name) => variables[name],
      modelDir: join(work, "ms", "models", "clipbench", "tiny-clip-v1___5"),
    });
    assert.equal(hub.overLimit, false);
  } finally {
    await hub.close();
    await Deno.remove(work, { recursive: true });
  }
}

Deno.test("modelscope: the SDK's URLs, cache layout and .msc index", async () => {
  await withHub({}, async ({ hub, files, env, modelDir }) => {
    const model = await resolveModel(MODEL, { env, http: FAST_HTTP });
    assert.equal(model.source, "modelscope");
    assert.equal(model.dir, modelDir);
    assert.equal(model.name, "tiny-clip-v1.5");
    for (const path of model.files) {
      assert.deepEqual(await Deno.readFile(join(modelDir, path)), files[path]);
    }
    assert.deepEqual(hub.requests("/api/v1/").map((r) => r.path), [
      `/api/v1/models/${MODEL}/repo/files?Revision=master&Recursive=True`,
      `/api/v1/models/${MODEL}/repo?Revision=master&FilePath=config.json`,
      `/api/v1/models/${MODEL}/repo?Revision=master&FilePath=preprocessor_config.json`,
      `/api/v1/models/${MODEL}/repo?Revision=master&FilePath=tokenizer.json`,
      `/api/v1/models/${MODEL}/repo?Revision=master&FilePath=tokenizer_config.json`,
      `/api/v1/models/${MODEL}/repo?Revision=master&FilePath=onnx/model.onnx`,
    ]);
    // The graph (an LFS file) was redirected to the CDN.
    assert.equal(hub.requests("/blobs/", "cdn").length, 1);
    const index = readCacheIndex(await Deno.readFile(join(modelDir, ".msc")));
    assert.deepEqual(
      index,
      model.files.map((path) => ({ Path: path, Revision: hub.commitOf(MODEL) })),
    );
    // Cached and current: nothing is downloaded again.
    const downloads = hub.requests("FilePath=").length;
    await resolveModel(MODEL, { env, http: FAST_HTTP });
    assert.equal(hub.requests("FilePath=").length, downloads);
  });
});

Deno.test("modelscope: a cached file that no longer matches the listing is fetched again", async () => {
  await withHub({}, async ({ hub, files, env, modelDir }) => {
    await resolveModel(MODEL, { env, http: FAST_HTTP });
    const tokenizer = join(modelDir, "tokenizer.json");
    await Deno.writeTextFile(tokenizer, "{}");
    const before = hub.requests("FilePath=tokenizer.json").length;
    await resolveModel(MODEL, { env, http: FAST_HTTP });
    assert.equal(hub.requests("FilePath=tokenizer.json").length, before + 1);
    assert.deepEqual(await Deno.readFile(tokenizer), files["tokenizer.json"]);
    // The index keeps one entry per path.
    const index = readCacheIndex(await Deno.readFile(join(modelDir, ".msc")));
    assert.equal(index.filter((entry) => entry.Path === "tokenizer.json").length, 1);
  });
});

Deno.test("modelscope: an index written by the SDK is kept and extended", async () => {
  await withHub({}, async ({ hub, env, modelDir }) => {
    await Deno.mkdir(modelDir, { recursive: true });
    const python = await Deno.readFile(
      new URL("../data/hub/msc_protocol4.pickle", import.meta.url),
    );
    await Deno.writeFile(join(modelDir, ".msc"), python);
    const model = await resolveModel(MODEL, { env, http: FAST_HTTP });
    const index = readCacheIndex(await Deno.readFile(join(modelDir, ".msc")));
    // The SDK's entries stay, but the one for config.json (Revision None there), now replaced.
    const kept = readCacheIndex(python).filter((entry) => entry.Path !== "config.json");
    assert.equal(kept.length, 132);
    assert.deepEqual(index, [
      ...kept,
      ...model.files.map((path) => ({ Path: path, Revision: hub.commitOf(MODEL) })),
    ]);
  });
});

Deno.test("modelscope: MODELSCOPE_API_TOKEN goes as the session cookie, to the hub only", async () => {
  await withHub({ token: "ms-secret" }, async ({ hub, env }) => {
    await assert.rejects(
      resolveModel(MODEL, { env, http: FAST_HTTP }),
      (error) =>
        error instanceof ModelError &&
        /modelscope:clipbench\/tiny-clip-v1\.5@master: HTTP 401 .*set MODELSCOPE_API_TOKEN/.test(
          error.message,
        ),
    );
    const withToken = (name: string) => name === "MODELSCOPE_API_TOKEN" ? "ms-secret" : env(name);
    await resolveModel(MODEL, { env: withToken, http: FAST_HTTP });
    const answered = hub.log.filter((r) => r.server === "hub" && r.status < 400);
    for (const request of answered) assert.equal(request.cookie, "m_session_id=ms-secret");
    assert.deepEqual(hub.log.filter((r) => r.server === "cdn").map((r) => r.cookie), [null]);
  });
});

Deno.test("modelscope: unknown models and API errors name the repository", async () => {
  await withHub({}, async ({ env }) => {
    await assert.rejects(
      resolveModel("clipbench/nothing-here", { env, http: FAST_HTTP }),
      (error) =>
        error instanceof ModelError &&
        /HTTP 404 .*no such model on http:\/\/127/.test(error.message),
    );
    await assert.rejects(
      resolveModel(MODEL, { env, http: FAST_HTTP, revision: "v2" }),
      (error) => error instanceof ModelError && /HTTP 404/.test(error.message),
    );
  });
});

Deno.test("modelscope: dataset listings are read page by page", async () => {
  // 120 extra files sort before test/0.tar and test/nshards.txt: those are on page 2.
  const files = await retrievalDatasetFiles({ shards: 1, perShard: 2 });
  for (let i = 0; i < 120; i++) files[`test/+${String(i).padStart(3, "0")}.txt`] = new Uint8Array();
  const dataset: FakeRepo = {
    hub: "modelscope",
    kind: "dataset",
    id: "clip-benchmark/wds_paged",
    files,
  };
  await withHub({ extraRepos: [dataset] }, async ({ hub, env, work }) => {
    const repo = openHubRepository("dataset", dataset.id, {
      env,
      cacheDir: join(work, "cache"),
      http: FAST_HTTP,
    });
    assert.equal(await repo.pin("test/nshards.txt"), true);
    const listed = await repo.list("test", false);
    assert.equal(listed.length, 122);
    const pages = hub.requests("/repo/tree?");
    assert.deepEqual(pages.map((r) => new URL(r.path, hub.origin).searchParams.get("PageNumber")), [
      "1",
      "2",
    ]);
    assert.equal(new URL(pages[0].path, hub.origin).searchParams.get("Root"), "test");
    assert.deepEqual(hub.requests("/api/v1/datasets/clip-benchmark/wds_paged").map((r) => r.path), [
      "/api/v1/datasets/clip-benchmark/wds_paged",
    ]);
    const shard = await repo.fetch("test/0.tar");
    assert.equal(shard, join(work, "cache", "clip-benchmark", "wds_paged", "test", "0.tar"));
    assert.deepEqual(await Deno.readFile(shard), files["test/0.tar"]);
    assert.equal(
      hub.requests("FilePath=")[0].path,
      "/api/v1/datasets/clip-benchmark/wds_paged/repo?Source=SDK&Revision=master&FilePath=test/0.tar",
    );
    assert.equal(await repo.fetch("test/9.tar"), "missing");
    await assert.rejects(
      openHubRepository("dataset", "clip-benchmark/wds_nothing", { env, http: FAST_HTTP })
        .pin("test/nshards.txt"),
      (error) => error instanceof DatasetError && /no such dataset/.test(error.message),
    );
  });
});
