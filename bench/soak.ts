/**
 * `deno task bench --soak`: the server under a bounded mix of clients, on 127.0.0.1 only.
 *
 * Starts `cli.ts serve` (a real process, with a token) on the demo model and data, then for
 * `--seconds` (default 60) runs these clients side by side, each in a loop bounded by the end time:
 *
 * - valid evaluations, plain JSON and NDJSON (`limit` 64), answered 200 or 503 when busy;
 * - invalid requests: bad JSON, unknown fields, a `split` that climbs out of the root, an absolute
 *   model path, a huge `batch_size`, oversized prompts, a wrong token, unknown routes and methods;
 * - slow clients sending one header line per second, and idle connections that send nothing;
 * - aborted clients: a request abandoned after 150 ms, a body cut off mid-upload;
 * - a health check every 200 ms, timed.
 *
 * Every second it samples the server's resident memory and open descriptors (/proc). At the end
 * it waits for the server to settle (the slow clients' head timeout) and reports requests by
 * kind and status, health-check latency, peak RSS, and descriptors at the start and the end —
 * equal counts mean nothing leaked. It exits 1 if the server died, a health check failed, or
 * descriptors grew.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const CLI = `${ROOT}cli.ts`;
const TOKEN = "soak-token";
const encoder = new TextEncoder();

/** Options of {@linkcode runSoak}. */
export interface SoakOptions {
  /** How long the clients run, in seconds. */
  readonly seconds: number;
  /** Seconds the server gives a request to send its head (passed to `serve`). */
  readonly headerTimeoutSeconds: number;
}

/** What a soak run measured. */
export interface SoakReport {
  /** Seconds the clients ran. */
  readonly seconds: number;
  /** Answers by client kind, then by HTTP status (`dropped` when the server closed first). */
  readonly answers: Record<string, Record<string, number>>;
  /** Health checks: count, failures, and latency percentiles in ms. */
  readonly health: { count: number; failed: number; p50: number; p99: number; max: number };
  /** Resident memory of the server in bytes: after start, peak, at the end. */
  readonly rss: { start: number; peak: number; end: number };
  /** Open descriptors of the server: after start, the most seen, at the end. */
  readonly fds: { start: number; peak: number; end: number };
  /** Whether the server was still running at the end. */
  readonly serverAlive: boolean;
}

/** Usage text of the soak. */
export const SOAK_USAGE = "usage: deno task bench --soak [--seconds N] [--header-timeout S]";

