/**
 * Tests of the dataset reader and its byte source, over real files and real HTTP: the
 * datasets under tests/data/tar/ (made by tools/vectors/make_tar_vectors.py), read from disk
 * and from a `Deno.serve` server on 127.0.0.1 that serves the same folder and can answer 404,
 * 429, 500, honour `Range`, redirect, stall, or close a connection in the middle of a body.
 * Retries wait on a recording clock, so the backoff is checked without being slept.
 */

import assert from "node:assert/strict";
import {
  type DatasetLocation,
  type HttpOptions,
  httpRequest,
  isHttpUrl,
  joinLocation,
  locationAt,
  locationExists,
  openByteStream,
  openFile,
  readText,
  readTextIfExists,
  type RetryEvent,
} from "../../src/io/byte_source.ts";
import { openWebDataset, splitTextLines, type WebDataset } from "../../src/dataset/wds.ts";
import { DatasetError } from "../../src/errors.ts";
import { imageField, labelField, type Sample } from "../../src/dataset/webdataset.ts";
import type { RetryClock } from "../../src/io/http/retry.ts";

const DATA_DIR = new URL("../data/tar/", import.meta.url).pathname;
const CLASSIFICATION = `${DATA_DIR}wds_classification`;
const RETRIEVAL = `${DATA_DIR}wds_retrieval`;

/** The generator's sample_bytes(i): 40 + i bytes, (i * 13 + j * 5) mod 256. */
function sampleBytes(index: number): Uint8Array {
  return Uint8Array.from({ length: 40 + index }, (_, j) => (index * 13 + j * 5) & 0xff);
}

async function collect(dataset: WebDataset, limit?: number): Promise<Sample[]> {
  const samples: Sample[] = [];
  for await (const sample of dataset.samples({ limit })) samples.push(sample);
  return samples;
}

async function rejectsWith(
  promise: Promise<unknown>,
  check: (error: DatasetError) => void,
): Promise<DatasetError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof DatasetError, `expected a DatasetError, got ${error}`);
    check(error);
    return error;
  }
  assert.fail("expected a DatasetError");
}

/** What the test server does for particular paths (relative to the served folder). */
interface ServerBehaviour {
  /** Paths answered with 404 even if the file exists. */
  notFound?: string[];
  /** Paths answered with 500. */
  fail?: string[];
  /** Paths whose body stops after this many bytes, the connection then closed. */
  cutAfter?: Record<string, number>;
  /** Paths whose body stalls after this many bytes until the client goes away. */
  stallAfter?: Record<string, number>;
  /** Paths whose first `times` answers are `status` (with `Retry-After` when given). */
  failFirst?: Record<string, { status: number; times: number; retryAfter?: string }>;
  /** Paths whose first answer stops after this many bytes (later ones are whole). */
  cutOnceAfter?: Record<string, number>;
  /** Paths whose first answer stalls after this many bytes (later ones are whole). */
  stallOnceAfter?: Record<string, number>;
  /** Answer `Range: bytes=N-` requests with 206 (otherwise they get the whole file, 200). */
  honourRange?: boolean;
  /** Paths answered with a redirect to this URL (absolute, or a path on the same server). */
  redirect?: Record<string, string>;
}

interface TestServer {
  /** `http://127.0.0.1:<port>` */
  origin: string;
  /** Paths requested so far, in order, e.g. "/wds_classification/test/0.tar". */
  requests: string[];
  /** The `Range` and `Authorization` headers of each request, in the same order. */
  headers: { range: string | null; authorization: string | null }[];
  close(): Promise<void>;
}

