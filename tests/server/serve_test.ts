/**
 * `serveEvaluations` (what `cli.ts serve` runs) on 127.0.0.1 under hostile load: running out of
 * file descriptors (a child process under `prlimit --nofile`) does not end it, a client sending
 * its head one line at a time or stalling its body is dropped, connections beyond the cap are
 * refused while it keeps answering, and the evaluation handler works through it (a JSON result;
 * an NDJSON stream whose client goes away stops its evaluation).
 */
import assert from "node:assert/strict";
import { serveEvaluations, type ServeOptions } from "../../src/server/serve.ts";
import { DEMO_DATA } from "../_shard_fixtures.ts";
import { runCli } from "../_cli.ts";
import { connect, dripHead, sleep } from "../_raw_http.ts";
import "../../tasks/mod.ts";

const MODEL_ROOT = new URL("../../examples/demo/", import.meta.url).pathname;
const REPO = new URL("..", import.meta.url).pathname;
const CACHE = await Deno.makeTempDir({ prefix: "clipbench_serve_" });
globalThis.addEventListener("unload", () => Deno.removeSync(CACHE, { recursive: true }));

const OPTIONS: ServeOptions = {
  hostname: "127.0.0.1",
  port: 0,
  auth: false,
  modelRoots: [MODEL_ROOT],
  datasetRoots: [`${DEMO_DATA}/..`],
  settings: { noCache: true, cacheDir: CACHE, numWorkers: 0, batchSize: 8 },
  log: () => {},
};

/** Runs `fn` against `serveEvaluations` on a free port, then stops it. */
async function withServe(
  options: Partial<ServeOptions>,
  fn: (port: number, logs: string[]) => Promise<void>,
): Promise<void> {
  const controller = new AbortController();
  const logs: string[] = [];
  let listening: (port: number) => void = () => {};
  const port = new Promise<number>((resolve) => listening = resolve);
  const served = serveEvaluations({
    ...OPTIONS,
    ...options,
    log: (line) => logs.push(line),
    signal: controller.signal,
    onListen: ({ port }) => listening(port),
  });
  try {
    await fn(await Promise.race([port, served.then(() => 0)]), logs);
  } finally {
    controller.abort();
    await served;
  }
}

/** A child's output as text, read on demand. */
class TextTail {
  text = "";
  readonly #reader: ReadableStreamDefaultReader<string>;
  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  }
  /** Reads until the text so far matches `pattern` or the stream ends; the text so far. */
  async until(pattern: RegExp): Promise<string> {
    while (!pattern.test(this.text)) {
      const { value, done } = await this.#reader.read();
      if (done) break;
      this.text += value;
    }
    return this.text;
  }
}

/** The `running` count of the health check. */
async function running(port: number): Promise<number> {
  const response = await fetch(`http://127.0.0.1:${port}/v1/health`);
  return (await response.json()).running;
}

Deno.test("serve: running out of file descriptors does not end the server", async () => {
  // A child `serveEvaluations` limited to 64 descriptors; 150 idle connections exhaust them.
  const code = `
    import { serveEvaluations } from ${
    JSON.stringify(new URL("../../src/server/serve.ts", import.meta.url).href)
  };
    const controller = new AbortController();
    Deno.addSignalListener("SIGTERM", () => controller.abort());
    await serveEvaluations({
      auth: false, port: 0, signal: controller.signal,
      onListen: ({ port }) => console.log("listening " + port),
    });
    console.log("stopped");
  `;
  const child = new Deno.Command("prlimit", {
    args: ["--nofile=64:64", Deno.execPath(), "eval", "--no-prompt", code],
    cwd: REPO,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" },
  }).spawn();
  const killer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch {
      // It has exited.
    }
  }, 60_000);
  const stdout = new TextTail(child.stdout);
  const stderr = new TextTail(child.stderr);
  const clients: Deno.Conn[] = [];
  try {
    const port = Number(/listening (\d+)\n/.exec(await stdout.until(/listening \d+\n/))?.[1]);
    assert.ok(port > 0, `the child did not start: ${await stderr.until(/$^/)}`);
    for (let i = 0; i < 150; i++) {
      try {
        clients.push(await Deno.connect({ hostname: "127.0.0.1", port }));
      } catch {
        break; // the child has gone (the defect)
      }
    }
    assert.match(await stderr.until(/Too many open files/), /Too many open files \(os error 24\)/);
    for (const client of clients.splice(0)) client.close();

    // Still serving.
    const health = await fetch(`http://127.0.0.1:${port}/v1/health`);
    assert.equal(health.status, 200);
    assert.equal((await health.json()).status, "ok");
    assert.match(
      await stderr.until(/accepting connections again/),
      /still serving, retrying with a back-off/,
    );
  } finally {
    for (const client of clients) client.close();
    try {
      child.kill("SIGTERM");
    } catch {
      // It has exited already (the defect).
    }
    const [out, err] = [await stdout.until(/$^/), await stderr.until(/$^/)];
    const status = await child.status;
    clearTimeout(killer);
    assert.equal(status.code, 0, `the child failed: ${err}`);
    assert.match(out, /stopped/);
  }
});

