/**
 * The evaluation handler over real HTTP on 127.0.0.1 with a PyTorch checkpoint under its model
 * root: the first request converts it into the server's cache and answers the result, a second
 * reuses the converted folder; a truncated weight file, and a dtype a checkpoint cannot have,
 * are 422 naming the file or option; no answer names a server path (the model root, the
 * checkpoint, the cache), and nothing half-converted is left in the cache.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { CONVERSION_RECORD } from "../../src/convert/convert.ts";
import type { EvaluationHandlerOptions } from "../../src/server/handler.ts";
import { entries, tinyCheckpoint } from "../convert/_generated_checkpoint.ts";
import { withServer } from "../_handler_server.ts";
import "../../tasks/mod.ts";

const DEMO_DATA_ROOT = new URL("../../examples/demo/data/", import.meta.url).pathname;
const TOKEN = "checkpoint-token";
const HEADERS = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" };

const WORK = await Deno.makeTempDir({ prefix: "clipbench_handler_ckpt_" });
globalThis.addEventListener("unload", () => Deno.removeSync(WORK, { recursive: true }));
const MODELS = join(WORK, "models");
const CACHE = join(WORK, "cache");
await tinyCheckpoint(join(MODELS, "tiny-ckpt"));
const TRUNCATED = await tinyCheckpoint(join(MODELS, "truncated-ckpt"), 1);
{
  const weights = join(TRUNCATED, "model.safetensors");
  const bytes = await Deno.readFile(weights);
  await Deno.writeFile(weights, bytes.subarray(0, bytes.length - 1000));
}

const OPTIONS: EvaluationHandlerOptions = {
  modelRoots: [MODELS],
  datasetRoots: [`${DEMO_DATA_ROOT}{dataset}`],
  token: TOKEN,
  settings: { cacheDir: CACHE, numWorkers: 0, batchSize: 8 },
  log: () => {},
};

function post(base: string, body: unknown): Promise<Response> {
  return fetch(`${base}/v1/evaluate`, {
    method: "POST",
    headers: HEADERS,
    body: JSON.stringify(body),
  });
}

/** The answer's text, checked to name no server path. */
async function textWithoutServerPaths(response: Response): Promise<string> {
  const text = await response.text();
  for (const path of [WORK, MODELS, CACHE, await Deno.realPath(WORK)]) {
    assert.ok(!text.includes(path), `a server path leaked: ${text.slice(0, 500)}`);
  }
  assert.doesNotMatch(text, /converted\/[0-9a-f]{64}/);
  return text;
}

/** The folders under the cache's converted/ (none when it does not exist). */
async function convertedFolders(): Promise<string[]> {
  try {
    return await entries(join(CACHE, "converted"));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
}

Deno.test("handler: a checkpoint is converted on first use, evaluated, and reused", async () => {
  await withServer(OPTIONS, async (base, handler) => {
    const request = { model: "tiny-ckpt", dataset: "fashion_mnist_1k", limit: 16 };
    const first = await post(base, request);
    const text = await textWithoutServerPaths(first);
    assert.equal(first.status, 200, text);
    const result = JSON.parse(text);
    assert.equal(result.n_samples, 16);
    assert.equal(result.task, "zeroshot_classification");
    const [converted, ...others] = await convertedFolders();
    assert.deepEqual(others, []);
    const recordPath = join(CACHE, "converted", converted, CONVERSION_RECORD);
    const written = (await Deno.stat(recordPath)).mtime;

    const second = await post(base, request);
    const again = await textWithoutServerPaths(second);
    assert.equal(second.status, 200, again);
    // The same result; only the run record (times, runtime) of the block differs.
    const { clipbench: { time: _t1, runtime: _r1, ...block }, ...fields } = JSON.parse(again);
    const { clipbench: { time: _t2, runtime: _r2, ...firstBlock }, ...firstFields } = result;
    assert.deepEqual({ ...fields, block }, { ...firstFields, block: firstBlock });
    assert.deepEqual(await convertedFolders(), [converted]);
    assert.deepEqual((await Deno.stat(recordPath)).mtime, written);
    assert.equal(handler.stats().modelLoads, 1);
  });
  // A new handler (a restarted server) finds the converted folder in the cache.
  await withServer(OPTIONS, async (base) => {
    const response = await post(base, {
      model: "tiny-ckpt",
      dataset: "fashion_mnist_1k",
      limit: 8,
    });
    const text = await textWithoutServerPaths(response);
    assert.equal(response.status, 200, text);
    assert.equal(JSON.parse(text).n_samples, 8);
    assert.equal((await convertedFolders()).length, 1);
  });
});

Deno.test("handler: a truncated model.safetensors is 422 naming the file, not the server path", async () => {
  await withServer(OPTIONS, async (base) => {
    const before = await convertedFolders();
    const response = await post(base, {
      model: "truncated-ckpt",
      dataset: "fashion_mnist_1k",
      limit: 16,
    });
    const text = await textWithoutServerPaths(response);
    assert.equal(response.status, 422, text);
    const { error } = JSON.parse(text);
    assert.equal(error.status, 422);
    assert.match(error.message, /truncated-ckpt\/model\.safetensors/);
    assert.doesNotMatch(text, /at .*\.ts:\d+/); // no stack trace
    // Nothing half-written is left in the cache.
    assert.deepEqual(await convertedFolders(), before);
  });
});

Deno.test("handler: a checkpoint asked for with a quantised dtype is 422 naming the option", async () => {
  await withServer(OPTIONS, async (base) => {
    const response = await post(base, {
      model: "tiny-ckpt",
      dataset: "fashion_mnist_1k",
      limit: 8,
      dtype: "q8",
    });
    const text = await textWithoutServerPaths(response);
    assert.equal(response.status, 422, text);
    const { error } = JSON.parse(text);
    assert.match(error.message, /^tiny-ckpt is a PyTorch checkpoint: .*--dtype q8/);
  });
});
