/**
 * A headless Chromium for the HTML report's browser test, driven over the Chrome DevTools
 * Protocol: Debian's `chromium` started with `--headless=new --no-sandbox`, a temporary profile
 * and `--remote-debugging-port=0`; the port is read from the profile's `DevToolsActivePort`, and
 * one WebSocket carries the commands (flat sessions: the page's commands name its session).
 *
 * Every wait has a deadline (generous: the test machine may be loaded); nothing is timed.
 *
 * When no Chromium is on the PATH the browser tests are skipped with a printed reason — or,
 * under CI (the `CI` variable set), fail: .ci/run installs Debian's `chromium` when missing.
 *
 * @module
 */

import { join } from "node:path";

/** Executable names looked for on the PATH, in order. */
const CHROMIUM_NAMES = ["chromium", "chromium-browser", "google-chrome"];

/** The Chromium executable on the PATH, if any. */
export function findChromium(): string | undefined {
  const folders = (Deno.env.get("PATH") ?? "").split(":").filter((f) => f !== "");
  for (const name of CHROMIUM_NAMES) {
    for (const folder of folders) {
      const path = join(folder, name);
      try {
        if (Deno.statSync(path).isFile) return path;
      } catch {
        // not in this folder
      }
    }
  }
  return undefined;
}

/** The Chromium the browser tests use (`undefined`: none installed). */
export const CHROMIUM: string | undefined = findChromium();

/** Whether a missing Chromium fails the browser tests (under CI) instead of skipping them. */
export const CHROMIUM_REQUIRED: boolean = (Deno.env.get("CI") ?? "") !== "";

/**
 * Registers a browser test: skipped with a printed reason when Chromium is missing, failing
 * instead under CI.
 */
export function browserTest(name: string, fn: (chromium: string) => Promise<void>): void {
  const chromium = CHROMIUM;
  if (chromium === undefined) {
    if (CHROMIUM_REQUIRED) {
      Deno.test(`[chromium] ${name}`, () => {
        throw new Error(
          `CI is set but no Chromium is on the PATH (${CHROMIUM_NAMES.join(", ")}): ` +
            "install Debian's chromium package (.ci/run does)",
        );
      });
      return;
    }
    console.warn(
      `no Chromium on the PATH (${CHROMIUM_NAMES.join(", ")}): the browser test "${name}" ` +
        "is skipped (apt-get install chromium to run it)",
    );
  }
  Deno.test({
    name: `[chromium] ${name}`,
    ignore: chromium === undefined,
    fn: () => fn(chromium!),
  });
}

/** Longest wait for the browser to start, a command to answer or a page to load. */
export const DEADLINE_MS = 120_000;

/** Waits for `promise`, failing with `what` when `ms` pass first. */
export async function withDeadline<T>(promise: Promise<T>, what: string, ms = DEADLINE_MS) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** A DevTools Protocol event. */
export interface CdpEvent {
  /** Method, e.g. `Runtime.exceptionThrown`. */
  readonly method: string;
  /** Parameters. */
  readonly params: Record<string, unknown>;
  /** The session it came from. */
  readonly sessionId?: string;
}

/** A running headless Chromium and its DevTools connection. */
export class HeadlessChromium {
  readonly #process: Deno.ChildProcess;
  readonly #profile: string;
  readonly #socket: WebSocket;
  readonly #pending = new Map<
    number,
    { resolve: (v: unknown) => void; reject: (e: Error) => void }
  >();
  readonly #waiters: { match: (e: CdpEvent) => boolean; resolve: (e: CdpEvent) => void }[] = [];
  #nextId = 1;
  /** Every event received, in order. */
  readonly events: CdpEvent[] = [];