function serveFolder(folder: string, behaviour: ServerBehaviour = {}): TestServer {
  const requests: string[] = [];
  const seenHeaders: TestServer["headers"] = [];
  const answered = new Map<string, number>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const path = decodeURIComponent(new URL(request.url).pathname);
    requests.push(path);
    seenHeaders.push({
      range: request.headers.get("range"),
      authorization: request.headers.get("authorization"),
    });
    const relative = path.slice(1);
    const count = answered.get(relative) ?? 0;
    answered.set(relative, count + 1);
    if (behaviour.notFound?.includes(relative)) return new Response("gone", { status: 404 });
    if (behaviour.fail?.includes(relative)) return new Response("broken", { status: 500 });
    const target = behaviour.redirect?.[relative];
    if (target !== undefined) {
      return new Response(null, { status: 302, headers: { location: target } });
    }
    const failFirst = behaviour.failFirst?.[relative];
    if (failFirst !== undefined && count < failFirst.times) {
      const headers: Record<string, string> = failFirst.retryAfter === undefined
        ? {}
        : { "retry-after": failFirst.retryAfter };
      return new Response("not now", { status: failFirst.status, headers });
    }
    let whole: Uint8Array<ArrayBuffer>;
    try {
      whole = await Deno.readFile(`${folder}/${relative}`);
    } catch {
      return new Response("no such file", { status: 404 });
    }
    const range = /^bytes=([0-9]+)-$/.exec(request.headers.get("range") ?? "");
    const start = behaviour.honourRange && range !== null ? Number(range[1]) : 0;
    const bytes = whole.slice(start);
    const headers: Record<string, string> = { "content-length": String(bytes.length) };
    if (start > 0) headers["content-range"] = `bytes ${start}-${whole.length - 1}/${whole.length}`;
    const status = start > 0 ? 206 : 200;
    const stallOnce = count === 0 ? behaviour.stallOnceAfter?.[relative] : undefined;
    const stall = behaviour.stallAfter?.[relative] ?? stallOnce;
    if (stall !== undefined) {
      return new Response(
        new ReadableStream({
          // Never closed: Deno cancels this body when the client drops the connection.
          start(controller) {
            controller.enqueue(bytes.slice(0, stall));
          },
        }),
        { status, headers },
      );
    }
    const cutOnce = count === 0 ? behaviour.cutOnceAfter?.[relative] : undefined;
    const cut = behaviour.cutAfter?.[relative] ?? cutOnce;
    if (cut === undefined) return new Response(bytes, { status, headers });
    // Announce the full length, send `cut` bytes, then end: the server drops the connection.
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
    origin: `http://127.0.0.1:${server.addr.port}`,
    requests,
    headers: seenHeaders,
    close: () => server.shutdown(),
  };
}

/** A clock whose sleeps return at once and are recorded (milliseconds). */
function recordingClock(): RetryClock & { slept: number[] } {
  const slept: number[] = [];
  return {
    slept,
    sleep: (ms) => {
      slept.push(ms);
      return Promise.resolve();
    },
    random: () => 0.5,
    now: () => Date.parse("2024-01-01T00:00:00Z"),
  };
}

/** HTTP options with the recording clock and a log of retries. */
function fastHttp(extra: Omit<HttpOptions, "clock" | "onRetry"> = {}): HttpOptions & {
  clock: ReturnType<typeof recordingClock>;
  retries: RetryEvent[];
} {
  const retries: RetryEvent[] = [];
  return { ...extra, clock: recordingClock(), retries, onRetry: (event) => retries.push(event) };
}

async function withServer(
  behaviour: ServerBehaviour,
  body: (server: TestServer) => Promise<void>,
): Promise<void> {
  const server = serveFolder(DATA_DIR, behaviour);
  try {
    await body(server);
  } finally {
    await server.close();
  }
}

function checkClassificationSamples(samples: Sample[], shardUrls: readonly string[]): void {
  assert.deepEqual(samples.map((s) => s.key), [0, 1, 2, 3, 4].map((i) => `s000000${i}`));
  samples.forEach((sample, index) => {
    assert.deepEqual([...sample.fields.keys()], ["cls", "png"]);
    assert.equal(labelField(sample), index % 3);
    assert.deepEqual(imageField(sample), { ext: "png", bytes: sampleBytes(index) });
    assert.equal(sample.source, shardUrls[index < 3 ? 0 : 1]);
  });
}

Deno.test("a local classification dataset: metadata and samples in shard order", async () => {
  const dataset = await openWebDataset(CLASSIFICATION);
  assert.equal(dataset.root, CLASSIFICATION);
  assert.equal(dataset.split, "test");
  assert.equal(dataset.type, "classification");
  assert.equal(dataset.nshards, 2);
  assert.deepEqual(dataset.shardUrls, [
    `${CLASSIFICATION}/test/0.tar`,
    `${CLASSIFICATION}/test/1.tar`,
  ]);
  assert.deepEqual(dataset.classnames, ["cat", "dog", "T-shirt/top"]);
  assert.deepEqual(dataset.templates, ["a photo of a {c}.", "a {c}."]);
  checkClassificationSamples(await collect(dataset), dataset.shardUrls);
  const slashed = await openWebDataset(`${CLASSIFICATION}/`);
  assert.deepEqual(slashed.shardUrls, dataset.shardUrls);
});

