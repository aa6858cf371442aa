/**
 * Reading a file over HTTP as a stream that survives broken connections, on real HTTP on
 * 127.0.0.1: a body cut off or stalled is resumed with `Range` from the last byte received (and a
 * server that ignores `Range` is re-read), a body that makes no progress fails naming the URL and
 * the offset, and a resume never splices two versions of a file (`If-Range`).
 */

import assert from "node:assert/strict";
import { openByteStream } from "../../../src/io/byte_source.ts";
import { openWebDataset } from "../../../src/dataset/wds.ts";
import { rejection, rejectsWith } from "../_rejections.ts";
import { bytesOf } from "../_seeded_bytes.ts";
import { checkClassificationSamples, collect, DATA_DIR } from "../_wds_vectors.ts";
import { FAST, fastHttp } from "./_fast_http.ts";
import { withServer } from "./_folder_server.ts";
import { rangeAnswer, rangeStart } from "./_range_answer.ts";

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

async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

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
      : rangeStart(request)!;
    if (!isFirst) return rangeAnswer(whole, start, { headers: current });
    if (next !== first) version = 1; // the file changes while the first answer is cut off
    return rangeAnswer(whole, start, { headers: current, cutAfter: cut });
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
