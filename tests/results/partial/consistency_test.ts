/**
 * A partial rewritten with a recomputed checksum is refused by the merge when any of its
 * redundant fields disagree (src/results/partial/consistency.ts): each test builds real partials the way
 * tests/results/partial/merge_test.ts does, changes the decoded structure, writes it again with the
 * project's encoder (which recomputes the SHA-256s) and checks that the merge refuses it with a
 * message naming the file and the field.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { evaluateDataset } from "../../../src/run/evaluate.ts";
import { ClipModel } from "../../../src/model/model.ts";
import { mergePartials, type SourcedPartial } from "../../../src/results/partial/merge.ts";
import { fingerprintSha256 } from "../../../src/results/partial/fingerprint.ts";
import {
  decodePartial,
  encodePartial,
  PartialError,
  type PartialResult,
} from "../../../src/results/partial/partial_file.ts";
import type {
  ClassificationShardState,
  MultilabelShardState,
  RetrievalShardState,
  ShardOutcome,
} from "../../../src/results/partial/shard_outcome.ts";
import type { TaskResult } from "../../../src/results/result.ts";
import {
  DEMO_MODEL,
  type FixtureKind,
  fixturePlan,
  writeShardedDataset,
} from "../../_shard_fixtures.ts";
import "../../../tasks/mod.ts";
import { assertSameAsUnsharded } from "./_same_as_unsharded.ts";

const model = await ClipModel.load(DEMO_MODEL);
const DIR = await Deno.makeTempDir({ prefix: "clipbench_forgery_" });
globalThis.addEventListener("unload", () => Deno.removeSync(DIR, { recursive: true }));

for (const kind of ["classification", "multilabel", "retrieval"] as const) {
  await writeShardedDataset(DIR, kind, { shardSizes: [23, 17, 20], broken: [5, 41] });
}

const built = new Map<string, SourcedPartial[]>();

/** Every shard of `count` of the `kind` fixture, each through the file format and back. */
async function shards(kind: FixtureKind, count: number): Promise<SourcedPartial[]> {
  const key = `${kind} ${count}`;
  if (!built.has(key)) {
    const partials: SourcedPartial[] = [];
    for (let index = 0; index < count; index++) {
      const outcome = await evaluateDataset(
        fixturePlan(DIR, kind, { shard: { index, count } }),
        model,
        "tiny-clip-demo",
        kind,
      );
      assert.equal(outcome.kind, "partial");
      const source = `${kind}-${index}-of-${count}.partial`;
      const bytes = encodePartial((outcome as { partial: PartialResult }).partial);
      partials.push({ source, partial: decodePartial(bytes, source) });
    }
    built.set(key, partials);
  }
  return built.get(key)!;
}

/** The partial after `edit`, written with the project's encoder and read back as forged.partial. */
function forge(
  partial: PartialResult,
  edit: (outcome: ShardOutcome) => Partial<ShardOutcome>,
): SourcedPartial {
  const forged = { ...partial, outcome: { ...partial.outcome, ...edit(partial.outcome) } };
  return {
    source: "forged.partial",
    partial: decodePartial(encodePartial(forged), "forged.partial"),
  };
}

/** Asserts that merging refuses, naming forged.partial and matching `pattern`. */
function refused(partials: SourcedPartial[], pattern: RegExp): void {
  assert.throws(
    () => mergePartials(partials),
    (e) => {
      assert.ok(e instanceof PartialError, `a PartialError, got ${e}`);
      assert.match(e.message, /^forged\.partial: field /);
      assert.match(e.message, pattern);
      return true;
    },
  );
}

const classification = (o: ShardOutcome) => o.state as ClassificationShardState;
const multilabel = (o: ShardOutcome) => o.state as MultilabelShardState;
const retrieval = (o: ShardOutcome) => o.state as RetrievalShardState;

Deno.test("forgery: shard 1's counts relabelled as shard 0 are refused (reading.tar_shards)", async () => {
  const [, p1, p2] = await shards("classification", 3);
  const relabelled = forge(p1.partial, () => ({ shard: { index: 0, count: 3 } }));
  refused(
    [relabelled, p1, p2],
    /field reading\.tar_shards is \[1\] but the list of tar shards of shard 0\/3 of a dataset of 3 tar shards .* is \[0\]/,
  );
});

Deno.test("forgery: relabelled rows whose file list was rewritten too are refused by their positions", async () => {
  for (const kind of ["multilabel", "retrieval"] as const) {
    const [, p1, p2] = await shards(kind, 3);
    const relabelled = forge(p1.partial, (o) => ({
      shard: { index: 0, count: 3 },
      reading: { ...o.reading, tarShards: [0] },
    }));
    refused(
      [relabelled, p1, p2],
      /field position_shards\/position_indices\[0\] names tar shard 1, which this shard does not read/,
    );
  }
  // Slices of tar shards (5 shards of 3 tar files): the tar files can be the same, the samples not.
  const five = await shards("retrieval", 5);
  const moved = forge(five[2].partial, () => ({
    shard: { index: 1, count: 5 },
    reading: five[1].partial.outcome.reading,
  }));
  refused(
    [five[0], moved, five[2], five[3], five[4]],
    /names sample \d+ of tar shard \d, which belongs to shard 2\/5, not 1\/5/,
  );
});