Deno.test("limit yields exactly the first samples, across shards", async () => {
  const dataset = await openWebDataset(CLASSIFICATION);
  for (const [limit, count] of [[0, 0], [1, 1], [3, 3], [4, 4], [5, 5], [100, 5]]) {
    const samples = await collect(dataset, limit);
    assert.deepEqual(
      samples.map((s) => s.key),
      [0, 1, 2, 3, 4].slice(0, count).map((i) => `s000000${i}`),
      `limit ${limit}`,
    );
  }
  await assert.rejects(collect(dataset, -1), RangeError);
  await assert.rejects(collect(dataset, 1.5), RangeError);
  // Breaking out of the loop early also closes the shard.
  for await (const sample of dataset.samples()) {
    assert.equal(sample.key, "s0000000");
    break;
  }
});

Deno.test("a retrieval dataset has no class names and keeps its txt fields", async () => {
  const dataset = await openWebDataset(RETRIEVAL);
  assert.equal(dataset.type, "retrieval");
  assert.equal(dataset.classnames, undefined);
  assert.equal(dataset.templates, undefined);
  const samples = await collect(dataset);
  assert.deepEqual(samples.map((s) => [s.key, [...s.fields.keys()]]), [
    ["s0000000", ["png", "txt"]],
    ["s0000001", ["png", "txt"]],
  ]);
  assert.equal(new TextDecoder().decode(samples[1].fields.get("txt")), "caption 1 a\ncaption 1 b");
});

/** Writes a dataset folder variant under a temporary directory. */
async function makeDataset(files: Record<string, string>): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "clipbench_dataset_" });
  await Deno.mkdir(`${root}/test`);
  await Deno.copyFile(`${CLASSIFICATION}/test/0.tar`, `${root}/test/0.tar`);
  for (const [name, text] of Object.entries(files)) {
    await Deno.writeTextFile(`${root}/${name}`, text);
  }
  return root;
}

Deno.test("metadata files are read the way CLIP_benchmark reads them", async () => {
  const base = {
    "test/nshards.txt": " 1\n",
    "classnames.txt": "\ufeffcat\r\n\r\n dog \n\n",
    "zeroshot_classification_templates.txt": "a {c}.",
  };
  const roots: string[] = [];
  try {
    const plain = await makeDataset(base);
    roots.push(plain);
    const dataset = await openWebDataset(plain);
    assert.equal(dataset.nshards, 1);
    // Python: [l.strip() for l in "\ufeffcat\r\n\r\n dog \n\n".splitlines()]
    assert.deepEqual(dataset.classnames, ["\ufeffcat", "", "dog", ""]);
    assert.deepEqual(dataset.templates, ["a {c}."]);

    const multilabel = await makeDataset({ ...base, "dataset_type.txt": "  MultiLabel \n" });
    roots.push(multilabel);
    assert.equal((await openWebDataset(multilabel)).type, "multilabel");

    const retrieval = await makeDataset({
      "test/nshards.txt": "1",
      "dataset_type.txt": "Retrieval",
    });
    roots.push(retrieval);
    assert.equal((await openWebDataset(retrieval)).type, "retrieval");

    const unknown = await makeDataset({ ...base, "dataset_type.txt": "segmentation\n" });
    roots.push(unknown);
    await rejectsWith(openWebDataset(unknown), (error) => {
      assert.equal(error.path, `${unknown}/dataset_type.txt`);
      assert.match(error.message, /unknown dataset type "segmentation"/);
    });

    for (const count of ["0\n", "two\n", "", "-1"]) {
      const bad = await makeDataset({ ...base, "test/nshards.txt": count });
      roots.push(bad);
      await rejectsWith(openWebDataset(bad), (error) => {
        assert.equal(error.path, `${bad}/test/nshards.txt`);
        assert.match(error.message, /expected a positive shard count/);
      });
    }

    const { "classnames.txt": _, ...noClassnames } = base;
    const missing = await makeDataset(noClassnames);
    roots.push(missing);
    // Without dataset_type.txt the class files are optional (the task may be retrieval by name).
    const undeclared = await openWebDataset(missing);
    assert.equal(undeclared.typeDeclared, false);
    assert.equal(undeclared.classnames, undefined);
    assert.ok(undeclared.templates !== undefined);
    const declared = await makeDataset({ ...noClassnames, "dataset_type.txt": "classification\n" });
    roots.push(declared);
    await rejectsWith(openWebDataset(declared), (error) => {
      assert.equal(error.path, `${declared}/classnames.txt`);
      assert.match(error.message, /not found/);
    });
    await rejectsWith(openWebDataset(missing, { split: "train" }), (error) => {
      assert.equal(error.path, `${missing}/train/nshards.txt`);
    });

    const extraShard = await makeDataset({ ...base, "test/nshards.txt": "2\n" });
    roots.push(extraShard);
    const partial = await openWebDataset(extraShard);
    const seen: string[] = [];
    await rejectsWith(
      (async () => {
        for await (const sample of partial.samples()) seen.push(sample.key);
      })(),
      (error) => assert.equal(error.path, `${extraShard}/test/1.tar`),
    );
    assert.deepEqual(seen, ["s0000000", "s0000001", "s0000002"]);
  } finally {
    for (const root of roots) await Deno.remove(root, { recursive: true });
  }
});

