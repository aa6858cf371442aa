/**
 * The evaluation handler over real HTTP on 127.0.0.1: good requests (JSON, NDJSON, a shard's
 * partial), authentication, every validation error, the body limit, the allow-list, the deadline,
 * the concurrency limit and concurrent requests sharing one loaded model.
 */
import assert from "node:assert/strict";
import { completePlan } from "../../src/run/config.ts";
import { evaluateDataset } from "../../src/run/evaluate.ts";
import { ClipModel } from "../../src/model/model.ts";
import { mergePartials } from "../../src/results/partial/merge.ts";
import { decodePartial } from "../../src/results/partial/partial_file.ts";
import { liveDecodeWorkers } from "../../src/pipeline/decode_pool.ts";
import { REGISTERED_DATASETS } from "../../src/dataset/registry.ts";
import type { TaskResult } from "../../src/results/result.ts";
import {
  createEvaluationHandler,
  type EvaluationHandlerOptions,
} from "../../src/server/handler.ts";
import { DEMO_DATA, DEMO_MODEL, writeShardedDataset } from "../_shard_fixtures.ts";
import "../../tasks/mod.ts";
import { withServer } from "../_handler_server.ts";

const DIR = await Deno.makeTempDir({ prefix: "clipbench_handler_" });
globalThis.addEventListener("unload", () => Deno.removeSync(DIR, { recursive: true }));
await writeShardedDataset(DIR, "classification", { shardSizes: [12, 12] });
await writeShardedDataset(DIR, "retrieval", { shardSizes: [10, 10] });
await Deno.mkdir(`${DIR}/broken/test`, { recursive: true });
const MODEL_ROOT = new URL("../../examples/demo/", import.meta.url).pathname;
const TOKEN = "s3cret-token";
const AUTH = { authorization: `Bearer ${TOKEN}` };
const JSON_TYPE = { "content-type": "application/json" };

const OPTIONS: EvaluationHandlerOptions = {
  modelRoots: [MODEL_ROOT],
  datasetRoots: [`${DIR}/{dataset}`, `${DEMO_DATA}/..`],
  token: TOKEN,
  maxBodyBytes: 1024,
  settings: { noCache: true, cacheDir: `${DIR}/cache`, numWorkers: 0, batchSize: 8 },
  log: () => {},
};

