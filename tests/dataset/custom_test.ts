import assert from "node:assert/strict";
import { openWebDataset } from "../../src/dataset/wds.ts";
import { DatasetError } from "../../src/errors.ts";
import { openCustomDataset, parseQueries } from "../../src/dataset/custom.ts";
import { ClipModel } from "../../src/model/model.ts";
import type { SkippedSample } from "../../src/results/result.ts";
import type { Sample } from "../../src/dataset/webdataset.ts";
import { sampleCaptions } from "../../tasks/zeroshot_retrieval/captions.ts";
import { evaluateZeroShotRetrieval } from "../../tasks/zeroshot_retrieval/mod.ts";
import { makeTar, readTarMembers } from "../_tar_writer.ts";

const DEMO = new URL("../../examples/demo/", import.meta.url).pathname;
const demoMembers = readTarMembers(
  await Deno.readFile(`${DEMO}data/fashion_mnist_1k/test/0.tar`),
);
const png = (index: number) => demoMembers[2 * index + 1].data;

async function collect(iterable: AsyncIterable<Sample | SkippedSample>) {
  const out: (Sample | SkippedSample)[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

Deno.test("parseQueries: list or string queries, blank lines ignored, line numbers kept", () => {
  const text = [
    '{"image_path": "a.png", "query": ["a cat", "", " padded "]}',
    "",
    '   {"query": "one caption", "image_path": "/abs/b.jpg"}\r',
    '{"image_path": "c.webp", "query": []}',
    "",
  ].join("\n");
  assert.deepEqual(parseQueries(text, "q.jsonl"), [
    { line: 1, imagePath: "a.png", captions: ["a cat", "", " padded "] },
    { line: 3, imagePath: "/abs/b.jpg", captions: ["one caption"] },
    { line: 4, imagePath: "c.webp", captions: [] },
  ]);
});

Deno.test("parseQueries: a malformed line is an error naming the file and the line", () => {
  const bad: [string, RegExp][] = [
    ["{not json", /not valid JSON/],
    ['["a.png", "x"]', /expected a JSON object/],
    ['{"query": ["x"]}', /"image_path" must be a non-empty string, found nothing/],
    ['{"image_path": "", "query": ["x"]}', /"image_path" must be a non-empty string/],
    ['{"image_path": 3, "query": ["x"]}', /"image_path" must be a non-empty string, found 3/],
    ['{"image_path": "a.png"}', /"query" must be a string or a list of strings/],
    ['{"image_path": "a.png", "query": null}', /"query" must be a string or a list/],
    ['{"image_path": "a.png", "query": ["x", 2]}', /"query"\[1\] must be a string, found 2/],
    ['{"image_path": "a.png", "query": ["x"], "id": 1}', /unknown key "id"/],
    ['{"image_path": "a.png", "query": ["x", "two\\nlines"]}', /caption 1 .* line break/],
    ['{"image_path": "a.png", "query": "u\\u2028v"}', /caption 0 .* line break/],
  ];
  for (const [line, message] of bad) {
    const text = `{"image_path": "ok.png", "query": "fine"}\n\n${line}\n`;
    assert.throws(
      () => parseQueries(text, "/data/image_queries.jsonl"),
      (e: unknown) =>
        e instanceof DatasetError && e.message.startsWith("/data/image_queries.jsonl:3: ") &&
        message.test(e.message) && e.path === "/data/image_queries.jsonl",
      line,
    );
  }
});

Deno.test("samples: images beside the file, then in the working directory; missing ones skipped", async () => {
  const root = await Deno.makeTempDir();
  const cwd = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${root}/images`);
    await Deno.writeFile(`${root}/images/0.png`, png(0));
    await Deno.writeFile(`${cwd}/only_in_cwd.PNG`, png(1));
    await Deno.writeFile(`${root}/1.png`, png(2));
    await Deno.writeFile(`${cwd}/1.png`, png(3)); // shadowed by the one beside the file
    await Deno.writeFile(`${cwd}/abs.jpg`, png(4)); // a PNG named .jpg: formats come from bytes
    await Deno.writeFile(`${root}/no_extension`, png(5));
    const lines = [
      { image_path: "images/0.png", query: ["first", "", " second "] },
      { image_path: "only_in_cwd.PNG", query: "only one" },
      { image_path: "1.png", query: ["x"] },
      { image_path: `${cwd}/abs.jpg`, query: ["y"] },
      { image_path: "missing.png", query: ["z"] },
      { image_path: "no_extension", query: ["w"] },
    ];
    await Deno.writeTextFile(
      `${root}/image_queries.jsonl`,
      lines.map((l) => JSON.stringify(l)).join("\n\n") + "\n",
    );
    const dataset = await openCustomDataset(root, { workingDirectory: cwd });
    assert.equal(dataset.type, "retrieval");
    assert.equal(dataset.queriesPath, `${root}/image_queries.jsonl`);
    assert.deepEqual(dataset.shardUrls, [`${root}/image_queries.jsonl`]);
    const samples = await collect(dataset.samples());
    assert.deepEqual(samples.map((s) => s.key), [
      "line 1",
      "line 3",
      "line 5",
      "line 7",
      "line 9",
      "line 11",
    ]);
    assert.ok(samples.every((s) => s.source === dataset.queriesPath));
    const [first, second, third, fourth, missing, bare] = samples as Sample[];
    assert.deepEqual([...first.fields.keys()], ["png", "txt"]);
    assert.deepEqual(first.fields.get("png"), png(0));
    assert.deepEqual(sampleCaptions(first), ["first", "", " second "]);
    assert.deepEqual(second.fields.get("png"), png(1));
    assert.deepEqual(sampleCaptions(second), ["only one"]);
    assert.deepEqual(third.fields.get("png"), png(2));
    assert.deepEqual(fourth.fields.get("jpg"), png(4));
    assert.deepEqual(bare.fields.get("jpg"), png(5));
    assert.ok(!("fields" in missing));
    const skip = missing as unknown as SkippedSample;
    assert.match(skip.reason, /image "missing\.png" not found/);
    assert.ok(
      skip.reason.includes(`${root}/missing.png`) && skip.reason.includes(`${cwd}/missing.png`),
    );

    assert.deepEqual((await collect(dataset.samples({ limit: 2 }))).map((s) => s.key), [
      "line 1",
      "line 3",
    ]);
    assert.equal((await collect(dataset.samples({ limit: 0 }))).length, 0);
  } finally {
    await Deno.remove(root, { recursive: true });
    await Deno.remove(cwd, { recursive: true });
  }
});

Deno.test("open: a folder without image_queries.jsonl is an error naming the path", async () => {
  const root = await Deno.makeTempDir();
  try {
    await assert.rejects(
      openCustomDataset(root),
      (e: unknown) =>
        e instanceof DatasetError && e.message.includes(`${root}/image_queries.jsonl`),
    );
    await Deno.writeFile(`${root}/image_queries.jsonl`, Uint8Array.of(0x7b, 0xff, 0x0a));
    await assert.rejects(openCustomDataset(root), /not valid UTF-8/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("retrieval on a custom dataset equals retrieval on the same data as a WebDataset", async () => {
  const model = await ClipModel.load(`${DEMO}tiny-clip-demo`);
  const root = await Deno.makeTempDir();
  try {
    const names = ["T-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt"];
    const records = Array.from({ length: 24 }, (_, i) => ({
      image_path: `img/${i}.png`,
      query: Array.from({ length: 1 + (i % 3) }, (_, j) => `a photo of a ${names[(i + j) % 7]}.`),
    }));
    await Deno.mkdir(`${root}/img`);
    for (let i = 0; i < records.length; i++) await Deno.writeFile(`${root}/img/${i}.png`, png(i));
    // One missing image and one image without captions: both skipped, both listed.
    const lines = [
      ...records.slice(0, 10),
      { image_path: "img/none.png", query: ["a bag"] },
      { image_path: "img/0.png", query: [] },
      ...records.slice(10),
    ];
    await Deno.writeTextFile(
      `${root}/image_queries.jsonl`,
      lines.map((l) => JSON.stringify(l)).join("\n"),
    );
    const wds = `${root}/wds`;
    await Deno.mkdir(`${wds}/test`, { recursive: true });
    await Deno.writeTextFile(`${wds}/test/nshards.txt`, "1\n");
    await Deno.writeTextFile(`${wds}/dataset_type.txt`, "retrieval\n");
    await Deno.writeFile(
      `${wds}/test/0.tar`,
      makeTar(records.flatMap((r, i) => [
        { name: `s${i}.png`, data: png(i) },
        { name: `s${i}.txt`, data: r.query.join("\n") },
      ])),
    );
    const custom = await evaluateZeroShotRetrieval(model, await openCustomDataset(root), {
      datasetName: "custom",
      batchSize: 8,
      recallK: [1, 5],
      maxSkippedFraction: 0.1,
    });
    const reference = await evaluateZeroShotRetrieval(model, await openWebDataset(wds), {
      datasetName: "custom",
      batchSize: 8,
      recallK: [1, 5],
    });
    assert.deepEqual(custom.metrics, reference.metrics);
    assert.equal(custom.n_images, 24);
    assert.equal(custom.n_captions, reference.n_captions);
    assert.deepEqual(custom.skipped.map((s) => s.key), ["line 11", "line 12"]);
    assert.match(custom.skipped[0].reason, /image "img\/none\.png" not found/);
    assert.match(custom.skipped[1].reason, /no captions/);
  } finally {
    await model.release();
    await Deno.remove(root, { recursive: true });
  }
});
