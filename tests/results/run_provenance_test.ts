/** What the block takes from a live run: conversion provenance and the runtime. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { selectedJpegDecoder } from "../../src/image/decode/jpeg_decoder.ts";
import { conversionProvenance, runtimeInfo } from "../../src/results/run_provenance.ts";
import { CONVERSION_RECORD } from "../../src/convert/convert.ts";
import { hashFile } from "../../src/hub/file_hash.ts";

Deno.test("conversionProvenance: the checkpoint's weight hashes; undefined when not converted", async () => {
  const dir = await Deno.makeTempDir({ prefix: "clipbench_conversion_" });
  try {
    const source = join(dir, "checkpoint");
    const model = join(dir, "converted");
    await Deno.mkdir(source);
    await Deno.mkdir(model);
    await Deno.writeFile(join(source, "model.safetensors"), new Uint8Array([1, 2, 3]));
    const cache = join(dir, "cache");
    assert.equal(await conversionProvenance(model, cache), undefined);
    await Deno.writeTextFile(
      join(model, CONVERSION_RECORD),
      JSON.stringify({
        converter_version: 3,
        clipbench_version: "0.1.0",
        architecture: "open_clip",
        dtype: "fp32",
        source,
        weights: ["model.safetensors", "gone.bin"],
        tokenizer: "none",
        unused_tensors: [],
        logit_scale: 4.6,
      }),
    );
    assert.deepEqual(await conversionProvenance(model, cache), {
      source,
      architecture: "open_clip",
      converter_version: 3,
      weights: {
        "model.safetensors": await hashFile(join(source, "model.safetensors"), "sha256"),
        "gone.bin": null,
      },
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runtimeInfo: Deno and onnxruntime-node versions, provider, threads, cores, JPEG decoder", async () => {
  const info = await runtimeInfo("cpu", 3);
  assert.equal(info.deno, Deno.version.deno);
  assert.match(info.onnxruntime_node, /^\d+\.\d+\.\d+/);
  assert.equal(info.execution_provider, "cpu");
  assert.equal(info.threads, 3);
  assert.ok(Number.isInteger(info.cores) && info.cores >= 1);
  assert.equal(info.jpeg_decoder, (await selectedJpegDecoder()).description);
  assert.match(info.jpeg_decoder, /^(native|WebAssembly) libjpeg-turbo/);
});
