/**
 * The benchmark and its dataset generator: the JPEG writer's files decode to the image they
 * encode, generated datasets are valid, deterministic CLIP_benchmark WebDatasets, the cache
 * builds an entry once, the flags parse, and `bench.ts --quick` runs end to end and writes a
 * record with every figure. No timing is asserted.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { openWebDataset } from "../src/dataset/wds.ts";
import { decodeImage } from "../src/image/decode/mod.ts";
import { imageField, labelField } from "../src/dataset/webdataset.ts";
import { encodeJpeg, scaledQuantTable } from "../tools/bench_dataset/jpeg_encoder.ts";
import { syntheticPhoto } from "../tools/bench_dataset/synthetic_photo.ts";
import { classNames, generateBenchDataset, TEMPLATES } from "../tools/generate_bench_dataset.ts";
import { cachedFolder, cacheKey } from "../bench/cache.ts";
import { parseBenchFlags } from "../bench/flags.ts";
import type { BenchRecord } from "../bench/record.ts";

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "clipbench-bench-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** PSNR in dB between an RGBA source and a decoded RGB image. */
function psnr(rgba: Uint8ClampedArray, rgb: Uint8Array): number {
  let squared = 0;
  const pixels = rgb.length / 3;
  for (let p = 0; p < pixels; p++) {
    for (let c = 0; c < 3; c++) squared += (rgba[p * 4 + c] - rgb[p * 3 + c]) ** 2;
  }
  return 10 * Math.log10((255 * 255) / (squared / rgb.length));
}

Deno.test("JPEG writer: libjpeg's quality scaling of the quantisation tables", () => {
  const base = [16, 11, 61, 99, 1];
  assert.deepEqual([...scaledQuantTable(base, 50)], [16, 11, 61, 99, 1]);
  // quality 90: scale 20 %, floor((v * 20 + 50) / 100), at least 1.
  assert.deepEqual([...scaledQuantTable(base, 90)], [3, 2, 12, 20, 1]);
  // quality 10: scale 500 %; quality 1: 5000 %, limited to 255 (baseline).
  assert.deepEqual([...scaledQuantTable(base, 10)], [80, 55, 255, 255, 5]);
  assert.deepEqual([...scaledQuantTable(base, 1)], [255, 255, 255, 255, 50]);
  assert.deepEqual([...scaledQuantTable(base, 100)], [1, 1, 1, 1, 1]);
});

Deno.test("JPEG writer: files decode (libjpeg-turbo) to the encoded image", async () => {
  for (const [width, height] of [[64, 48], [37, 29], [1, 1], [17, 8]]) {
    const image = syntheticPhoto({
      width,
      height,
      seed: width * 31 + height,
      classIndex: 3,
      classCount: 10,
    });
    for (const subsampling of [420, 444] as const) {
      const high = encodeJpeg(image, { quality: 95, subsampling });
      const decoded = await decodeImage(high);
      assert.equal(decoded.width, width);
      assert.equal(decoded.height, height);
      if (width * height > 1) {
        const quality = psnr(image.data, decoded.data);
        // Tiny images are mostly edges: Pillow's own JPEGs of these reach 26–35 dB at 4:2:0
        // (29.7 dB for 37×29), a broken writer's decode far less.
        assert.ok(quality > 24, `${width}×${height} ${subsampling}: PSNR ${quality.toFixed(1)} dB`);
      }
      const low = encodeJpeg(image, { quality: 20, subsampling });
      assert.ok(low.length < high.length, "a lower quality should make a smaller file");
      assert.deepEqual(encodeJpeg(image, { quality: 95, subsampling }), high, "not deterministic");
    }
  }
});

Deno.test("JPEG writer: a 640×480 photo at quality 90 is photo-sized", async () => {
  const image = syntheticPhoto({ width: 640, height: 480, seed: 1, classIndex: 0, classCount: 10 });
  const jpeg = encodeJpeg(image, { quality: 90, subsampling: 420 });
  // Real 640×480 photos at quality 90 are some 50–110 KiB; flat images a few KiB.
  assert.ok(jpeg.length > 35_000 && jpeg.length < 140_000, `${jpeg.length} bytes`);
  const decoded = await decodeImage(jpeg);
  assert.ok(psnr(image.data, decoded.data) > 30);
});

