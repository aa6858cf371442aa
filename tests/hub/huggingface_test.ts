/**
 * Models from a Hugging Face hub (the fake hub of tests/_fake_hub.ts, over real HTTP, reached
 * through `HF_ENDPOINT`): the files chosen for each dtype, huggingface_hub's cache layout (blobs
 * named by ETag, relative snapshot links, refs, `.no_exist`), redirects of LFS files to a CDN that
 * never sees the token, `X-Error-Code` handling, `Link` pagination, reuse of a cache written in
 * huggingface_hub's layout, and offline mode.
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { ClipbenchError, ModelError } from "../../src/errors.ts";
import { openHubRepository } from "../../src/hub/hub_repository.ts";
import { isSafeRepoPath } from "../../src/hub/repo_path.ts";
import { resolveModel } from "../../src/hub/resolve_model.ts";
import { ClipModel } from "../../src/model/model.ts";
import { type FakeHub, startFakeHub } from "../_fake_hub.ts";
import { type RepoFiles, tinyChineseClipFiles } from "../_hub_fixtures.ts";

const MODEL = "Xenova/tiny-chinese-clip";
const FAST_HTTP = {
  clock: { sleep: () => Promise.resolve(), random: () => 0.5, now: () => Date.now() },
};

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

function gitBlobId(bytes: Uint8Array): string {
  return createHash("sha1").update(`blob ${bytes.length}\0`).update(bytes).digest("hex");
}

interface Setup {
  hub: FakeHub;
  work: string;
  files: RepoFiles;
  env: (name: string) => string | undefined;
  cache: string;
}

async function withHub(
  options: { token?: string; pageSize?: number; env?: Record<string, string> },
  body: (setup: Setup) => Promise<void>,
): Promise<void> {
  const files = await tinyChineseClipFiles(true);
  const hub = startFakeHub({
    repos: [{ hub: "huggingface", kind: "model", id: MODEL, files, token: options.token }],
    hfPageSize: options.pageSize,
  });
  const work = await Deno.makeTempDir({ prefix: "clipbench_hf_" });
  const variables: Record<string, string> = {
    HF_ENDPOINT: hub.origin,
    HF_HOME: join(work, "hf-home"),
    ...options.env,
  };
  try {
    await body({
      hub,
      work,
      files,
      env: (name) => variables[name],
      cache: join(work, "hf-home", "hub"),
    });
    assert.equal(hub.overLimit, false);
  } finally {
    await hub.close();
    await Deno.remove(work, { recursive: true });
  }
}

Deno.test("huggingface: exactly the dtype's files, in huggingface_hub's cache layout", async () => {
  await withHub({}, async ({ hub, files, env, cache }) => {
    const commit = hub.commitOf(MODEL);
    const repoDir = join(cache, "models--Xenova--tiny-chinese-clip");
    const model = await resolveModel(MODEL, { hub: "huggingface", env, http: FAST_HTTP });
    assert.equal(model.dir, join(repoDir, "snapshots", commit));
    assert.equal(model.commit, commit);
    assert.equal(model.name, "tiny-chinese-clip");
    assert.deepEqual(model.files, [
      "config.json",
      "preprocessor_config.json",
      "tokenizer.json",
      "tokenizer_config.json",
      "onnx/model.onnx",
    ]);
    assert.equal(await Deno.readTextFile(join(repoDir, "refs", "main")), commit);
    // Git files are blobs named by their Git blob id, LFS files by their SHA-256; snapshots hold
    // relative links to them.
    const graph = join(model.dir, "onnx", "model.onnx");
    assert.equal(
      await Deno.readLink(graph),
      join("..", "..", "..", "blobs", sha256(files["onnx/model.onnx"])),
    );
    assert.equal(
      await Deno.readLink(join(model.dir, "config.json")),
      join("..", "..", "blobs", gitBlobId(files["config.json"])),
    );
    assert.deepEqual(await Deno.readFile(graph), files["onnx/model.onnx"]);
    // The graph came from the CDN; the hub was asked for metadata (HEAD) and the listing.
    assert.equal(hub.requests("/blobs/", "cdn").length, 1);
    assert.deepEqual(
      hub.requests("/resolve/", "hub").map((r) => `${r.method} ${r.path.split("/resolve/")[1]}`),
      [
        "HEAD main/config.json",
        `HEAD ${commit}/config.json`,
        `GET ${commit}/config.json`,
        `HEAD ${commit}/preprocessor_config.json`,
        `GET ${commit}/preprocessor_config.json`,
        `HEAD ${commit}/tokenizer.json`,
        `GET ${commit}/tokenizer.json`,
        `HEAD ${commit}/tokenizer_config.json`,
        `GET ${commit}/tokenizer_config.json`,
        `HEAD ${commit}/onnx/model.onnx`,
      ],
    );
    const loaded = await ClipModel.load(model.dir);
    try {
      assert.equal(loaded.family.name, "chinese_clip");
    } finally {
      await loaded.release();
    }

    // Other precisions: the q8 joint graph with its external data, the fp16 towers.
    const q8 = await resolveModel(MODEL, { hub: "huggingface", env, dtype: "q8", http: FAST_HTTP });
    assert.deepEqual(q8.files.slice(4), [
      "onnx/model_quantized.onnx",
      "onnx/model_quantized.onnx_data",
    ]);
    const fp16 = await resolveModel(MODEL, {
      hub: "huggingface",
      env,
      dtype: "fp16",
      http: FAST_HTTP,
    });
    assert.deepEqual(fp16.files.slice(4), [
      "onnx/vision_model_fp16.onnx",
      "onnx/text_model_fp16.onnx",
    ]);
    await assert.rejects(
      resolveModel(MODEL, { hub: "huggingface", env, dtype: "q4", http: FAST_HTTP }),
      (error) =>
        error instanceof ModelError &&
        /has no q4 graphs .*variants in onnx\/: fp32 \(model\.onnx\), fp16 \(text_model_fp16\.onnx, vision_model_fp16\.onnx\), q8 \(model_quantized\.onnx\)/
          .test(error.message),
    );

    // A second resolution downloads nothing: the snapshot is complete.
    const cdnGets = hub.requests("/blobs/", "cdn").length;
    const hubGets = hub.log.filter((r) =>
      r.method === "GET" && r.path.includes("/resolve/")
    ).length;
    await resolveModel(MODEL, { hub: "huggingface", env, http: FAST_HTTP });
    assert.equal(hub.requests("/blobs/", "cdn").length, cdnGets);
    assert.equal(
      hub.log.filter((r) => r.method === "GET" && r.path.includes("/resolve/")).length,
      hubGets,
    );
  });
});

Deno.test("huggingface: a private repository needs HF_TOKEN, which the CDN never sees", async () => {
  await withHub({ token: "hf_secret" }, async ({ hub, env, work }) => {
    await assert.rejects(
      resolveModel(MODEL, { hub: "huggingface", env, http: FAST_HTTP }),
      (error) =>
        error instanceof ModelError &&
        /HTTP 401 .*private or gated and needs an access token \(set HF_TOKEN\)/.test(
          error.message,
        ),
    );
    const withToken = (name: string) => name === "HF_TOKEN" ? "hf_secret" : env(name);
    await resolveModel(MODEL, { hub: "huggingface", env: withToken, http: FAST_HTTP });
    const answered = hub.log.filter((r) => r.server === "hub" && r.status < 400);
    assert.ok(answered.length > 0);
    for (const request of answered) assert.equal(request.authorization, "Bearer hf_secret");
    const cdn = hub.log.filter((r) => r.server === "cdn");
    assert.equal(cdn.length, 1);
    assert.equal(cdn[0].authorization, null);
    // The token file of HF_HOME works too.
    await Deno.writeTextFile(join(work, "hf-home", "token"), "hf_secret\n");
    await resolveModel(MODEL, { hub: "huggingface", env, http: FAST_HTTP });
  });
});

Deno.test("huggingface: missing repositories, revisions and files are told apart", async () => {
  await withHub({}, async ({ hub, env, cache }) => {
    const options = { hub: "huggingface" as const, env, http: FAST_HTTP };
    await assert.rejects(
      resolveModel("Xenova/no-such-model", options),
      (error) =>
        error instanceof ModelError &&
        /huggingface:Xenova\/no-such-model@main: HTTP 404 .*no such model on http:\/\/127/.test(
          error.message,
        ),
    );
    await assert.rejects(
      resolveModel(MODEL, { ...options, revision: "v9" }),
      (error) => error instanceof ModelError && /no revision 'v9'/.test(error.message),
    );
    // A missing file is recorded under .no_exist/<commit>/ as huggingface_hub records it.
    const repo = openHubRepository("model", MODEL, options);
    assert.equal(await repo.fetch("nope/missing.json"), "missing");
    const marker = join(
      cache,
      "models--Xenova--tiny-chinese-clip",
      ".no_exist",
      hub.commitOf(MODEL),
      "nope",
      "missing.json",
    );
    assert.equal((await Deno.stat(marker)).size, 0);
    assert.equal(await repo.cached("nope/missing.json"), "missing");
  });
});

Deno.test("huggingface: listings are followed across Link pages", async () => {
  await withHub({ pageSize: 3 }, async ({ hub, env }) => {
    const repo = openHubRepository("model", MODEL, { hub: "huggingface", env, http: FAST_HTTP });
    await repo.pin("config.json");
    const files = (await repo.list("", true)).filter((e) => e.type === "file").map((e) => e.path);
    assert.equal(files.length, 10);
    assert.ok(files.includes("onnx/model_quantized.onnx_data"));
    const pages = hub.requests("/api/models/");
    // 10 files and the onnx folder, 3 a page.
    assert.equal(pages.length, 4);
    assert.match(pages[1].path, /recursive=true&cursor=3$/);
    const onnx = await repo.list("onnx", false);
    assert.deepEqual(onnx.map((e) => e.path), [
      "onnx/model.onnx",
      "onnx/model_quantized.onnx",
      "onnx/model_quantized.onnx_data",
      "onnx/text_model_fp16.onnx",
      "onnx/vision_model_fp16.onnx",
    ]);
    const lfs = onnx.find((e) => e.path === "onnx/model.onnx")!;
    assert.equal(lfs.hash?.algorithm, "sha256");
    const git = (await repo.list("", false)).find((e) => e.path === "config.json")!;
    assert.equal(git.hash?.algorithm, "git-sha1");
  });
});

Deno.test("huggingface: a cache written in huggingface_hub's layout is used as it is", async () => {
  await withHub({}, async ({ hub, files, env, cache }) => {
    // Lay the snapshot out by hand, as huggingface_hub's hf_hub_download leaves it.
    const commit = hub.commitOf(MODEL);
    const repoDir = join(cache, "models--Xenova--tiny-chinese-clip");
    const wanted = [
      "config.json",
      "preprocessor_config.json",
      "tokenizer.json",
      "tokenizer_config.json",
      "onnx/model.onnx",
    ];
    for (const path of wanted) {
      const etag = path.endsWith(".onnx") ? sha256(files[path]) : gitBlobId(files[path]);
      await Deno.mkdir(join(repoDir, "blobs"), { recursive: true });
      await Deno.writeFile(join(repoDir, "blobs", etag), files[path]);
      const pointer = join(repoDir, "snapshots", commit, ...path.split("/"));
      await Deno.mkdir(join(pointer, ".."), { recursive: true });
      const depth = path.split("/").length;
      await Deno.symlink([...Array(depth + 1).fill(".."), "blobs", etag].join("/"), pointer);
    }
    await Deno.mkdir(join(repoDir, "refs"), { recursive: true });
    await Deno.writeTextFile(join(repoDir, "refs", "main"), commit);

    const online = await resolveModel(MODEL, { hub: "huggingface", env, http: FAST_HTTP });
    assert.equal(online.dir, join(repoDir, "snapshots", commit));
    assert.equal(
      hub.log.filter((r) => r.method === "GET" && r.path.includes("/resolve/")).length,
      0,
    );
    assert.equal(hub.requests("/blobs/", "cdn").length, 0);

    const before = hub.log.length;
    const offline = await resolveModel(MODEL, {
      hub: "huggingface",
      env: (name) => name === "HF_HUB_OFFLINE" ? "1" : env(name),
    });
    assert.equal(offline.dir, online.dir);
    assert.deepEqual(offline.files, wanted);
    assert.equal(hub.log.length, before, "offline mode made requests");
  });
});

Deno.test("huggingface: offline mode lists what the cache lacks", async () => {
  await withHub({}, async ({ hub, env }) => {
    const offline = { hub: "huggingface" as const, env, offline: true };
    await assert.rejects(
      resolveModel(MODEL, offline),
      (error) =>
        error instanceof ModelError &&
        /not fully cached for offline use .*missing: config\.json, preprocessor_config\.json, tokenizer\.json; onnx\/vision_model\.onnx and onnx\/text_model\.onnx, or onnx\/model\.onnx/
          .test(error.message),
    );
    await resolveModel(MODEL, { hub: "huggingface", env, http: FAST_HTTP });
    const requests = hub.log.length;
    await resolveModel(MODEL, offline);
    await assert.rejects(
      resolveModel(MODEL, { ...offline, dtype: "q8" }),
      (error) =>
        error instanceof ModelError &&
        /missing: onnx\/vision_model_quantized\.onnx and onnx\/text_model_quantized\.onnx, or onnx\/model_quantized\.onnx$/
          .test(error.message),
    );
    assert.equal(hub.log.length, requests);
  });
});

Deno.test("repository paths that would leave the cache are refused", async () => {
  for (const path of ["a/b.json", "onnx/model.onnx", "x"]) assert.equal(isSafeRepoPath(path), true);
  for (const path of ["", "/etc/passwd", "../x", "a/../../b", "a//b", "a/./b", "a\\b", "a\0"]) {
    assert.equal(isSafeRepoPath(path), false, JSON.stringify(path));
  }
  await withHub({}, async ({ env }) => {
    const repo = openHubRepository("model", MODEL, { hub: "huggingface", env, http: FAST_HTTP });
    await repo.pin("config.json");
    await assert.rejects(
      repo.cached("../../outside.json"),
      (error) =>
        error instanceof ClipbenchError &&
        /refusing the repository path "\.\.\/\.\.\/outside\.json"/.test(error.message),
    );
  });
});
