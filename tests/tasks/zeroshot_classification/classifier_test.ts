import assert from "node:assert/strict";
import { openWebDataset } from "../../../src/dataset/wds.ts";
import { DatasetError } from "../../../src/errors.ts";
import { ClipModel } from "../../../src/model/model.ts";
import { buildZeroShotClassifier } from "../../../tasks/zeroshot_classification/classifier.ts";
import {
  classPrompts,
  deduplicatePrompts,
} from "../../../tasks/zeroshot_classification/prompts.ts";

const DEMO = new URL("../../../examples/demo/", import.meta.url).pathname;
const DEMO_MODEL = `${DEMO}tiny-clip-demo/`;
const model = await ClipModel.load(DEMO_MODEL);
const classnames = (await openWebDataset(`${DEMO}data/fashion_mnist_1k`)).classnames!;
const CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress"];

Deno.test("classifier: per class, mean of the normalised prompt embeddings, re-normalised", async () => {
  const templates = ["a photo of a {c}.", "a {c}.", "an image of a {c}."];
  const { weights, dim } = await buildZeroShotClassifier(
    model,
    classnames.slice(0, 2),
    templates,
    2,
  );
  for (let c = 0; c < 2; c++) {
    const prompts = templates.map((t) => t.replace("{c}", classnames[c]));
    const { embeddings } = await model.encodeTexts(prompts, 64);
    const mean = new Float64Array(dim);
    for (let t = 0; t < templates.length; t++) {
      for (let i = 0; i < dim; i++) mean[i] += embeddings[t * dim + i] / templates.length;
    }
    const norm = Math.hypot(...mean);
    for (let i = 0; i < dim; i++) {
      assert.ok(Math.abs(weights[c * dim + i] - mean[i] / norm) < 1e-6);
    }
  }
});

Deno.test("classifier: class-specific prompts (CuPL style) are used verbatim, per class", async () => {
  const prompts = new Map([
    ["Trouser", ["a pair of trousers.", "long pants on a hanger.", "{c} stays as written"]],
    ["Bag", ["a handbag."]],
  ]);
  assert.deepEqual(classPrompts(["Bag", "Trouser"], prompts), [
    ["a handbag."],
    ["a pair of trousers.", "long pants on a hanger.", "{c} stays as written"],
  ]);
  const { weights, dim } = await buildZeroShotClassifier(model, ["Bag", "Trouser"], prompts, 2);
  for (const [c, name] of ["Bag", "Trouser"].entries()) {
    const texts = prompts.get(name)!;
    const { embeddings } = await model.encodeTexts(texts, 64);
    const mean = new Float64Array(dim);
    for (let t = 0; t < texts.length; t++) {
      for (let i = 0; i < dim; i++) mean[i] += embeddings[t * dim + i] / texts.length;
    }
    const norm = Math.hypot(...mean);
    for (let i = 0; i < dim; i++) {
      assert.ok(Math.abs(weights[c * dim + i] - mean[i] / norm) < 1e-6);
    }
  }
  assert.throws(
    () => classPrompts(["Bag", "Coat"], prompts, "cupl.json"),
    (e: unknown) =>
      e instanceof DatasetError &&
      /cupl\.json: no prompts for class "Coat" \(class 1 of 2\)/.test(e.message),
  );
  assert.throws(() => classPrompts(["Bag"], [], "t.txt"), /t\.txt: no templates/);
});

Deno.test("classifier: each distinct prompt is encoded once", async () => {
  const model = await ClipModel.load(DEMO_MODEL);
  try {
    const { unique, indices } = deduplicatePrompts([["a", "b", "a"], ["b", "c"]]);
    assert.deepEqual(unique, ["a", "b", "c"]);
    assert.deepEqual(indices.map((list) => [...list]), [[0, 1, 0], [1, 2]]);

    // "{c}" and "{c}" twice, and two classes sharing a class-specific prompt.
    const templates = ["a photo of a {c}.", "{c}", "a photo of a {c}."];
    const built = await buildZeroShotClassifier(model, CLASSES, templates, 3);
    assert.equal(built.encodedPrompts, CLASSES.length * 2);
    const shared = new Map([
      ["Trouser", ["clothing.", "a pair of trousers."]],
      ["Dress", ["clothing.", "a dress."]],
    ]);
    const sharedBuilt = await buildZeroShotClassifier(model, ["Trouser", "Dress"], shared, 2);
    assert.equal(sharedBuilt.encodedPrompts, 3);

    // The weights are those of encoding every prompt, duplicates included.
    const prompts = classPrompts(CLASSES, templates);
    const { embeddings, dim } = await model.encodeTexts(prompts.flat(), 3);
    for (let c = 0; c < CLASSES.length; c++) {
      const mean = new Float64Array(dim);
      for (let t = 0; t < templates.length; t++) {
        const offset = (c * templates.length + t) * dim;
        for (let i = 0; i < dim; i++) mean[i] += embeddings[offset + i] / templates.length;
      }
      const norm = Math.hypot(...mean);
      for (let i = 0; i < dim; i++) {
        assert.ok(Math.abs(built.weights[c * dim + i] - mean[i] / norm) < 1e-6);
      }
    }
  } finally {
    await model.release();
  }
});

Deno.test({
  name: "release the demo model",
  fn: () => model.release(),
  sanitizeResources: false,
});
