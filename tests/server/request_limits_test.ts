/**
 * What one request may ask of the evaluation handler (issue 9, item 4) and how it treats clients
 * that go away (item 11), over real HTTP on 127.0.0.1: the batch size and the zero-shot prompts
 * (count, length once filled, characters in all; inline and the dataset's own) are limited, each
 * a 400 naming the limit and the field, before any model is loaded; a body cut short is a 400; a
 * plain-JSON client that disconnects stops its evaluation.
 */
import assert from "node:assert/strict";
import { liveDecodeWorkers } from "../../src/pipeline/decode_pool.ts";
import {
  createEvaluationHandler,
  type EvaluationHandlerOptions,
} from "../../src/server/handler.ts";
import { writeShardedDataset } from "../_shard_fixtures.ts";
import "../../tasks/mod.ts";
import { withServer } from "../_handler_server.ts";

const DIR = await Deno.makeTempDir({ prefix: "clipbench_limits_" });
globalThis.addEventListener("unload", () => Deno.removeSync(DIR, { recursive: true }));
await writeShardedDataset(DIR, "classification", { shardSizes: [8, 8] });
const CLASSES = 10;

const OPTIONS: EvaluationHandlerOptions = {
  modelRoots: [new URL("../../examples/demo/", import.meta.url).pathname],
  datasetRoots: [`${DIR}/{dataset}`],
  auth: false,
  settings: { noCache: true, cacheDir: `${DIR}/cache`, numWorkers: 0, batchSize: 8 },
  log: () => {},
};
const GOOD = { model: "tiny-clip-demo", dataset: "classification" };

function post(base: string, body: unknown, init: RequestInit = {}) {
  return fetch(`${base}/v1/evaluate`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    ...init,
  });
}

async function errorOf(response: Response) {
  return (await response.json()).error as { status: number; message: string; field?: string };
}

/** Expects a 400 naming `field` and the limit `option`. */
async function expectLimit(response: Response, field: string, option: string, what: RegExp) {
  assert.equal(response.status, 400);
  const error = await errorOf(response);
  assert.equal(error.field, field, error.message);
  assert.match(error.message, what);
  assert.match(error.message, new RegExp(`limit of \\d+ \\(${option}, --`));
}

Deno.test("limits: batch_size above the limit is 400 naming it; the limit is configurable", async () => {
  await withServer(OPTIONS, async (base, handler) => {
    const huge = await post(base, { ...GOOD, batch_size: 1e9 });
    await expectLimit(huge, "batch_size", "maxBatchSize", /batch_size 1000000000 is more than/);
    const above = await post(base, { ...GOOD, batch_size: 257 });
    await expectLimit(above, "batch_size", "maxBatchSize", /limit of 256 /);
    assert.equal(handler.stats().modelLoads, 0);
  });
  await withServer({ ...OPTIONS, maxBatchSize: 300 }, async (base) => {
    const response = await post(base, { ...GOOD, batch_size: 300 });
    assert.equal(response.status, 200);
    assert.equal((await response.json()).n_samples, 16);
  });
  assert.throws(() => createEvaluationHandler({ ...OPTIONS, maxPrompts: 0 }), /maxPrompts/);
});

Deno.test("limits: the issue's 46 KB body of huge prompts is refused at once", async () => {
  await withServer(OPTIONS, async (base, handler) => {
    const started = performance.now();
    const response = await post(base, {
      ...GOOD,
      classnames: Array.from({ length: CLASSES }, (_, i) => `${i}`.padEnd(600, "x")),
      templates: Array.from({ length: 10 }, () => "{c}".repeat(1000)),
      timeout_s: 30,
    });
    await expectLimit(
      response,
      "templates",
      "maxPromptLength",
      /a prompt of 600000 characters once \{c\} is filled/,
    );
    assert.ok(performance.now() - started < 5000);
    assert.equal(handler.stats().modelLoads, 0);
  });
});

