/**
 * The hardened HTTP/1.1 server (src/server/http_server.ts) on 127.0.0.1: requests and answers
 * (lengths, chunked bodies both ways, HEAD, `Expect: 100-continue`, streaming), strict parsing,
 * the head and body deadlines, the connection cap, a client that stops reading, `request.signal`
 * and the answer stream's `cancel` when the client goes away, and the shutdown.
 *
 * Clients here are raw TCP connections (or `fetch`), each read bounded by a timer that closes it.
 */
import assert from "node:assert/strict";
import {
  type FetchHandler,
  type HttpServerOptions,
  serveHttp,
} from "../../src/server/http_server.ts";
import { connect, dripHead, exchange, sleep, until } from "../_raw_http.ts";

const encoder = new TextEncoder();

/** Runs `fn` against a server on 127.0.0.1 with a free port, then stops it. */
async function withServer(
  options: HttpServerOptions,
  handler: FetchHandler,
  fn: (port: number, connections: () => number, logs: string[]) => Promise<void>,
): Promise<void> {
  const logs: string[] = [];
  const controller = new AbortController();
  const server = serveHttp({
    hostname: "127.0.0.1",
    port: 0,
    signal: controller.signal,
    log: (line) => logs.push(line),
    ...options,
  }, handler);
  try {
    await fn(server.addr.port, server.connections, logs);
  } finally {
    controller.abort();
    await server.finished;
  }
}

/** Resolves with `value` when `signal` aborts, or with "timeout" after `ms`. */
function abortedWithin(signal: AbortSignal, ms: number): Promise<"aborted" | "timeout"> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve("timeout"), ms);
    const done = () => {
      clearTimeout(timer);
      resolve("aborted");
    };
    if (signal.aborted) done();
    else signal.addEventListener("abort", done, { once: true });
  });
}

const echo: FetchHandler = async (request) => {
  const body = request.body ? await request.text() : null;
  return Response.json({
    method: request.method,
    url: request.url,
    body,
    type: request.headers.get("content-type"),
  });
};

Deno.test("http server: GET, POST with a length, chunked POST, HEAD, 100-continue", async () => {
  await withServer({}, echo, async (port) => {
    const base = `http://127.0.0.1:${port}`;
    const get = await fetch(`${base}/a/b?c=1`);
    assert.equal(get.status, 200);
    assert.equal(get.headers.get("connection"), "close");
    assert.deepEqual(await get.json(), {
      method: "GET",
      url: `${base}/a/b?c=1`,
      body: null,
      type: null,
    });

    const post = await fetch(`${base}/p`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"x":1}',
    });
    assert.deepEqual(await post.json(), {
      method: "POST",
      url: `${base}/p`,
      body: '{"x":1}',
      type: "application/json",
    });

    const raw = await exchange(
      port,
      "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
        "3;ext=1\r\nabc\r\n0A\r\n0123456789\r\n0\r\nTrailer-Field: 1\r\n\r\n",
    );
    assert.match(raw, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(raw, /\r\ntransfer-encoding: chunked\r\n/);
    assert.match(raw, /\r\nconnection: close\r\n/);
    assert.match(raw, /"body":"abc0123456789"/);
    assert.ok(raw.endsWith("\r\n0\r\n\r\n"), "the chunked answer ends with its last chunk");

    for (const method of ["HEAD", "head"]) {
      const head = await exchange(port, `${method} /h HTTP/1.1\r\nHost: x\r\n\r\n`);
      assert.match(head, /^HTTP\/1\.1 200 OK\r\n/);
      assert.ok(head.endsWith("\r\n\r\n"), "a HEAD answer has no body");
      assert.doesNotMatch(head, /transfer-encoding|content-length/);
    }

    const continued = await exchange(
      port,
      "POST /e HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nok",
    );
    assert.match(continued, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK\r\n/);
    assert.match(continued, /"body":"ok"/);

    const http10 = await exchange(port, "GET /old HTTP/1.0\r\n\r\n");
    assert.match(http10, /^HTTP\/1\.1 200 OK\r\n/);
    assert.doesNotMatch(http10, /transfer-encoding/); // delimited by the close
    assert.match(http10, /"method":"GET"/);
  });
});

