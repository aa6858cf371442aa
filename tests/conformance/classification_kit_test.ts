/**
 * End to end against CLIP_benchmark's own numbers: the kit's tiny-clip-fashion model on the full
 * Fashion-MNIST test split (10,000 PNGs in 5 shards), through the CLI as a user runs it.
 */
import assert from "node:assert/strict";
import { KIT_DIR, kitTest } from "../_kit.ts";
import { runCli } from "../_cli.ts";

async function readJson(path: string) {
  return JSON.parse(await Deno.readTextFile(path));
}

kitTest("tiny-clip-fashion on fashion_mnist (10,000) gives CLIP_benchmark's numbers", async () => {
  const out = await Deno.makeTempDir();
  try {
    const { code, stderr } = await runCli([
      "eval",
      "--model",
      `${KIT_DIR}/models/tiny-clip-fashion`,
      "--dataset",
      "fashion_mnist",
      "fashion_mnist_webp",
      "fashion_mnist_jpg",
      "--dataset-root",
      `${KIT_DIR}/datasets/{dataset}`,
      "--output-dir",
      out,
      "--quiet",
    ]);
    assert.equal(code, 0, stderr);
    const expected = await readJson(
      `${KIT_DIR}/expected/tiny-clip-fashion/fashion_mnist_zeroshot_classification.json`,
    );
    const result = await readJson(
      `${out}/tiny-clip-fashion/fashion_mnist_zeroshot_classification.json`,
    );
    assert.equal(result.dataset, "fashion_mnist");
    assert.equal(result.model, "tiny-clip-fashion");
    assert.equal(result.task, "zeroshot_classification");
    assert.equal(result.n_samples, expected.n_samples);
    assert.equal(result.n_skipped, 0);
    for (const [name, value] of Object.entries(expected.metrics as Record<string, number>)) {
      assert.ok(
        Math.abs(result.metrics[name] - value) <= 0.001,
        `${name}: ${result.metrics[name]} vs ${value}`,
      );
    }
    // Measured: equal to the last bit (float32 ONNX vs float32 PyTorch, same preprocessing).
    assert.deepEqual(result.metrics, expected.metrics);
    console.log(
      `fashion_mnist: ${JSON.stringify(result.metrics)} (expected ${
        JSON.stringify(expected.metrics)
      })`,
    );

    // The WebP shard holds the same pixels as the first 1,000 PNGs (lossless), so the metrics
    // must equal those of the PNG dataset limited to 1,000 samples; the JPEG one must run clean.
    const webp = await readJson(
      `${out}/tiny-clip-fashion/fashion_mnist_webp_zeroshot_classification.json`,
    );
    const jpg = await readJson(
      `${out}/tiny-clip-fashion/fashion_mnist_jpg_zeroshot_classification.json`,
    );
    const limited = await runCli([
      "eval",
      "--model",
      `${KIT_DIR}/models/tiny-clip-fashion`,
      "--dataset",
      "fashion_mnist",
      "--dataset-root",
      `${KIT_DIR}/datasets/{dataset}`,
      "--output-dir",
      `${out}/limited`,
      "--limit",
      "1000",
      "--quiet",
    ]);
    assert.equal(limited.code, 0, limited.stderr);
    const png1k = await readJson(
      `${out}/limited/tiny-clip-fashion/fashion_mnist_zeroshot_classification.json`,
    );
    assert.equal(png1k.n_samples, 1000);
    assert.deepEqual(webp.metrics, png1k.metrics);
    assert.equal(webp.n_samples, 1000);
    assert.equal(jpg.n_samples, 1000);
    assert.equal(jpg.n_skipped, 0);
    console.log(`fashion_mnist_webp: ${JSON.stringify(webp.metrics)}`);
    console.log(`fashion_mnist_jpg: ${JSON.stringify(jpg.metrics)}`);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