function post(base: string, body: unknown, headers: Record<string, string> = {}) {
  return fetch(`${base}/v1/evaluate`, {
    method: "POST",
    headers: { ...AUTH, ...JSON_TYPE, ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

async function errorOf(response: Response) {
  const body = await response.json();
  assert.equal(body.error.status, response.status);
  assert.match(body.error.request_id, /^[0-9a-f-]{36}$/);
  assert.equal(response.headers.get("x-request-id"), body.error.request_id);
  assert.doesNotMatch(JSON.stringify(body), /at .*\.ts:\d+/); // no stack trace
  return body.error as { status: number; message: string; field?: string };
}

/**
 * A result without its `clipbench` block's run record (times, runtime: they differ from run to
 * run) nor, for a merged one, what a merge cannot know (`model.given`, `shards`): the rest (evalscope's
 * fields, settings, task settings, per-class recall, samples) must be equal.
 */
// deno-lint-ignore no-explicit-any
function comparable(result: any): unknown {
  if (result?.clipbench === undefined) return result;
  const { time: _time, runtime: _runtime, shards: _shards, model, ...block } = result.clipbench;
  return { ...result, clipbench: { ...block, model: { ...model, given: undefined } } };
}

/** The result of the same evaluation through the library. */
async function libraryResult(dataset: string, overrides = {}) {
  const model = await ClipModel.load(DEMO_MODEL);
  try {
    const plan = completePlan({
      models: [{ id: DEMO_MODEL }],
      datasets: [dataset],
      datasetRoot: `${DIR}/${dataset}`,
      ...OPTIONS.settings,
      quiet: true,
      ...overrides,
    });
    const outcome = await evaluateDataset(plan, model, "tiny-clip-demo", dataset);
    return (outcome as { result: TaskResult }).result;
  } finally {
    await model.release();
  }
}

Deno.test("handler: health, datasets, and an evaluation answered with the result JSON", async () => {
  await withServer(OPTIONS, async (base) => {
    const health = await fetch(`${base}/v1/health`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), {
      status: "ok",
      version: "0.1.0",
      running: 0,
      models_loaded: 0,
      model_loads: 0,
    });
    const datasets = await fetch(`${base}/v1/datasets`, { headers: AUTH });
    assert.equal(datasets.status, 200);
    assert.equal((await datasets.json()).datasets.length, REGISTERED_DATASETS.length);

    const response = await post(base, {
      model: "tiny-clip-demo",
      dataset: "classification",
      batch_size: 8,
    });
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type")!, /^application\/json/);
    const result = await response.json();
    assert.deepEqual(comparable(result), comparable(await libraryResult("classification")));
    assert.equal(result.n_samples, 24);

    const retrieval = await post(base, {
      model_name: "tiny-clip-demo",
      dataset_name: "retrieval",
      recall_k: [1, 3],
    });
    assert.equal(retrieval.status, 200);
    assert.deepEqual(
      comparable(await retrieval.json()),
      comparable(await libraryResult("retrieval", { recallK: [1, 3] })),
    );
  });
});

Deno.test("handler: a shard is answered with its partial file, and the partials merge", async () => {
  await withServer(OPTIONS, async (base) => {
    const partials = [];
    for (const index of [0, 1, 2]) {
      const response = await post(base, {
        model: "tiny-clip-demo",
        dataset: "classification",
        shard: `${index}/3`,
      });
      assert.equal(response.status, 200);
      assert.equal(response.headers.get("content-type"), "application/vnd.clipbench.partial");
      assert.match(
        response.headers.get("content-disposition")!,
        new RegExp(`classification_zeroshot_classification\\.shard-${index}-of-3\\.partial`),
      );
      const bytes = new Uint8Array(await response.arrayBuffer());
      partials.push({ source: `shard ${index}`, partial: decodePartial(bytes, `shard ${index}`) });
    }
    assert.deepEqual(
      comparable(mergePartials(partials)),
      comparable(await libraryResult("classification")),
    );
  });
});

Deno.test("handler: NDJSON streams progress, then the result", async () => {
  await withServer({ ...OPTIONS, progressIntervalMs: 0 }, async (base) => {
    const response = await post(
      base,
      { model: "tiny-clip-demo", dataset: "classification", batch_size: 8 },
      { accept: "application/x-ndjson" },
    );
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-type"), "application/x-ndjson");
    const events = (await response.text()).trim().split("\n").map((line) => JSON.parse(line));
    assert.equal(events[0].event, "started");
    const progress = events.filter((e) => e.event === "progress");
    assert.equal(progress.length, 24);
    assert.deepEqual(progress.at(-1), {
      event: "progress",
      samples: 24,
      skipped: 0,
      shard: 1,
      nshards: 2,
    });
    assert.equal(events.at(-1).event, "result");
    assert.deepEqual(
      comparable(events.at(-1).result),
      comparable(await libraryResult("classification")),
    );

    // A shard's partial arrives base64-encoded.
    const shard = await post(
      base,
      { model: "tiny-clip-demo", dataset: "classification", shard: "0/1" },
      { accept: "application/x-ndjson" },
    );
    const partialEvent = JSON.parse((await shard.text()).trim().split("\n").at(-1)!);
    assert.equal(partialEvent.event, "partial");
    assert.equal(
      partialEvent.file_name,
      "classification_zeroshot_classification.shard-0-of-1.partial",
    );
    const bytes = Uint8Array.from(atob(partialEvent.partial_base64), (c) => c.charCodeAt(0));
    assert.deepEqual(
      comparable(
        mergePartials([{ source: "streamed", partial: decodePartial(bytes, "streamed") }]),
      ),
      comparable(await libraryResult("classification")),
    );

    // An evaluation error arrives as the last event.
    const failing = await post(
      base,
      { model: "tiny-clip-demo", dataset: "broken" },
      { accept: "application/x-ndjson" },
    );
    const last = JSON.parse((await failing.text()).trim().split("\n").at(-1)!);
    assert.equal(last.event, "error");
    assert.equal(last.error.status, 422);
    assert.match(last.error.message, /nshards\.txt/);
  });
});

Deno.test("handler: a missing or wrong token is 401; health needs none", async () => {
  await withServer(OPTIONS, async (base) => {
    const body = JSON.stringify({ model: "tiny-clip-demo", dataset: "classification" });
    const missing = await fetch(`${base}/v1/evaluate`, {
      method: "POST",
      headers: JSON_TYPE,
      body,
    });
    assert.equal(missing.status, 401);
    assert.equal(missing.headers.get("www-authenticate"), 'Bearer realm="clipbench"');
    assert.match((await errorOf(missing)).message, /missing bearer token/);
    const wrong = await post(base, body, { authorization: "Bearer nope" });
    assert.equal(wrong.status, 401);
    assert.match((await errorOf(wrong)).message, /invalid bearer token/);
    const datasets = await fetch(`${base}/v1/datasets`);
    assert.equal(datasets.status, 401);
    await datasets.body?.cancel();
    const health = await fetch(`${base}/v1/health`);
    assert.equal(health.status, 200);
    await health.body?.cancel();
  });
  assert.throws(() => createEvaluationHandler({}), /needs a bearer token/);
});

Deno.test("handler: each invalid request is 400 naming the field", async () => {
  await withServer(OPTIONS, async (base) => {
    const good = { model: "tiny-clip-demo", dataset: "classification" };
    const cases: [unknown, string | undefined, RegExp][] = [
      [{ ...good, batchsize: 4 }, "batchsize", /unknown field 'batchsize'/],
      [{ dataset: "classification" }, "model", /field 'model' is required/],
      [{ model: "tiny-clip-demo" }, "dataset", /field 'dataset' is required/],
      [{ ...good, model_name: "x" }, "model", /given twice/],
      [{ ...good, batch_size: 0 }, "batch_size", /batch_size must be a positive integer, got 0/],
      [{ ...good, batch_size: "8x" }, "batch_size", /batch_size must be a positive integer/],
      [{ ...good, limit: -1 }, "limit", /limit must be a positive integer/],
      [{ ...good, shard: "3/3" }, "shard", /shard index must be an integer from 0 to 2/],
      [{ ...good, shard: "half" }, "shard", /shard must be INDEX\/COUNT/],
      [{ ...good, shard: "0/2", limit: 5 }, "limit", /limit cannot be combined with shard/],
      [{ ...good, task: "captioning" }, "task", /task must be auto, zeroshot_classification/],
      [{ ...good, recall_k: [] }, "recall_k", /non-empty list/],
      [{ ...good, recall_k: [1, 0] }, "recall_k", /recall_k\[1\] must be a positive integer/],
      [{ ...good, max_skipped: 2 }, "max_skipped", /from 0 to 1/],
      [{ ...good, dtype: "fp64" }, "dtype", /dtype must be one of fp32/],
      [{ ...good, preprocess: "pil" }, "preprocess", /hf, openclip/],
      [{ ...good, dump_templates: "yes" }, "dump_templates", /true or false/],
      [{ ...good, classnames: ["a", 3] }, "classnames", /classnames\[1\] must be a string/],
      [{ ...good, templates: {} }, "templates", /must not be empty/],
      [{ ...good, timeout_s: 0 }, "timeout_s", /positive number of seconds/],
      [{ ...good, hub: "github" }, "hub", /hub must be modelscope or huggingface/],
      [{ ...good, model: "/etc" }, "model", /relative to an allowed model root/],
      [{ ...good, model: "../main/examples" }, "model", /relative to an allowed model root/],
      [{ ...good, dataset: "../../etc" }, "dataset", /must be a dataset name/],
      [[good], undefined, /must be a JSON object/],
      ["{not json", undefined, /not valid JSON/],
    ];
    for (const [body, field, message] of cases) {
      const response = await post(base, body);
      assert.equal(response.status, 400, JSON.stringify(body));
      const error = await errorOf(response);
      assert.equal(error.field, field, JSON.stringify(body));
      assert.match(error.message, message, JSON.stringify(body));
    }
    // A request the data cannot satisfy is a usage error too: recall@k above the images.
    const tooBig = await post(base, {
      model: "tiny-clip-demo",
      dataset: "retrieval",
      recall_k: [50],
    });
    assert.equal(tooBig.status, 400);
    assert.match((await errorOf(tooBig)).message, /recall@50 ranks 50 images/);
  });
});

Deno.test("handler: sources outside the allow-list are refused", async () => {
  await withServer(OPTIONS, async (base) => {
    const good = { model: "tiny-clip-demo", dataset: "classification" };
    const cases: [unknown, number, string, RegExp][] = [
      [
        { ...good, model: "nope" },
        404,
        "model",
        /not a model folder under the allowed model roots \(and hub models are not allowed/,
      ],
      [
        { ...good, model: "Xenova/clip-vit-base-patch32" },
        404,
        "model",
        /hub models are not allowed/,
      ],
      [{ ...good, dataset: "cars" }, 404, "dataset", /hub datasets are not allowed/],
      [
        { ...good, hub: "huggingface", dataset: "cars" },
        403,
        "hub",
        /hub 'huggingface' is not allowed on this server \(allowed: none\)/,
      ],
      [
        { ...good, dataset_root: "/data/{dataset}" },
        403,
        "dataset_root",
        /not one of this server's dataset roots/,
      ],
      [{ ...good, dataset: "no_such_set" }, 404, "dataset", /not under the allowed dataset roots/],
    ];
    for (const [body, status, field, message] of cases) {
      const response = await post(base, body);
      assert.equal(response.status, status, JSON.stringify(body));
      const error = await errorOf(response);
      assert.equal(error.field, field);
      assert.match(error.message, message);
    }
  });
  await withServer({ ...OPTIONS, hubs: ["modelscope"] }, async (base) => {
    const response = await post(base, {
      model: "Xenova/clip-vit-base-patch32",
      hub: "huggingface",
      dataset: "classification",
    });
    assert.equal(response.status, 403);
    const error = await errorOf(response);
    assert.equal(error.field, "hub");
    assert.match(
      error.message,
      /hub 'huggingface' is not allowed on this server \(allowed: modelscope\)/,
    );
  });
});

Deno.test("handler: wrong method, path, media type and oversized bodies", async () => {
  await withServer(OPTIONS, async (base) => {
    const get = await fetch(`${base}/v1/evaluate`, { headers: AUTH });
    assert.equal(get.status, 405);
    assert.equal(get.headers.get("allow"), "POST");
    await get.body?.cancel();
    const unknown = await fetch(`${base}/v2/evaluate`, { headers: AUTH });
    assert.equal(unknown.status, 404);
    await unknown.body?.cancel();
    const text = await post(base, "model=x", { "content-type": "text/plain" });
    assert.equal(text.status, 415);
    await text.body?.cancel();
    const large = JSON.stringify({ model: "tiny-clip-demo", dataset: "x".repeat(2000) });
    const declared = await post(base, large);
    assert.equal(declared.status, 413);
    assert.match((await errorOf(declared)).message, /exceeds the limit of 1024 bytes/);
    // No Content-Length: the limit is enforced while reading.
    const chunks = new TextEncoder().encode(large);
    const streamed = await fetch(`${base}/v1/evaluate`, {
      method: "POST",
      headers: { ...AUTH, ...JSON_TYPE },
      body: new ReadableStream({
        start(controller) {
          for (let i = 0; i < chunks.length; i += 256) controller.enqueue(chunks.slice(i, i + 256));
          controller.close();
        },
      }),
    });
    assert.equal(streamed.status, 413);
    await streamed.body?.cancel();
  });
});

Deno.test("handler: a dataset that cannot be read is 422", async () => {
  await withServer(OPTIONS, async (base) => {
    const response = await post(base, { model: "tiny-clip-demo", dataset: "broken" });
    assert.equal(response.status, 422);
    assert.match((await errorOf(response)).message, /broken\/test\/nshards\.txt: not found/);
  });
});

Deno.test("handler: the deadline aborts the evaluation (504) and leaves no worker", async () => {
  await withServer(
    { ...OPTIONS, settings: { ...OPTIONS.settings, numWorkers: 1 } },
    async (base, handler) => {
      // Load the model first, so that the deadline falls while the dataset is being read.
      const warm = await post(base, { model: "tiny-clip-demo", dataset: "classification" });
      assert.equal(warm.status, 200);
      await warm.body?.cancel();
      const started = performance.now();
      const response = await post(base, {
        model: "tiny-clip-demo",
        dataset: "fashion_mnist_1k",
        timeout_s: 0.3,
      });
      assert.equal(response.status, 504);
      assert.match(
        (await errorOf(response)).message,
        /did not finish within its deadline of 0\.3 s/,
      );
      assert.ok(performance.now() - started < 5000);
      assert.equal(handler.stats().running, 0);
      assert.equal(liveDecodeWorkers(), 0);

      // A streaming client that goes away stops its evaluation.
      const streamed = await post(
        base,
        { model: "tiny-clip-demo", dataset: "fashion_mnist_1k" },
        { accept: "application/x-ndjson" },
      );
      const reader = streamed.body!.getReader();
      await reader.read();
      assert.equal(handler.stats().running, 1);
      await reader.cancel();
      const cancelled = performance.now();
      while (handler.stats().running > 0 && performance.now() - cancelled < 5000) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      assert.equal(handler.stats().running, 0);
      assert.equal(liveDecodeWorkers(), 0);
    },
  );
});

Deno.test("handler: concurrent requests share one model load; beyond the limit, 503", async () => {
  await withServer({ ...OPTIONS, maxConcurrent: 3 }, async (base, handler) => {
    const requests = [0, 1, 2].map(() =>
      post(base, { model: "tiny-clip-demo", dataset: "classification" })
    );
    const responses = await Promise.all(requests);
    const results = await Promise.all(responses.map((r) => r.json()));
    assert.deepEqual(responses.map((r) => r.status), [200, 200, 200]);
    assert.deepEqual(comparable(results[1]), comparable(results[0]));
    assert.deepEqual(comparable(results[2]), comparable(results[0]));
    assert.equal(handler.stats().modelLoads, 1);
    assert.equal(handler.stats().modelsLoaded, 1);
    // Another precision of the same folder is another model.
    const other = await post(base, {
      model: "tiny-clip-demo",
      dataset: "classification",
      preprocess: "openclip",
    });
    assert.equal(other.status, 200);
    await other.body?.cancel();
    assert.equal(handler.stats().modelLoads, 2);
  });
  // Decoding in a worker, so that the main thread answers the second request meanwhile.
  const settings = { ...OPTIONS.settings, numWorkers: 1 };
  await withServer({ ...OPTIONS, maxConcurrent: 1, settings }, async (base) => {
    const slow = post(
      base,
      { model: "tiny-clip-demo", dataset: "fashion_mnist_1k" },
      { accept: "application/x-ndjson" },
    );
    const first = await slow;
    const reader = first.body!.getReader();
    await reader.read(); // started: the slot is taken
    const refused = await post(base, { model: "tiny-clip-demo", dataset: "classification" });
    assert.equal(refused.status, 503);
    assert.equal(refused.headers.get("retry-after"), "5");
    await refused.body?.cancel();
    while (!(await reader.read()).done) { /* drain */ }
  });
});