Deno.test("limits: prompt count, length and characters, inline or the dataset's own", async () => {
  const templates = ["a {c}", "the {c}", "{c}!", "{{{c}}}", "x {c} y", "{c} {c}"];
  await withServer({ ...OPTIONS, maxPrompts: 50 }, async (base) => {
    // 6 inline templates × the dataset's 10 class names.
    const response = await post(base, { ...GOOD, templates });
    await expectLimit(response, "templates", "maxPrompts", /60 prompts/);
    const fits = await post(base, { ...GOOD, templates: templates.slice(0, 5) });
    assert.equal(fits.status, 200);
    await fits.body?.cancel();
  });
  await withServer({ ...OPTIONS, maxPromptLength: 30 }, async (base) => {
    // The dataset's own templates ("a black and white photo of a {c}." …) are too long.
    const own = await post(base, GOOD);
    await expectLimit(own, "dataset", "maxPromptLength", /a prompt of \d+ characters/);
    // Inline class names with the dataset's templates: the class names are blamed.
    const names = Array.from({ length: CLASSES }, (_, i) => `class ${i}`.padEnd(28, "."));
    const withOwn = await post(base, { ...GOOD, classnames: names });
    // "a black and white photo of a {c}." with 28 characters: 58.
    await expectLimit(withOwn, "classnames", "maxPromptLength", /a prompt of 58 characters/);
    // With inline templates too, the templates are.
    const inline = await post(base, { ...GOOD, classnames: names, templates });
    // "{c} {c}" with 28 characters: 57.
    await expectLimit(inline, "templates", "maxPromptLength", /a prompt of 57 characters/);
    const short = await post(base, { ...GOOD, classnames: names, templates: ["{c}"] });
    assert.equal(short.status, 200);
    await short.body?.cancel();
    // Class-specific prompts are measured as they are.
    const byClass = Object.fromEntries(names.map((name) => [name, [`the ${name}`]]));
    const specific = await post(base, { ...GOOD, classnames: names, templates: byClass });
    await expectLimit(specific, "templates", "maxPromptLength", /a prompt of 32 characters/);
  });
  await withServer({ ...OPTIONS, maxPromptChars: 100 }, async (base) => {
    const names = Array.from({ length: CLASSES }, (_, i) => `c${i}`);
    // 10 × ("a " + 2) + 10 × ("{" + 2 + "}") = 40 + 40.
    const fits = await post(base, { ...GOOD, classnames: names, templates: ["a {c}", "{{{c}}}"] });
    assert.equal(fits.status, 200);
    await fits.body?.cancel();
    const over = await post(base, {
      ...GOOD,
      classnames: names,
      templates: ["a {c}", "{{{c}}}", "{c}!"],
    });
    await expectLimit(over, "templates", "maxPromptChars", /110 prompt characters in all/);
    const overNames = await post(base, {
      ...GOOD,
      classnames: names.map((name) => name.padEnd(11, "_")),
    });
    await expectLimit(overNames, "classnames", "maxPromptChars", /prompt characters in all/);
  });
});

Deno.test("client: a body cut short during its upload is 400", async () => {
  const lines: string[] = [];
  await withServer({ ...OPTIONS, log: (line) => lines.push(line) }, async (_base, _h, port) => {
    const connection = await Deno.connect({ hostname: "127.0.0.1", port });
    const timer = setTimeout(() => connection.close(), 10_000);
    try {
      await connection.write(new TextEncoder().encode(
        "POST /v1/evaluate HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n" +
          'content-length: 400\r\n\r\n{"model": "tiny-clip-demo", ',
      ));
      await connection.closeWrite();
      const answer = new TextDecoder().decode(
        await new Response(connection.readable).arrayBuffer(),
      );
      assert.match(answer, /^HTTP\/1\.1 400 /);
      assert.match(answer, /the request body could not be read: its upload was cut short/);
    } finally {
      clearTimeout(timer);
    }
  });
  assert.ok(lines.some((line) => / POST \/v1\/evaluate 400 /.test(line)), lines.join("\n"));
  assert.ok(!lines.some((line) => /internal error/.test(line)), lines.join("\n"));
});

Deno.test("client: a plain-JSON client that disconnects stops its evaluation", async () => {
  // The dataset over HTTP, its shards held back until their reader goes away.
  let shardAsked!: () => void;
  const asked = new Promise<void>((resolve) => shardAsked = resolve);
  let release!: () => void;
  const released = new Promise<void>((resolve) => release = resolve);
  const files = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const path = new URL(req.url).pathname;
    if (path.endsWith(".tar")) {
      shardAsked();
      await Promise.race([
        released,
        new Promise((resolve) => req.signal.addEventListener("abort", resolve, { once: true })),
      ]);
      return new Response("gone", { status: 404 });
    }
    try {
      return new Response(await Deno.readFile(`${DIR}${path}`));
    } catch {
      return new Response("not found", { status: 404 });
    }
  });
  const lines: string[] = [];
  const options: EvaluationHandlerOptions = {
    ...OPTIONS,
    datasetRoots: [`http://127.0.0.1:${files.addr.port}/{dataset}`],
    deadlineSeconds: 120,
    log: (line) => lines.push(line),
  };
  try {
    await withServer(options, async (base, handler) => {
      try {
        const client = new AbortController();
        const answer = post(base, GOOD, { signal: client.signal });
        await Promise.race([
          asked,
          answer.then((response) => {
            throw new Error(`answered before reading a shard: ${response.status}`);
          }),
        ]);
        assert.equal(handler.stats().running, 1);
        client.abort();
        await assert.rejects(answer);
        const gone = performance.now();
        while (handler.stats().running > 0 && performance.now() - gone < 5000) {
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        assert.equal(handler.stats().running, 0, "the evaluation went on without its client");
        assert.equal(liveDecodeWorkers(), 0);
      } finally {
        release(); // Before the server's shutdown, which waits for its requests.
      }
    });
  } finally {
    release();
    await files.shutdown();
  }
  assert.ok(lines.some((line) => / POST \/v1\/evaluate 499 /.test(line)), lines.join("\n"));
});
