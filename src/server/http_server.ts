/**
 * A small, strict HTTP/1.1 server over `Deno.listen` that runs any Fetch API handler,
 * `(request: Request) => Promise<Response>`, and holds up against clients that `Deno.serve`
 * has no defence against (it has no header or body timeout and no connection cap):
 *
 * - **accept errors do not end it**: when accepting fails (`Too many open files`, `ENFILE`,
 *   `ENOBUFS`…) it logs once per burst, backs off (50 ms doubling to 1 s, woken early by the
 *   shutdown signal) and keeps serving; the connections waiting in the kernel's backlog are
 *   accepted once descriptors are free again;
 * - **at most `maxConnections` open connections** (default 256): one more is answered a minimal
 *   `503 Service Unavailable` (`Retry-After: 1`) and closed at once, without reading its request;
 * - **the request head must arrive within `headerTimeoutMs`** of the connection (default 10 s;
 *   408 then close) and fit in `maxHeadBytes` (default 16 KiB; 431), so a client sending one
 *   header line per second is dropped;
 * - **the request body must arrive within `bodyTimeoutMs`** of the head (default 30 s): a body
 *   that stalls is dropped with 408, its `Request.body` errors and `request.signal` aborts;
 * - **a client that stops reading the answer** (one write stalled for `writeTimeoutMs`, default
 *   30 s) is dropped, and the answer's body stream cancelled;
 * - strict parsing: `METHOD SP /target SP HTTP/1.x` with CRLF line ends, header names that are
 *   tokens, no obs-fold, no space before the colon, one `Host` (HTTP/1.1), one `Content-Length`
 *   of digits only, `Transfer-Encoding: chunked` only (other codings 501, both length headers
 *   400), `Expect: 100-continue` only (417 otherwise), no body on GET or HEAD (400);
 * - **one request per connection**: every answer carries `Connection: close`, and the
 *   connection is closed after it — no keep-alive, no pipelining, so no request smuggling;
 * - answers with a body are sent chunked (HTTP/1.0 clients: delimited by the close), so a
 *   streamed body (NDJSON) goes out as it is produced; HEAD, 204 and 304 answers have none;
 * - `request.signal` aborts when the client disconnects (end of its stream or a reset, detected
 *   while the handler runs and while the answer is sent), when its body times out or is
 *   malformed, and when a shutdown's grace period ends; the answer's body stream is cancelled
 *   when the client goes away, so a producer's `cancel()` runs;
 * - the handler itself runs without a time limit (it has its own deadlines); one that throws is
 *   answered a bare 500 (the error is logged).
 *
 * When `signal` aborts, the server stops accepting, closes the connections whose request has not
 * reached the handler, lets the others finish for `shutdownGraceMs` (default 10 s), then aborts
 * their `request.signal`, cancels their answers and closes them; `finished` resolves once every
 * connection is closed.
 *
 * There is no TLS: put a TLS-terminating proxy in front when serving beyond loopback.
 *
 * @module
 */

import { UsageError } from "../errors.ts";
import {
  ChunkedDecoder,
  chunkFrame,
  HttpError,
  indexOfBlankLine,
  latin1,
  parseHead,
  plainAnswer,
  type RequestHead,
  responseHead,
} from "./http_wire.ts";

/** A Fetch API handler. */
export type FetchHandler = (request: Request) => Response | Promise<Response>;

/** Options of {@linkcode serveHttp} (durations in ms; each a positive number). */
export interface HttpServerOptions {
  /** Address to listen on (default `127.0.0.1`). */
  readonly hostname?: string;
  /** Port (default 8080; 0 picks a free one). */
  readonly port?: number;
  /** Stops the server (see the module documentation). */
  readonly signal?: AbortSignal;
  /** Called once listening, with the address. */
  readonly onListen?: (address: { hostname: string; port: number }) => void;
  /** Longest time from a connection to the end of its request head, in ms (default 10,000). */
  readonly headerTimeoutMs?: number;
  /** Longest time from the end of the head to the end of the body, in ms (default 30,000). */
  readonly bodyTimeoutMs?: number;
  /** Longest time one write of the answer may wait for the client to read, in ms (default 30,000). */
  readonly writeTimeoutMs?: number;
  /** Connections open at once (default 256); more are answered 503 and closed. */
  readonly maxConnections?: number;
  /** Largest request head (request line and headers), in bytes (default 16,384). */
  readonly maxHeadBytes?: number;
  /** How long in-flight requests may finish after `signal` aborts, in ms (default 10,000). */
  readonly shutdownGraceMs?: number;
  /** Where accept errors, handler errors and shutdown notes go (default: stderr). */
  readonly log?: (line: string) => void;
}

