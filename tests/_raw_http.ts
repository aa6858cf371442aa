/**
 * Raw HTTP/1.1 clients for the server tests: a TCP connection to 127.0.0.1 whose reads are
 * bounded by a timer that closes it, and bounded waits.
 */
import assert from "node:assert/strict";

const encoder = new TextEncoder();

/** A raw client connection. */
export interface RawClient {
  /** Sends bytes (a string is UTF-8 encoded). */
  send(data: string | Uint8Array): Promise<void>;
  /** Everything the server sends until it closes, or until `limitMs` (then `ended` is false). */
  readAll(limitMs?: number): Promise<{ text: string; ended: boolean }>;
  /** Closes the connection (once). */
  close(): void;
}

/** Connects to 127.0.0.1:`port`. */
export async function connect(port: number): Promise<RawClient> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    conn.close();
  };
  return {
    close,
    async send(data) {
      await conn.write(typeof data === "string" ? encoder.encode(data) : data);
    },
    async readAll(limitMs = 5000) {
      const chunks: Uint8Array[] = [];
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        close();
      }, limitMs);
      try {
        const buffer = new Uint8Array(65536);
        while (true) {
          const n = await conn.read(buffer).catch(() => null);
          if (n === null) break;
          chunks.push(buffer.slice(0, n));
        }
      } finally {
        clearTimeout(timer);
      }
      const bytes = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
      let offset = 0;
      for (const chunk of chunks) {
        bytes.set(chunk, offset);
        offset += chunk.length;
      }
      return { text: new TextDecoder().decode(bytes), ended: !timedOut };
    },
  };
}

/** One raw request on a fresh connection; the whole answer (the server closes after it). */
export async function exchange(port: number, request: string): Promise<string> {
  const client = await connect(port);
  try {
    await client.send(request);
    const { text, ended } = await client.readAll();
    assert.ok(ended, `no end of the answer to ${JSON.stringify(request.slice(0, 40))}`);
    return text;
  } finally {
    client.close();
  }
}

/** Waits `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Waits until `condition` holds, checking every 10 ms for at most `ms`; fails beyond. */
export async function until(condition: () => boolean, ms = 5000): Promise<void> {
  const started = performance.now();
  while (!condition() && performance.now() - started < ms) await sleep(10);
  assert.ok(condition(), "the condition did not hold in time");
}

/**
 * Sends `head` (a request line and headers, without the blank line) one header line every
 * `intervalMs` until the server answers and closes, or `maxLines` lines; the answer.
 */
export async function dripHead(
  port: number,
  head: string,
  intervalMs: number,
  maxLines: number,
): Promise<{ text: string; ended: boolean; ms: number }> {
  const client = await connect(port);
  try {
    const started = performance.now();
    const answer = client.readAll(intervalMs * maxLines + 2000);
    let done = false;
    answer.finally(() => done = true);
    await client.send(head);
    for (let line = 0; line < maxLines && !done; line++) {
      await sleep(intervalMs);
      await client.send(`X-Line-${line}: drip\r\n`).catch(() => {});
    }
    const { text, ended } = await answer;
    return { text, ended, ms: performance.now() - started };
  } finally {
    client.close();
  }
}
