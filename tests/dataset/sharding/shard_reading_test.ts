import assert from "node:assert/strict";
import { openWebDataset } from "../../../src/dataset/wds.ts";
import { UsageError } from "../../../src/errors.ts";
import {
  sampleOwner,
  ShardReader,
  shardReadingPlan,
} from "../../../src/dataset/sharding/shard_reading.ts";
import {
  formatShardSpec,
  parseShardSpec,
  shardFromEnvironment,
} from "../../../src/dataset/sharding/shard_spec.ts";
import { makeTar } from "../../_tar_writer.ts";

Deno.test("parseShardSpec: i/n, 0-based; anything else names the flag", () => {
  assert.deepEqual(parseShardSpec("0/1", "--shard"), { index: 0, count: 1 });
  assert.deepEqual(parseShardSpec(" 3 / 4 ", "--shard"), { index: 3, count: 4 });
  assert.equal(formatShardSpec({ index: 2, count: 5 }), "2/5");
  for (const bad of ["4/4", "1/0", "-1/2", "1", "a/b", "1/2/3", "1.5/3"]) {
    assert.throws(
      () => parseShardSpec(bad, "--shard"),
      (e) => e instanceof UsageError && /--shard/.test(e.message),
      bad,
    );
  }
});

Deno.test("shardFromEnvironment: explicit, then a count with the index from the environment", () => {
  const env = (vars: Record<string, string>) => (name: string) => vars[name];
  assert.equal(shardFromEnvironment({ env: env({}) }), undefined);
  // An index alone changes nothing.
  assert.equal(shardFromEnvironment({ env: env({ JOB_COMPLETION_INDEX: "3" }) }), undefined);
  assert.deepEqual(
    shardFromEnvironment({ count: 4, env: env({ JOB_COMPLETION_INDEX: "3" }) }),
    { index: 3, count: 4 },
  );
  assert.deepEqual(
    shardFromEnvironment({
      env: env({
        CLIPBENCH_SHARD_COUNT: "8",
        CLIPBENCH_SHARD_INDEX: "5",
        JOB_COMPLETION_INDEX: "1",
      }),
    }),
    { index: 5, count: 8 },
  );
  assert.deepEqual(
    shardFromEnvironment({
      explicit: { index: 1, count: 2 },
      env: env({ CLIPBENCH_SHARD_COUNT: "8", JOB_COMPLETION_INDEX: "5" }),
    }),
    { index: 1, count: 2 },
  );
  assert.throws(() => shardFromEnvironment({ count: 2, env: env({}) }), /needs the shard index/);
  assert.throws(
    () => shardFromEnvironment({ env: env({ CLIPBENCH_SHARD_COUNT: "two" }) }),
    /CLIPBENCH_SHARD_COUNT must be a positive integer, got "two"/,
  );
  assert.throws(
    () => shardFromEnvironment({ count: 2, env: env({ JOB_COMPLETION_INDEX: "x" }) }),
    /JOB_COMPLETION_INDEX must be a non-negative integer/,
  );
  assert.throws(
    () => shardFromEnvironment({ count: 2, env: env({ JOB_COMPLETION_INDEX: "2" }) }),
    /from 0 to 1/,
  );
});

Deno.test("every sample has exactly one owner, who reads its tar shard", () => {
  for (let nshards = 1; nshards <= 7; nshards++) {
    for (let count = 1; count <= 12; count++) {
      const plans = Array.from(
        { length: count },
        (_, index) => shardReadingPlan(nshards, { index, count }),
      );
      const load = new Array(count).fill(0);
      for (let shard = 0; shard < nshards; shard++) {
        for (let index = 0; index < 60; index++) {
          const owner = sampleOwner(shard, index, nshards, count);
          assert.ok(owner >= 0 && owner < count);
          assert.ok(plans[owner].tarShards.includes(shard), `${nshards} tar shards, ${count} ways`);
          load[owner]++;
        }
      }
      for (const plan of plans) {
        assert.equal(plan.mode, count <= nshards ? "tar_shards" : "samples");
        assert.ok(plan.tarShards.length >= 1);
        if (count > nshards) assert.ok(plan.tarShards.length <= 2);
      }
      // Equal tar shards, more workers than shards: equal work (60 · T / n each, ± rounding).
      if (count > nshards) {
        const share = (60 * nshards) / count;
        for (const l of load) assert.ok(Math.abs(l - share) <= nshards, `${l} vs ${share}`);
      }
    }
  }
});

Deno.test("a shard opens only its own tar files and records positions", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/test`);
    await Deno.writeTextFile(`${dir}/test/nshards.txt`, "3\n");
    const shard = (s: number, n: number) =>
      makeTar(Array.from({ length: n }, (_, i) => ({ name: `k${s}_${i}.cls`, data: "0" })));
    await Deno.writeFile(`${dir}/test/0.tar`, shard(0, 4));
    await Deno.writeFile(`${dir}/test/1.tar`, new TextEncoder().encode("not a tar file at all"));
    await Deno.writeFile(`${dir}/test/2.tar`, shard(2, 3));
    const dataset = await openWebDataset(dir);
    // Shard 1 is broken, but shard 0/2 reads tar files 0 and 2 only.
    const reader = new ShardReader(dataset, { index: 0, count: 2 });
    const keys = [];
    for await (const sample of reader.samples()) {
      const { shard, index } = reader.positionOf(sample);
      keys.push(`${sample.key}@${shard}.${index}`);
    }
    assert.deepEqual(keys, [
      "k0_0@0.0",
      "k0_1@0.1",
      "k0_2@0.2",
      "k0_3@0.3",
      "k2_0@2.0",
      "k2_1@2.1",
      "k2_2@2.2",
    ]);
    // Four ways over three tar files: slices, positions counted within each tar file; every
    // sample read by exactly one shard.
    await Deno.writeFile(`${dir}/test/1.tar`, shard(1, 5));
    const slices: string[] = [];
    for (let index = 0; index < 4; index++) {
      const r = new ShardReader(dataset, { index, count: 4 });
      for await (const sample of r.samples()) {
        const { shard: s, index: i } = r.positionOf(sample);
        assert.equal(sampleOwner(s, i, 3, 4), index);
        slices.push(sample.key);
      }
    }
    assert.equal(slices.length, 12);
    assert.equal(new Set(slices).size, 12);
    assert.throws(() => reader.positionOf({}), /did not yield/);
    await assert.rejects(async () => {
      for await (const _ of dataset.samples({ shards: [3] })) { /* nothing */ }
    }, /shard index 3 is outside the 3 shard/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