Deno.test("serve: a client sending one header line at a time is dropped (408)", async () => {
  await withServe({ headerTimeoutMs: 300 }, async (port) => {
    const { text, ended, ms } = await dripHead(
      port,
      "GET /v1/health HTTP/1.1\r\nHost: x\r\n",
      100,
      40,
    );
    assert.ok(ended, "the connection was still open after 40 header lines");
    assert.match(text, /^HTTP\/1\.1 408 /);
    assert.ok(ms < 3000);
  });
});

Deno.test("serve: a request whose body stalls is dropped (408)", async () => {
  await withServe({ bodyTimeoutMs: 300 }, async (port) => {
    const client = await connect(port);
    try {
      await client.send(
        "POST /v1/evaluate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
          'Content-Length: 200\r\n\r\n{"model": "tiny-clip-demo", ',
      );
      const { text, ended } = await client.readAll(4000);
      assert.ok(ended, "the connection was still open 4 s after the body stalled");
      assert.match(text, /^HTTP\/1\.1 408 /);
    } finally {
      client.close();
    }
    assert.equal(await running(port), 0);
  });
});

Deno.test("serve: connections beyond --max-connections get 503; it keeps answering", async () => {
  await withServe({ maxConnections: 4 }, async (port) => {
    const idle = await Promise.all([0, 1, 2, 3].map(() => connect(port)));
    try {
      const refused = await connect(port);
      try {
        const { text, ended } = await refused.readAll(4000);
        assert.ok(ended, "a fifth connection was kept open");
        assert.match(text, /^HTTP\/1\.1 503 /);
      } finally {
        refused.close();
      }
    } finally {
      for (const client of idle) client.close();
    }
    // Once they close, requests are served again (the server notices the closes at once).
    let status = 0;
    const closed = performance.now();
    while (status !== 200 && performance.now() - closed < 5000) {
      const response = await fetch(`http://127.0.0.1:${port}/v1/health`);
      status = response.status;
      await response.body?.cancel();
      if (status !== 200) await sleep(20);
    }
    assert.equal(status, 200);
  });
});

Deno.test("serve: evaluations through the server; a streaming client that leaves stops its own", async () => {
  await withServe({}, async (port) => {
    const base = `http://127.0.0.1:${port}`;
    const body = JSON.stringify({
      model: "tiny-clip-demo",
      dataset: "fashion_mnist_1k",
      limit: 16,
    });
    const json = await fetch(`${base}/v1/evaluate`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
    assert.equal(json.status, 200);
    const result = await json.json();
    assert.equal(result.dataset, "fashion_mnist_1k");
    assert.equal(result.n_samples, 16);

    const streamed = await fetch(`${base}/v1/evaluate`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/x-ndjson" },
      body: JSON.stringify({ model: "tiny-clip-demo", dataset: "fashion_mnist_1k" }),
    });
    assert.equal(streamed.headers.get("content-type"), "application/x-ndjson");
    const reader = streamed.body!.pipeThrough(new TextDecoderStream()).getReader();
    const first = await reader.read();
    assert.match(first.value ?? "", /"event":"started"/);
    assert.equal(await running(port), 1);
    await reader.cancel();
    const left = performance.now();
    let count = 1;
    while (count > 0 && performance.now() - left < 5000) count = await running(port);
    assert.equal(count, 0);
  });
});

Deno.test("serve: cli.ts serve --header-timeout, --body-timeout, --max-connections", async () => {
  for (
    const [flag, value] of [
      ["--header-timeout", "0"],
      ["--body-timeout", "soon"],
      ["--max-connections", "0"],
    ]
  ) {
    const run = await runCli(["serve", "--no-auth", "--port", "0", flag, value]);
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, new RegExp(`${flag} must be a`));
    assert.equal(run.stderr.trim().split("\n").length, 1);
  }
  const help = await runCli(["serve", "--help"]);
  assert.match(
    help.stdout,
    /--header-timeout SECONDS[\s\S]*--body-timeout[\s\S]*--max-connections/,
  );

  // The flags reach the server: a 0.3 s head deadline drops a dripping client.
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("../../cli.ts", import.meta.url).pathname,
      "serve",
      "--no-auth",
      "--port",
      "0",
      "--header-timeout",
      "0.3",
      "--max-connections",
      "8",
    ],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
    env: { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" },
  }).spawn();
  const stderr = new TextTail(child.stderr);
  try {
    const listening = await stderr.until(/serving on http:\/\/127\.0\.0\.1:\d+\//);
    const port = Number(/127\.0\.0\.1:(\d+)\//.exec(listening)?.[1]);
    assert.ok(port > 0, listening);
    const { text, ended } = await dripHead(port, "GET /v1/health HTTP/1.1\r\nHost: x\r\n", 100, 40);
    assert.ok(ended);
    assert.match(text, /^HTTP\/1\.1 408 /);
  } finally {
    child.kill("SIGTERM");
    await stderr.until(/$^/);
    assert.equal((await child.status).code, 0, stderr.text);
  }
});