Deno.test("JPEG writer refuses sizes it cannot write", () => {
  const data = new Uint8Array(4);
  assert.throws(
    () => encodeJpeg({ width: 0, height: 1, data }, { quality: 90, subsampling: 420 }),
    RangeError,
  );
  assert.throws(
    () => encodeJpeg({ width: 2, height: 1, data }, { quality: 90, subsampling: 420 }),
    /needs 8 bytes, got 4/,
  );
});

Deno.test("synthetic photos: deterministic by seed, different across seeds and classes", () => {
  const options = { width: 80, height: 60, seed: 9, classIndex: 2, classCount: 10 };
  const a = syntheticPhoto(options);
  assert.deepEqual(syntheticPhoto(options).data, a.data);
  assert.notDeepEqual(syntheticPhoto({ ...options, seed: 10 }).data, a.data);
  assert.notDeepEqual(syntheticPhoto({ ...options, classIndex: 3 }).data, a.data);
  for (let i = 3; i < a.data.length; i += 4) assert.equal(a.data[i], 255);
});

Deno.test("bench dataset: a deterministic CLIP_benchmark WebDataset that clipbench reads", async () => {
  await withTempDir(async (dir) => {
    const options = { samples: 7, shardSize: 3, width: 64, height: 48, classes: 12, seed: 4 };
    const done: number[] = [];
    const result = await generateBenchDataset({
      ...options,
      out: join(dir, "a"),
      workers: 2,
      onShard: (n) => done.push(n),
    });
    assert.equal(result.shards, 3);
    assert.deepEqual(done, [1, 2, 3]);
    const dataset = await openWebDataset(join(dir, "a"));
    assert.equal(dataset.type, "classification");
    assert.equal(dataset.nshards, 3);
    assert.deepEqual(dataset.classnames, classNames(12));
    assert.equal(dataset.classnames![10], "dress 1");
    assert.deepEqual(dataset.templates, TEMPLATES);
    const keys: string[] = [];
    for await (const sample of dataset.samples()) {
      keys.push(sample.key);
      const label = labelField(sample)!;
      assert.ok(label >= 0 && label < 12);
      const image = imageField(sample)!;
      assert.equal(image.ext, "jpg");
      const decoded = await decodeImage(image.bytes);
      assert.deepEqual([decoded.width, decoded.height], [64, 48]);
    }
    assert.deepEqual(keys, [0, 1, 2, 3, 4, 5, 6].map((i) => `s000000${i}`));

    // One worker, same seed: the same bytes.
    await generateBenchDataset({ ...options, out: join(dir, "b"), workers: 1 });
    for (const shard of ["0.tar", "1.tar", "2.tar", "nshards.txt"]) {
      assert.deepEqual(
        await Deno.readFile(join(dir, "b", "test", shard)),
        await Deno.readFile(join(dir, "a", "test", shard)),
        shard,
      );
    }
  });
});

Deno.test("bench cache: built once per parameters, keyed whatever the key order", async () => {
  await withTempDir(async (root) => {
    assert.equal(
      await cacheKey("m", { a: 1, b: [2, { c: 3, d: 4 }] }),
      await cacheKey("m", {
        b: [2, { d: 4, c: 3 }],
        a: 1,
      }),
    );
    assert.notEqual(await cacheKey("m", { a: 1 }), await cacheKey("m", { a: 2 }));
    let builds = 0;
    const build = async (dir: string) => {
      builds++;
      await Deno.writeTextFile(join(dir, "payload.txt"), "x");
    };
    const first = await cachedFolder(root, "kind", "label", { n: 1 }, build);
    assert.equal(first.built, true);
    assert.equal(await Deno.readTextFile(join(first.dir, "payload.txt")), "x");
    const second = await cachedFolder(root, "kind", "label", { n: 1 }, build);
    assert.deepEqual([second.built, second.dir, builds], [false, first.dir, 1]);
    const other = await cachedFolder(root, "kind", "label", { n: 2 }, build);
    assert.notEqual(other.dir, first.dir);
    assert.equal(builds, 2);

    await assert.rejects(
      cachedFolder(root, "kind", "broken", {}, () => Promise.reject(new Error("generator failed"))),
      /generator failed/,
    );
    const left = [];
    for await (const entry of Deno.readDir(join(root, "kind"))) left.push(entry.name);
    assert.equal(left.length, 2, `leftovers: ${left.join(", ")}`);
  });
});

