/**
 * Hardening of the dataset readers (issue 9, items 2, 5, 6, 7, 10 and 11), on real tar bytes,
 * real files and real HTTP on 127.0.0.1:
 *
 * - a resumed HTTP read never splices two versions of a file (`If-Range`);
 * - a shard cut on a 512-byte boundary is an error naming the shard and the offset;
 * - `nshards.txt` above {@linkcode MAX_SHARDS} is refused, shards are enumerated lazily, and a
 *   malformed one is quoted only by a short prefix;
 * - a boundary keeps every file, URL and redirect within the dataset's folder or URL prefix;
 * - a custom dataset reads over HTTP;
 * - a sample with too many members fails the shard, naming its key.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { isUrlWithin, openByteStream, openFile, readText } from "../../src/io/byte_source.ts";
import { openCustomDataset } from "../../src/dataset/custom.ts";
import {
  MAX_SHARDS,
  openWebDataset,
  parseShardCount,
  type WebDataset,
} from "../../src/dataset/wds.ts";
import { DatasetError } from "../../src/errors.ts";
import { ShardReader } from "../../src/dataset/sharding/shard_reading.ts";
import { MAX_MEMBERS_PER_SAMPLE, type Sample } from "../../src/dataset/webdataset.ts";
import type { SkippedSample } from "../../src/results/result.ts";
import { makeTar } from "../_tar_writer.ts";

const FAST = {
  retry: { baseDelayMs: 1, maxDelayMs: 1 },
  clock: {
    sleep: () => Promise.resolve(),
    random: () => 0.5,
    now: () => 0,
  },
};

async function rejection(promise: Promise<unknown>): Promise<DatasetError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof DatasetError, `expected a DatasetError, got ${error}`);
    return error;
  }
  assert.fail("expected a DatasetError");
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

async function collect(samples: AsyncIterable<Sample | SkippedSample>): Promise<string[]> {
  const keys: string[] = [];
  for await (const sample of samples) keys.push(sample.key);
  return keys;
}

function bytesOf(seed: number, length: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (seed * 31 + i * 7) & 0xff);
}

// ---------------------------------------------------------------------------------------------
// Item 5: If-Range

/** How the versioned server answers a resume. */
type ResumeMode = "if-range" | "ignore-if-range";

interface VersionedServer {
  url: string;
  /** `If-Range` and `Range` of each request. */
  seen: { range: string | null; ifRange: string | null }[];
  close(): Promise<void>;
}

/**
 * Serves one file at `/f` in versions: the first answer stops after `cut` bytes (the connection
 * then closes) and the file becomes `next` (unless it is the same array) before the resume.
 * Validators: a strong `ETag` "v<n>", or only `Last-Modified` with `lastModifiedOnly`. With
 * `ignore-if-range`, the server answers every `Range` with 206, whatever `If-Range` says.
 */