Deno.test("http server: malformed or unsupported requests are refused, the handler not called", async () => {
  let calls = 0;
  const handler: FetchHandler = () => {
    calls += 1;
    return new Response("called");
  };
  await withServer({ maxHeadBytes: 1024 }, handler, async (port) => {
    const cases: [string, number][] = [
      ["GARBAGE\r\n\r\n", 400],
      ["GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505],
      ["GET /\r\nHost: x\r\n\r\n", 400],
      ["GET relative HTTP/1.1\r\nHost: x\r\n\r\n", 400],
      ["GET / HTTP/1.1\r\n\r\n", 400], // no Host
      ["GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", 400],
      ["GET / HTTP/1.1\r\nHost: x/../y\r\n\r\n", 400],
      ["GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n folded\r\n\r\n", 400],
      ["GET / HTTP/1.1\r\nHost: x\r\nX-A : 1\r\n\r\n", 400],
      ["GET / HTTP/1.1\r\nHost: x\nX-A: 1\r\n\r\n", 400], // bare LF
      ["POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nab", 400],
      ["POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1, 1\r\n\r\na", 400],
      ["POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +1\r\n\r\na", 400],
      [
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n" +
        "0\r\n\r\n",
        400,
      ],
      ["POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501],
      ["POST / HTTP/1.1\r\nHost: x\r\nExpect: magic\r\nContent-Length: 1\r\n\r\na", 417],
      ["GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nab", 400],
      ["CONNECT x:443 HTTP/1.1\r\nHost: x\r\n\r\n", 501],
      ["TRACE / HTTP/1.1\r\nHost: x\r\n\r\n", 501],
      ["get / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\na", 400],
      [`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(2000)}\r\n\r\n`, 431],
    ];
    for (const [request, status] of cases) {
      const answer = await exchange(port, request);
      assert.match(
        answer,
        new RegExp(`^HTTP/1\\.1 ${status} `),
        `${JSON.stringify(request.slice(0, 60))} → ${answer.slice(0, 40)}`,
      );
      assert.match(answer, /\r\nconnection: close\r\n/);
    }
    assert.equal(calls, 0);
  });
  // A malformed chunked body fails the handler's body and is answered 400.
  await withServer({}, echo, async (port) => {
    const chunked = await exchange(
      port,
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
    );
    assert.match(chunked, /^HTTP\/1\.1 400 Bad Request\r\n/);
    assert.match(chunked, /malformed chunked body \(chunk size\)/);
  });
});

Deno.test("http server: a head sent one line at a time is dropped at its deadline (408)", async () => {
  let calls = 0;
  const handler: FetchHandler = () => {
    calls += 1;
    return new Response("called");
  };
  await withServer({ headerTimeoutMs: 300 }, handler, async (port, connections) => {
    const { text, ended, ms } = await dripHead(port, "GET / HTTP/1.1\r\nHost: x\r\n", 50, 50);
    assert.ok(ended, "the server closed the connection");
    assert.match(text, /^HTTP\/1\.1 408 Request Timeout\r\n/);
    assert.match(text, /did not arrive within 300 ms/);
    assert.ok(ms < 2000);
    await until(() => connections() === 0);
    assert.equal(calls, 0);
  });
});

Deno.test("http server: a stalled body is dropped at its deadline (408), the handler aborted", async () => {
  let seen: { signal: AbortSignal; body: Promise<string> } | undefined;
  const handler: FetchHandler = async (request) => {
    const body = request.text();
    seen = { signal: request.signal, body };
    return new Response(await body);
  };
  await withServer({ bodyTimeoutMs: 300 }, handler, async (port, connections) => {
    const client = await connect(port);
    try {
      const started = performance.now();
      await client.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789");
      const { text, ended } = await client.readAll(5000);
      assert.ok(ended);
      assert.match(text, /^HTTP\/1\.1 408 Request Timeout\r\n/);
      assert.match(text, /body did not arrive within 300 ms/);
      assert.ok(performance.now() - started < 2000);
    } finally {
      client.close();
    }
    await until(() => connections() === 0);
    assert.ok(seen);
    assert.equal(seen.signal.aborted, true);
    await assert.rejects(seen.body);

    // A chunked body that stalls between chunks too.
    const chunked = await connect(port);
    try {
      await chunked.send(
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n",
      );
      const { text } = await chunked.readAll(5000);
      assert.match(text, /^HTTP\/1\.1 408 /);
    } finally {
      chunked.close();
    }
  });
});

Deno.test("http server: beyond maxConnections, 503 and close; served again once they close", async () => {
  await withServer(
    { maxConnections: 3, headerTimeoutMs: 10_000 },
    echo,
    async (port, connections) => {
      const idle = await Promise.all([0, 1, 2].map(() => connect(port)));
      try {
        await until(() => connections() === 3);
        const refused = await connect(port);
        try {
          const { text, ended } = await refused.readAll(5000);
          assert.ok(ended);
          assert.match(text, /^HTTP\/1\.1 503 Service Unavailable\r\n/);
          assert.match(text, /\r\nretry-after: 1\r\n/);
        } finally {
          refused.close();
        }
        assert.equal(connections(), 3);
      } finally {
        for (const client of idle) client.close();
      }
      await until(() => connections() === 0);
      const response = await fetch(`http://127.0.0.1:${port}/again`);
      assert.equal(response.status, 200);
      assert.equal((await response.json()).method, "GET");
    },
  );
});

Deno.test("http server: request.signal aborts when the client disconnects", async () => {
  let outcome: Promise<"aborted" | "timeout"> | undefined;
  const handler: FetchHandler = async (request) => {
    outcome = abortedWithin(request.signal, 5000);
    await outcome;
    return new Response("late");
  };
  await withServer({}, handler, async (port, connections) => {
    for (
      const request of [
        "GET /wait HTTP/1.1\r\nHost: x\r\n\r\n",
        "POST /wait HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc",
      ]
    ) {
      outcome = undefined;
      const client = await connect(port);
      await client.send(request);
      await until(() => outcome !== undefined);
      client.close();
      assert.equal(await outcome, "aborted");
      await until(() => connections() === 0);
    }
  });
});

Deno.test("http server: a streamed (NDJSON) answer goes out as produced; cancel runs when the client goes", async () => {
  let cancelled: (reason: unknown) => void = () => {};
  const cancel = new Promise<unknown>((resolve) => cancelled = resolve);
  let timer: ReturnType<typeof setInterval> | undefined;
  const handler: FetchHandler = () => {
    let n = 0;
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        timer = setInterval(() => {
          controller.enqueue(encoder.encode(JSON.stringify({ event: "progress", n: n++ }) + "\n"));
        }, 20);
      },
      cancel(reason) {
        clearInterval(timer);
        cancelled(reason);
      },
    });
    return new Response(stream, { headers: { "content-type": "application/x-ndjson" } });
  };
  await withServer({}, handler, async (port, connections) => {
    const response = await fetch(`http://127.0.0.1:${port}/stream`);
    assert.equal(response.headers.get("content-type"), "application/x-ndjson");
    const lines = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while (text.split("\n").length < 4) {
      const { value, done } = await lines.read();
      if (done) break;
      text += value;
    }
    assert.deepEqual(JSON.parse(text.split("\n")[0]), { event: "progress", n: 0 });
    assert.deepEqual(JSON.parse(text.split("\n")[2]), { event: "progress", n: 2 });
    await lines.cancel();
    const settled = await Promise.race([cancel.then(() => "cancelled"), sleep(5000)]);
    assert.equal(settled, "cancelled");
    await until(() => connections() === 0);
  });
  clearInterval(timer);
});