Deno.test("forgery: correct_top1 + 500 (with samples and totals to match) is refused", async () => {
  const [p0, p1, p2] = await shards("classification", 3);
  const inflated = forge(p0.partial, (o) => {
    const c = classification(o).counts;
    const perClassTotal = c.perClassTotal.slice();
    perClassTotal[0] += 500;
    return {
      read: o.read + 500,
      scored: o.scored + 500,
      state: {
        kind: "classification",
        counts: {
          ...c,
          samples: c.samples + 500,
          correctTop1: c.correctTop1 + 500,
          correctTop5: c.correctTop5 + 500,
          perClassTotal,
        },
      },
    };
  });
  refused(
    [inflated, p1, p2],
    /field state\.correct_top1 is \d+ but per_class_correct adds up to \d+/,
  );
  // One hit fewer, nothing else changed.
  const fewer = forge(p0.partial, (o) => {
    const c = classification(o).counts;
    return { state: { kind: "classification", counts: { ...c, correctTop1: c.correctTop1 - 1 } } };
  });
  refused([fewer, p1, p2], /field state\.correct_top1/);
});

Deno.test("forgery: a partial with fewer classes than class names is refused (state.num_classes)", async () => {
  const [whole] = await shards("classification", 1);
  const nine = forge(whole.partial, (o) => {
    const c = classification(o).counts;
    const last = c.perClassTotal[9];
    assert.ok(last > 0);
    return {
      read: o.read - last,
      scored: o.scored - last,
      state: {
        kind: "classification",
        counts: {
          numClasses: 9,
          samples: c.samples - last,
          correctTop1: c.correctTop1 - c.perClassCorrect[9],
          correctTop5: Math.min(c.correctTop5, c.samples - last),
          perClassTotal: c.perClassTotal.slice(0, 9),
          perClassCorrect: c.perClassCorrect.slice(0, 9),
        },
      },
    };
  });
  refused([nine], /field state\.num_classes is 9 but the number of class names .* is 10/);
});

Deno.test("forgery: a NaN or infinite embedding or score is refused, naming the array", async () => {
  const [r0, r1, r2] = await shards("retrieval", 3);
  const nanImage = forge(r0.partial, (o) => {
    const images = retrieval(o).images.slice();
    images[3] = NaN;
    return { state: { ...retrieval(o), images } };
  });
  refused([nanImage, r1, r2], /field images\[3\] is not a finite number \(NaN\)/);
  const infiniteCaption = forge(r0.partial, (o) => {
    const captions = retrieval(o).captions.slice();
    captions[7] = -Infinity;
    return { state: { ...retrieval(o), captions } };
  });
  refused([infiniteCaption, r1, r2], /field captions\[7\] is not a finite number \(-Infinity\)/);
  const [m0, m1, m2] = await shards("multilabel", 3);
  const nanScore = forge(m0.partial, (o) => {
    const scores = multilabel(o).scores.slice();
    scores[11] = NaN;
    return { state: { ...multilabel(o), scores } };
  });
  refused([nanScore, m1, m2], /field scores\[11\] is not a finite number \(NaN\)/);
});

Deno.test("forgery: a scaled embedding row is refused (not L2-normalised)", async () => {
  const [r0, r1, r2] = await shards("retrieval", 3);
  const scaled = forge(r0.partial, (o) => {
    const { dim } = retrieval(o);
    const images = retrieval(o).images.slice();
    for (let i = dim; i < 2 * dim; i++) images[i] *= 2;
    return { state: { ...retrieval(o), images } };
  });
  refused(
    [scaled, r1, r2],
    // 2 up to float32 rounding of the row (its norm is 1 only to about 1e-8).
    /field images \(row 1\) is not an L2-normalised embedding: its norm is (2|1\.99999\d*)$/,
  );
});

Deno.test("forgery: captions moved to another image are refused (caption_counts)", async () => {
  const [r0, r1, r2] = await shards("retrieval", 3);
  const moved = forge(r0.partial, (o) => {
    const captionCounts = retrieval(o).captionCounts.slice();
    captionCounts[1] += captionCounts[0];
    captionCounts[0] = 0;
    return { state: { ...retrieval(o), captionCounts } };
  });
  refused([moved, r1, r2], /field caption_counts\[0\] is 0: every scored image has a caption/);
});

