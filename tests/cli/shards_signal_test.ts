/**
 * `cli.ts eval --shards N` does not outlive its parent: SIGTERM (or SIGINT) of the parent stops the
 * workers and removes the `clipbench_shards_*` temporary folder; after SIGKILL of the parent, the
 * workers see their stdin pipe close, remove the folder and exit. The workers are held in their
 * first read by a loopback dataset server that never answers, so they are certainly running when
 * the signal comes.
 */
import assert from "node:assert/strict";
import { DEMO_MODEL } from "../_shard_fixtures.ts";

const CLI = new URL("../../cli.ts", import.meta.url).pathname;

/** A dataset server on 127.0.0.1 that holds every request until closed. */
function startStallingServer() {
  let requests = 0;
  let onRequest: (() => void) | undefined;
  const release = Promise.withResolvers<void>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async () => {
    requests++;
    onRequest?.();
    await release.promise;
    return new Response("closing", { status: 503 });
  });
  return {
    port: server.addr.port,
    /** Resolves once `count` requests arrived, or rejects at the deadline. */
    async requests(count: number, deadlineMs: number): Promise<void> {
      const deadline = Date.now() + deadlineMs;
      while (requests < count) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`only ${requests} of ${count} requests arrived`);
        const arrived = Promise.withResolvers<void>();
        onRequest = arrived.resolve;
        const timer = setTimeout(arrived.resolve, Math.min(left, 250));
        await arrived.promise;
        clearTimeout(timer);
        onRequest = undefined;
      }
    },
    async close() {
      release.resolve();
      await server.shutdown();
    },
  };
}

/** PIDs of the live (not zombie) processes whose parent is `ppid`. */
function childrenOf(ppid: number): number[] {
  const pids: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    const stat = processStat(Number(entry.name));
    if (stat !== undefined && stat.ppid === ppid && stat.state !== "Z") pids.push(stat.pid);
  }
  return pids;
}

/** State and parent of a process, or undefined when it is gone. */
function processStat(pid: number): { pid: number; state: string; ppid: number } | undefined {
  try {
    const text = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // pid (comm) state ppid ...; comm may hold spaces and parentheses.
    const [state, ppid] = text.slice(text.lastIndexOf(")") + 2).split(" ");
    return { pid, state, ppid: Number(ppid) };
  } catch {
    return undefined;
  }
}

/** Whether the process is alive (present and not a zombie). */
function alive(pid: number): boolean {
  const stat = processStat(pid);
  return stat !== undefined && stat.state !== "Z";
}

/** Waits (polling every 50 ms, at most `deadlineMs`) until `done()`; returns whether it held. */
async function waitUntil(done: () => boolean, deadlineMs: number): Promise<boolean> {
  const deadline = Date.now() + deadlineMs;
  while (!done()) {
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return true;
}

function shardFolders(tmp: string): string[] {
  return [...Deno.readDirSync(tmp)].map((e) => e.name).filter((name) =>
    name.startsWith("clipbench_shards_")
  );
}

async function runAndSignal(signal: "SIGTERM" | "SIGINT" | "SIGKILL") {
  const server = startStallingServer();
  const work = await Deno.makeTempDir({ prefix: "clipbench_shards_signal_" });
  const tmp = `${work}/tmp`;
  await Deno.mkdir(tmp);
  const parent = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      CLI,
      "eval",
      "--model",
      DEMO_MODEL,
      "--dataset",
      "stalled",
      "--dataset-root",
      `http://127.0.0.1:${server.port}/{dataset}`,
      "--shards",
      "2",
      "--output-dir",
      `${work}/out`,
      "--no-cache",
    ],
    env: { NO_COLOR: "1", TMPDIR: tmp },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(parent.stderr).text();
  let workers: number[] = [];
  try {
    // Both workers are running: each sent its first request.
    await server.requests(2, 60_000);
    workers = childrenOf(parent.pid);
    assert.equal(workers.length, 2, `workers of ${parent.pid}: ${workers.join(", ")}`);
    assert.equal(shardFolders(tmp).length, 1);
    parent.kill(signal);
    const status = await parent.status;
    if (signal === "SIGKILL") assert.equal(status.signal, "SIGKILL");
    else assert.equal(status.code, signal === "SIGTERM" ? 143 : 130, await stderr);
    assert.ok(
      await waitUntil(() => workers.every((pid) => !alive(pid)), 20_000),
      `workers still running after ${signal} of their parent: ${workers.filter(alive).join(", ")}`,
    );
    assert.ok(
      await waitUntil(() => shardFolders(tmp).length === 0, 10_000),
      `left behind: ${shardFolders(tmp).join(", ")}`,
    );
    return await stderr;
  } finally {
    for (const pid of workers.filter(alive)) Deno.kill(pid, "SIGKILL");
    try {
      parent.kill("SIGKILL");
    } catch {
      // Already exited.
    }
    await parent.status;
    await stderr;
    await server.close();
    await Deno.remove(work, { recursive: true });
  }
}

Deno.test("cli: SIGTERM of eval --shards stops its workers and removes its folder", async () => {
  const stderr = await runAndSignal("SIGTERM");
  assert.match(stderr, /clipbench: interrupted by SIGTERM/);
  assert.doesNotMatch(stderr, /^\s+at /m);
});

Deno.test("cli: SIGINT of eval --shards stops its workers and removes its folder", async () => {
  await runAndSignal("SIGINT");
});

Deno.test("cli: the workers of eval --shards exit when their parent is killed", async () => {
  await runAndSignal("SIGKILL");
});