Deno.test("splitTextLines matches Python's [l.strip() for l in text.splitlines()]", () => {
  // Expected values printed by Python 3.11 for the same inputs.
  const cases: [string, string[]][] = [
    ["a\r\n\r\nb\n\n", ["a", "", "b", ""]],
    ["cat\ndog\n", ["cat", "dog"]],
    ["cat\ndog", ["cat", "dog"]],
    ["\ufeffcat\n", ["\ufeffcat"]],
    [" x \x85y\u2028z\x1cw\x1d\x1e\x1f.\x0b\x0cq\rr", ["x", "y", "z", "w", "", ".", "", "q", "r"]],
    ["\u00a0x\u3000 \n\n\n", ["x", "", ""]],
    ["", []],
    ["\n", [""]],
    ["a\u200bb\n", ["a\u200bb"]],
    [" \t\n", [""]],
  ];
  for (const [text, expected] of cases) {
    assert.deepEqual(splitTextLines(text), expected, JSON.stringify(text));
  }
});

Deno.test("joinLocation joins local paths and URLs", () => {
  const cases: [string, string, string][] = [
    ["/data/ds", "test/0.tar", "/data/ds/test/0.tar"],
    ["/data/ds/", "test/0.tar", "/data/ds/test/0.tar"],
    ["ds", "classnames.txt", "ds/classnames.txt"],
    ["", "classnames.txt", "classnames.txt"],
    ["https://host/a/b", "test/0.tar", "https://host/a/b/test/0.tar"],
    ["https://host/a/b/", "test/0.tar", "https://host/a/b/test/0.tar"],
    ["http://host", "test/0.tar", "http://host/test/0.tar"],
    ["https://host/a?download=true", "test/0.tar", "https://host/a/test/0.tar?download=true"],
    ["https://host/a/#frag", "x.txt", "https://host/a/x.txt#frag"],
    ["https://host/a", "my split/0.tar", "https://host/a/my%20split/0.tar"],
    ["https://host/a", "a%20b/é#?.tar", "https://host/a/a%20b/%C3%A9%23%3F.tar"],
    ["https://host/a", "x:y@z(1)/0.tar", "https://host/a/x:y@z(1)/0.tar"],
  ];
  for (const [root, relative, expected] of cases) {
    assert.equal(joinLocation(root, relative), expected, `${root} + ${relative}`);
  }
  assert.equal(isHttpUrl("HTTPS://x"), true);
  assert.equal(isHttpUrl("/tmp/x"), false);
  assert.equal(isHttpUrl("file:///tmp/x"), false);
});

Deno.test("the byte source reads local files, file URLs, and reports missing ones", async () => {
  const nshards = `${CLASSIFICATION}/test/nshards.txt`;
  assert.equal(await readText(nshards), "2\n");
  assert.equal(await readText(`file://${nshards}`), "2\n");
  assert.equal(await readTextIfExists(`${CLASSIFICATION}/dataset_type.txt`), undefined);
  assert.equal(await locationExists(nshards), true);
  assert.equal(await locationExists(`${CLASSIFICATION}/nope.txt`), false);
  assert.equal(await locationExists(CLASSIFICATION), false);
  await rejectsWith(readText(`${CLASSIFICATION}/nope.txt`), (error) => {
    assert.equal(error.path, `${CLASSIFICATION}/nope.txt`);
  });
  await rejectsWith(openByteStream(CLASSIFICATION), (error) => {
    assert.match(error.message, /not a regular file/);
  });
  await rejectsWith(readText(`${CLASSIFICATION}/test/0.tar`, { maxBytes: 1000 }), (error) => {
    assert.match(error.message, /larger than 1000 bytes/);
  });
  await rejectsWith(readText(`${CLASSIFICATION}/test/0.tar`), (error) => {
    assert.match(error.message, /not valid UTF-8/);
  });
  await rejectsWith(readText("s3://bucket/key"), (error) => {
    assert.match(error.message, /unsupported URL scheme "s3:"/);
  });
  const stream = await openByteStream(`${CLASSIFICATION}/test/0.tar`);
  let total = 0;
  for await (const chunk of stream) total += chunk.length;
  assert.equal(total, (await Deno.stat(`${CLASSIFICATION}/test/0.tar`)).size);
});

