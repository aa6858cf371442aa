/**
 * Only a sample's own problems skip it: the project's errors (an undecodable image, a missing
 * label) are skips; a programming error — a TypeError in a task's payload extraction, a decoder
 * failing for a reason that is not the image's, a worker handed a slot that does not exist — fails
 * the run, on the main thread and in the decoding workers alike.
 */
import assert from "node:assert/strict";
import { ImageDecodeError, SampleError } from "../../src/errors.ts";
import { decodeNativeImage, DecoderFailure } from "../../src/image/decode/mod.ts";
import { ClipModel } from "../../src/model/model.ts";
import { DecodePool, DecodePoolError, liveDecodeWorkers } from "../../src/pipeline/decode_pool.ts";
import { imageEmbeddingBatches } from "../../src/pipeline/image_embeddings.ts";
import { isSampleError, skipReason } from "../../src/pipeline/skip_reason.ts";
import type { SkippedSample } from "../../src/results/result.ts";
import type { Sample } from "../../src/dataset/webdataset.ts";
import { readTarMembers } from "../_tar_writer.ts";

const DEMO = new URL("../../examples/demo/", import.meta.url).pathname;
const members = readTarMembers(await Deno.readFile(`${DEMO}data/fashion_mnist_1k/test/0.tar`));
const png = members.find((m) => m.name.endsWith(".png"))!.data;

Deno.test("skipReason: the project's sample errors are skips, programming errors are rethrown", () => {
  assert.equal(
    skipReason(new ImageDecodeError("png", "truncated")),
    "cannot decode png image: truncated",
  );
  assert.equal(skipReason(new SampleError("k", "no label")), "sample k: no label");
  // The tasks' payload checks throw plain Errors naming what is missing.
  assert.equal(skipReason(new Error("no label (cls field)")), "no label (cls field)");
  for (
    const bug of [
      new TypeError("Cannot read properties of undefined (reading 'length')"),
      new RangeError("offset is out of bounds"),
      new ReferenceError("x is not defined"),
      new DecoderFailure("the png decoder failed on image: boom"),
      new DecodePoolError("decoding worker 0 failed"),
    ]
  ) {
    assert.equal(isSampleError(bug), false, bug.name);
    assert.throws(() => skipReason(bug), (thrown: unknown) => thrown === bug);
  }
  assert.throws(() => skipReason("a string"), (thrown: unknown) => thrown === "a string");
});

Deno.test("decodeNativeImage: a decoder's programming error is a DecoderFailure, not a decode error", async () => {
  // A PNG's bytes in a plain array: the signature matches, the decoder then hits a TypeError.
  const notBytes = Array.from(png) as unknown as Uint8Array;
  const error = await decodeNativeImage(notBytes, "png").then(
    () => assert.fail("decoded"),
    (e: unknown) => e,
  );
  assert.ok(error instanceof DecoderFailure, String(error));
  assert.ok(!(error instanceof ImageDecodeError));
  assert.ok((error as DecoderFailure).cause instanceof TypeError);
  assert.match((error as Error).message, /^the png decoder failed on "png": /);
  // Bad data stays a decode error (a skip).
  await assert.rejects(decodeNativeImage(png.slice(0, 40), "png"), ImageDecodeError);
});

Deno.test("decode pool: a programming error in a worker fails the pool instead of skipping", async () => {
  const model = await ClipModel.load(`${DEMO}tiny-clip-demo`);
  try {
    const size = model.preprocessor.outputLength;
    const slots = new SharedArrayBuffer(2 * size * 4);
    const pool = DecodePool.create({ numWorkers: 1, settings: model.preprocessor.settings, slots });
    try {
      assert.equal(await pool.decode(png, "png", 1), undefined);
      // Slot 5 does not exist: the preprocessor's RangeError is the caller's bug, not the image's.
      await assert.rejects(pool.decode(png, "png", 5), DecodePoolError);
      await assert.rejects(pool.decode(png, "png", 0), DecodePoolError);
    } finally {
      pool.close();
    }
    assert.equal(liveDecodeWorkers(), 0);
  } finally {
    await model.release();
  }
});

Deno.test("image pipeline: a TypeError in a task's extract fails the run on both paths", async () => {
  const model = await ClipModel.load(`${DEMO}tiny-clip-demo`);
  try {
    const samples = async function* (): AsyncGenerator<Sample> {
      for (let i = 0; i < 6; i++) {
        yield { key: `s${i}`, source: "memory", fields: new Map([["png", png]]) };
      }
    };
    for (const numWorkers of [0, 2]) {
      const skipped: SkippedSample[] = [];
      const run = async () => {
        for await (
          const _ of imageEmbeddingBatches(samples(), model, {
            batchSize: 2,
            numWorkers,
            extract: (sample) => {
              if (sample.key === "s3") {
                // The bug: reading a field that is not there.
                return (sample.fields.get("cls") as unknown as { length: { n: number } }).length.n;
              }
              return 0;
            },
            onSkip: (s) => skipped.push(s),
          })
        ) {
          // Consume.
        }
      };
      await assert.rejects(run(), TypeError, `numWorkers ${numWorkers}`);
      assert.deepEqual(skipped, [], `numWorkers ${numWorkers}`);
    }
    assert.equal(liveDecodeWorkers(), 0);
  } finally {
    await model.release();
  }
});
