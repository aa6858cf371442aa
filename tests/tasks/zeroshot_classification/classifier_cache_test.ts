import assert from "node:assert/strict";
import { join } from "node:path";
import {
  cachedClassifier,
  classifierCacheKey,
} from "../../../tasks/zeroshot_classification/classifier_cache.ts";
import { fileContentHashes } from "../../../src/model/file_hashes.ts";
import { ClipModel } from "../../../src/model/model.ts";
import {
  buildZeroShotClassifier,
  zeroShotClassifier,
} from "../../../tasks/zeroshot_classification/classifier.ts";
import { classPrompts } from "../../../tasks/zeroshot_classification/prompts.ts";

const DEMO_MODEL = new URL("../../../examples/demo/tiny-clip-demo/", import.meta.url).pathname;
const CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress"];
const TEMPLATES = ["a photo of a {c}.", "a blurry photo of a {c}.", "{c}"];

/** A writable copy of the demo model. */
async function copyDemoModel(): Promise<string> {
  const dir = await Deno.makeTempDir();
  await Deno.mkdir(join(dir, "onnx"));
  for (const entry of Deno.readDirSync(DEMO_MODEL)) {
    if (entry.isFile) await Deno.copyFile(join(DEMO_MODEL, entry.name), join(dir, entry.name));
  }
  for (const name of ["text_model.onnx", "vision_model.onnx"]) {
    const bytes = await Deno.readFile(join(DEMO_MODEL, "onnx", name));
    await Deno.writeFile(join(dir, "onnx", name), bytes, { mode: 0o644 });
  }
  return dir;
}

/** Files under `dir`, recursively, relative to it. */
function listFiles(dir: string, prefix = ""): string[] {
  const files: string[] = [];
  for (const entry of Deno.readDirSync(join(dir, prefix))) {
    const path = join(prefix, entry.name);
    if (entry.isDirectory) files.push(...listFiles(dir, path));
    else files.push(path);
  }
  return files.sort();
}

Deno.test("classifier cache: a second call reads the classifier the first one built", async () => {
  const modelDir = await copyDemoModel();
  const cacheDir = await Deno.makeTempDir();
  const model = await ClipModel.load(modelDir);
  try {
    const first = await zeroShotClassifier(model, CLASSES, TEMPLATES, { cacheDir, batchSize: 5 });
    assert.equal(first.fromCache, false);
    const entries = listFiles(cacheDir);
    assert.deepEqual(entries, ["classifiers/" + first.key + ".classifier", "file_hashes.json"]);
    const second = await zeroShotClassifier(model, CLASSES, TEMPLATES, { cacheDir, batchSize: 5 });
    assert.equal(second.fromCache, true);
    assert.equal(second.key, first.key);
    assert.deepEqual(second.weights, first.weights);
    assert.equal(second.dim, first.dim);
    // The same as building it without the cache.
    const built = await buildZeroShotClassifier(model, CLASSES, TEMPLATES, 5);
    assert.deepEqual(second.weights, built.weights);

    // noCache neither reads nor writes.
    const fresh = await Deno.makeTempDir();
    const uncached = await zeroShotClassifier(model, CLASSES, TEMPLATES, {
      cacheDir: fresh,
      noCache: true,
      batchSize: 5,
    });
    assert.equal(uncached.fromCache, false);
    assert.deepEqual(uncached.weights, first.weights);
    assert.deepEqual(listFiles(fresh), []);
    await Deno.remove(fresh);
  } finally {
    await model.release();
    await Deno.remove(modelDir, { recursive: true });
    await Deno.remove(cacheDir, { recursive: true });
  }
});