/** A running {@linkcode serveHttp} server. */
export interface HttpServer {
  /** The address it listens on. */
  readonly addr: Deno.NetAddr;
  /** Resolves once the server has stopped and every connection is closed. */
  readonly finished: Promise<void>;
  /** Connections open now (answered-503 ones excluded). */
  connections(): number;
}

/** Defaults of {@linkcode HttpServerOptions}. */
const HTTP_SERVER_DEFAULTS = {
  headerTimeoutMs: 10_000,
  bodyTimeoutMs: 30_000,
  writeTimeoutMs: 30_000,
  maxConnections: 256,
  maxHeadBytes: 16_384,
  shutdownGraceMs: 10_000,
} as const;

const FIRST_BACKOFF_MS = 50;
const MAX_BACKOFF_MS = 1_000;
/** Accept errors are logged at most this often (one note per burst). */
const ACCEPT_NOTE_INTERVAL_MS = 10_000;
/** Bytes a client may send after its request before the connection is dropped. */
const MAX_TRAILING_BYTES = 65_536;
/** How long a closed answer waits for the client to close its side (lingering close). */
const LINGER_MS = 2_000;
const READ_SIZE = 16_384;
/** How much of a request body is read ahead of the handler. */
const BODY_READ_AHEAD = 65_536;

const encoder = new TextEncoder();

/** The client went away (end of stream, reset, or a write that failed or stalled). */
class ClientGone extends Error {
  constructor(message = "the client closed the connection") {
    super(message);
  }
}

/** The server is shutting down and the grace period is over. */
class ServerClosing extends Error {
  constructor() {
    super("the server is shutting down");
  }
}

/** A timer whose expiry is a promise; `clear` must be called once it is no longer needed. */
class Deadline {
  readonly expired: Promise<"expired">;
  #timer: ReturnType<typeof setTimeout> | undefined;
  constructor(ms: number) {
    this.expired = new Promise((resolve) => {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        resolve("expired");
      }, ms);
    });
  }
  clear(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

/** A promise with its resolve function. */
function signalPromise<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => resolve = r);
  return { promise, resolve };
}

/** The settings a connection uses. */
type ConnectionSettings = Required<
  Omit<HttpServerOptions, "signal" | "onListen" | "hostname" | "port">
>;

/** Why a connection's exchange ended early. */
type Failure =
  | { kind: "answer"; error: HttpError }
  | { kind: "gone"; error: Error };

/** One accepted connection: reads its request, runs the handler, writes the answer. */
class Connection {
  readonly #conn: Deno.Conn;
  readonly #options: ConnectionSettings;
  readonly #handler: FetchHandler;
  readonly #localHost: string;
  /** Bytes read and not yet consumed. */
  #buffer = new Uint8Array(0);
  #eof = false;
  #read: Promise<void> | null = null;
  #write: Promise<unknown> | null = null;
  /** Writes run one after the other. */
  #writes: Promise<void> = Promise.resolve();
  /** Run when the connection ends (timers). */
  readonly #cleanups: (() => void)[] = [];
  #closed = false;
  /** The request has been given to the handler. */
  inFlight = false;
  /** The answer's head has been written (or is being written). */
  #answered = false;
  /** The answer has been written completely. */
  #done = false;
  readonly #failure = signalPromise<Failure>();
  #failed: Failure | null = null;
  readonly #abort = new AbortController();

  constructor(
    conn: Deno.Conn,
    options: ConnectionSettings,
    handler: FetchHandler,
    localHost: string,
  ) {
    this.#conn = conn;
    this.#options = options;
    this.#handler = handler;
    this.#localHost = localHost;
  }

