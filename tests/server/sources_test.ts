/**
 * The evaluation handler's allow-list against escapes (issue 9, item 2) and its answers against
 * server-path leaks (item 10), over real HTTP on 127.0.0.1: `split` cannot leave the dataset
 * (`..`, `%2e%2e`, backslashes, absolute paths, symbolic links), a symlinked dataset folder that
 * points outside its root is refused, every "not there" dataset gets one message, no file outside
 * the allowed roots is read (nor its content quoted), and no answer — 422 messages, NDJSON
 * errors, results, a shard's partial — names a server path.
 */
import assert from "node:assert/strict";
import { decodePartial } from "../../src/results/partial/partial_file.ts";
import type { EvaluationHandlerOptions } from "../../src/server/handler.ts";
import { DEMO_MODEL, writeShardedDataset } from "../_shard_fixtures.ts";
import "../../tasks/mod.ts";
import { withServer } from "../_handler_server.ts";

/** A distinctive folder: no answer may contain its name. */
const DIR = await Deno.makeTempDir({ prefix: "clipbench_srv_private_7f3e_" });
globalThis.addEventListener("unload", () => Deno.removeSync(DIR, { recursive: true }));
const DATA = `${DIR}/data`;
const MODELS = `${DIR}/models`;
const SECRET = "TOP-SECRET-CONTENT-31415";

await writeShardedDataset(DATA, "classification", { shardSizes: [6, 6], broken: [2] });
// Outside the root: a whole dataset, and a folder whose nshards.txt holds a secret.
await writeShardedDataset(`${DIR}/secret`, "classification", { shardSizes: [4] });
await Deno.rename(`${DIR}/secret/classification`, `${DIR}/secret/evil`);
await Deno.mkdir(`${DIR}/secret/leak`, { recursive: true });
await Deno.writeTextFile(`${DIR}/secret/leak/nshards.txt`, SECRET);
// Inside the root, links that point outside it: a dataset folder and a split folder.
await Deno.symlink(`${DIR}/secret/evil`, `${DATA}/linked`);
await Deno.symlink(`${DIR}/secret/evil/test`, `${DATA}/classification/outside`);
// A link that stays inside the root is fine.
await Deno.symlink(`${DATA}/classification`, `${DATA}/alias`);
await Deno.writeTextFile(`${DATA}/classification/afile`, "not a folder");
// Datasets that fail: no nshards.txt; a shard missing.
await Deno.mkdir(`${DATA}/broken/test`, { recursive: true });
await writeShardedDataset(`${DIR}/tmp`, "classification", { shardSizes: [3] });
await Deno.rename(`${DIR}/tmp/classification`, `${DATA}/noshard`);
await Deno.writeTextFile(`${DATA}/noshard/test/nshards.txt`, "2\n");
// Models: a copy of the demo model, one without config.json, one with a broken graph.
await Deno.mkdir(MODELS);
await copyFolder(DEMO_MODEL, `${MODELS}/tiny`);
await Deno.mkdir(`${MODELS}/noconfig`);
await copyFolder(DEMO_MODEL, `${MODELS}/badgraph`);
await Deno.writeTextFile(`${MODELS}/badgraph/onnx/text_model.onnx`, "not a graph");

async function copyFolder(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const entry of Deno.readDir(from)) {
    if (entry.isDirectory) await copyFolder(`${from}/${entry.name}`, `${to}/${entry.name}`);
    else await Deno.copyFile(`${from}/${entry.name}`, `${to}/${entry.name}`);
  }
}

const OPTIONS: EvaluationHandlerOptions = {
  modelRoots: [MODELS],
  datasetRoots: [`${DATA}/{dataset}`],
  auth: false,
  settings: { noCache: true, cacheDir: `${DIR}/cache`, numWorkers: 0, batchSize: 8 },
  log: () => {},
};

