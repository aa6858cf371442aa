/**
 * Datasets from the hubs (the fake hub of tests/_fake_hub.ts, over real HTTP): streaming shard by
 * shard without writing, the split check of evalscope issue #741, cache mode (download on first
 * read, verified, read from the cache next time, also by streaming runs), offline mode with
 * missing shards listed, the cache status the `datasets` command shows, dataset names, and the
 * faults a hub throws at a download: 429 with `Retry-After`, 5xx, cut, stalled and corrupted
 * bodies.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import type { HttpOptions } from "../../src/io/http/client.ts";
import { openWebDataset, type WebDataset } from "../../src/dataset/wds.ts";
import { DatasetError, UsageError } from "../../src/errors.ts";
import { DownloadProgressReporter } from "../../src/hub/download_progress.ts";
import {
  datasetCacheStatus,
  datasetRepositoryId,
  resolveDataset,
  type ResolveDatasetOptions,
} from "../../src/hub/resolve_dataset.ts";
import { type FakeHub, type FakeRepo, startFakeHub } from "../_fake_hub.ts";
import { demoImages, type RepoFiles, retrievalDatasetFiles } from "../_hub_fixtures.ts";
import { makeTar } from "../_tar_writer.ts";

const encoder = new TextEncoder();

/** A classification dataset without dataset_type.txt: 2 shards of 2 samples. */
async function classificationFiles(): Promise<RepoFiles> {
  const images = await demoImages(4);
  const files: RepoFiles = {
    "classnames.txt": encoder.encode("cat\ndog\n"),
    "zeroshot_classification_templates.txt": encoder.encode("a photo of a {c}.\n"),
    "test/nshards.txt": encoder.encode("2\n"),
  };
  for (let shard = 0; shard < 2; shard++) {
    const members = [];
    for (let i = shard * 2; i < shard * 2 + 2; i++) {
      members.push({ name: `s${i}.png`, data: images[i] }, { name: `s${i}.cls`, data: `${i % 2}` });
    }
    files[`test/${shard}.tar`] = makeTar(members);
  }
  return files;
}

interface Setup {
  hub: FakeHub;
  work: string;
  data: { flickr: RepoFiles; cars: RepoFiles };
  env: (name: string) => string | undefined;
  /** Fast retries, recording the waits. */
  http: HttpOptions & { slept: number[] };
}

async function withHub(body: (setup: Setup) => Promise<void>): Promise<void> {
  const flickr = await retrievalDatasetFiles({ splits: ["test", "train"], shards: 2, perShard: 3 });
  const msFlickr = Object.fromEntries(
    Object.entries(flickr).filter(([path]) => !path.startsWith("train/")),
  );
  const cars = await classificationFiles();
  const repos: FakeRepo[] = [
    { hub: "modelscope", kind: "dataset", id: "clip-benchmark/wds_flickr8k", files: msFlickr },
    { hub: "huggingface", kind: "dataset", id: "clip-benchmark/wds_flickr8k", files: flickr },
    { hub: "modelscope", kind: "dataset", id: "clip-benchmark/wds_cars", files: cars },
  ];
  const hub = startFakeHub({ repos });
  const work = await Deno.makeTempDir({ prefix: "clipbench_datasets_" });
  const variables: Record<string, string> = {
    MODELSCOPE_DOMAIN: hub.origin,
    MODELSCOPE_CACHE: join(work, "ms"),
    HF_ENDPOINT: hub.origin,
    HF_HUB_CACHE: join(work, "hf"),
  };
  const slept: number[] = [];
  const http = {
    slept,
    clock: {
      sleep: (ms: number) => {
        slept.push(ms);
        return Promise.resolve();
      },
      random: () => 0.5,
      now: () => Date.now(),
    },
  };
  try {
    await body({ hub, work, data: { flickr, cars }, env: (name) => variables[name], http });
    assert.equal(hub.overLimit, false);
  } finally {
    await hub.close();
    await Deno.remove(work, { recursive: true });
  }
}

