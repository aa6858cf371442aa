/**
 * The batching rules every image path shares (src/pipeline/slot_batcher.ts), with a decoding
 * stage that answers in an order of the test's choosing: commits stay in stream order, skips are
 * reported where they occur, slots come back, and waits always end.
 */
import assert from "node:assert/strict";
import type { Sample } from "../../src/dataset/webdataset.ts";
import type { SkippedSample } from "../../src/results/result.ts";
import { SlotBatcher } from "../../src/pipeline/slot_batcher.ts";
import type { SlotDecoder } from "../../src/pipeline/slot_decoder.ts";

/** A stage that writes the slot number into the slot and answers jobs only when told to. */
class ManualDecoder implements SlotDecoder {
  readonly pending: { slot: number; answer: () => void }[] = [];
  closed = false;
  constructor(readonly pixels: Float32Array, readonly bad: ReadonlySet<string>) {}

  decode(bytes: Uint8Array, _ext: string, slot: number): Promise<string | undefined> {
    const name = new TextDecoder().decode(bytes);
    return new Promise((resolve) => {
      this.pending.push({
        slot,
        answer: () => {
          this.pixels[slot] = Number(name.slice(1));
          resolve(this.bad.has(name) ? `bad ${name}` : undefined);
        },
      });
    });
  }

  /** Answers the pending jobs, newest first. */
  answerAll(): void {
    for (const job of this.pending.splice(0).reverse()) job.answer();
  }

  close(): void {
    this.closed = true;
  }
}

function sample(key: string, fields: Record<string, string>): Sample {
  const map = new Map(Object.entries(fields).map(([k, v]) => [k, new TextEncoder().encode(v)]));
  return { key, source: "memory", fields: map };
}

async function* stream(items: (Sample | SkippedSample)[]) {
  yield* items;
}

Deno.test("slot batcher: stream order whatever order the decodes answer in", async () => {
  const items: (Sample | SkippedSample)[] = [];
  for (let i = 0; i < 9; i++) items.push(sample(`k${i}`, { png: `k${i}`, cls: "1" }));
  items.splice(2, 0, { key: "gone", source: "memory", reason: "missing file" });
  items.splice(5, 0, sample("no_image", { cls: "1" }));
  const skipped: SkippedSample[] = [];
  const sampled: string[] = [];
  let decoder: ManualDecoder | undefined;
  const batcher = await SlotBatcher.open(stream(items), {
    batchSize: 3,
    slotCount: 4,
    imageSize: 1,
    extract: (s) => s.key.toUpperCase(),
    onSkip: (s) => skipped.push(s),
    onSample: (s) => sampled.push(s.key),
    decoder: (slots) => (decoder = new ManualDecoder(new Float32Array(slots), new Set(["k4"]))),
  });
  const batches: { keys: readonly string[]; items: readonly string[]; pixels: number[] }[] = [];
  const answering = setInterval(() => decoder!.answerAll(), 1);
  try {
    while (true) {
      const batch = await batcher.nextBatch();
      if (batch === undefined) break;
      const target = new Float32Array(3);
      batcher.gather(batch, target);
      batches.push({
        keys: batch.keys,
        items: batch.items,
        pixels: [...target.subarray(0, batch.keys.length)],
      });
    }
  } finally {
    clearInterval(answering);
    await batcher.close();
  }
  assert.deepEqual(batches, [
    { keys: ["k0", "k1", "k2"], items: ["K0", "K1", "K2"], pixels: [0, 1, 2] },
    { keys: ["k3", "k5", "k6"], items: ["K3", "K5", "K6"], pixels: [3, 5, 6] },
    { keys: ["k7", "k8"], items: ["K7", "K8"], pixels: [7, 8] },
  ]);
  assert.deepEqual(skipped.map((s) => [s.key, s.reason.split(" (")[0]]), [
    ["gone", "missing file"],
    ["no_image", "no image"],
    ["k4", "bad k4"],
  ]);
  assert.deepEqual(sampled, items.map((s) => s.key));
  assert.ok(decoder!.closed);
});

Deno.test("slot batcher: runs of refused samples are read past, and an abort wakes a wait", async () => {
  const refused = Array.from({ length: 500 }, (_, i) => sample(`r${i}`, { png: "r0" }));
  let decoder: ManualDecoder | undefined;
  const controller = new AbortController();
  const batcher = await SlotBatcher.open(stream([...refused, sample("g", { png: "g1" })]), {
    batchSize: 2,
    slotCount: 2,
    imageSize: 1,
    signal: controller.signal,
    extract: (s) => {
      if (s.key.startsWith("r")) throw new Error("no label");
      return 0;
    },
    onSkip: () => {},
    decoder: (slots) => (decoder = new ManualDecoder(new Float32Array(slots), new Set())),
  });
  try {
    // Nothing answers the one decode: the batcher waits on it until the abort.
    setTimeout(() => controller.abort(new Error("stopped")), 20);
    await assert.rejects(batcher.nextBatch(), /stopped/);
    assert.equal(decoder!.pending.length, 1);
  } finally {
    await batcher.close();
  }
});

Deno.test("slot batcher: a failing decoder factory closes the stream", async () => {
  let returned = false;
  const samples: AsyncIterable<Sample> = {
    [Symbol.asyncIterator]: () => ({
      next: () => Promise.resolve({ done: true, value: undefined }),
      return: () => {
        returned = true;
        return Promise.resolve({ done: true, value: undefined });
      },
    }),
  };
  await assert.rejects(
    SlotBatcher.open(samples, {
      batchSize: 1,
      slotCount: 1,
      imageSize: 1,
      extract: () => 0,
      onSkip: () => {},
      decoder: () => {
        throw new Error("no stage");
      },
    }),
    /no stage/,
  );
  assert.ok(returned);
});
