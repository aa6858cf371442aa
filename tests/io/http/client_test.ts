/**
 * The HTTP client over real HTTP on 127.0.0.1: which answers are retried and how long it waits
 * (`Retry-After`, the backoff), request timeouts, refused connections, redirects that keep
 * credentials on their origin, and a boundary that refuses URLs and redirects leaving its prefix.
 * Failures are `DatasetError`s naming the URL. Retries wait on a recording clock, so
 * the backoff is checked without being slept.
 */

import assert from "node:assert/strict";
import { locationExists, readText } from "../../../src/io/byte_source.ts";
import { type HttpOptions, httpRequest } from "../../../src/io/http/client.ts";
import { openWebDataset } from "../../../src/dataset/wds.ts";
import { rejection, rejectsWith } from "../_rejections.ts";
import { FAST, fastHttp } from "./_fast_http.ts";
import { withServer } from "./_folder_server.ts";

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