async function keys(dataset: WebDataset, limit?: number): Promise<string[]> {
  const seen: string[] = [];
  for await (const sample of dataset.samples({ limit })) seen.push(sample.key);
  return seen;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

Deno.test("datasets stream from ModelScope shard by shard, writing nothing", async () => {
  await withHub(async ({ hub, work, env, http }) => {
    const resolved = await resolveDataset("flickr8k", { env, http });
    assert.equal(resolved.mode, "stream");
    assert.equal(resolved.task, "retrieval");
    assert.equal(resolved.repository.id, "clip-benchmark/wds_flickr8k");
    const dataset = await openWebDataset(resolved.location);
    assert.equal(dataset.root, `${hub.origin}/datasets/clip-benchmark/wds_flickr8k/resolve/master`);
    assert.deepEqual(dataset.shardUrls, [
      `${hub.origin}/api/v1/datasets/clip-benchmark/wds_flickr8k/repo?Source=SDK&Revision=master&FilePath=test%2F0.tar`,
      `${hub.origin}/api/v1/datasets/clip-benchmark/wds_flickr8k/repo?Source=SDK&Revision=master&FilePath=test%2F1.tar`,
    ]);
    assert.deepEqual(await keys(dataset, 2), ["s0000000", "s0000001"]);
    assert.deepEqual(hub.requests("FilePath=").map((r) => r.path.split("FilePath=")[1]), [
      "test/nshards.txt",
      "dataset_type.txt",
      "test/0.tar",
    ]);
    assert.equal(hub.log.some((r) => r.path.includes("train")), false);
    assert.deepEqual(await keys(dataset), [0, 1, 2, 3, 4, 5].map((i) => `s000000${i}`));
    assert.equal(await exists(join(work, "ms")), false, "streaming wrote to the cache");
  });
});

Deno.test("a split the hub lacks names the splits it has (evalscope issue #741)", async () => {
  await withHub(async ({ env, http }) => {
    await assert.rejects(
      resolveDataset("flickr8k", { env, http, split: "train" }),
      (error) =>
        error instanceof DatasetError &&
        /modelscope:datasets\/clip-benchmark\/wds_flickr8k@master has no split 'train' \(no train\/nshards\.txt\); splits on ModelScope: test$/
          .test(error.message),
    );
    await assert.rejects(
      resolveDataset("flickr8k", { env, http, split: "validation", hub: "huggingface" }),
      (error) =>
        error instanceof DatasetError &&
        /has no split 'validation' .*splits on Hugging Face: test, train$/.test(error.message),
    );
    const train = await resolveDataset("flickr8k", {
      env,
      http,
      split: "train",
      hub: "huggingface",
    });
    assert.equal((await openWebDataset(train.location, { split: "train" })).nshards, 2);
  });
});

Deno.test("cache mode downloads on first read and reads the cache afterwards", async () => {
  await withHub(async ({ hub, work, data, env, http }) => {
    const output: string[] = [];
    const progress = new DownloadProgressReporter({
      interactive: false,
      write: (text) => output.push(text),
    });
    const cacheDir = join(work, "cache");
    const options: ResolveDatasetOptions = { env, http, hub: "huggingface", cacheDir, progress };
    const resolved = await resolveDataset("flickr8k", options);
    assert.equal(resolved.mode, "cache");
    const commit = hub.commitOf("clip-benchmark/wds_flickr8k", "huggingface");
    const snapshot = join(cacheDir, "datasets--clip-benchmark--wds_flickr8k", "snapshots", commit);
    const dataset = await openWebDataset(resolved.location);
    assert.equal(dataset.root, snapshot);
    assert.deepEqual(dataset.shardUrls, [
      join(snapshot, "test", "0.tar"),
      join(snapshot, "test", "1.tar"),
    ]);
    assert.equal((await keys(dataset, 1)).length, 1);
    // Only what was read is cached: shard 1 is not there yet.
    assert.equal(await exists(join(snapshot, "test", "1.tar")), false);
    assert.equal((await keys(dataset)).length, 6);
    assert.deepEqual(
      await Deno.readFile(join(snapshot, "test", "1.tar")),
      data.flickr["test/1.tar"],
    );
    assert.deepEqual(output.filter((line) => line.startsWith("downloaded test/")).length, 3);
    assert.match(output.join(""), /downloaded test\/0\.tar: [0-9.]+ kB in [0-9]+ s/);

    // The next run reads the cache: metadata requests only, no downloads.
    const downloads = hub.log.filter((r) => r.method === "GET" && !r.path.startsWith("/api/"));
    const again = await openWebDataset((await resolveDataset("flickr8k", options)).location);
    assert.equal((await keys(again)).length, 6);
    assert.equal(
      hub.log.filter((r) => r.method === "GET" && !r.path.startsWith("/api/")).length,
      downloads.length,
    );
    // A streaming run with this cache as the hub's default cache reads it too.
    const streaming = await resolveDataset("flickr8k", {
      env: (name) => name === "HF_HUB_CACHE" ? cacheDir : env(name),
      http,
      hub: "huggingface",
    });
    assert.equal(streaming.mode, "stream");
    assert.equal((await keys(await openWebDataset(streaming.location))).length, 6);
    assert.equal(
      hub.log.filter((r) => r.method === "GET" && !r.path.startsWith("/api/")).length,
      downloads.length,
    );
  });
});

Deno.test("offline mode reads only the cache and lists the missing shards", async () => {
  await withHub(async ({ hub, work, env, http }) => {
    const cacheDir = join(work, "cache");
    const online = await resolveDataset("cars", { env, http, cacheDir });
    const partial = await openWebDataset(online.location);
    assert.equal(partial.typeDeclared, false);
    assert.deepEqual(await keys(partial, 1), ["s0"]);
    assert.deepEqual(await datasetCacheStatus("cars", { env, cacheDir }), {
      state: "partial",
      dir: join(cacheDir, "clip-benchmark", "wds_cars"),
      cachedShards: 1,
      nshards: 2,
    });
    const requests = hub.log.length;
    const offline = { env, cacheDir, offline: true };
    await assert.rejects(
      resolveDataset("cars", offline),
      (error) =>
        error instanceof DatasetError &&
        /1 of 2 shards of split 'test' are not cached for offline use .*: test\/1\.tar$/.test(
          error.message,
        ),
    );
    await assert.rejects(
      resolveDataset("cars", { ...offline, split: "train" }),
      (error) =>
        error instanceof DatasetError &&
        /split 'train' is not cached for offline use .*cached splits: test\./.test(error.message),
    );
    assert.equal(hub.log.length, requests);

    assert.equal((await keys(partial)).length, 4);
    assert.equal((await datasetCacheStatus("cars", { env, cacheDir })).state, "complete");
    const requestsBefore = hub.log.length;
    const fromCache = await resolveDataset("cars", offline);
    assert.equal(fromCache.mode, "offline");
    const dataset = await openWebDataset(fromCache.location);
    assert.equal(dataset.typeDeclared, false);
    assert.deepEqual(dataset.classnames, ["cat", "dog"]);
    assert.deepEqual(await keys(dataset), ["s0", "s1", "s2", "s3"]);
    // A cache without clipbench's records of absent files (as a full snapshot leaves it) works.
    await Deno.remove(join(cacheDir, ".clipbench"), { recursive: true });
    assert.equal(
      (await openWebDataset((await resolveDataset("cars", offline)).location)).typeDeclared,
      false,
    );
    assert.equal(hub.log.length, requestsBefore, "offline mode made requests");
    assert.equal((await datasetCacheStatus("flickr8k", { env, cacheDir })).state, "absent");
  });
});

Deno.test("dataset names: the registry, repository ids, and hubs without a copy", () => {
  assert.equal(datasetRepositoryId("vtab_cifar10"), "clip-benchmark/wds_vtab_cifar10");
  assert.equal(
    datasetRepositoryId("vtab_cifar10", "huggingface"),
    "clip-benchmark/wds_vtab-cifar10",
  );
  assert.equal(datasetRepositoryId("someone/wds_mine", "huggingface"), "someone/wds_mine");
  assert.throws(
    () => datasetRepositoryId("imagenet"),
    (error) =>
      error instanceof UsageError &&
      /unknown dataset 'imagenet': not one of the 43/.test(error.message),
  );
  assert.throws(
    () => datasetRepositoryId("muge", "huggingface"),
    (error) =>
      error instanceof UsageError &&
      /'muge' has no known Hugging Face repository; it is on ModelScope as clip-benchmark\/wds_muge/
        .test(error.message),
  );
});

Deno.test("streaming survives 429 with Retry-After, 5xx, and a body cut mid-way", async () => {
  await withHub(async ({ hub, env, http }) => {
    hub.addFault({ match: "/repo/tree?", times: 1, fault: { status: 429, retryAfter: "2" } });
    hub.addFault({ match: "FilePath=test/1.tar", times: 1, fault: { status: 503 } });
    hub.addFault({ match: "/blobs/", server: "cdn", times: 1, fault: { cutAfter: 700 } });
    const dataset = await openWebDataset(
      (await resolveDataset("flickr8k", { env, http })).location,
    );
    assert.equal((await keys(dataset)).length, 6);
    assert.deepEqual(http.slept, [2000, 750, 750]);
    const cdn = hub.log.filter((r) => r.server === "cdn");
    assert.deepEqual(cdn.map((r) => r.range), [null, "bytes=700-", null]);
    assert.deepEqual(cdn.map((r) => r.status), [200, 206, 200]);
  });
});

Deno.test("cache-mode downloads: a corrupted transfer is fetched again, a persistent one fails", async () => {
  await withHub(async ({ hub, work, env, http }) => {
    const cacheDir = join(work, "cache");
    hub.addFault({ match: "/blobs/", server: "cdn", times: 1, fault: { corrupt: true } });
    const resolved = await resolveDataset("flickr8k", { env, http, cacheDir, hub: "huggingface" });
    const dataset = await openWebDataset(resolved.location);
    assert.equal((await keys(dataset, 3)).length, 3);
    assert.equal(hub.requests("/blobs/", "cdn").length, 2);

    // Every transfer of shard 1 arrives corrupted: two attempts, then an error naming the hash;
    // neither the snapshot nor the blob holds the bad bytes.
    hub.addFault({ match: "/blobs/", server: "cdn", fault: { corrupt: true } });
    await assert.rejects(
      keys(dataset),
      (error) =>
        error instanceof DatasetError &&
        /test\/1\.tar: downloaded from http:\/\/127\.0\.0\.1:[0-9]+\/blobs\/[0-9a-f]{64}\?expires=never, but its sha256 is [0-9a-f]{64} instead of [0-9a-f]{64}/
          .test(error.message),
    );
    assert.equal(hub.requests("/blobs/", "cdn").length, 4);
    assert.equal(await exists(join(resolved.repository.localDir(), "test", "1.tar")), false);
    const blobs = join(cacheDir, "datasets--clip-benchmark--wds_flickr8k", "blobs");
    const stored = await Array.fromAsync(Deno.readDir(blobs));
    // nshards.txt, dataset_type.txt and shard 0; nothing of shard 1.
    assert.equal(stored.length, 3);
  });
});

Deno.test("cache-mode downloads resume a stalled body after the idle timeout", async () => {
  await withHub(async ({ hub, work, data, env, http }) => {
    hub.addFault({ match: "/blobs/", server: "cdn", times: 1, fault: { stallAfter: 1000 } });
    const resolved = await resolveDataset("flickr8k", {
      env,
      http: { ...http, idleTimeoutMs: 100 },
      cacheDir: join(work, "cache"),
    });
    const dataset = await openWebDataset(resolved.location);
    assert.equal((await keys(dataset, 1)).length, 1);
    const cdn = hub.log.filter((r) => r.server === "cdn");
    assert.deepEqual(cdn.map((r) => r.range), [null, "bytes=1000-"]);
    assert.deepEqual(
      await Deno.readFile(join(work, "cache", "clip-benchmark", "wds_flickr8k", "test", "0.tar")),
      data.flickr["test/0.tar"],
    );
  });
});