Deno.test("a file that shrinks while it is read is cut short at the offset reached", async () => {
  const path = await Deno.makeTempFile({ prefix: "clipbench_shrinking_" });
  try {
    await Deno.writeFile(path, new Uint8Array(5000));
    const stream = await openByteStream(path);
    await Deno.truncate(path, 1000);
    let total = 0;
    await rejectsWith(
      (async () => {
        for await (const chunk of stream) total += chunk.length;
      })(),
      (error) => {
        assert.equal(error.path, path);
        assert.equal(error.offset, 1000);
        assert.match(error.message, /cut short: got 1000 of 5000 bytes/);
      },
    );
    assert.equal(total, 1000);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("over HTTP: the same dataset, read from a local server", async () => {
  await withServer({}, async (server) => {
    const root = `${server.origin}/wds_classification`;
    const dataset = await openWebDataset(root);
    assert.equal(dataset.type, "classification");
    assert.deepEqual(dataset.classnames, ["cat", "dog", "T-shirt/top"]);
    assert.deepEqual(dataset.shardUrls, [`${root}/test/0.tar`, `${root}/test/1.tar`]);
    checkClassificationSamples(await collect(dataset), dataset.shardUrls);
    assert.deepEqual(server.requests, [
      "/wds_classification/test/nshards.txt",
      "/wds_classification/dataset_type.txt",
      "/wds_classification/classnames.txt",
      "/wds_classification/zeroshot_classification_templates.txt",
      "/wds_classification/test/0.tar",
      "/wds_classification/test/1.tar",
    ]);
    const slashed = await openWebDataset(`${root}/`);
    assert.deepEqual(slashed.shardUrls, dataset.shardUrls);
    assert.equal((await openWebDataset(`${server.origin}/wds_retrieval`)).type, "retrieval");
    assert.equal(await locationExists(`${root}/test/0.tar`), true);
    assert.equal(await locationExists(`${root}/test/9.tar`), false);
  });
});

Deno.test("over HTTP: limit stops reading, later shards are never requested", async () => {
  await withServer({}, async (server) => {
    const dataset = await openWebDataset(`${server.origin}/wds_classification`);
    server.requests.length = 0;
    const samples = await collect(dataset, 2);
    assert.deepEqual(samples.map((s) => s.key), ["s0000000", "s0000001"]);
    assert.deepEqual(server.requests, ["/wds_classification/test/0.tar"]);
  });
});

Deno.test("over HTTP: a missing shard and a failing server are DatasetErrors naming the URL", async () => {
  await withServer(
    { notFound: ["wds_classification/test/1.tar"], fail: ["wds_retrieval/dataset_type.txt"] },
    async (server) => {
      const http = fastHttp();
      const dataset = await openWebDataset(`${server.origin}/wds_classification`, { http });
      const seen: string[] = [];
      await rejectsWith(
        (async () => {
          for await (const sample of dataset.samples()) seen.push(sample.key);
        })(),
        (error) => {
          assert.equal(error.path, dataset.shardUrls[1]);
          assert.match(error.message, /not found \(HTTP 404/);
        },
      );
      assert.deepEqual(seen, ["s0000000", "s0000001", "s0000002"]);
      // 404 is an answer, not a failure: never retried.
      assert.equal(server.requests.filter((p) => p.endsWith("test/1.tar")).length, 1);
      assert.equal(http.retries.length, 0);
      await rejectsWith(
        locationExists(`${server.origin}/wds_retrieval/dataset_type.txt`, { http }),
        (error) => assert.match(error.message, /HTTP 500 .*\(6 attempts\)/),
      );
      // The default policy: 5 retries, waits of 1, 2, 4, 8, 16 s less a random half (0.5 here).
      assert.deepEqual(http.clock.slept, [750, 1500, 3000, 6000, 12000]);
      assert.deepEqual(
        http.retries.map((r) => r.reason),
        Array(5).fill("HTTP 500 Internal Server Error"),
      );
      // A 500 for dataset_type.txt is not taken for "no such file".
      await rejectsWith(openWebDataset(`${server.origin}/wds_retrieval`, { http }), (error) => {
        assert.equal(error.path, `${server.origin}/wds_retrieval/dataset_type.txt`);
        assert.match(error.message, /HTTP 500/);
      });
      await rejectsWith(
        locationExists(`${server.origin}/wds_retrieval/dataset_type.txt`, {
          http: { ...http, retry: false },
        }),
        (error) => assert.doesNotMatch(error.message, /attempts/),
      );
    },
  );
});

Deno.test("over HTTP: a connection closed mid-body is a DatasetError with URL and offset", async () => {
  // The server cuts every answer at byte 700 and ignores Range: resuming makes no progress.
  await withServer({ cutAfter: { "wds_classification/test/1.tar": 700 } }, async (server) => {
    const http = fastHttp();
    const dataset = await openWebDataset(`${server.origin}/wds_classification`, { http });
    const seen: string[] = [];
    await rejectsWith(
      (async () => {
        for await (const sample of dataset.samples()) seen.push(sample.key);
      })(),
      (error) => {
        assert.equal(error.path, dataset.shardUrls[1]);
        assert.equal(error.offset, 700);
        assert.match(error.message, /after 700 of 10240 bytes.*\(6 attempts\)/);
      },
    );
    assert.deepEqual(seen, ["s0000000", "s0000001", "s0000002"]);
    const shard = server.requests.flatMap((p, i) => p.endsWith("test/1.tar") ? [i] : []);
    assert.equal(shard.length, 6);
    assert.deepEqual(shard.map((i) => server.headers[i].range), [
      null,
      ...Array(5).fill("bytes=700-"),
    ]);
    assert.deepEqual(http.retries.map((r) => r.offset), [700, 700, 700, 700, 700]);
  });
});

Deno.test("over HTTP: a cut transfer resumes with Range from the last byte", async () => {
  const shard = "wds_classification/test/1.tar";
  const expected = await Deno.readFile(`${DATA_DIR}${shard}`);
  for (const honourRange of [true, false]) {
    await withServer({ cutOnceAfter: { [shard]: 700 }, honourRange }, async (server) => {
      const http = fastHttp();
      const dataset = await openWebDataset(`${server.origin}/wds_classification`, { http });
      checkClassificationSamples(await collect(dataset), dataset.shardUrls);
      const requests = server.requests.flatMap((p, i) => p === `/${shard}` ? [i] : []);
      assert.deepEqual(requests.map((i) => server.headers[i].range), [null, "bytes=700-"]);
      assert.equal(http.retries.length, 1);
      assert.match(http.retries[0].reason, /700 of 10240 bytes/);
      // The bytes are the file's, whether the server answered 206 or (ignoring Range) 200.
      const bytes = new Uint8Array(
        await new Response(await openByteStream(`${server.origin}/${shard}`, { http }))
          .arrayBuffer(),
      );
      assert.deepEqual(bytes, expected);
    });
  }
});

Deno.test("over HTTP: a stalled body is dropped after the idle timeout and resumed", async () => {
  const shard = "wds_classification/test/1.tar";
  await withServer({ stallOnceAfter: { [shard]: 1000 }, honourRange: true }, async (server) => {
    const http = fastHttp({ idleTimeoutMs: 100 });
    const dataset = await openWebDataset(`${server.origin}/wds_classification`, { http });
    checkClassificationSamples(await collect(dataset), dataset.shardUrls);
    assert.equal(http.retries.length, 1);
    assert.match(http.retries[0].reason, /after 1000 of 10240 bytes: no data for 0.1 s/);
    assert.equal(http.retries[0].offset, 1000);
  });
});

Deno.test("over HTTP: 429 and 503 are retried, honouring Retry-After", async () => {
  const nshards = "wds_classification/test/nshards.txt";
  await withServer(
    { failFirst: { [nshards]: { status: 429, times: 2, retryAfter: "3" } } },
    async (server) => {
      const http = fastHttp();
      assert.equal(await readText(`${server.origin}/${nshards}`, { http }), "2\n");
      assert.deepEqual(http.clock.slept, [3000, 3000]);
      assert.deepEqual(http.retries.map((r) => r.reason), [
        "HTTP 429 Too Many Requests",
        "HTTP 429 Too Many Requests",
      ]);
    },
  );
  // An HTTP-date, 30 s after the recording clock's "now".
  await withServer(
    {
      failFirst: {
        [nshards]: { status: 503, times: 1, retryAfter: "Mon, 01 Jan 2024 00:00:30 GMT" },
      },
    },
    async (server) => {
      const http = fastHttp();
      assert.equal(await readText(`${server.origin}/${nshards}`, { http }), "2\n");
      assert.deepEqual(http.clock.slept, [30_000]);
    },
  );
  // Without Retry-After: the exponential backoff.
  await withServer({ failFirst: { [nshards]: { status: 502, times: 3 } } }, async (server) => {
    const http = fastHttp();
    assert.equal(await readText(`${server.origin}/${nshards}`, { http }), "2\n");
    assert.deepEqual(http.clock.slept, [750, 1500, 3000]);
  });
  // A server asking for a longer pause than the policy allows: failed at once, saying so.
  await withServer(
    { failFirst: { [nshards]: { status: 429, times: 1, retryAfter: "3600" } } },
    async (server) => {
      const http = fastHttp();
      await rejectsWith(readText(`${server.origin}/${nshards}`, { http }), (error) => {
        assert.match(error.message, /HTTP 429 .*retry after 3600 s, longer than the 300 s/);
      });
      assert.deepEqual(http.clock.slept, []);
    },
  );
  // A 4xx other than 408/429 is an answer: not retried.
  await withServer({ failFirst: { [nshards]: { status: 403, times: 1 } } }, async (server) => {
    const http = fastHttp();
    await rejectsWith(readText(`${server.origin}/${nshards}`, { http }), (error) => {
      assert.match(error.message, /HTTP 403 Forbidden$/);
    });
    assert.equal(server.requests.length, 1);
  });
});

Deno.test("over HTTP: credentials stay on their origin across redirects", async () => {
  await withServer({}, async (cdn) => {
    const file = "wds_classification/test/nshards.txt";
    await withServer(
      { redirect: { "here.txt": `/${file}`, "away.txt": `${cdn.origin}/${file}` } },
      async (hub) => {
        const http: HttpOptions = { headers: { authorization: "Bearer secret" } };
        assert.equal(await readText(`${hub.origin}/here.txt`, { http }), "2\n");
        assert.equal(await readText(`${hub.origin}/away.txt`, { http }), "2\n");
        assert.deepEqual(hub.headers.map((h) => h.authorization), Array(3).fill("Bearer secret"));
        assert.deepEqual(cdn.headers.map((h) => h.authorization), [null]);
        // manual: a redirect to another origin comes back as it is.
        const manual = await httpRequest(
          { url: `${hub.origin}/away.txt`, method: "HEAD", redirect: "manual" },
          { http },
        );
        assert.equal(manual.response.status, 302);
        assert.equal(manual.response.headers.get("location"), `${cdn.origin}/${file}`);
        // ... while a relative one on the same origin is followed.
        const relative = await httpRequest(
          { url: `${hub.origin}/here.txt`, method: "HEAD", redirect: "manual" },
          { http },
        );
        assert.equal(relative.response.status, 200);
        assert.equal(relative.url, `${hub.origin}/${file}`);
      },
    );
  });
});

Deno.test("over HTTP: a server that does not answer in time is retried, then named", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const connection of listener) accepted.push(connection);
  })();
  try {
    const url = `http://127.0.0.1:${listener.addr.port}/ds/test/nshards.txt`;
    const http = fastHttp({ requestTimeoutMs: 50, retry: { maxRetries: 2 } });
    await rejectsWith(readText(url, { http }), (error) => {
      assert.equal(error.path, url);
      assert.match(error.message, /timed out \(no response within 0.05 s\) \(3 attempts\)/);
    });
    assert.equal(http.retries.length, 2);
  } finally {
    listener.close();
    await accepting.catch(() => {});
    for (const connection of accepted) connection.close();
  }
});

