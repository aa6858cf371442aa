/**
 * A `Deno.serve` server on 127.0.0.1 that serves a folder (the tar vectors under tests/data/tar/
 * for {@linkcode withServer}) and can answer 404, 429, 500, honour `Range`, redirect, stall, or
 * close a connection in the middle of a body, recording the path and headers of each request.
 *
 * @module
 */

import { DATA_DIR } from "../_wds_vectors.ts";
import { rangeAnswer, rangeStart } from "./_range_answer.ts";

/** What the test server does for particular paths (relative to the served folder). */
export interface ServerBehaviour {
  /** Paths answered with 404 even if the file exists. */
  notFound?: string[];
  /** Paths answered with 500. */
  fail?: string[];
  /** Paths whose body stops after this many bytes, the connection then closed. */
  cutAfter?: Record<string, number>;
  /** Paths whose body stalls after this many bytes until the client goes away. */
  stallAfter?: Record<string, number>;
  /** Paths whose first `times` answers are `status` (with `Retry-After` when given). */
  failFirst?: Record<string, { status: number; times: number; retryAfter?: string }>;
  /** Paths whose first answer stops after this many bytes (later ones are whole). */
  cutOnceAfter?: Record<string, number>;
  /** Paths whose first answer stalls after this many bytes (later ones are whole). */
  stallOnceAfter?: Record<string, number>;
  /** Answer `Range: bytes=N-` requests with 206 (otherwise they get the whole file, 200). */
  honourRange?: boolean;
  /** Paths answered with a redirect to this URL (absolute, or a path on the same server). */
  redirect?: Record<string, string>;
}

/** A running test server and what it has been asked. */
export interface TestServer {
  /** `http://127.0.0.1:<port>` */
  origin: string;
  /** Paths requested so far, in order, e.g. "/wds_classification/test/0.tar". */
  requests: string[];
  /** The `Range` and `Authorization` headers of each request, in the same order. */
  headers: { range: string | null; authorization: string | null }[];
  /** Stops the server. */
  close(): Promise<void>;
}

/**
 * Serves `folder` on 127.0.0.1 (a free port), answering as `behaviour` says and recording each
 * request's path and headers.
 */
export function serveFolder(folder: string, behaviour: ServerBehaviour = {}): TestServer {
  const requests: string[] = [];
  const seenHeaders: TestServer["headers"] = [];
  const answered = new Map<string, number>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const path = decodeURIComponent(new URL(request.url).pathname);
    requests.push(path);
    seenHeaders.push({
      range: request.headers.get("range"),
      authorization: request.headers.get("authorization"),
    });
    const relative = path.slice(1);
    const count = answered.get(relative) ?? 0;
    answered.set(relative, count + 1);
    if (behaviour.notFound?.includes(relative)) return new Response("gone", { status: 404 });
    if (behaviour.fail?.includes(relative)) return new Response("broken", { status: 500 });
    const target = behaviour.redirect?.[relative];
    if (target !== undefined) {
      return new Response(null, { status: 302, headers: { location: target } });
    }
    const failFirst = behaviour.failFirst?.[relative];
    if (failFirst !== undefined && count < failFirst.times) {
      const headers: Record<string, string> = failFirst.retryAfter === undefined
        ? {}
        : { "retry-after": failFirst.retryAfter };
      return new Response("not now", { status: failFirst.status, headers });
    }
    let whole: Uint8Array<ArrayBuffer>;
    try {
      whole = await Deno.readFile(`${folder}/${relative}`);
    } catch {
      return new Response("no such file", { status: 404 });
    }
    const start = behaviour.honourRange ? rangeStart(request) ?? 0 : 0;
    const stallOnce = count === 0 ? behaviour.stallOnceAfter?.[relative] : undefined;
    const cutOnce = count === 0 ? behaviour.cutOnceAfter?.[relative] : undefined;
    return rangeAnswer(whole, start, {
      stallAfter: behaviour.stallAfter?.[relative] ?? stallOnce,
      cutAfter: behaviour.cutAfter?.[relative] ?? cutOnce,
    });
  });
  return {
    origin: `http://127.0.0.1:${server.addr.port}`,
    requests,
    headers: seenHeaders,
    close: () => server.shutdown(),
  };
}

/** Runs `body` with a server of {@linkcode DATA_DIR}, closed afterwards. */
export async function withServer(
  behaviour: ServerBehaviour,
  body: (server: TestServer) => Promise<void>,
): Promise<void> {
  const server = serveFolder(DATA_DIR, behaviour);
  try {
    await body(server);
  } finally {
    await server.close();
  }
}