Deno.test("bench flags: defaults, --quick sizes and errors", () => {
  const now = new Date("2026-11-29T03:12:45.123Z");
  const full = parseBenchFlags([], now);
  assert.deepEqual(
    [full.samples, full.batchSize, full.threads, full.numWorkers, full.rssSamples, full.quick],
    [1024, 128, 0, undefined, [1000, 10000], false],
  );
  assert.equal(full.json, "outputs/bench/2026-11-29T03-12-45Z.json");
  assert.equal(full.cacheDir, ".cache/bench");
  const quick = parseBenchFlags(["--quick", "--threads", "1", "--num-workers", "0"], now);
  assert.deepEqual(
    [quick.samples, quick.batchSize, quick.threads, quick.numWorkers, quick.rssSamples],
    [64, 16, 1, 0, [40, 120]],
  );
  assert.deepEqual(parseBenchFlags(["--rss-samples", "10,30"]).rssSamples, [10, 30]);
  assert.throws(() => parseBenchFlags(["--rss-samples", "10"]), /two counts/);
  assert.throws(
    () => parseBenchFlags(["--batch-size", "0"]),
    /--batch-size must be an integer ≥ 1/,
  );
  assert.throws(() => parseBenchFlags(["--speed"]), /speed/);
  assert.deepEqual([full.rounds, full.peer, quick.rounds], [3, undefined, 1]);
  assert.equal(parseBenchFlags(["--peer", "torch", "--rounds", "5"]).peer, "torch");
  assert.throws(() => parseBenchFlags(["--peer", "tensorflow"]), /--peer takes torch/);
});

/** The record's figures that must be finite positive numbers. */
function figures(record: BenchRecord): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const part of ["main", "demo"] as const) {
    const m = record[part];
    m.rounds.forEach((round, i) => {
      const at = `${part}.rounds[${i}]`;
      out[`${at}.ceiling.imagesPerSecond`] = round.ceiling.value.imagesPerSecond;
      out[`${at}.decode.imagesPerSecond`] = round.decode.value.imagesPerSecond;
      out[`${at}.decode.decodeSeconds`] = round.decode.value.decodeSeconds;
      out[`${at}.decode.preprocessSeconds`] = round.decode.value.preprocessSeconds;
      out[`${at}.endToEnd.imagesPerSecond`] = round.endToEnd.value.imagesPerSecond;
      out[`${at}.endToEnd.seconds`] = round.endToEnd.value.seconds;
      out[`${at}.ratios.endToEndToCeiling`] = round.ratios.endToEndToCeiling;
      if (round.int8Ceiling !== null) {
        out[`${at}.int8Ceiling.imagesPerSecond`] = round.int8Ceiling.value.imagesPerSecond;
      }
      out[`${at}.ratios.decodeCoresForCeiling`] = round.ratios.decodeCoresForCeiling;
      out[`${at}.ratios.sharedCoresBound`] = round.ratios.sharedCoresBound;
      if (!("skipped" in round.pil.value)) {
        out[`${at}.pil.imagesPerSecond`] = round.pil.value.imagesPerSecond;
        out[`${at}.ratios.decodeToPil`] = round.ratios.decodeToPil;
        out[`${at}.ratios.preprocessToTorchvision`] = round.ratios.preprocessToTorchvision;
      }
      if (round.peer !== null && !("skipped" in round.peer.value)) {
        out[`${at}.peer.imagesPerSecond`] = round.peer.value.imagesPerSecond;
        out[`${at}.ratios.endToEndToPeer`] = round.ratios.endToEndToPeer;
      }
    });
    const { summary } = m;
    for (const [name, value] of Object.entries(summary.ratios)) {
      if (value !== null) out[`${part}.summary.ratios.${name}.median`] = value.median;
    }
    out[`${part}.summary.ceiling.median`] = summary.ceiling.median;
    out[`${part}.summary.endToEnd.median`] = summary.endToEnd.median;
    out[`${part}.text.promptsPerSecond`] = m.text.promptsPerSecond;
    out[`${part}.text.classifierSeconds`] = m.text.classifierSeconds;
    out[`${part}.text.extrapolated.seconds`] = m.text.extrapolated.seconds;
    out[`${part}.text.cache.firstSeconds`] = m.text.cache.firstSeconds;
    out[`${part}.text.cache.secondSeconds`] = m.text.cache.secondSeconds;
    out[`${part}.text.cache.ratio`] = m.text.cache.ratio;
  }
  if (Deno.build.os === "linux") { // peak RSS comes from /proc/self/status
    out["peakRss.runs[0].peakRssBytes"] = record.peakRss.runs[0].peakRssBytes;
    out["peakRss.runs[1].peakRssBytes"] = record.peakRss.runs[1].peakRssBytes;
    out["peakRss.ratio"] = record.peakRss.ratio;
  }
  out["firstBatch.msSinceStart"] = record.firstBatch.msSinceStart;
  out["firstBatch.msSinceSpawn"] = record.firstBatch.msSinceSpawn;
  return out;
}