Deno.test("reads can start at an offset, locally and over HTTP", async () => {
  const shard = "wds_classification/test/0.tar";
  const whole = await Deno.readFile(`${DATA_DIR}${shard}`);
  const read = async (location: string, options: Parameters<typeof openFile>[1]) => {
    const opened = await openFile(location, options);
    assert.equal(opened.kind, "found");
    if (opened.kind !== "found") throw new Error("unreachable");
    assert.equal(opened.size, whole.length);
    return new Uint8Array(await new Response(opened.stream).arrayBuffer());
  };
  assert.deepEqual(await read(`${DATA_DIR}${shard}`, { offset: 1000 }), whole.slice(1000));
  for (const honourRange of [true, false]) {
    await withServer({ honourRange }, async (server) => {
      const url = `${server.origin}/${shard}`;
      assert.deepEqual(await read(url, { offset: 1000 }), whole.slice(1000));
      assert.deepEqual(await read(url, { offset: whole.length }), new Uint8Array());
      assert.equal(server.headers[0].range, "bytes=1000-");
    });
  }
  assert.equal((await openFile(`${DATA_DIR}nope`)).kind, "missing");
  await assert.rejects(openFile(`${DATA_DIR}${shard}`, { offset: -1 }), RangeError);
});

Deno.test("a DatasetLocation maps relative paths onto any addressing scheme", async () => {
  await withServer({}, async (server) => {
    // Files addressed by a query parameter, the way ModelScope's API addresses them.
    const base = `${server.origin}/wds_classification`;
    const opened: string[] = [];
    const location: DatasetLocation = {
      root: "query-addressed",
      locate: (path) => `${server.origin}/api?FilePath=${encodeURIComponent(path)}`,
      open: (path, options) => {
        opened.push(path);
        return locationAt(base).open(path, options);
      },
    };
    const dataset = await openWebDataset(location);
    assert.equal(dataset.root, "query-addressed");
    assert.deepEqual(dataset.shardUrls, [
      `${server.origin}/api?FilePath=test%2F0.tar`,
      `${server.origin}/api?FilePath=test%2F1.tar`,
    ]);
    checkClassificationSamples(await collect(dataset), dataset.shardUrls);
    assert.deepEqual(opened, [
      "test/nshards.txt",
      "dataset_type.txt",
      "classnames.txt",
      "zeroshot_classification_templates.txt",
      "test/0.tar",
      "test/1.tar",
    ]);
    await rejectsWith(openWebDataset(location, { split: "train" }), (error) => {
      assert.equal(error.path, `${server.origin}/api?FilePath=train%2Fnshards.txt`);
    });
  });
});