  private constructor(process: Deno.ChildProcess, profile: string, socket: WebSocket) {
    this.#process = process;
    this.#profile = profile;
    this.#socket = socket;
    socket.onmessage = (message) => this.#receive(JSON.parse(String(message.data)));
    socket.onclose = () => {
      for (const { reject } of this.#pending.values()) reject(new Error("DevTools socket closed"));
      this.#pending.clear();
    };
  }

  /** Starts Chromium (`executable`) and connects to it. The caller must {@linkcode close} it. */
  static async launch(executable: string): Promise<HeadlessChromium> {
    const profile = await Deno.makeTempDir({ prefix: "clipbench-chromium-" });
    const process = new Deno.Command(executable, {
      args: [
        "--headless=new",
        "--no-sandbox",
        `--user-data-dir=${profile}`,
        "--remote-debugging-port=0",
        "--remote-allow-origins=*",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",
        "--disable-extensions",
        "--disable-sync",
        "--mute-audio",
        "about:blank",
      ],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    try {
      const endpoint = await withDeadline(
        readEndpoint(join(profile, "DevToolsActivePort"), process),
        "Chromium's DevTools port",
      );
      const socket = new WebSocket(endpoint);
      await withDeadline(
        new Promise<void>((resolve, reject) => {
          socket.onopen = () => resolve();
          socket.onerror = (event) =>
            reject(new Error(`DevTools socket: ${(event as ErrorEvent).message ?? "error"}`));
        }),
        "the DevTools socket",
      );
      return new HeadlessChromium(process, profile, socket);
    } catch (error) {
      await stopProcess(process);
      await Deno.remove(profile, { recursive: true }).catch(() => {});
      throw error;
    }
  }

  #receive(message: Record<string, unknown>): void {
    if (typeof message.id === "number") {
      const pending = this.#pending.get(message.id);
      if (pending === undefined) return;
      this.#pending.delete(message.id);
      if (message.error !== undefined) {
        pending.reject(new Error(`DevTools: ${JSON.stringify(message.error)}`));
      } else pending.resolve(message.result);
      return;
    }
    const event: CdpEvent = {
      method: String(message.method),
      params: (message.params ?? {}) as Record<string, unknown>,
      ...(typeof message.sessionId === "string" && { sessionId: message.sessionId }),
    };
    this.events.push(event);
    for (let i = this.#waiters.length - 1; i >= 0; i--) {
      if (this.#waiters[i].match(event)) {
        this.#waiters[i].resolve(event);
        this.#waiters.splice(i, 1);
      }
    }
  }

  /** Sends a command (to the page's session when `sessionId` is given) and waits for its answer. */
  send<T = Record<string, unknown>>(
    method: string,
    params: Record<string, unknown> = {},
    sessionId?: string,
  ): Promise<T> {
    const id = this.#nextId++;
    const answer = new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
    });
    this.#socket.send(JSON.stringify({ id, method, params, ...(sessionId && { sessionId }) }));
    return withDeadline(answer, method);
  }

  /** Waits for the first event (from now, or already received) that `match` accepts. */
  waitFor(match: (event: CdpEvent) => boolean, what: string): Promise<CdpEvent> {
    const seen = this.events.find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    return withDeadline(
      new Promise<CdpEvent>((resolve) => this.#waiters.push({ match, resolve })),
      what,
    );
  }

  /** Opens a new page and attaches to it; returns its session id. */
  async newPage(): Promise<string> {
    const { targetId } = await this.send<{ targetId: string }>("Target.createTarget", {
      url: "about:blank",
    });
    const { sessionId } = await this.send<{ sessionId: string }>("Target.attachToTarget", {
      targetId,
      flatten: true,
    });
    return sessionId;
  }

  /** Closes the connection, stops Chromium and removes its profile. */
  async close(): Promise<void> {
    try {
      this.#socket.close();
    } catch {
      // already closed
    }
    await stopProcess(this.#process);
    await Deno.remove(this.#profile, { recursive: true }).catch(() => {});
  }
}

async function readEndpoint(file: string, process: Deno.ChildProcess): Promise<string> {
  let exited = false;
  process.status.then(() => (exited = true));
  for (;;) {
    try {
      const [port, path] = (await Deno.readTextFile(file)).trim().split("\n");
      if (port !== undefined && path !== undefined && /^\d+$/.test(port)) {
        return `ws://127.0.0.1:${port}${path}`;
      }
    } catch {
      // not written yet
    }
    if (exited) throw new Error("Chromium exited before opening its DevTools port");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function stopProcess(process: Deno.ChildProcess): Promise<void> {
  try {
    process.kill("SIGTERM");
  } catch {
    // already gone
  }
  const stopped = await withDeadline(process.status.then(() => true), "Chromium's exit", 20_000)
    .catch(() => false);
  if (!stopped) {
    try {
      process.kill("SIGKILL");
    } catch {
      // already gone
    }
    await process.status;
  }
}
