/**
 * `datasets --dataset-root`: the datasets found under a local folder and under an HTTP root served
 * on 127.0.0.1 (src/dataset/root_listing.ts).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  findDatasetsUnderRoot,
  listDatasetsUnderRoot,
  rootTemplate,
} from "../../src/dataset/root_listing.ts";

/** A root folder: three WebDatasets, a custom retrieval folder, a broken one and clutter. */
async function makeRoot(): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "clipbench_root_" });
  const write = async (path: string, text: string) => {
    await Deno.mkdir(join(root, path, ".."), { recursive: true });
    await Deno.writeTextFile(join(root, path), text);
  };
  for (const name of ["mnist", "my_fashion"]) {
    await write(`${name}/test/nshards.txt`, "2\n");
    await write(`${name}/classnames.txt`, "zero\none\n");
    await write(`${name}/zeroshot_classification_templates.txt`, "a photo of {c}.\n");
  }
  await write("flickr30k/test/nshards.txt", "5\n");
  await write("flickr30k/dataset_type.txt", "retrieval\n");
  await write("cars/test/nshards.txt", "many\n"); // broken
  await write("my_queries/image_queries.jsonl", "{}\n");
  await write("notes/readme.txt", "not a dataset\n");
  await write("file.txt", "clutter\n");
  return root;
}

Deno.test("root listing: the datasets of a local folder, by its entries", async () => {
  const root = await makeRoot();
  try {
    const found = await findDatasetsUnderRoot(root);
    assert.deepEqual(
      found.map(({ name, task, nshards }) => ({ name, task, nshards })),
      [
        { name: "cars", task: "?", nshards: undefined },
        { name: "flickr30k", task: "retrieval", nshards: 5 },
        { name: "mnist", task: "classification", nshards: 2 },
        { name: "my_fashion", task: "classification", nshards: 2 },
        { name: "my_queries", task: "custom retrieval", nshards: undefined },
      ],
    );
    assert.match(found[0].error!, /nshards\.txt/);
    assert.equal(found[2].location, join(root, "mnist"));
    // The same with {dataset} in the root, and with text around it.
    assert.deepEqual(
      (await findDatasetsUnderRoot(join(root, "{dataset}"))).map((d) => d.name),
      found.map((d) => d.name),
    );
    assert.deepEqual((await findDatasetsUnderRoot(join(root, "my_{dataset}"))).map((d) => d.name), [
      "fashion",
      "queries",
    ]);
    // Another split: only the custom folder (which has no splits) is left.
    assert.deepEqual(
      (await findDatasetsUnderRoot(root, { split: "train" })).map((d) => d.name),
      ["my_queries"],
    );
    assert.match(
      await listDatasetsUnderRoot(join(root, "notes"), { split: "train" }),
      /^no dataset under .* \(none has train\/nshards\.txt or image_queries\.jsonl\)$/,
    );
    const table = await listDatasetsUnderRoot(root);
    assert.match(table, /^name\s+task\s+test shards\s+location$/m);
    assert.match(table, /^flickr30k\s+retrieval\s+5\s+\S+flickr30k$/m);
    assert.match(table, /^cars\s+\?\s+error\s+/m);
    // A missing folder has no datasets.
    assert.deepEqual(await findDatasetsUnderRoot(join(root, "absent")), []);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("root listing: an HTTP root is probed for the registered names", async () => {
  const root = await makeRoot();
  const requested: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const path = decodeURIComponent(new URL(request.url).pathname);
    requested.push(path);
    if (!path.startsWith("/wds/")) return new Response("no", { status: 404 });
    try {
      return new Response(await Deno.readFile(join(root, path.slice("/wds/".length))));
    } catch {
      return new Response("not found", { status: 404 });
    }
  });
  try {
    const base = `http://127.0.0.1:${server.addr.port}/wds`;
    assert.equal(rootTemplate(`${base}/`), `${base}/{dataset}`);
    const found = await findDatasetsUnderRoot(base);
    // my_fashion and my_queries are not registered names: an HTTP root cannot be listed.
    assert.deepEqual(found.map((d) => [d.name, d.task, d.nshards ?? null]), [
      ["cars", "?", null],
      ["flickr30k", "retrieval", 5],
      ["mnist", "classification", 2],
    ]);
    assert.equal(found[2].location, `${base}/mnist`);
    assert.ok(requested.includes("/wds/imagenet1k/test/nshards.txt"), "every name is probed");
  } finally {
    await server.shutdown();
    await Deno.remove(root, { recursive: true });
  }
});