Deno.test("over HTTP: connection refused names the URL", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const http = fastHttp();
  await rejectsWith(openWebDataset(`http://127.0.0.1:${port}/ds`, { http }), (error) => {
    assert.equal(error.path, `http://127.0.0.1:${port}/ds/test/nshards.txt`);
    assert.match(error.message, /request failed.*\(6 attempts\)/);
  });
  assert.equal(http.retries.length, 5);
  assert.match(http.retries[0].reason, /^request failed: /);
});

Deno.test("an abort signal stops the iteration with its reason", async () => {
  await withServer({}, async (server) => {
    const dataset = await openWebDataset(`${server.origin}/wds_classification`);
    const controller = new AbortController();
    const reason = new Error("stop here");
    const seen: string[] = [];
    await assert.rejects(
      (async () => {
        for await (const sample of dataset.samples({ signal: controller.signal })) {
          seen.push(sample.key);
          if (seen.length === 2) controller.abort(reason);
        }
      })(),
      (error) => error === reason,
    );
    assert.deepEqual(seen, ["s0000000", "s0000001"]);
    await assert.rejects(
      openWebDataset(`${server.origin}/wds_classification`, { signal: controller.signal }),
      (error) => error === reason,
    );
  });
});

Deno.test("an abort signal ends a read that waits on a stalled connection", async () => {
  await withServer({ stallAfter: { "wds_classification/test/1.tar": 700 } }, async (server) => {
    const dataset = await openWebDataset(`${server.origin}/wds_classification`);
    const controller = new AbortController();
    const reason = new Error("timed out");
    const seen: string[] = [];
    // Abort once the stalled shard has been asked for (its 700 bytes hold no whole sample, so
    // the reader is then waiting on the stall), whatever the machine's speed; polling is bounded.
    const stalled = "/wds_classification/test/1.tar";
    const aborter = (async () => {
      for (let i = 0; i < 1500 && !(seen.length === 3 && server.requests.includes(stalled)); i++) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      controller.abort(reason);
    })();
    await assert.rejects(
      (async () => {
        for await (const sample of dataset.samples({ signal: controller.signal })) {
          seen.push(sample.key);
        }
      })(),
      (error) => error === reason,
    );
    await aborter;
    assert.ok(server.requests.includes(stalled), "the stalled shard was never requested");
    assert.deepEqual(seen, ["s0000000", "s0000001", "s0000002"]);
  });
});
