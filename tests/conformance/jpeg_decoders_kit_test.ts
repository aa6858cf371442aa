/**
 * The kit's Fashion-MNIST JPEG shard (1,000 greyscale JPEGs written by Pillow) decodes to the
 * same pixels under the native and the WebAssembly libjpeg-turbo (src/image/decode/
 * jpeg_decoder.ts), so a run's numbers do not depend on which one a machine has.
 *
 * @module
 */

import assert from "node:assert/strict";
import { openWebDataset } from "../../src/dataset/wds.ts";
import { decodeJpeg } from "../../src/image/decode/jpeg.ts";
import { loadJpegDecoder } from "../../src/image/decode/jpeg_decoder.ts";
import { openNativeTurboJpeg } from "../../src/image/decode/turbojpeg_native.ts";
import { KIT_DIR, kitTest } from "../_kit.ts";

kitTest("the kit's JPEG shard decodes identically under both JPEG decoders", async () => {
  const native = openNativeTurboJpeg();
  if ("unavailable" in native) {
    // jpeg_decoder_test.ts reports (and under CI, .ci/run refuses) a missing library.
    console.log(`native JPEG decoder unavailable (${native.unavailable}): WebAssembly only`);
  } else {
    native.close();
  }
  const decoders = [await loadJpegDecoder("wasm")];
  if (!("unavailable" in native)) decoders.push(await loadJpegDecoder("native"));
  const dataset = await openWebDataset(`${KIT_DIR}/datasets/fashion_mnist_jpg`);
  let count = 0;
  for await (const sample of dataset.samples()) {
    const bytes = sample.fields.get("jpg") ?? sample.fields.get("jpeg");
    assert.ok(bytes, `${sample.key} has a JPEG`);
    const [first, ...others] = await Promise.all(
      decoders.map((decoder) => decodeJpeg(bytes, sample.key, decoder)),
    );
    assert.equal(first.mode, "L", sample.key);
    for (const other of others) assert.deepEqual(other.data, first.data, sample.key);
    count++;
  }
  assert.equal(count, 1000);
});
