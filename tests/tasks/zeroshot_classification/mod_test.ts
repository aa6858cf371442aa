import assert from "node:assert/strict";
import { openWebDataset, type WebDataset } from "../../../src/dataset/wds.ts";
import { DatasetError } from "../../../src/errors.ts";
import { decodeImage } from "../../../src/image/decode/mod.ts";
import { ClassificationAccumulator } from "../../../src/metrics/classification.ts";
import { MultilabelAccumulator } from "../../../src/metrics/multilabel.ts";
import { ClipModel } from "../../../src/model/model.ts";
import {
  promptOverridesFor,
  readClassnamesFile,
  readTemplatesFile,
} from "../../../src/dataset/prompts.ts";
import { imageField, labelField } from "../../../src/dataset/webdataset.ts";
import {
  buildZeroShotClassifier,
  classificationLogits,
} from "../../../tasks/zeroshot_classification/classifier.ts";
import { evaluateZeroShotClassification } from "../../../tasks/zeroshot_classification/mod.ts";
import { npyFile, TARGET_DTYPES } from "./_npy_file.ts";
import { makeTar, readTarMembers } from "../../_tar_writer.ts";

const DEMO = new URL("../../../examples/demo/", import.meta.url).pathname;
const DATA = `${DEMO}data/fashion_mnist_1k`;
const model = await ClipModel.load(`${DEMO}tiny-clip-demo`);
const classnames = (await openWebDataset(DATA)).classnames!;

/** The image embeddings of the first `limit` samples, all encoded at once (no batching). */
async function embedAllImages(
  dataset: WebDataset,
  limit: number,
): Promise<{ embeddings: Float32Array; keys: string[] }> {
  const pixels: Float32Array[] = [];
  const keys: string[] = [];
  for await (const sample of dataset.samples({ limit })) {
    const image = imageField(sample);
    if (image === undefined) continue;
    const out = new Float32Array(model.preprocessor.outputLength);
    try {
      model.preprocessor.process(await decodeImage(image.bytes, image.ext), out, 0);
    } catch {
      continue;
    }
    pixels.push(out);
    keys.push(sample.key);
  }
  const all = new Float32Array(pixels.length * model.preprocessor.outputLength);
  pixels.forEach((p, i) => all.set(p, i * p.length));
  const { embeddings } = await model.encodeImages(all, pixels.length);
  return { embeddings, keys };
}

Deno.test("evaluation: the result does not depend on the batch size; limit takes the first N", async () => {
  const dataset = await openWebDataset(DATA);
  const a = await evaluateZeroShotClassification(model, dataset, {
    datasetName: "demo",
    batchSize: 64,
    limit: 300,
  });
  const b = await evaluateZeroShotClassification(model, dataset, {
    datasetName: "demo",
    batchSize: 7,
    limit: 300,
  });
  assert.equal(a.n_samples, 300);
  assert.equal(a.n_skipped, 0);
  assert.deepEqual(a.metrics, b.metrics);
  assert.equal(a.task, "zeroshot_classification");
  assert.equal(a.model, "tiny-clip-demo");

  // The same numbers computed the long way: all embeddings at once, one accumulator.
  const { weights, dim } = await buildZeroShotClassifier(
    model,
    classnames,
    dataset.templates!,
    128,
  );
  const direct = new ClassificationAccumulator(classnames.length);
  const { embeddings, keys } = await embedAllImages(dataset, 300);
  const labels: number[] = [];
  for await (const sample of dataset.samples({ limit: 300 })) labels.push(labelField(sample)!);
  direct.update(classificationLogits(embeddings, keys.length, weights, dim), labels);
  assert.deepEqual(a.metrics, direct.result());
});