Deno.test("forgery: reordered or duplicated positions are refused", async () => {
  const [r0, r1, r2] = await shards("retrieval", 3);
  const swapped = forge(r0.partial, (o) => {
    const indices = retrieval(o).positions.indices.slice();
    [indices[2], indices[3]] = [indices[3], indices[2]];
    return { state: { ...retrieval(o), positions: { ...retrieval(o).positions, indices } } };
  });
  refused([swapped, r1, r2], /field position_shards\/position_indices\[3\] .* does not follow/);
  const [m0, m1, m2] = await shards("multilabel", 3);
  const skippedAndScored = forge(m0.partial, (o) => ({
    skipped: [{ ...o.skipped[0], index: multilabel(o).positions.indices[0] }],
  }));
  refused([skippedAndScored, m1, m2], /is also listed as skipped/);
});

Deno.test("forgery: a multi-label target other than 0 or 1 is refused, naming the array", async () => {
  const [m0, m1, m2] = await shards("multilabel", 3);
  const two = forge(m0.partial, (o) => {
    const targets = multilabel(o).targets.slice();
    targets[4] = 2;
    return { state: { ...multilabel(o), targets } };
  });
  refused([two, m1, m2], /field targets\[4\] is 2, not 0 or 1/);
});

Deno.test("forgery: skipped counts and lists that disagree are refused", async () => {
  const [p0, p1, p2] = await shards("classification", 3);
  assert.equal(p0.partial.outcome.skippedCount, 1);
  const moreSkipped = forge(p0.partial, (o) => ({ read: o.read + 1, skippedCount: 2 }));
  refused(
    [moreSkipped, p1, p2],
    /field skipped lists 1 samples, but counts\.skipped \(2\) means the first 2/,
  );
  // A skipped sample of another shard's tar file.
  const elsewhere = forge(p0.partial, (o) => ({ skipped: [{ ...o.skipped[0], shard: 1 }] }));
  refused(
    [elsewhere, p1, p2],
    /field skipped\[0\] names tar shard 1, which this shard does not read/,
  );
});

Deno.test("forgery: result fields and the fingerprint that disagree are refused", async () => {
  const [whole] = await shards("classification", 1);
  const renamed = forge(whole.partial, (o) => ({
    resultFields: { ...o.resultFields, dataset: "imagenet1k" },
  }));
  refused(
    [renamed],
    /field result_fields\.dataset is "imagenet1k" but fingerprint\.dataset\.name is "classification"/,
  );
  const [r0, r1, r2] = await shards("retrieval", 3);
  const moreTars = forge(r0.partial, (o) => ({ reading: { ...o.reading, nshards: 4 } }));
  refused([moreTars, r1, r2], /field reading\.nshards is 4 but fingerprint\.dataset\.nshards is 3/);
});

/** Replaces `from` by `to` (same length) in the header and recomputes both SHA-256s. */
function rewriteHeader(bytes: Uint8Array, from: string, to: string, fingerprint: string[]) {
  assert.equal(from.length, to.length);
  const text = new TextDecoder().decode(bytes);
  const at = text.indexOf(from);
  assert.ok(at > 0);
  const out = bytes.slice();
  out.set(new TextEncoder().encode(to), at);
  const [oldSha, newSha] = fingerprint;
  const shaAt = text.indexOf(oldSha);
  out.set(new TextEncoder().encode(newSha), shaAt);
  const checksumAt = out.length - 32;
  out.set(createHash("sha256").update(out.subarray(0, checksumAt)).digest(), checksumAt);
  return out;
}

Deno.test("forgery: a non-finite number in the header (1e999) is refused", async () => {
  const [whole] = await shards("classification", 1);
  // A five-digit batch size leaves room for 1e999 in the header text.
  const fingerprint = {
    ...whole.partial.fingerprint,
    options: { ...whole.partial.fingerprint.options, batch_size: 12345 },
  };
  const bytes = encodePartial({ ...whole.partial, fingerprint });
  const infinite = { ...fingerprint, options: { ...fingerprint.options, batch_size: Infinity } };
  const forged = rewriteHeader(bytes, '"batch_size":12345', '"batch_size":1e999', [
    fingerprintSha256(fingerprint),
    fingerprintSha256(infinite),
  ]);
  const partial = decodePartial(forged, "forged.partial");
  assert.equal(partial.fingerprint.options.batch_size, Infinity);
  refused(
    [{ source: "forged.partial", partial }],
    /field fingerprint\.options\.batch_size is not a finite number \(Infinity\)/,
  );
});

Deno.test("forgery checks pass every genuine partial (merge still equals the unsharded run)", async () => {
  for (const kind of ["classification", "multilabel", "retrieval"] as const) {
    const outcome = await evaluateDataset(fixturePlan(DIR, kind), model, "tiny-clip-demo", kind);
    const expected = (outcome as { result: TaskResult }).result;
    for (const count of [3, 5]) {
      assertSameAsUnsharded(
        mergePartials(await shards(kind, count)),
        expected,
        count,
        `${kind}, ${count}`,
      );
    }
  }
});