Deno.test("bench.ts --quick runs end to end and writes a record with every figure", async () => {
  await withTempDir(async (dir) => {
    const json = join(dir, "record.json");
    const bench = new URL("../bench/bench.ts", import.meta.url).pathname;
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        bench,
        "--quick",
        "--cache-dir",
        join(dir, "cache"),
        "--json",
        json,
        "--samples",
        "32",
        "--rss-samples",
        "20,60",
        "--decode-images",
        "8",
        "--rounds",
        "2",
        "--peer",
        "torch",
      ],
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    const text = new TextDecoder();
    assert.equal(code, 0, text.decode(stderr));
    const printed = text.decode(stdout);
    for (
      const line of [
        "inference ceiling",
        "end to end (32 samples)",
        "machine load (1-min average)",
        "decode ÷ Pillow's speed",
        "PyTorch peer",
        "peak RSS, 60 samples",
        "classifier cache",
        "first scored batch",
      ]
    ) {
      assert.ok(printed.includes(line), `missing "${line}" in:\n${printed}`);
    }
    const record = JSON.parse(await Deno.readTextFile(json)) as BenchRecord;
    assert.equal(record.quick, true);
    assert.equal(record.settings.rounds, 2);
    for (const part of [record.main, record.demo]) {
      assert.equal(part.rounds.length, 2);
      // The ceiling and the end-to-end run alternate which goes first.
      assert.deepEqual(part.rounds.map((r) => r.ceilingFirst), [true, false]);
      assert.ok(part.rounds.every((r) => r.endToEnd.value.samples === 32));
      assert.equal(part.summary.endToEnd.count, 2);
      assert.ok(part.summary.endToEnd.min <= part.summary.endToEnd.max);
    }
    // The generated main model has int8 graphs: their ceiling is measured in every round.
    assert.ok(record.main.rounds.every((r) => r.int8Ceiling !== null));
    assert.ok(record.demo.rounds.every((r) => r.int8Ceiling === null));
    // The peer runs for the generated main model only (or says why it is skipped).
    assert.ok(record.main.rounds.every((r) => r.peer !== null));
    assert.ok(record.demo.rounds.every((r) => r.peer !== null && "skipped" in r.peer.value));
    assert.deepEqual(record.peakRss.runs.map((r) => r.samples), [20, 60]);
    assert.equal(record.main.text.prompts, 10 * 12);
    assert.equal(record.main.text.extrapolated.prompts, 80_000);
    assert.equal(record.main.text.cache.secondFromCache, true);
    assert.equal(record.demo.text.cache.secondFromCache, true);
    assert.equal(record.main.rounds[0].decode.value.sourceSize, "640×480");
    assert.match(record.main.rounds[0].decode.value.jpegDecoder, /libjpeg-turbo/);
    assert.ok("model" in record.generated && "dataset" in record.generated);
    const pil = record.main.rounds[0].pil.value;
    assert.ok("skipped" in pil ? pil.skipped.length > 0 : pil.images === 8);
    for (const [name, value] of Object.entries(figures(record))) {
      assert.ok(
        typeof value === "number" && Number.isFinite(value) && value > 0,
        `${name}: ${value}`,
      );
    }
  });
});