/** A copy of the demo dataset whose shard has bad samples spliced in. */
async function datasetWithBadSamples(
  extra: { name: string; data: Uint8Array | string }[],
): Promise<string> {
  const dir = await Deno.makeTempDir();
  await Deno.mkdir(`${dir}/test`);
  for (const file of ["classnames.txt", "zeroshot_classification_templates.txt"]) {
    await Deno.copyFile(`${DATA}/${file}`, `${dir}/${file}`);
  }
  const members = readTarMembers(await Deno.readFile(`${DATA}/test/0.tar`)).slice(0, 400);
  await Deno.writeFile(
    `${dir}/test/0.tar`,
    makeTar([...members.slice(0, 100), ...extra, ...members.slice(100)]),
  );
  await Deno.writeTextFile(`${dir}/test/nshards.txt`, "1\n");
  return dir;
}

Deno.test("evaluation: bad samples are skipped, counted and listed with their keys", async () => {
  const png = readTarMembers(await Deno.readFile(`${DATA}/test/0.tar`))[1].data;
  const dir = await datasetWithBadSamples([
    { name: "bad_image.cls", data: "3" },
    { name: "bad_image.png", data: png.slice(0, 40) }, // truncated PNG
    { name: "no_label.png", data: png },
    { name: "bad_label.cls", data: "42" },
    { name: "bad_label.png", data: png },
    { name: "no_image.cls", data: "1" },
    { name: "no_image.txt", data: "a caption" },
  ]);
  try {
    const dataset = await openWebDataset(dir);
    const result = await evaluateZeroShotClassification(model, dataset, {
      datasetName: "bad",
      maxSkippedFraction: 0.05,
    });
    assert.equal(result.n_samples, 200);
    assert.equal(result.n_skipped, 4);
    assert.deepEqual(result.skipped.map((s) => s.key), [
      "bad_image",
      "no_label",
      "bad_label",
      "no_image",
    ]);
    assert.match(result.skipped[0].reason, /cannot decode png image/);
    assert.match(result.skipped[1].reason, /no label/);
    assert.match(result.skipped[2].reason, /label 42 is outside the 10 classes/);
    assert.match(result.skipped[3].reason, /no image/);
    assert.ok(result.skipped.every((s) => s.source.endsWith("/test/0.tar")));

    // The default threshold (1 %) is exceeded by 4 of 204: the run fails, naming the keys.
    await assert.rejects(
      evaluateZeroShotClassification(model, dataset, { datasetName: "bad" }),
      (e: unknown) =>
        e instanceof DatasetError && /4 of 204 samples .* skipped.*bad_image/.test(e.message),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("evaluation: a truncated shard is an error naming the shard and the offset", async () => {
  const dir = await datasetWithBadSamples([]);
  try {
    const tar = await Deno.readFile(`${dir}/test/0.tar`);
    await Deno.writeFile(`${dir}/test/0.tar`, tar.slice(0, 100_000));
    const dataset = await openWebDataset(dir);
    await assert.rejects(
      evaluateZeroShotClassification(model, dataset, { datasetName: "cut" }),
      (e: unknown) =>
        e instanceof DatasetError && e.message.includes(`${dir}/test/0.tar`) &&
        /100000/.test(e.message),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("evaluation: a dataset without classnames.txt is an error naming the file", async () => {
  const dir = await datasetWithBadSamples([]);
  try {
    await Deno.remove(`${dir}/classnames.txt`);
    const dataset = await openWebDataset(dir);
    await assert.rejects(
      evaluateZeroShotClassification(model, dataset, { datasetName: "x" }),
      (e: unknown) =>
        e instanceof DatasetError && e.message.includes(`${dir}/classnames.txt not found`),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("evaluation: a dataset served over HTTP gives the same result as the folder", async () => {
  const requested: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const path = new URL(request.url).pathname;
    requested.push(path);
    try {
      const file = await Deno.open(`${DATA}${decodeURIComponent(path)}`);
      return new Response(file.readable);
    } catch {
      return new Response("not found", { status: 404 });
    }
  });
  try {
    const url = `http://127.0.0.1:${server.addr.port}`;
    const remote = await evaluateZeroShotClassification(model, await openWebDataset(url), {
      datasetName: "demo",
      limit: 200,
    });
    const local = await evaluateZeroShotClassification(model, await openWebDataset(DATA), {
      datasetName: "demo",
      limit: 200,
    });
    assert.deepEqual(remote.metrics, local.metrics);
    assert.equal(remote.n_samples, 200);
    assert.ok(requested.includes("/test/0.tar"));
    assert.ok(requested.includes("/classnames.txt"));
  } finally {
    await server.shutdown();
  }
});

/** Each image's multi-hot target: its own class and the next one. */
function neighbourTarget(label: number): number[] {
  const target = new Array(10).fill(0);
  target[label] = 1;
  target[(label + 1) % 10] = 1;
  return target;
}

/**
 * A multi-label copy of the demo's first `count` samples: `dataset_type.txt` says `multilabel`,
 * each image has an `npy` target (dtypes cycled), no `cls`; `extra` members are spliced in after
 * the 100th sample.
 */
async function multilabelDataset(
  count: number,
  extra: { name: string; data: Uint8Array | string }[] = [],
): Promise<{ dir: string; targets: Map<string, number[]> }> {
  const dir = await Deno.makeTempDir();
  await Deno.mkdir(`${dir}/test`);
  for (const file of ["classnames.txt", "zeroshot_classification_templates.txt"]) {
    await Deno.copyFile(`${DATA}/${file}`, `${dir}/${file}`);
  }
  await Deno.writeTextFile(`${dir}/dataset_type.txt`, "multilabel\n");
  const members = readTarMembers(await Deno.readFile(`${DATA}/test/0.tar`)).slice(0, 2 * count);
  const targets = new Map<string, number[]>();
  const samples: { name: string; data: Uint8Array }[][] = [];
  for (let i = 0; i < members.length; i += 2) {
    const [cls, png] = members.slice(i, i + 2);
    const key = png.name.replace(/\.png$/, "");
    const target = neighbourTarget(Number(new TextDecoder().decode(cls.data)));
    targets.set(key, target);
    const descr = TARGET_DTYPES[(i / 2) % TARGET_DTYPES.length];
    samples.push([png, { name: `${key}.npy`, data: npyFile(descr, [10], target) }]);
  }
  await Deno.writeFile(
    `${dir}/test/0.tar`,
    makeTar([...samples.slice(0, 100).flat(), ...extra, ...samples.slice(100).flat()]),
  );
  await Deno.writeTextFile(`${dir}/test/nshards.txt`, "1\n");
  return { dir, targets };
}

Deno.test("multi-label evaluation: mAP of the npy targets, independent of the batch size", async () => {
  const { dir, targets } = await multilabelDataset(300);
  try {
    const dataset = await openWebDataset(dir);
    assert.equal(dataset.type, "multilabel");
    const a = await evaluateZeroShotClassification(model, dataset, {
      datasetName: "demo_multilabel",
      batchSize: 64,
    });
    const b = await evaluateZeroShotClassification(model, dataset, {
      datasetName: "demo_multilabel",
      batchSize: 7,
    });
    assert.equal(a.task, "zeroshot_classification");
    assert.equal(a.n_samples, 300);
    assert.equal(a.n_skipped, 0);
    assert.deepEqual(Object.keys(a.metrics), ["mean_average_precision"]);
    assert.deepEqual(a.metrics, b.metrics);

    // The same number computed the long way: all embeddings at once, one accumulator.
    const { weights, dim } = await buildZeroShotClassifier(
      model,
      classnames,
      dataset.templates!,
      128,
    );
    const { embeddings, keys } = await embedAllImages(dataset, 300);
    const direct = new MultilabelAccumulator(10);
    direct.update(
      classificationLogits(embeddings, keys.length, weights, dim),
      keys.map((key) => targets.get(key)!),
    );
    assert.deepEqual(a.metrics, direct.result());
    const map = (a.metrics as { mean_average_precision: number }).mean_average_precision;
    assert.equal(map, Math.fround(map), "a float32 value, as torch's .item() gives");
    // The demo model classifies 75 % of these right, so the true class ranks high: well above
    // the AP of a random ranking (the positive rate, 0.2).
    assert.ok(map > 0.5 && map < 1, `mAP ${map}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("multi-label evaluation: missing or malformed npy targets are skipped with the reason", async () => {
  const png = readTarMembers(await Deno.readFile(`${DATA}/test/0.tar`))[1].data;
  const good = neighbourTarget(3);
  const { dir } = await multilabelDataset(200, [
    { name: "no_npy.png", data: png },
    { name: "no_npy.cls", data: "3" },
    { name: "short.png", data: png },
    { name: "short.npy", data: npyFile("<f4", [9], good.slice(0, 9)) },
    { name: "two_d.png", data: png },
    { name: "two_d.npy", data: npyFile("<f4", [1, 10], good) },
    { name: "not_binary.png", data: png },
    { name: "not_binary.npy", data: npyFile("<i8", [10], [0, 2, 0, 0, 0, 0, 0, 0, 0, 1]) },
    { name: "nan.png", data: png },
    { name: "nan.npy", data: npyFile("<f4", [10], [NaN, ...good.slice(1)]) },
    { name: "garbage.png", data: png },
    { name: "garbage.npy", data: "not an array" },
  ]);
  try {
    const dataset = await openWebDataset(dir);
    const result = await evaluateZeroShotClassification(model, dataset, {
      datasetName: "bad_multilabel",
      maxSkippedFraction: 0.05,
    });
    assert.equal(result.n_samples, 200);
    assert.equal(result.n_skipped, 6);
    const reasons = Object.fromEntries(result.skipped.map((s) => [s.key, s.reason]));
    assert.deepEqual(Object.keys(reasons), [
      "no_npy",
      "short",
      "two_d",
      "not_binary",
      "nan",
      "garbage",
    ]);
    assert.match(reasons.no_npy, /no multi-label target \(npy field\)/);
    assert.match(reasons.short, /shape \(9,\), expected \(10,\)/);
    assert.match(reasons.two_d, /shape \(1, 10\), expected \(10,\)/);
    assert.match(reasons.not_binary, /has 2 for class 1 \(<i8\); 0 or 1 expected/);
    assert.match(reasons.nan, /has NaN for class 0/);
    assert.match(reasons.garbage, /not a readable \.npy array/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("overrides: plain-text class names replace the dataset's and are recorded", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const names = [
      "tee",
      "pants",
      "jumper",
      "frock",
      "jacket",
      "flip-flop",
      "blouse",
      "trainer",
      "purse",
      "boot",
    ];
    const path = `${dir}/names.txt`;
    await Deno.writeTextFile(path, names.join("\r\n") + "\r\n");
    const dataset = await openWebDataset(DATA);
    const overrides = promptOverridesFor("demo", { classnames: await readClassnamesFile(path) });
    const result = await evaluateZeroShotClassification(model, dataset, {
      datasetName: "demo",
      limit: 200,
      ...overrides,
      dumpClassnames: true,
      dumpTemplates: true,
    });
    assert.equal(result.classnames_source, path);
    assert.equal(result.templates_source, "dataset");
    assert.deepEqual(result.classnames, names);
    assert.deepEqual(result.templates, dataset.templates);

    // The classifier was built from the override: the same metrics computed the long way.
    const { weights, dim } = await buildZeroShotClassifier(model, names, dataset.templates!);
    const { embeddings, keys } = await embedAllImages(dataset, 200);
    const labels: number[] = [];
    for await (const sample of dataset.samples({ limit: 200 })) labels.push(labelField(sample)!);
    const direct = new ClassificationAccumulator(10);
    direct.update(classificationLogits(embeddings, keys.length, weights, dim), labels);
    assert.deepEqual(result.metrics, direct.result());
    const defaults = await evaluateZeroShotClassification(model, dataset, {
      datasetName: "demo",
      limit: 200,
    });
    assert.notDeepEqual(result.metrics, defaults.metrics);
    // The written file carries the sources, and the lists only when dumped.
    assert.equal(defaults.classnames_source, "dataset");
    assert.equal(defaults.templates_source, "dataset");
    assert.ok(!("classnames" in defaults) && !("templates" in defaults));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("overrides: CLIP_benchmark JSON with class-specific prompts (CuPL style)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const prompts = Object.fromEntries(
      classnames.map((
        c,
      ) => [c, [`a photo of a ${c.toLowerCase()}.`, `${c}, an item of clothing.`]]),
    );
    const path = `${dir}/cupl_prompts.json`;
    await Deno.writeTextFile(path, JSON.stringify({ other: ["{c}"], demo_ml: prompts }));
    const { dir: data, targets } = await multilabelDataset(150);
    try {
      const dataset = await openWebDataset(data);
      const templates = await readTemplatesFile(path);
      const result = await evaluateZeroShotClassification(model, dataset, {
        datasetName: "demo_ml",
        ...promptOverridesFor("demo_ml", { templates }),
        dumpTemplates: true,
      });
      assert.equal(result.templates_source, path);
      assert.equal(result.classnames_source, "dataset");
      assert.deepEqual(result.templates, prompts);
      assert.ok(!("classnames" in result));

      const { weights, dim } = await buildZeroShotClassifier(
        model,
        classnames,
        templates.forDataset("demo_ml"),
      );
      const { embeddings, keys } = await embedAllImages(dataset, 150);
      const direct = new MultilabelAccumulator(10);
      direct.update(
        classificationLogits(embeddings, keys.length, weights, dim),
        keys.map((key) => targets.get(key)!),
      );
      assert.deepEqual(result.metrics, direct.result());
    } finally {
      await Deno.remove(data, { recursive: true });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("overrides: class names of the wrong count, or prompts missing a class, are errors", async () => {
  const dataset = await openWebDataset(DATA);
  await assert.rejects(
    evaluateZeroShotClassification(model, dataset, {
      datasetName: "demo",
      classnames: classnames.slice(0, 9),
      classnamesSource: "nine.txt",
    }),
    (e: unknown) =>
      e instanceof DatasetError && e.path === "nine.txt" &&
      /class names of nine\.txt are 9, but .*classnames\.txt has 10/.test(e.message),
  );
  await assert.rejects(
    evaluateZeroShotClassification(model, dataset, {
      datasetName: "demo",
      templates: new Map([["Bag", ["a bag."]]]),
      templatesSource: "few.json",
    }),
    (e: unknown) =>
      e instanceof DatasetError &&
      /few\.json: no prompts for class "T-shirt\/top" \(class 0 of 10\)/.test(e.message),
  );
  // Without a source, an override is recorded as coming from the options.
  const result = await evaluateZeroShotClassification(model, dataset, {
    datasetName: "demo",
    limit: 20,
    templates: ["a {c}."],
  });
  assert.equal(result.templates_source, "option");
});

Deno.test("overrides: a dataset without classnames.txt can be evaluated with an override", async () => {
  const dir = await datasetWithBadSamples([]);
  try {
    await Deno.remove(`${dir}/classnames.txt`);
    const dataset = await openWebDataset(dir);
    const result = await evaluateZeroShotClassification(model, dataset, {
      datasetName: "x",
      limit: 50,
      classnames,
      classnamesSource: "names.txt",
    });
    assert.equal(result.n_samples, 50);
    assert.equal(result.classnames_source, "names.txt");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "release the demo model",
  fn: () => model.release(),
  sanitizeResources: false,
});
