import assert from "node:assert/strict";
import { formatSpread, loadAverage, spread, spreadOf, withLoad } from "../../bench/rounds.ts";
import { roundRatios } from "../../bench/record.ts";

Deno.test("spread: min, median (middle two averaged) and max; numbers only", () => {
  assert.deepEqual(spread([3, 1, 2]), { min: 1, median: 2, max: 3, count: 3 });
  assert.deepEqual(spread([4, 1, 3, 2]), { min: 1, median: 2.5, max: 4, count: 4 });
  assert.throws(() => spread([]), RangeError);
  assert.deepEqual(spreadOf([null, 5, undefined, NaN, 7]), { min: 5, median: 6, max: 7, count: 2 });
  assert.equal(spreadOf([null, undefined]), null);
  assert.equal(formatSpread(spread([1.234, 2, 9])), "1.2 / 2.0 / 9.0");
  assert.equal(formatSpread(spread([1.234]), 2), "1.23");
  assert.equal(formatSpread(null), "n/a");
});

Deno.test("loadAverage reads /proc/loadavg where there is one; withLoad keeps the value", async () => {
  const load = loadAverage();
  if (Deno.build.os === "linux") assert.ok(load !== null && load >= 0);
  const measured = await withLoad(() => Promise.resolve(42));
  assert.equal(measured.value, 42);
  assert.equal(typeof measured.load === "number" || measured.load === null, true);
});

Deno.test("roundRatios: each ratio from one round's figures", () => {
  const ratios = roundRatios(
    { batchSize: 8, batches: 2, seconds: 1, imagesPerSecond: 40 },
    {
      samples: 100,
      seconds: 4,
      firstSampleSeconds: 1,
      imagesPerSecond: 36,
      overallImagesPerSecond: 25,
      acc1: 0.1,
    },
    {
      jpegDecoder: "native",
      images: 10,
      meanBytes: 1,
      sourceSize: "640×480",
      decodeSeconds: 0.02, // 2 ms an image
      preprocessSeconds: 0.01, // 1 ms
      imagesPerSecond: 1000 / 3,
    },
    {
      wasmDecode: {
        jpegDecoder: "wasm",
        images: 10,
        meanBytes: 1,
        sourceSize: "640×480",
        decodeSeconds: 0.05,
        preprocessSeconds: 0.01,
        imagesPerSecond: 1000 / 6,
      },
      int8Ceiling: { batchSize: 8, batches: 2, seconds: 1, imagesPerSecond: 100 },
      pil: {
        library: "Pillow",
        images: 10,
        decodeSeconds: 0.02,
        preprocessSeconds: 0.015,
        imagesPerSecond: 1000 / 3.5,
      },
      peer: {
        library: "torch",
        samples: 100,
        seconds: 8,
        firstBatchSeconds: 1,
        imagesPerSecond: 12,
      },
      cores: 2,
    },
  );
  assert.equal(ratios.endToEndToCeiling, 0.9);
  assert.equal(ratios.int8CeilingToCeiling, 2.5);
  assert.equal(ratios.decodeToPil, 1);
  assert.equal(ratios.wasmDecodeToPil, 0.4);
  assert.equal(ratios.preprocessToTorchvision, 1.5);
  assert.ok(Math.abs(ratios.decodePreprocessToPil! - 3.5 / 3) < 1e-12);
  assert.equal(ratios.endToEndToPeer, 3);
  assert.ok(Math.abs(ratios.decodeCoresForCeiling - 0.12) < 1e-12);
  const skipped = roundRatios(
    { batchSize: 8, batches: 2, seconds: 1, imagesPerSecond: 40 },
    {
      samples: 1,
      seconds: 1,
      firstSampleSeconds: 0,
      imagesPerSecond: 20,
      overallImagesPerSecond: 20,
      acc1: 0,
    },
    {
      jpegDecoder: "wasm",
      images: 1,
      meanBytes: 1,
      sourceSize: "1×1",
      decodeSeconds: 1,
      preprocessSeconds: 1,
      imagesPerSecond: 0.5,
    },
    { pil: { skipped: "no Pillow" }, peer: { skipped: "no torch" }, cores: 2 },
  );
  assert.deepEqual(
    [
      skipped.decodeToPil,
      skipped.preprocessToTorchvision,
      skipped.endToEndToPeer,
      skipped.int8CeilingToCeiling,
    ],
    [null, null, null, null],
  );
});