/** Parses `deno task bench --soak [--seconds N] [--header-timeout S]`. */
export function parseSoakFlags(args: readonly string[]): SoakOptions {
  const { values } = parseArgs({
    args: [...args],
    options: {
      soak: { type: "boolean" },
      seconds: { type: "string" },
      "header-timeout": { type: "string" },
    },
    strict: true,
  });
  const number = (text: string | undefined, fallback: number, flag: string) => {
    if (text === undefined) return fallback;
    const value = Number(text);
    if (!(value > 0) || !Number.isFinite(value)) {
      throw new RangeError(`--${flag} must be a positive number, got ${JSON.stringify(text)}`);
    }
    return value;
  };
  return {
    seconds: number(values.seconds, 60, "seconds"),
    headerTimeoutSeconds: number(values["header-timeout"], 5, "header-timeout"),
  };
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** The server's resident memory (bytes) and open descriptors, or undefined once it is gone. */
async function sampleProcess(pid: number): Promise<{ rss: number; fds: number } | undefined> {
  try {
    const status = await Deno.readTextFile(`/proc/${pid}/status`);
    const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    let fds = 0;
    for await (const _ of Deno.readDir(`/proc/${pid}/fd`)) fds++;
    return { rss: kb * 1024, fds };
  } catch {
    return undefined;
  }
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Runs the soak (see the module documentation). */
export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const port = freePort();
  const base = `http://127.0.0.1:${port}`;
  const server = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      CLI,
      "serve",
      "--port",
      String(port),
      "--model-root",
      `${ROOT}examples/demo`,
      "--dataset-root",
      `${ROOT}examples/demo/data/{dataset}`,
      "--max-concurrent",
      "2",
      "--header-timeout",
      String(options.headerTimeoutSeconds),
      "--no-cache",
    ],
    env: { CLIPBENCH_API_TOKEN: TOKEN, NO_COLOR: "1" },
    stdout: "null",
    stderr: "null",
  }).spawn();
  const answers: Record<string, Record<string, number>> = {};
  const count = (kind: string, status: string | number) => {
    const byStatus = answers[kind] ??= {};
    byStatus[status] = (byStatus[status] ?? 0) + 1;
  };
  const latencies: number[] = [];
  let healthFailed = 0;
  const rss = { start: 0, peak: 0, end: 0 };
  const fds = { start: 0, peak: 0, end: 0 };
  try {
    // Wait (bounded) until the server answers.
    const ready = Date.now() + 60_000;
    while (true) {
      try {
        await (await fetch(`${base}/v1/health`)).body?.cancel();
        break;
      } catch {
        if (Date.now() > ready) throw new Error("the server did not start within 60 s");
        await sleep(200);
      }
    }
    const auth = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" };
    const valid = { model: "tiny-clip-demo", dataset: "fashion_mnist_1k", limit: 64 };
    // One evaluation first, so that the start figures include the loaded model.
    const warm = await fetch(`${base}/v1/evaluate`, {
      method: "POST",
      headers: auth,
      body: JSON.stringify(valid),
    });
    await warm.arrayBuffer();
    if (warm.status !== 200) throw new Error(`the warm-up evaluation answered ${warm.status}`);
    const first = await sampleProcess(server.pid);
    rss.start = rss.peak = first?.rss ?? 0;
    fds.start = fds.peak = first?.fds ?? 0;
    const end = Date.now() + options.seconds * 1000;
    const running = () => Date.now() < end;

    const request = async (kind: string, init: RequestInit & { path?: string }) => {
      try {
        const response = await fetch(`${base}${init.path ?? "/v1/evaluate"}`, {
          method: "POST",
          headers: auth,
          ...init,
          signal: init.signal ?? AbortSignal.timeout(120_000),
        });
        await response.arrayBuffer();
        count(kind, response.status);
      } catch (error) {
        count(kind, (error as Error).name === "TimeoutError" ? "aborted" : "dropped");
      }
    };

    const invalidBodies: (RequestInit & { path?: string })[] = [
      { body: "{not json" },
      { body: JSON.stringify({ ...valid, colour: "blue" }) },
      { body: JSON.stringify({ ...valid, split: "../../../etc/test" }) },
      { body: JSON.stringify({ ...valid, model: "/etc" }) },
      { body: JSON.stringify({ ...valid, batch_size: 1e9 }) },
      {
        body: JSON.stringify({
          ...valid,
          classnames: Array.from({ length: 10 }, (_, i) => `c${i}`.repeat(300)),
          templates: Array.from({ length: 10 }, () => "{c} ".repeat(1000)),
        }),
      },
      { body: JSON.stringify(valid), headers: { ...auth, authorization: "Bearer wrong" } },
      { path: "/v1/nothing", method: "GET" },
      { path: "/v1/health", method: "DELETE" },
    ];

    const loops: Promise<void>[] = [];
    // Valid evaluations, plain and streamed.
    loops.push((async () => {
      while (running()) await request("valid", { body: JSON.stringify(valid) });
    })());
    loops.push((async () => {
      while (running()) {
        await request("valid_ndjson", {
          body: JSON.stringify(valid),
          headers: { ...auth, accept: "application/x-ndjson" },
        });
      }
    })());
    // Invalid requests.
    loops.push((async () => {
      for (let i = 0; running(); i++) {
        await request("invalid", invalidBodies[i % invalidBodies.length]);
      }
    })());
    // Aborted requests.
    loops.push((async () => {
      while (running()) {
        await request("aborted", {
          body: JSON.stringify(valid),
          signal: AbortSignal.timeout(150),
        });
        await sleep(100);
      }
    })());
    // Bodies cut off mid-upload, and slow heads, on raw connections.
    const raw = async (kind: string, lines: string[], gapMs: number) => {
      let conn: Deno.TcpConn | undefined;
      try {
        conn = await Deno.connect({ hostname: "127.0.0.1", port });
        for (const line of lines) {
          await conn.write(encoder.encode(line));
          if (gapMs > 0) await sleep(gapMs);
          if (!running() && gapMs > 0) break;
        }
        count(kind, "sent");
      } catch {
        count(kind, "dropped");
      } finally {
        try {
          conn?.close();
        } catch {
          // Closed by the server.
        }
      }
    };
    loops.push((async () => {
      while (running()) {
        await raw("cut_body", [
          `POST /v1/evaluate HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${TOKEN}\r\n` +
          `content-type: application/json\r\ncontent-length: 1000\r\n\r\n{"model":`,
        ], 0);
        await sleep(200);
      }
    })());
    for (let i = 0; i < 20; i++) {
      loops.push((async () => {
        while (running()) {
          const lines = ["GET /v1/health HTTP/1.1\r\n"];
          for (let h = 0; h < 120; h++) lines.push(`x-slow-${h}: 1\r\n`);
          await raw("slow_head", lines, 1000);
        }
      })());
    }
    // Health checks, timed.
    loops.push((async () => {
      while (running()) {
        const started = performance.now();
        try {
          const response = await fetch(`${base}/v1/health`, {
            signal: AbortSignal.timeout(10_000),
          });
          await response.arrayBuffer();
          if (response.status !== 200) healthFailed++;
          latencies.push(performance.now() - started);
        } catch {
          healthFailed++;
        }
        await sleep(200);
      }
    })());
    // Resources, every second.
    loops.push((async () => {
      while (running()) {
        const sample = await sampleProcess(server.pid);
        if (sample) {
          rss.peak = Math.max(rss.peak, sample.rss);
          fds.peak = Math.max(fds.peak, sample.fds);
        }
        await sleep(1000);
      }
    })());
    await Promise.all(loops);
    // Let the server drop what is left (the slow heads' timeout), then read the end state.
    await sleep(options.headerTimeoutSeconds * 1000 + 2000);
    const last = await sampleProcess(server.pid);
    rss.end = last?.rss ?? 0;
    fds.end = last?.fds ?? 0;
    rss.peak = Math.max(rss.peak, rss.end);
    fds.peak = Math.max(fds.peak, fds.end);
    latencies.sort((a, b) => a - b);
    return {
      seconds: options.seconds,
      answers,
      health: {
        count: latencies.length,
        failed: healthFailed,
        p50: percentile(latencies, 0.5),
        p99: percentile(latencies, 0.99),
        max: latencies.at(-1) ?? 0,
      },
      rss,
      fds,
      serverAlive: last !== undefined,
    };
  } finally {
    try {
      server.kill("SIGTERM");
    } catch {
      // Already gone.
    }
    await server.status;
  }
}