  /** Ends the exchange early (once): the handler's signal aborts and waits wake up. */
  fail(failure: Failure): void {
    if (this.#failed || this.#done) return;
    this.#failed = failure;
    this.#abort.abort(failure.error);
    this.#failure.resolve(failure);
  }

  /** Closes the connection (once); pending reads and writes then settle. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // Already closed.
    }
  }

  /** Serves the connection's one request; never throws. */
  async run(): Promise<void> {
    try {
      await this.#exchange();
    } catch (error) {
      const expected = error instanceof ClientGone || error instanceof ServerClosing ||
        error instanceof HttpError;
      if (!expected) {
        this.#options.log(`connection error: ${(error as Error)?.message ?? error}`);
      }
    } finally {
      for (const cleanup of this.#cleanups) cleanup();
      this.close();
      await this.#read?.catch(() => {});
      await this.#write?.catch(() => {});
    }
  }

  /** Reads more bytes into the buffer (one read at a time); `false` at the end of the stream. */
  #fill(): Promise<void> {
    if (this.#read) return this.#read;
    const chunk = new Uint8Array(READ_SIZE);
    this.#read = this.#conn.read(chunk).then((n) => {
      this.#read = null;
      if (n === null) {
        this.#eof = true;
        return;
      }
      const joined = new Uint8Array(this.#buffer.length + n);
      joined.set(this.#buffer);
      joined.set(chunk.subarray(0, n), this.#buffer.length);
      this.#buffer = joined;
    }, (error) => {
      this.#read = null;
      this.#eof = true;
      if (!this.#closed) throw new ClientGone(`reading failed: ${error?.message ?? error}`);
    });
    return this.#read;
  }

  /** Waits for more bytes, for `deadline`, or for a failure, whichever first. */
  async #more(deadline: Deadline | null): Promise<"data" | "expired"> {
    if (this.#eof) throw new ClientGone();
    const outcome = await Promise.race([
      this.#fill().then(() => "data" as const),
      ...(deadline ? [deadline.expired] : []),
      this.#failure.promise.then((failure) => {
        throw failure.error;
      }),
    ]);
    if (outcome === "data" && this.#eof && this.#buffer.length === 0) throw new ClientGone();
    return outcome;
  }

  /** Writes all of `bytes` after the writes before, dropping the client when one write stalls. */
  #writeAll(bytes: Uint8Array): Promise<void> {
    const written = this.#writes.then(() => this.#writeNow(bytes));
    this.#writes = written.catch(() => {});
    return written;
  }

  async #writeNow(bytes: Uint8Array): Promise<void> {
    let offset = 0;
    while (offset < bytes.length) {
      if (this.#closed) throw new ClientGone();
      const stall = new Deadline(this.#options.writeTimeoutMs);
      try {
        const write = this.#conn.write(bytes.subarray(offset));
        this.#write = write;
        const outcome = await Promise.race([write, stall.expired]).catch((error) => {
          throw new ClientGone(`writing failed: ${error?.message ?? error}`);
        });
        if (outcome === "expired") {
          const gone = new ClientGone("the client stopped reading the answer");
          this.fail({ kind: "gone", error: gone });
          throw gone;
        }
        offset += outcome;
      } finally {
        stall.clear();
      }
      this.#write = null;
    }
  }

  /** Reads the head; `null` when the client closed before sending anything. */
  async #readHead(): Promise<RequestHead | null> {
    const deadline = new Deadline(this.#options.headerTimeoutMs);
    try {
      let scanned = 0;
      while (true) {
        const end = indexOfBlankLine(this.#buffer, Math.max(0, scanned - 3));
        if (end >= 0) {
          if (end > this.#options.maxHeadBytes) break;
          const head = this.#buffer.subarray(0, end);
          this.#buffer = this.#buffer.slice(end + 4);
          return parseHead(latin1(head), this.#localHost);
        }
        scanned = this.#buffer.length;
        if (scanned > this.#options.maxHeadBytes + 4) break;
        if (this.#eof) return null;
        const outcome = await this.#more(deadline).catch((error) => {
          if (error instanceof ClientGone && this.#buffer.length === 0) return null;
          throw error;
        });
        if (outcome === null) return null;
        if (outcome === "expired") {
          throw new HttpError(
            408,
            `the request head did not arrive within ${this.#options.headerTimeoutMs} ms`,
          );
        }
      }
      throw new HttpError(431, `the request head exceeds ${this.#options.maxHeadBytes} bytes`);
    } finally {
      deadline.clear();
    }
  }

  /** The request body as a stream read ahead of the handler, with the body deadline. */
  #bodyStream(head: RequestHead): ReadableStream<Uint8Array> | null {
    if (head.body === 0) {
      this.#watchDisconnect();
      return null;
    }
    const deadline = new Deadline(this.#options.bodyTimeoutMs);
    this.#cleanups.push(() => deadline.clear());
    let complete = false;
    deadline.expired.then(() => {
      if (!complete) {
        this.fail({
          kind: "answer",
          error: new HttpError(
            408,
            `the request body did not arrive within ${this.#options.bodyTimeoutMs} ms`,
          ),
        });
      }
    });
    const decoder = head.body === "chunked" ? new ChunkedDecoder(this.#options.maxHeadBytes) : null;
    let remaining = typeof head.body === "number" ? head.body : Infinity;
    let continued = !head.expectContinue;
    const finish = () => {
      complete = true;
      deadline.clear();
      this.#watchDisconnect();
    };
    /** The next piece of the body, `null` at its end. */
    const next = async (): Promise<Uint8Array | null> => {
      if (!continued) {
        continued = true;
        if (!this.#answered) await this.#writeAll(encoder.encode("HTTP/1.1 100 Continue\r\n\r\n"));
      }
      while (true) {
        if (decoder) {
          const { data, used, done } = decoder.decode(this.#buffer);
          this.#buffer = this.#buffer.subarray(used);
          if (data.length > 0) return data;
          if (done) return null;
        } else {
          if (remaining === 0) return null;
          if (this.#buffer.length > 0) {
            const data = this.#buffer.subarray(0, Math.min(remaining, this.#buffer.length));
            this.#buffer = this.#buffer.subarray(data.length);
            remaining -= data.length;
            return data.slice();
          }
        }
        await this.#more(null);
      }
    };
    return new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        try {
          const data = await next();
          if (data === null) {
            finish();
            controller.close();
          } else {
            controller.enqueue(data);
          }
        } catch (error) {
          if (error instanceof HttpError) this.fail({ kind: "answer", error });
          else if (error instanceof ClientGone) this.fail({ kind: "gone", error });
          controller.error(this.#failed?.error ?? error);
        }
      },
      cancel: () => deadline.clear(),
    }, new ByteLengthQueuingStrategy({ highWaterMark: BODY_READ_AHEAD }));
  }

  /**
   * Once the request is read: keeps reading so that the end of the client's stream (it went
   * away) is noticed while the handler runs; too much data after the request drops it.
   */
  #watchDisconnect(): void {
    const watch = async () => {
      let trailing = this.#buffer.length;
      this.#buffer = new Uint8Array(0);
      while (!this.#closed && !this.#done && !this.#failed) {
        await this.#fill();
        if (this.#eof) throw new ClientGone();
        trailing += this.#buffer.length;
        this.#buffer = new Uint8Array(0);
        if (trailing > MAX_TRAILING_BYTES) {
          throw new ClientGone("the client sent too much after its request");
        }
      }
    };
    watch().catch((error) => {
      if (!this.#done) this.fail({ kind: "gone", error: error as Error });
    });
  }

  async #exchange(): Promise<void> {
    let head: RequestHead | null;
    try {
      head = await this.#readHead();
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      await this.#answerError(error);
      return;
    }
    if (head === null) return;
    const body = this.#bodyStream(head);
    let request: Request;
    try {
      request = new Request(head.url, {
        method: head.method,
        headers: head.headers,
        body,
        signal: this.#abort.signal,
      });
    } catch (error) {
      await body?.cancel();
      await this.#answerError(new HttpError(400, `unusable request: ${(error as Error).message}`));
      return;
    }
    this.inFlight = true;
    const handled = (async () => await this.#handler(request))();
    const outcome = await Promise.race([
      handled.then(
        (response) => ({ response }),
        (error) => ({ error: error as unknown }),
      ),
      this.#failure.promise.then((failure) => ({ failure })),
    ]);
    if ("failure" in outcome) {
      // The handler's late answer is not sent: its body is cancelled (a producer's cancel runs).
      handled.then(
        (response) => response.body?.cancel(outcome.failure.error).catch(() => {}),
        () => {},
      );
      if (outcome.failure.kind === "answer") {
        await this.#answerError(outcome.failure.error as HttpError);
      }
      return;
    }
    let response: Response;
    if ("error" in outcome) {
      this.#options.log(
        `the handler failed on ${head.method} ${new URL(head.url).pathname}: ` +
          `${(outcome.error as Error)?.stack ?? outcome.error}`,
      );
      response = new Response("internal server error\n", { status: 500 });
    } else {
      response = outcome.response;
    }
    await this.#writeResponse(head, response);
    this.#done = true;
    await this.#linger();
  }

  /** Answers an error the server found itself, then closes. */
  async #answerError(error: HttpError): Promise<void> {
    this.#answered = true;
    await this.#writeAll(plainAnswer(error.status, error.message));
    this.#done = true;
    await this.#linger();
  }

  /** Writes the answer, streaming its body; cancels the body when the client goes away. */
  async #writeResponse(head: RequestHead, response: Response): Promise<void> {
    const noBody = head.method === "HEAD" || response.status === 204 ||
      response.status === 304 || response.body === null;
    if (noBody) {
      await response.body?.cancel().catch(() => {});
      const framing = head.method === "HEAD" || response.status === 204 ||
          response.status === 304
        ? "close"
        : 0;
      this.#answered = true;
      await this.#writeAll(
        responseHead(response.status, response.statusText, response.headers, framing),
      );
      return;
    }
    const chunked = !head.http10;
    const reader = response.body!.getReader();
    try {
      this.#answered = true;
      await this.#writeAll(
        responseHead(
          response.status,
          response.statusText,
          response.headers,
          chunked ? "chunked" : "close",
        ),
      );
      while (true) {
        const next = await Promise.race([
          reader.read(),
          this.#failure.promise.then((failure) => {
            throw failure.error;
          }),
        ]);
        if (next.done) break;
        if (next.value.length === 0) continue;
        await this.#writeAll(chunked ? chunkFrame(next.value) : next.value);
      }
      if (chunked) await this.#writeAll(encoder.encode("0\r\n\r\n"));
    } catch (error) {
      await reader.cancel(error).catch(() => {});
      throw error;
    }
  }

  /**
   * After the answer: closes the sending side and waits (briefly) for the client to close, so
   * that unread request bytes do not turn the close into a reset that loses the answer.
   */
  async #linger(): Promise<void> {
    try {
      await this.#conn.closeWrite();
    } catch {
      return;
    }
    const deadline = new Deadline(LINGER_MS);
    try {
      let drained = 0;
      while (!this.#eof && drained < MAX_TRAILING_BYTES) {
        drained += this.#buffer.length;
        this.#buffer = new Uint8Array(0);
        const outcome = await Promise.race([this.#fill().then(() => "data"), deadline.expired]);
        if (outcome === "expired") return;
      }
    } catch {
      // The client reset the connection: it has what it needed.
    } finally {
      deadline.clear();
    }
  }

  /** Ends the connection for a shutdown whose grace period is over. */
  shutdown(): void {
    this.fail({ kind: "gone", error: new ServerClosing() });
    this.close();
  }
}

/** Waits `ms`, or less when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

/**
 * Serves `handler` over HTTP/1.1 on `hostname:port` until `signal` aborts (see the module
 * documentation for the limits and timeouts).
 *
 * @throws {UsageError} when an option is not a positive number (an integer for counts).
 */
export function serveHttp(options: HttpServerOptions, handler: FetchHandler): HttpServer {
  const settings = {
    headerTimeoutMs: options.headerTimeoutMs ?? HTTP_SERVER_DEFAULTS.headerTimeoutMs,
    bodyTimeoutMs: options.bodyTimeoutMs ?? HTTP_SERVER_DEFAULTS.bodyTimeoutMs,
    writeTimeoutMs: options.writeTimeoutMs ?? HTTP_SERVER_DEFAULTS.writeTimeoutMs,
    maxConnections: options.maxConnections ?? HTTP_SERVER_DEFAULTS.maxConnections,
    maxHeadBytes: options.maxHeadBytes ?? HTTP_SERVER_DEFAULTS.maxHeadBytes,
    shutdownGraceMs: options.shutdownGraceMs ?? HTTP_SERVER_DEFAULTS.shutdownGraceMs,
    log: options.log ?? ((line: string) => console.error(line)),
  };
  for (const [name, value] of Object.entries(settings)) {
    if (typeof value !== "number") continue;
    const integer = name === "maxConnections" || name === "maxHeadBytes";
    if (!(Number.isFinite(value) && value > 0 && (!integer || Number.isInteger(value)))) {
      throw new UsageError(
        `the server option ${name} must be a positive ${integer ? "integer" : "number"}, ` +
          `got ${value}`,
      );
    }
  }
  const listener = Deno.listen({
    hostname: options.hostname ?? "127.0.0.1",
    port: options.port ?? 8080,
    transport: "tcp",
  });
  const addr = listener.addr;
  const localHost = addr.hostname.includes(":")
    ? `[${addr.hostname}]:${addr.port}`
    : `${addr.hostname}:${addr.port}`;
  options.onListen?.({ hostname: addr.hostname, port: addr.port });

  const open = new Set<Connection>();
  const tasks = new Set<Promise<void>>();
  const track = (task: Promise<void>) => {
    tasks.add(task);
    task.finally(() => tasks.delete(task));
  };
  const stopping = new AbortController();
  let graceTimer: ReturnType<typeof setTimeout> | undefined;

  const stop = () => {
    if (stopping.signal.aborted) return;
    stopping.abort();
    try {
      listener.close();
    } catch {
      // Already closed.
    }
    for (const connection of open) {
      if (!connection.inFlight) connection.shutdown();
    }
    if (open.size > 0) {
      graceTimer = setTimeout(() => {
        graceTimer = undefined;
        for (const connection of open) connection.shutdown();
      }, settings.shutdownGraceMs);
    }
  };
  if (options.signal?.aborted) stop();
  options.signal?.addEventListener("abort", stop, { once: true });

  const refuse = async (conn: Deno.Conn) => {
    const deadline = new Deadline(Math.min(settings.writeTimeoutMs, 1_000));
    const write = conn.write(
      plainAnswer(503, "too many open connections", { "retry-after": "1" }),
    );
    try {
      await Promise.race([write, deadline.expired]);
    } catch {
      // The client is gone already.
    } finally {
      deadline.clear();
      conn.close();
      await write.catch(() => {});
    }
  };

  const acceptLoop = async () => {
    let backoff = 0;
    /** Failed accepts not logged yet, and when the last note was logged. */
    let unlogged = 0;
    let lastNote = -Infinity;
    let failing = false;
    while (!stopping.signal.aborted) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch (error) {
        if (stopping.signal.aborted) break;
        if (error instanceof Deno.errors.BadResource) throw error;
        backoff = backoff === 0 ? FIRST_BACKOFF_MS : Math.min(backoff * 2, MAX_BACKOFF_MS);
        unlogged += 1;
        if (performance.now() - lastNote >= ACCEPT_NOTE_INTERVAL_MS) {
          settings.log(
            `accepting a connection failed (${(error as Error)?.message ?? error}` +
              `${unlogged > 1 ? `; ${unlogged} failures since the last note` : ""}); ` +
              `still serving, retrying with a back-off of up to ${MAX_BACKOFF_MS} ms`,
          );
          lastNote = performance.now();
          unlogged = 0;
          failing = true;
        }
        await sleep(backoff, stopping.signal);
        continue;
      }
      backoff = 0;
      if (failing) {
        settings.log("accepting connections again");
        failing = false;
      }
      if (stopping.signal.aborted) {
        conn.close();
        break;
      }
      if (open.size >= settings.maxConnections) {
        track(refuse(conn));
        continue;
      }
      try {
        (conn as Deno.TcpConn).setNoDelay(true);
      } catch {
        // Not every transport has it.
      }
      const connection = new Connection(conn, settings, handler, localHost);
      open.add(connection);
      track(connection.run().finally(() => open.delete(connection)));
    }
  };

  const finished = (async () => {
    try {
      await acceptLoop();
    } finally {
      stop();
      while (tasks.size > 0) await Promise.all([...tasks]);
      if (graceTimer !== undefined) clearTimeout(graceTimer);
      options.signal?.removeEventListener("abort", stop);
    }
  })();

  return { addr: addr as Deno.NetAddr, finished, connections: () => open.size };
}
