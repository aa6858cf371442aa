/**
 * The WebDatasets under tests/data/tar/ (made by tools/vectors/make_tar_vectors.py), read by the
 * dataset reader's tests and, from disk or over HTTP, by the byte source's: where they lie, and
 * what the classification dataset yields.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { WebDataset } from "../../src/dataset/wds.ts";
import { imageField, labelField, type Sample } from "../../src/dataset/webdataset.ts";

/** The folder of the tar vectors, ending in `/`. */
export const DATA_DIR = new URL("../data/tar/", import.meta.url).pathname;

/** A classification dataset: 5 samples, 3 in shard 0 and 2 in shard 1. */
export const CLASSIFICATION = `${DATA_DIR}wds_classification`;

/** The generator's sample_bytes(i): 40 + i bytes, (i * 13 + j * 5) mod 256. */
function sampleBytes(index: number): Uint8Array {
  return Uint8Array.from({ length: 40 + index }, (_, j) => (index * 13 + j * 5) & 0xff);
}

/** The samples of `dataset` in order, at most `limit` of them. */
export async function collect(dataset: WebDataset, limit?: number): Promise<Sample[]> {
  const samples: Sample[] = [];
  for await (const sample of dataset.samples({ limit })) samples.push(sample);
  return samples;
}

/**
 * Asserts that `samples` are those of {@linkcode CLASSIFICATION}: keys, fields, labels, image
 * bytes, and the shard (one of `shardUrls`) each came from.
 */
export function checkClassificationSamples(samples: Sample[], shardUrls: readonly string[]): void {
  assert.deepEqual(samples.map((s) => s.key), [0, 1, 2, 3, 4].map((i) => `s000000${i}`));
  samples.forEach((sample, index) => {
    assert.deepEqual([...sample.fields.keys()], ["cls", "png"]);
    assert.equal(labelField(sample), index % 3);
    assert.deepEqual(imageField(sample), { ext: "png", bytes: sampleBytes(index) });
    assert.equal(sample.source, shardUrls[index < 3 ? 0 : 1]);
  });
}