/** The report as text. */
export function formatSoakReport(report: SoakReport): string {
  const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MB`;
  const lines = [`soak: ${report.seconds} s of mixed clients against cli.ts serve`];
  for (const [kind, byStatus] of Object.entries(report.answers)) {
    const parts = Object.entries(byStatus).map(([status, n]) => `${status}: ${n}`);
    lines.push(`  ${kind.padEnd(13)} ${parts.join(", ")}`);
  }
  const h = report.health;
  lines.push(
    `  health checks ${h.count} (failed ${h.failed}); latency p50 ${h.p50.toFixed(1)} ms, ` +
      `p99 ${h.p99.toFixed(1)} ms, max ${h.max.toFixed(1)} ms`,
    `  RSS           start ${mb(report.rss.start)}, peak ${mb(report.rss.peak)}, end ${
      mb(report.rss.end)
    }`,
    `  descriptors   start ${report.fds.start}, peak ${report.fds.peak}, end ${report.fds.end}`,
    `  server        ${report.serverAlive ? "still running" : "DIED"}`,
  );
  return lines.join("\n");
}

/** Whether the soak passed: the server lived, every health check answered, no descriptor leaked. */
export function soakPassed(report: SoakReport): boolean {
  return report.serverAlive && report.health.failed === 0 && report.fds.end <= report.fds.start;
}
