/**
 * The kit model's PyTorch reference tensors (models/tiny-clip-fashion/reference/): exact
 * pixel_values from the kit's own shard, exact input_ids for its prompts (0-padded in the
 * reference; pad value aside), and embeddings from the ONNX towers within float32 noise.
 */
import assert from "node:assert/strict";
import { KIT_DIR, kitTest } from "../_kit.ts";
import { openWebDataset } from "../../src/dataset/wds.ts";
import { decodeImage } from "../../src/image/decode/mod.ts";
import { ClipModel } from "../../src/model/model.ts";
import { parseNpy } from "../../src/io/npy.ts";
import { imageField } from "../../src/dataset/webdataset.ts";

const MODEL = `${KIT_DIR}/models/tiny-clip-fashion`;

async function npy(name: string) {
  return parseNpy(await Deno.readFile(`${MODEL}/reference/${name}`));
}

function cosineDistanceMax(
  ours: Float32Array,
  reference: Float32Array,
  rows: number,
  dim: number,
): number {
  let worst = 0;
  for (let r = 0; r < rows; r++) {
    let dot = 0, norm = 0;
    for (let i = 0; i < dim; i++) {
      dot += ours[r * dim + i] * reference[r * dim + i];
      norm += reference[r * dim + i] ** 2;
    }
    worst = Math.max(worst, 1 - dot / Math.sqrt(norm));
  }
  return worst;
}

kitTest(
  "kit model: pixel_values, input_ids and embeddings equal the PyTorch reference",
  async () => {
    const model = await ClipModel.load(MODEL);
    try {
      const dataset = await openWebDataset(`${KIT_DIR}/datasets/fashion_mnist`);
      const size = model.preprocessor.outputLength;
      const pixels = new Float32Array(8 * size);
      let i = 0;
      for await (const sample of dataset.samples({ limit: 8 })) {
        const image = imageField(sample)!;
        model.preprocessor.process(await decodeImage(image.bytes, image.ext), pixels, i++ * size);
      }
      const pixelReference = await npy("pixel_values.npy");
      assert.deepEqual(Array.from(pixels), Array.from(pixelReference.data as Float32Array));

      const prompts = (await Deno.readTextFile(`${MODEL}/reference/prompts.txt`)).split("\n")
        .filter(Boolean);
      const ids = model.tokenizer.encodeBatch(prompts).ids;
      const idReference = Array.from((await npy("input_ids.npy")).data as BigInt64Array, Number);
      const unpadded = (row: ArrayLike<number>) =>
        Array.from(row).slice(0, Array.from(row).indexOf(49407) + 1);
      for (let r = 0; r < prompts.length; r++) {
        assert.deepEqual(
          unpadded(ids.subarray(r * 77, (r + 1) * 77)),
          unpadded(idReference.slice(r * 77, (r + 1) * 77)),
        );
      }

      const images = await model.encodeImages(pixels, 8);
      const texts = await model.encodeTexts(prompts);
      const imageDistance = cosineDistanceMax(
        images.embeddings,
        (await npy("image_embeds.npy")).data as Float32Array,
        8,
        64,
      );
      const textDistance = cosineDistanceMax(
        texts.embeddings,
        (await npy("text_embeds.npy")).data as Float32Array,
        10,
        64,
      );
      assert.ok(imageDistance < 1e-6, `image embeddings: cosine distance ${imageDistance}`);
      assert.ok(textDistance < 1e-6, `text embeddings: cosine distance ${textDistance}`);
    } finally {
      await model.release();
    }
  },
);