Deno.test("http server: a client that stops reading the answer is dropped", async () => {
  let cancelled = false;
  const handler: FetchHandler = () => {
    const chunk = new Uint8Array(1 << 20);
    return new Response(
      new ReadableStream<Uint8Array>({
        pull(controller) {
          controller.enqueue(chunk);
        },
        cancel() {
          cancelled = true;
        },
      }),
    );
  };
  await withServer({ writeTimeoutMs: 300 }, handler, async (port, connections) => {
    const client = await connect(port);
    try {
      await client.send("GET /big HTTP/1.1\r\nHost: x\r\n\r\n");
      await until(() => cancelled, 10_000);
      await until(() => connections() === 0);
    } finally {
      client.close();
    }
  });
});

Deno.test("http server: a throwing handler is a bare 500; a shutdown lets requests finish", async () => {
  const controller = new AbortController();
  const logs: string[] = [];
  let release: () => void = () => {};
  const released = new Promise<void>((resolve) => release = resolve);
  let entered: () => void = () => {};
  const inHandler = new Promise<void>((resolve) => entered = resolve);
  const server = serveHttp({
    hostname: "127.0.0.1",
    port: 0,
    signal: controller.signal,
    log: (line) => logs.push(line),
    shutdownGraceMs: 5000,
  }, async (request) => {
    if (new URL(request.url).pathname === "/throw") throw new Error("boom");
    entered();
    await released;
    return new Response("finished");
  });
  const base = `http://127.0.0.1:${server.addr.port}`;
  const thrown = await fetch(`${base}/throw`);
  assert.equal(thrown.status, 500);
  assert.doesNotMatch(await thrown.text(), /boom/);
  assert.ok(logs.some((line) => line.includes("boom")));

  const slow = fetch(`${base}/slow`);
  await inHandler;
  controller.abort();
  // Not accepting any more: a new connection is refused.
  await assert.rejects(Deno.connect({ hostname: "127.0.0.1", port: server.addr.port }));
  release();
  const response = await slow;
  assert.equal(await response.text(), "finished");
  await server.finished;
  assert.equal(server.connections(), 0);
});

Deno.test("http server: the shutdown's grace period ends requests still running", async () => {
  const controller = new AbortController();
  let signal: AbortSignal | undefined;
  const server = serveHttp({
    hostname: "127.0.0.1",
    port: 0,
    signal: controller.signal,
    log: () => {},
    shutdownGraceMs: 100,
  }, async (request) => {
    signal = request.signal;
    await abortedWithin(request.signal, 5000);
    return new Response("late");
  });
  const client = await connect(server.addr.port);
  try {
    await client.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    await until(() => signal !== undefined);
    const started = performance.now();
    controller.abort();
    await server.finished;
    assert.ok(performance.now() - started < 2000);
    assert.equal(signal!.aborted, true);
  } finally {
    client.close();
  }
});

Deno.test("http server: options must be positive", () => {
  for (
    const options of [
      { headerTimeoutMs: 0 },
      { bodyTimeoutMs: -1 },
      { maxConnections: 1.5 },
      { writeTimeoutMs: NaN },
    ]
  ) {
    assert.throws(
      () => serveHttp({ hostname: "127.0.0.1", port: 0, ...options }, echo),
      new RegExp(`the server option ${Object.keys(options)[0]} must be a positive`),
    );
  }
});