function versionedServer(
  first: Uint8Array,
  next: Uint8Array,
  cut: number,
  options: { mode?: ResumeMode; lastModifiedOnly?: boolean } = {},
): VersionedServer {
  const versions = [first, next];
  let version = 0;
  const seen: VersionedServer["seen"] = [];
  const validator = (v: number): Record<string, string> =>
    options.lastModifiedOnly
      ? { "last-modified": new Date(Date.UTC(2024, 0, 1 + v)).toUTCString() }
      : { etag: `"v${v}"` };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
    const range = request.headers.get("range");
    const ifRange = request.headers.get("if-range");
    seen.push({ range, ifRange });
    const isFirst = seen.length === 1;
    const whole = versions[version];
    const current = validator(version);
    const matches = ifRange === null || ifRange === Object.values(current)[0];
    const start = range === null || (options.mode !== "ignore-if-range" && !matches)
      ? 0
      : Number(/^bytes=([0-9]+)-$/.exec(range)![1]);
    const bytes = whole.slice(start);
    const headers: Record<string, string> = { ...current, "content-length": String(bytes.length) };
    if (start > 0) headers["content-range"] = `bytes ${start}-${whole.length - 1}/${whole.length}`;
    const status = start > 0 ? 206 : 200;
    if (!isFirst) return new Response(bytes, { status, headers });
    if (next !== first) version = 1; // the file changes while the first answer is cut off
    return new Response(
      new ReadableStream({
        start(controller) {
          controller.enqueue(bytes.slice(0, cut));
          controller.close();
        },
      }),
      { status, headers },
    );
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/f`,
    seen,
    close: () => server.shutdown(),
  };
}

Deno.test("If-Range: a file replaced between the cut and the resume is an error, never spliced", async () => {
  const before = bytesOf(1, 5000);
  const after = bytesOf(2, 5000); // same size: only the validator tells
  for (const mode of ["if-range", "ignore-if-range"] as const) {
    for (const lastModifiedOnly of [false, true]) {
      const label = `${mode}${lastModifiedOnly ? ", Last-Modified only" : ", ETag"}`;
      const server = versionedServer(before, after, 1500, { mode, lastModifiedOnly });
      try {
        const stream = await openByteStream(server.url, { http: FAST });
        const error = await rejection(readAll(stream));
        assert.match(error.message, /\/f: changed while being read/, label);
        assert.equal(error.path, server.url, label);
        assert.equal(error.offset, 1500, label);
        assert.equal(server.seen.length, 2, label);
        assert.equal(server.seen[1].range, "bytes=1500-", label);
        assert.equal(
          server.seen[1].ifRange,
          lastModifiedOnly ? new Date(Date.UTC(2024, 0, 1)).toUTCString() : `"v0"`,
          label,
        );
      } finally {
        await server.close();
      }
    }
  }
});

Deno.test("If-Range: an unchanged file resumes intact, with If-Range sent", async () => {
  const bytes = bytesOf(3, 7000);
  const server = versionedServer(bytes, bytes, 2048);
  try {
    const read = await readAll(await openByteStream(server.url, { http: FAST }));
    assert.deepEqual(read, bytes);
    assert.deepEqual(server.seen[1], { range: "bytes=2048-", ifRange: `"v0"` });
  } finally {
    await server.close();
  }
});

Deno.test("If-Range: a replaced file is read whole from the new version when nothing was delivered", async () => {
  // The first answer is cut before its first byte: the read restarts on the new version.
  const before = bytesOf(4, 3000);
  const after = bytesOf(5, 3500);
  const server = versionedServer(before, after, 0);
  try {
    assert.deepEqual(await readAll(await openByteStream(server.url, { http: FAST })), after);
  } finally {
    await server.close();
  }
});

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

Deno.test("isUrlWithin: normalised, path-segment aware, no encoded separators", () => {
  const boundary = "http://127.0.0.1:8000/data/ds/";
  const inside = [
    "http://127.0.0.1:8000/data/ds/test/0.tar",
    "http://127.0.0.1:8000/data/ds",
    "HTTP://127.0.0.1:8000/data/ds/a/../test/nshards.txt",
    "http://127.0.0.1:8000/data/ds/test/0.tar?x=../../y",
  ];
  const outside = [
    "http://127.0.0.1:8000/data/ds2/test/0.tar",
    "http://127.0.0.1:8000/data/ds/../secret/nshards.txt",
    "http://127.0.0.1:8000/data/ds/%2e%2e/secret/nshards.txt",
    "http://127.0.0.1:8000/data/ds/.%2E/secret/nshards.txt",
    "http://127.0.0.1:8000/data/ds/..%2fsecret/nshards.txt",
    "http://127.0.0.1:8000/data/ds/..%5Csecret/nshards.txt",
    "http://127.0.0.1:8000/data/ds/%252e%2f/x",
    "http://127.0.0.1:8000/data/ds\\..\\secret",
    "http://127.0.0.1:8001/data/ds/test/0.tar",
    "https://127.0.0.1:8000/data/ds/test/0.tar",
    "http://evil@127.0.0.1:8000/data/ds/test/0.tar",
    "file:///data/ds/test/0.tar",
    "not a url",
  ];
  for (const url of inside) assert.ok(isUrlWithin(url, boundary), url);
  for (const url of outside) assert.ok(!isUrlWithin(url, boundary), url);
  assert.ok(isUrlWithin("http://h/data/ds/x", "http://h/data/ds"));
  assert.ok(!isUrlWithin("http://h/data/dsx", "http://h/data/ds"));
});

Deno.test("an HTTP boundary: traversal and redirects leaving the prefix are refused before any request", async () => {
  const requests: string[] = [];
  const files: Record<string, string> = {
    "/data/ds/test/nshards.txt": "1",
    "/secret/test/nshards.txt": "hidden 12345",
  };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
    const path = new URL(request.url).pathname;
    requests.push(path);
    if (path === "/data/ds/jump") {
      return new Response(null, { status: 302, headers: { location: "/secret/test/nshards.txt" } });
    }
    if (path === "/data/ds/inside") {
      return new Response(null, {
        status: 302,
        headers: { location: "/data/ds/test/nshards.txt" },
      });
    }
    const body = files[path];
    return body === undefined ? new Response("no", { status: 404 }) : new Response(body);
  });
  const origin = `http://127.0.0.1:${server.addr.port}`;
  const boundary = `${origin}/data/ds/`;
  try {
    for (const path of ["../../secret/test/nshards.txt", "%2e%2e/%2e%2e/secret/test/nshards.txt"]) {
      const error = await rejection(
        readText(`${origin}/data/ds/${path}`, { boundary, http: FAST }),
      );
      assert.match(error.message, /refused: outside the dataset's allowed URL prefix$/);
      assert.ok(!error.message.includes("hidden"));
    }
    const split = await rejection(
      openWebDataset(`${origin}/data/ds`, { boundary, split: "../../secret/test", http: FAST }),
    );
    assert.match(split.message, /refused: outside the dataset's allowed URL prefix$/);
    const other = await rejection(readText(`${origin}/data/ds2/x`, { boundary, http: FAST }));
    assert.match(other.message, /refused/);
    assert.deepEqual(requests, []);
    const redirect = await rejection(readText(`${origin}/data/ds/jump`, { boundary, http: FAST }));
    assert.equal(
      redirect.message,
      `${origin}/data/ds/jump: refused: redirected outside the dataset's allowed URL prefix`,
    );
    assert.deepEqual(requests, ["/data/ds/jump"]);
    assert.equal(await readText(`${origin}/data/ds/inside`, { boundary, http: FAST }), "1");
    // Without a boundary (the command line), redirects go anywhere, as before.
    assert.equal(await readText(`${origin}/data/ds/jump`, { http: FAST }), "hidden 12345");
  } finally {
    await server.shutdown();
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