function post(base: string, body: unknown, headers: Record<string, string> = {}) {
  return fetch(`${base}/v1/evaluate`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
}

/** The body's text, checked to hold neither the private folder nor the secret. */
async function textOf(response: Response): Promise<string> {
  const text = await response.text();
  assert.ok(!text.includes(DIR), `a server path leaked: ${text.slice(0, 500)}`);
  assert.ok(!text.includes("clipbench_srv_private"), `a server path leaked: ${text}`);
  assert.ok(!text.includes(SECRET), `file content leaked: ${text}`);
  return text;
}

async function errorOf(response: Response) {
  return JSON.parse(await textOf(response)).error as {
    status: number;
    message: string;
    field?: string;
  };
}

const GOOD = { model: "tiny", dataset: "classification", max_skipped: 0.5 };

Deno.test("sources: a split that is not plain relative segments is 400, nothing outside is read", async () => {
  await withServer(OPTIONS, async (base) => {
    for (
      const split of [
        "../../../secret/evil/test",
        "../../../secret/leak",
        "../../secret/evil/test",
        "%2e%2e/%2e%2e/secret/evil/test",
        "..\\..\\secret\\evil\\test",
        "/srv/secret/evil/test",
        ".hidden",
        "test/../../evil/test",
        "test/",
        "",
      ]
    ) {
      const response = await post(base, { ...GOOD, split });
      assert.equal(response.status, 400, split);
      const error = await errorOf(response);
      assert.equal(error.field, "split", split);
      assert.match(error.message, /split must be a (plain relative name|non-empty string)/, split);
    }
    // The same for a hub revision.
    const revision = await post(base, { ...GOOD, revision: "../main" });
    assert.equal(revision.status, 400);
    assert.equal((await errorOf(revision)).field, "revision");
  });
});

Deno.test("sources: symbolic links out of the root are refused; every absent dataset gets one message", async () => {
  await withServer(OPTIONS, async (base) => {
    const messages = new Map<string, string>();
    const cases: [string, Record<string, unknown>][] = [
      ["linked dataset", { dataset: "linked" }],
      ["linked split", { split: "outside" }],
      ["missing split", { split: "nope" }],
      ["split that is a file", { split: "afile" }],
      ["missing dataset", { dataset: "nosuch" }],
      ["missing split, root given", { split: "nope", dataset_root: `${DATA}/{dataset}` }],
    ];
    for (const [what, fields] of cases) {
      const response = await post(base, { ...GOOD, ...fields });
      assert.equal(response.status, 404, what);
      const error = await errorOf(response);
      assert.equal(error.field, "dataset", what);
      // One message, whatever the reason: only the names the request gave differ.
      const name = String(fields.dataset ?? GOOD.dataset);
      const split = String(fields.split ?? "test");
      messages.set(what, error.message.replace(JSON.stringify(name), "D").replace(split, "S"));
    }
    assert.deepEqual(new Set(messages.values()).size, 1, JSON.stringify([...messages]));
    assert.match(
      [...messages.values()][0],
      /^dataset D \(split "S"\) is not under the allowed dataset roots/,
    );
    // A link that stays inside the root is used like the folder it points to.
    const alias = await post(base, { ...GOOD, dataset: "alias" });
    assert.equal(alias.status, 200, await alias.clone().text());
    assert.equal(JSON.parse(await textOf(alias)).n_samples, 11);
  });
});

Deno.test("sources: on an http root, split cannot reach a URL outside the prefix", async () => {
  const seen: string[] = [];
  const files = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const path = new URL(req.url).pathname;
    seen.push(path);
    try {
      return new Response(await Deno.readFile(`${DIR}${path.replace(/^\/allowed/, "/data")}`));
    } catch {
      return new Response("not found", { status: 404 });
    }
  });
  const root = `http://127.0.0.1:${files.addr.port}/allowed/{dataset}`;
  try {
    await withServer({ ...OPTIONS, datasetRoots: [root] }, async (base) => {
      for (const split of ["../../secret/evil/test", "%2e%2e/%2e%2e/secret/evil/test"]) {
        const response = await post(base, { ...GOOD, split });
        assert.equal(response.status, 400, split);
        assert.equal((await errorOf(response)).field, "split");
      }
      const good = await post(base, GOOD);
      assert.equal(good.status, 200);
      const result = JSON.parse(await textOf(good));
      assert.equal(result.n_samples, 11);
      // The skipped sample's shard is named by the dataset, not by the server's URL.
      assert.equal(result.skipped[0].source, "classification/test/0.tar");
    });
  } finally {
    await files.shutdown();
  }
  assert.ok(seen.length > 0);
  for (const path of seen) assert.match(path, /^\/allowed\/classification\//);
});

Deno.test("sources: no answer names a server path (422s, NDJSON errors, results, partials)", async () => {
  await withServer(OPTIONS, async (base) => {
    const failing: [Record<string, unknown>, RegExp][] = [
      [{ ...GOOD, model: "noconfig" }, /noconfig\/config\.json/],
      [{ ...GOOD, model: "badgraph" }, /badgraph/],
      [{ ...GOOD, dataset: "broken" }, /^broken\/test\/nshards\.txt: not found/],
      [{ ...GOOD, dataset: "noshard" }, /noshard\/test\/1\.tar/],
    ];
    for (const [body, message] of failing) {
      const response = await post(base, body);
      assert.equal(response.status, 422, JSON.stringify(body));
      assert.match((await errorOf(response)).message, message);
      const streamed = await post(base, body, { accept: "application/x-ndjson" });
      const last = JSON.parse((await textOf(streamed)).trim().split("\n").at(-1)!);
      assert.equal(last.event, "error");
      assert.match(last.error.message, message);
    }
    // A result lists its skipped sample under the dataset's name.
    const result = await post(base, GOOD);
    assert.equal(result.status, 200);
    const parsed = JSON.parse(await textOf(result));
    assert.equal(parsed.n_skipped, 1);
    assert.equal(parsed.skipped[0].source, "classification/test/0.tar");
    // A shard's partial names the dataset root as the dataset, not as a server folder.
    const shard = await post(base, { ...GOOD, shard: "0/1" });
    assert.equal(shard.status, 200);
    const bytes = new Uint8Array(await shard.arrayBuffer());
    const text = new TextDecoder().decode(bytes);
    assert.ok(!text.includes(DIR), "the partial names a server path");
    const partial = decodePartial(bytes, "shard 0");
    assert.equal(partial.outcome.datasetRoot, "classification");
    assert.equal(partial.outcome.skipped[0].source, "classification/test/0.tar");
  });
});
