/**
 * Downloads into a shared cache: the lock file (exclusive, stale by dead pid or by age, a
 * timeout naming the holder), two processes downloading the same file at once (one downloads,
 * the other waits and uses its file), a process killed mid-download whose stale lock and partial
 * file the next process takes over and resumes with `Range`, resuming and discarding partial
 * files, and the progress reporter. Real processes (`deno eval`) and real HTTP (the fake hub's
 * CDN) throughout.
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { hostname } from "node:os";
import { join } from "node:path";
import { ClipbenchError } from "../../src/errors.ts";
import { type DownloadPlan, downloadVerified } from "../../src/hub/download.ts";
import { DownloadProgressReporter, formatBytes } from "../../src/hub/download_progress.ts";
import { acquireFileLock, type LockHolder } from "../../src/hub/file_lock.ts";
import { type FakeHub, startFakeHub } from "../_fake_hub.ts";

const DOWNLOAD_MODULE = new URL("../../src/hub/download.ts", import.meta.url).href;

/** 64 KiB of deterministic bytes, and their SHA-256. */
const BLOB = Uint8Array.from({ length: 65536 }, (_, i) => (i * 31 + (i >> 8)) & 0xff);
const BLOB_SHA256 = createHash("sha256").update(BLOB).digest("hex");

async function withBlobHub(body: (hub: FakeHub, url: string, dir: string) => Promise<void>) {
  const hub = startFakeHub({
    repos: [{
      hub: "modelscope",
      kind: "model",
      id: "clipbench/blob",
      files: { "big.bin": BLOB },
    }],
  });
  const dir = await Deno.makeTempDir({ prefix: "clipbench_download_" });
  try {
    await body(hub, `${hub.cdnOrigin}/blobs/${BLOB_SHA256}`, dir);
  } finally {
    await hub.close();
    await Deno.remove(dir, { recursive: true });
  }
}

function plan(url: string, dir: string): DownloadPlan {
  const finalPath = join(dir, "final");
  return {
    label: "big.bin",
    url,
    partialPath: join(dir, "partial"),
    lockPath: join(dir, "locks", "big.bin.lock"),
    isComplete: async () => {
      try {
        return (await Deno.stat(finalPath)).isFile;
      } catch {
        return false;
      }
    },
    commit: (verified) => Deno.rename(verified, finalPath),
  };
}