Deno.test("classifier cache: the key changes with a class name, a template, the batch size and the model bytes", async () => {
  const modelDir = await copyDemoModel();
  const cacheDir = await Deno.makeTempDir();
  let model = await ClipModel.load(modelDir);
  try {
    const key = (classes: string[], templates: string[], batchSize = 8) =>
      classifierCacheKey(model, classPrompts(classes, templates), batchSize, cacheDir);
    const base = await key(CLASSES, TEMPLATES);
    assert.equal(await key([...CLASSES], [...TEMPLATES]), base);
    assert.notEqual(await key(["T-shirt/top", "Trousers", "Pullover", "Dress"], TEMPLATES), base);
    assert.notEqual(await key(CLASSES, ["a photo of a {c}!", ...TEMPLATES.slice(1)]), base);
    assert.notEqual(await key(CLASSES, [...TEMPLATES].reverse()), base);
    assert.notEqual(await key(CLASSES.slice(0, 3), TEMPLATES), base);
    assert.notEqual(await key(CLASSES, TEMPLATES, 9), base);

    // The text graph's bytes: change its producer version ("1.13.0" → "1.13.1"), which leaves it
    // loadable, and give it a new modification time.
    const graph = join(modelDir, "onnx", "text_model.onnx");
    const bytes = await Deno.readFile(graph);
    const at = new TextDecoder("latin1").decode(bytes).indexOf("1.13.0");
    assert.ok(at > 0);
    bytes[at + 5] = "1".charCodeAt(0);
    await Deno.writeFile(graph, bytes);
    await Deno.utime(graph, new Date(), new Date(Date.now() + 5000));
    await model.release();
    model = await ClipModel.load(modelDir);
    assert.notEqual(await key(CLASSES, TEMPLATES), base);

    // The tokenizer files and settings are part of it too.
    await model.release();
    model = await ClipModel.load(modelDir, { textCleaning: "none" });
    const noCleaning = await key(CLASSES, TEMPLATES);
    await model.release();
    model = await ClipModel.load(modelDir);
    assert.notEqual(noCleaning, await key(CLASSES, TEMPLATES));
  } finally {
    await model.release();
    await Deno.remove(modelDir, { recursive: true });
    await Deno.remove(cacheDir, { recursive: true });
  }
});

Deno.test("classifier cache: file hashes are remembered by path, size and time", async () => {
  const cacheDir = await Deno.makeTempDir();
  const path = join(cacheDir, "weights.bin");
  try {
    await Deno.writeFile(path, new Uint8Array([1, 2, 3]));
    const [first] = await fileContentHashes([path], cacheDir);
    assert.equal(first, "039058c6f2c0cb492c533b0a4d14ef77cc0f78abccced5287d84a1a2011cfb81");
    // Same size and time, different content: the remembered hash is used, not the file's.
    const { mtime } = await Deno.stat(path);
    await Deno.writeFile(path, new Uint8Array([9, 9, 9]));
    await Deno.utime(path, mtime!, mtime!);
    assert.deepEqual(await fileContentHashes([path], cacheDir), [first]);
    // A new time: hashed again.
    await Deno.utime(path, new Date(), new Date(mtime!.getTime() + 10_000));
    const [again] = await fileContentHashes([path], cacheDir);
    assert.notEqual(again, first);
  } finally {
    await Deno.remove(cacheDir, { recursive: true });
  }
});

Deno.test("classifier cache: a corrupt or truncated entry is ignored and rewritten", async () => {
  const cacheDir = await Deno.makeTempDir();
  const model = await ClipModel.load(DEMO_MODEL);
  try {
    const prompts = classPrompts(CLASSES, TEMPLATES);
    let builds = 0;
    const build = async () => {
      builds++;
      return await buildZeroShotClassifier(model, CLASSES, TEMPLATES, 4);
    };
    const first = await cachedClassifier(model, prompts, 4, build, { cacheDir });
    const entry = join(cacheDir, "classifiers", `${first.key}.classifier`);
    const intact = await Deno.readFile(entry);
    const damages: [string, Uint8Array][] = [
      ["truncated", intact.slice(0, intact.length - 8)],
      ["a flipped weight bit", intact.map((b, i) => i === intact.length - 3 ? b ^ 4 : b)],
      ["a bad header", intact.map((b, i) => i === 14 ? 0x7b : b)],
      ["empty", new Uint8Array(0)],
    ];
    for (const [damage, bytes] of damages) {
      await Deno.writeFile(entry, bytes);
      const result = await cachedClassifier(model, prompts, 4, build, { cacheDir });
      assert.equal(result.fromCache, false, damage);
      assert.deepEqual(result.weights, first.weights, damage);
      assert.deepEqual(await Deno.readFile(entry), intact, `${damage}: rewritten`);
    }
    assert.equal(builds, 1 + damages.length);
    const hit = await cachedClassifier(model, prompts, 4, build, { cacheDir });
    assert.equal(hit.fromCache, true);
    assert.equal(builds, 1 + damages.length);
    // No temporary file is left behind.
    assert.deepEqual(listFiles(join(cacheDir, "classifiers")), [`${first.key}.classifier`]);
  } finally {
    await model.release();
    await Deno.remove(cacheDir, { recursive: true });
  }
});
