/**
 * Hardening of the dataset readers (issue 9, items 2, 6, 7, 10 and 11), on real tar bytes, real
 * files and real HTTP on 127.0.0.1:
 *
 * - a shard cut on a 512-byte boundary is an error naming the shard and the offset;
 * - `nshards.txt` above {@linkcode MAX_SHARDS} is refused, shards are enumerated lazily, and a
 *   malformed one is quoted only by a short prefix;
 * - a local boundary keeps every file of a dataset within its folder;
 * - a custom dataset reads over HTTP;
 * - a sample with too many members fails the shard, naming its key.
 *
 * The byte source's side of the hardening is tested in tests/io/: `If-Range` (item 5) in
 * tests/io/http/resumable_body_test.ts, the HTTP boundary in tests/io/http/client_test.ts and
 * tests/io/locations_test.ts.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { openFile, readText } from "../../src/io/byte_source.ts";
import { openCustomDataset } from "../../src/dataset/custom.ts";
import {
  MAX_SHARDS,
  openWebDataset,
  parseShardCount,
  type WebDataset,
} from "../../src/dataset/wds.ts";
import { ShardReader } from "../../src/dataset/sharding/shard_reading.ts";
import { MAX_MEMBERS_PER_SAMPLE, type Sample } from "../../src/dataset/webdataset.ts";
import type { SkippedSample } from "../../src/results/result.ts";
import { makeTar } from "../_tar_writer.ts";
import { FAST } from "../io/http/_fast_http.ts";
import { rejection } from "../io/_rejections.ts";
import { bytesOf } from "../io/_seeded_bytes.ts";

async function collect(samples: AsyncIterable<Sample | SkippedSample>): Promise<string[]> {
  const keys: string[] = [];
  for await (const sample of samples) keys.push(sample.key);
  return keys;
}

// ---------------------------------------------------------------------------------------------
// Item 6: a shard cut on a 512-byte boundary

async function writeDataset(
  root: string,
  shards: Uint8Array[],
  nshards = String(shards.length),
): Promise<void> {
  await Deno.mkdir(join(root, "test"), { recursive: true });
  await Deno.writeTextFile(join(root, "test", "nshards.txt"), nshards);
  await Deno.writeTextFile(join(root, "classnames.txt"), "a\nb\n");
  await Deno.writeTextFile(join(root, "zeroshot_classification_templates.txt"), "a {c}\n");
  for (const [index, shard] of shards.entries()) {
    await Deno.writeFile(join(root, "test", `${index}.tar`), shard);
  }
}

function shardOf(first: number, count: number, membersEach = 2): Uint8Array {
  const members = [];
  for (let i = first; i < first + count; i++) {
    const key = `s${String(i).padStart(5, "0")}`;
    members.push({ name: `${key}.cls`, data: String(i % 2) });
    for (let m = 1; m < membersEach; m++) {
      members.push({ name: `${key}.x${m}`, data: bytesOf(i, 100) });
    }
  }
  return makeTar(members);
}

Deno.test("a shard cut on a 512-byte boundary fails naming the shard and the offset", async () => {
  const root = await Deno.makeTempDir();
  try {
    const whole = shardOf(0, 50);
    // Cut after 18 samples: each is two members of one header and one data block.
    const cut = whole.slice(0, 18 * 2 * 1024);
    await writeDataset(root, [cut]);
    const dataset = await openWebDataset(root);
    const keys: string[] = [];
    const error = await rejection((async () => {
      for await (const sample of dataset.samples()) keys.push(sample.key);
    })());
    assert.equal(error.path, join(root, "test", "0.tar"));
    assert.equal(error.offset, 18 * 2 * 1024);
    assert.match(error.message, /0\.tar: tar archive truncated: input ended at byte 36864/);
    assert.ok(keys.length <= 18);
    // The whole shard reads, and so does one that ends after a single zero block.
    const oneZeroBlock = whole.slice(0, whole.length - 512);
    await Deno.writeFile(join(root, "test", "0.tar"), oneZeroBlock);
    assert.equal((await collect((await openWebDataset(root)).samples())).length, 50);
    // allowMissingEnd reads the cut shard as Python's tarfile does, with a warning.
    await Deno.writeFile(join(root, "test", "0.tar"), cut);
    const warnings: string[] = [];
    const lenient = await openWebDataset(root, {
      allowMissingEnd: true,
      onWarning: (warning) => warnings.push(warning),
    });
    assert.equal((await collect(lenient.samples())).length, 18);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /0\.tar: .*byte 36864/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

// ---------------------------------------------------------------------------------------------
// Item 7: nshards.txt

Deno.test("nshards.txt above the limit is refused; malformed content is quoted only by a prefix", async () => {
  const root = await Deno.makeTempDir();
  try {
    await writeDataset(root, [shardOf(0, 2)], "1000000000");
    const huge = await rejection(openWebDataset(root));
    assert.match(huge.message, /nshards\.txt: the shard count 1000000000 is more than the 1000000/);
    for (const count of [String(MAX_SHARDS + 1), "9".repeat(400), "1_000_001"]) {
      assert.throws(() => parseShardCount(count, "n.txt"), /is more than the 1000000 shards/);
    }
    assert.equal(parseShardCount(`${MAX_SHARDS}\n`, "n.txt"), MAX_SHARDS);
    const secret = "root:x:0:0:root:/root:/bin/bash\n".repeat(100);
    await Deno.writeTextFile(join(root, "test", "nshards.txt"), secret);
    const leak = await rejection(openWebDataset(root));
    assert.match(
      leak.message,
      /expected a positive shard count, found "root:x:0:0:root:\/roo"… \(3200 characters\)$/,
    );
    assert.ok(!leak.message.includes("/bin/bash"));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a million shards open at once: shards are enumerated lazily, only those read are opened", async () => {
  const root = await Deno.makeTempDir();
  try {
    await writeDataset(root, [shardOf(0, 3)], String(MAX_SHARDS));
    await Deno.writeFile(join(root, "test", "999999.tar"), shardOf(100, 2));
    const dataset: WebDataset = await openWebDataset(root);
    assert.equal(dataset.nshards, MAX_SHARDS);
    assert.equal(dataset.shardUrl(999_999), join(root, "test", "999999.tar"));
    assert.throws(() => dataset.shardUrl(MAX_SHARDS), RangeError);
    // A sharded reader of the last tar shard alone (1,000,000 ways) opens that one only.
    const reader = new ShardReader(dataset, { index: 999_999, count: MAX_SHARDS });
    assert.deepEqual(await collect(reader.samples()), ["s00100", "s00101"]);
    assert.equal(dataset.shardIndexOf(join(root, "test", "999999.tar")), 999_999);
    assert.equal(dataset.shardIndexOf(join(root, "test", "5.tar")), undefined);
    assert.deepEqual(await collect(dataset.samples({ limit: 3 })), ["s00000", "s00001", "s00002"]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

// ---------------------------------------------------------------------------------------------
// Item 11: members per sample

Deno.test("a sample with more members than the cap fails its shard, naming the key", async () => {
  const root = await Deno.makeTempDir();
  try {
    await writeDataset(root, [shardOf(0, 2, MAX_MEMBERS_PER_SAMPLE)]);
    assert.deepEqual(await collect((await openWebDataset(root)).samples()), ["s00000", "s00001"]);
    await writeDataset(root, [shardOf(0, 2, MAX_MEMBERS_PER_SAMPLE + 1)]);
    const error = await rejection(collect((await openWebDataset(root)).samples()));
    assert.match(
      error.message,
      /0\.tar: sample "s00000" has more than 64 members \(member "s00000\.x64"/,
    );
    assert.equal(error.path, join(root, "test", "0.tar"));
    assert.equal(error.offset, 64 * 1024);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

// ---------------------------------------------------------------------------------------------
// Item 2: the boundary

Deno.test("a local boundary: files inside read, links and paths leading outside are refused", async () => {
  const base = await Deno.realPath(await Deno.makeTempDir());
  try {
    const root = join(base, "allowed", "ds");
    const outside = join(base, "secret");
    await writeDataset(root, [shardOf(0, 2)]);
    await writeDataset(outside, [shardOf(10, 2)]);
    await Deno.writeTextFile(join(outside, "leak.txt"), "top secret content");
    const boundary = join(base, "allowed", "ds");
    assert.deepEqual(
      await collect((await openWebDataset(root, { boundary })).samples()),
      ["s00000", "s00001"],
    );
    // A split leading out of the dataset.
    const escaped = await rejection(openWebDataset(root, { boundary, split: "../../secret/test" }));
    assert.match(escaped.message, /refused: outside the dataset's allowed folder$/);
    // A symlinked shard and a symlinked classnames.txt pointing outside.
    await Deno.remove(join(root, "test", "0.tar"));
    await Deno.symlink(join(outside, "test", "0.tar"), join(root, "test", "0.tar"));
    const dataset = await openWebDataset(root, { boundary });
    const shard = await rejection(collect(dataset.samples()));
    assert.equal(
      shard.message,
      `${join(root, "test", "0.tar")}: refused: outside the dataset's allowed folder`,
    );
    await Deno.remove(join(root, "classnames.txt"));
    await Deno.symlink(join(outside, "leak.txt"), join(root, "classnames.txt"));
    const names = await rejection(openWebDataset(root, { boundary }));
    assert.ok(!names.message.includes("secret"), names.message);
    // A symlinked dataset folder inside the boundary is fine when it resolves inside.
    await Deno.symlink(root, join(base, "allowed", "link"));
    await Deno.remove(join(root, "classnames.txt"));
    await Deno.writeTextFile(join(root, "classnames.txt"), "a\nb\n");
    await openWebDataset(join(base, "allowed", "link"), { boundary: join(base, "allowed") });
    // Without a boundary (the command line), the same links are followed as before.
    assert.deepEqual(await collect((await openWebDataset(root)).samples()), ["s00010", "s00011"]);
    // A missing file inside is missing; outside it is refused, whether it exists or not.
    assert.equal((await openFile(join(root, "none.txt"), { boundary })).kind, "missing");
    for (const path of [join(outside, "leak.txt"), join(outside, "none.txt")]) {
      const refused = await rejection(readText(path, { boundary }));
      assert.equal(refused.message, `${path}: refused: outside the dataset's allowed folder`);
    }
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});

// ---------------------------------------------------------------------------------------------
// Item 10: custom datasets over HTTP; item 2 for custom datasets

Deno.test("a custom dataset reads over HTTP; within a boundary, images outside are skipped", async () => {
  const base = await Deno.realPath(await Deno.makeTempDir());
  const folder = join(base, "custom");
  await Deno.mkdir(join(folder, "img"), { recursive: true });
  await Deno.writeFile(join(folder, "img", "a.png"), bytesOf(7, 300));
  await Deno.writeTextFile(join(base, "outside.png"), "not for you");
  const lines = [
    { image_path: "img/a.png", query: ["an a"] },
    { image_path: join(base, "outside.png"), query: "abs" },
    { image_path: "../outside.png", query: "up" },
    { image_path: "img/none.png", query: "none" },
  ];
  await Deno.writeTextFile(
    join(folder, "image_queries.jsonl"),
    lines.map((line) => JSON.stringify(line)).join("\n"),
  );
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const path = decodeURIComponent(new URL(request.url).pathname);
    try {
      return new Response(await Deno.readFile(join(base, path)));
    } catch {
      return new Response("no", { status: 404 });
    }
  });
  const root = `http://127.0.0.1:${server.addr.port}/custom`;
  try {
    for (const boundary of [undefined, `${root}/`]) {
      const dataset = await openCustomDataset(root, { boundary, http: FAST });
      assert.equal(dataset.queriesPath, `${root}/image_queries.jsonl`);
      const samples: (Sample | SkippedSample)[] = [];
      for await (const sample of dataset.samples()) samples.push(sample);
      const [a, absolute, up, none] = samples;
      assert.deepEqual((a as Sample).fields.get("png"), bytesOf(7, 300));
      assert.match((absolute as SkippedSample).reason, /is not a relative path/);
      if (boundary === undefined) {
        assert.ok("fields" in up, "without a boundary ../ is read");
      } else {
        assert.match(
          (up as SkippedSample).reason,
          /refused: outside the dataset's allowed URL prefix/,
        );
      }
      assert.match((none as SkippedSample).reason, /image "img\/none\.png" not found/);
    }
    // Locally within a boundary: no working-directory fallback, absolute paths outside refused.
    const local = await openCustomDataset(folder, { boundary: folder, workingDirectory: base });
    const reasons: string[] = [];
    for await (const sample of local.samples()) {
      if ("reason" in sample) reasons.push(sample.reason);
    }
    assert.equal(reasons.length, 3);
    assert.match(reasons[0], /refused: outside the dataset's allowed folder/);
    assert.match(reasons[1], /refused: outside the dataset's allowed folder/);
    assert.ok(reasons.every((reason) => !reason.includes("not for you")));
  } finally {
    await server.shutdown();
    await Deno.remove(base, { recursive: true });
  }
});