/** A `deno eval` process downloading the blob into `dir` with downloadVerified. */
function downloadProcess(url: string, dir: string): Deno.ChildProcess {
  const code = `
    import { downloadVerified } from ${JSON.stringify(DOWNLOAD_MODULE)};
    const dir = Deno.env.get("DOWNLOAD_DIR");
    const finalPath = dir + "/final";
    const outcome = await downloadVerified(
      {
        label: "big.bin",
        url: Deno.env.get("DOWNLOAD_URL"),
        partialPath: dir + "/partial",
        lockPath: dir + "/locks/big.bin.lock",
        isComplete: () => Deno.stat(finalPath).then((info) => info.isFile, () => false),
        commit: (verified) => Deno.rename(verified, finalPath),
      },
      { size: ${BLOB.length}, hash: { algorithm: "sha256", hex: "${BLOB_SHA256}" } },
      { lock: { pollMs: 25, onWait: (holder) => console.log("waiting for " + holder?.pid) } },
    );
    console.log(outcome);
  `;
  return new Deno.Command(Deno.execPath(), {
    args: ["eval", "--quiet", code],
    env: { DOWNLOAD_DIR: dir, DOWNLOAD_URL: url, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

async function finished(child: Deno.ChildProcess): Promise<{ code: number; out: string }> {
  const { code, stdout, stderr } = await child.output();
  const text = new TextDecoder();
  return { code, out: text.decode(stdout) + text.decode(stderr) };
}

/** Waits until `check` holds (polling), failing after `timeoutMs`. */
async function until(check: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error("condition not reached in time");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await Deno.stat(path)).size;
  } catch {
    return 0;
  }
}

Deno.test("two processes sharing a cache: one downloads, the other waits and uses its file", async () => {
  await withBlobHub(async (hub, url, dir) => {
    // 16 chunks of 4 KiB, 300 ms apart: the first download takes about 4.8 s, time enough for
    // the second process to start and find the lock held on a loaded machine.
    hub.addFault({
      match: "/blobs/",
      server: "cdn",
      fault: { slow: { chunkBytes: 4096, delayMs: 300 } },
    });
    const first = downloadProcess(url, dir);
    await until(() => hub.requests("/blobs/", "cdn").length === 1);
    const second = downloadProcess(url, dir);
    const [a, b] = await Promise.all([finished(first), finished(second)]);
    assert.equal(a.code, 0, a.out);
    assert.equal(b.code, 0, b.out);
    assert.equal(a.out.trim(), "downloaded");
    assert.match(b.out, /^waiting for [0-9]+\npresent\n$/);
    assert.equal(hub.requests("/blobs/", "cdn").length, 1);
    assert.deepEqual(await Deno.readFile(join(dir, "final")), BLOB);
    assert.deepEqual([...Deno.readDirSync(join(dir, "locks"))], []);
    assert.equal(await sizeOf(join(dir, "partial")), 0);
  });
});

Deno.test("a killed download: its stale lock is taken over and its partial file resumed", async () => {
  await withBlobHub(async (hub, url, dir) => {
    hub.addFault({
      match: "/blobs/",
      server: "cdn",
      times: 1,
      fault: { slow: { chunkBytes: 4096, delayMs: 200 } },
    });
    const victim = downloadProcess(url, dir);
    await until(async () => (await sizeOf(join(dir, "partial"))) >= 8192);
    victim.kill("SIGKILL");
    await victim.status;
    await victim.stdout.cancel();
    await victim.stderr.cancel();
    const lock = JSON.parse(await Deno.readTextFile(join(dir, "locks", "big.bin.lock")));
    assert.equal(lock.pid, victim.pid);
    const partial = await sizeOf(join(dir, "partial"));
    assert.ok(partial > 0 && partial < BLOB.length);

    const successor = await finished(downloadProcess(url, dir));
    assert.equal(successor.code, 0, successor.out);
    assert.equal(successor.out.trim(), "downloaded");
    const requests = hub.requests("/blobs/", "cdn");
    assert.equal(requests.length, 2);
    assert.equal(requests[1].range, `bytes=${partial}-`);
    assert.equal(requests[1].status, 206);
    assert.deepEqual(await Deno.readFile(join(dir, "final")), BLOB);
  });
});

Deno.test("file locks: exclusive, released, stale by dead pid or by age, timeouts name the holder", async () => {
  const dir = await Deno.makeTempDir({ prefix: "clipbench_lock_" });
  try {
    const path = join(dir, "sub", "file.lock");
    const first = await acquireFileLock(path);
    const holder: LockHolder = JSON.parse(await Deno.readTextFile(path));
    assert.equal(holder.pid, Deno.pid);
    assert.equal(holder.host, hostname());
    let waitedFor: LockHolder | undefined;
    await assert.rejects(
      acquireFileLock(path, { timeoutMs: 100, pollMs: 10, onWait: (h) => (waitedFor = h) }),
      (error) =>
        error instanceof ClipbenchError &&
        new RegExp(`still locked after 0 s by process ${Deno.pid} on `).test(error.message),
    );
    assert.equal(waitedFor?.token, holder.token);
    await first.release();
    await assert.rejects(Deno.stat(path), Deno.errors.NotFound);
    const again = await acquireFileLock(path, { timeoutMs: 100 });
    await again.release();

    // A lock of a process that is gone (this host): taken over at once.
    const gone = new Deno.Command(Deno.execPath(), { args: ["eval", "0"] }).spawn();
    await gone.status;
    await Deno.writeTextFile(
      path,
      JSON.stringify({ pid: gone.pid, host: hostname(), token: "t", since: Date.now() }),
    );
    const afterDeadPid = await acquireFileLock(path, { timeoutMs: 1000, staleMs: 600_000 });
    await afterDeadPid.release();

    // A foreign lock file (not ours to parse): stale once it has not been touched for staleMs.
    await Deno.writeTextFile(path, "held by someone else");
    await assert.rejects(acquireFileLock(path, { timeoutMs: 100, pollMs: 10 }), ClipbenchError);
    const old = new Date(Date.now() - 120_000);
    await Deno.utime(path, old, old);
    const afterAge = await acquireFileLock(path, { timeoutMs: 1000, staleMs: 60_000 });
    // The holder's heartbeat keeps its own lock fresh.
    const heartbeat = await acquireFileLock(join(dir, "beat.lock"), { staleMs: 200 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    await assert.rejects(
      acquireFileLock(join(dir, "beat.lock"), { staleMs: 200, timeoutMs: 100, pollMs: 10 }),
      ClipbenchError,
    );
    await heartbeat.release();
    await afterAge.release();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("partial files: resumed from their size, discarded when too long or wrong", async () => {
  await withBlobHub(async (hub, url, dir) => {
    const expected = {
      size: BLOB.length,
      hash: { algorithm: "sha256", hex: BLOB_SHA256 },
    } as const;
    await Deno.writeFile(join(dir, "partial"), BLOB.subarray(0, 1000));
    assert.equal(await downloadVerified(plan(url, dir), expected), "downloaded");
    assert.deepEqual(hub.log.map((r) => r.range), ["bytes=1000-"]);
    assert.deepEqual(await Deno.readFile(join(dir, "final")), BLOB);

    // Complete already: nothing is asked.
    assert.equal(await downloadVerified(plan(url, dir), expected), "present");
    assert.equal(hub.log.length, 1);

    // Longer than the file: discarded before asking.
    await Deno.remove(join(dir, "final"));
    await Deno.writeFile(join(dir, "partial"), new Uint8Array(BLOB.length + 10));
    await downloadVerified(plan(url, dir), expected);
    assert.equal(hub.log[1].range, null);

    // As long as the file but wrong: found by the hash, fetched again from the start.
    await Deno.remove(join(dir, "final"));
    await Deno.writeFile(join(dir, "partial"), new Uint8Array(BLOB.length));
    await downloadVerified(plan(url, dir), expected);
    assert.equal(hub.log.length, 3);
    assert.equal(hub.log[2].range, null);
    assert.deepEqual(await Deno.readFile(join(dir, "final")), BLOB);
  });
});

Deno.test("download progress: a bar with bytes/s on a terminal, lines elsewhere, nothing quiet", () => {
  let time = 0;
  const output: string[] = [];
  const bar = new DownloadProgressReporter({
    interactive: true,
    write: (text) => output.push(text),
    now: () => time,
  });
  const tracker = bar.begin("onnx/model.onnx", 2_000_000, 0);
  time = 500;
  tracker.advance(1_000_000);
  time = 550;
  tracker.advance(10); // within 100 ms of the last draw: not drawn
  time = 1000;
  tracker.finish();
  assert.deepEqual(output, [
    "\r\x1b[2Konnx/model.onnx  [############............]  1.0 MB/2.0 MB  2.0 MB/s  ETA 0:01",
    "\r\x1b[2Kdownloaded onnx/model.onnx: 1.0 MB in 1 s (1.0 MB/s)\n",
  ]);

  output.length = 0;
  time = 0;
  const lines = new DownloadProgressReporter({
    interactive: false,
    write: (text) => output.push(text),
    now: () => time,
  });
  const resumed = lines.begin("test/0.tar", undefined, 4000);
  time = 5000;
  resumed.advance(1000); // within 10 s: no line
  time = 12_000;
  resumed.advance(5000);
  resumed.finish();
  assert.deepEqual(output, [
    "test/0.tar  10.0 kB  500 B/s  resumed at 4.0 kB\n",
    "downloaded test/0.tar: 10.0 kB in 12 s (500 B/s)\n",
  ]);

  // A long name on an 80-column terminal: the line stays under 80 characters, the bytes kept.
  output.length = 0;
  time = 0;
  const narrow = new DownloadProgressReporter({
    interactive: true,
    columns: 80,
    write: (text) => output.push(text),
    now: () => time,
  });
  const long = narrow.begin(`onnx/${"very_long_graph_name_".repeat(3)}fp16.onnx`, 3_000_000, 1000);
  time = 500;
  long.advance(1_000_000);
  const drawn = output[0].replace("\r\x1b[2K", "");
  assert.ok(drawn.length < 80, drawn);
  assert.match(drawn, /^onnx\/very_long_graph_name_very.*… {2}1\.0 MB\/3\.0 MB$/);
  assert.doesNotMatch(drawn, /resumed/, "the resume note goes first");

  output.length = 0;
  const quiet = new DownloadProgressReporter({
    interactive: true,
    quiet: true,
    write: (t) => output.push(t),
  });
  const silent = quiet.begin("x", 10, 0);
  silent.advance(10);
  silent.finish();
  assert.deepEqual(output, []);
  assert.deepEqual([0, 999, 1000, 1_234_567, 5e9, 7e12].map(formatBytes), [
    "0 B",
    "999 B",
    "1.0 kB",
    "1.2 MB",
    "5.0 GB",
    "7.0 TB",
  ]);
});
