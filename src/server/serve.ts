/**
 * Running the evaluation handler as a server (`cli.ts serve`): the hardened HTTP/1.1 server of
 * src/server/http_server.ts on a host and port (accept errors such as running out of file
 * descriptors do not stop it; a cap on open connections; deadlines for the request head and
 * body), the bearer token from an environment variable, serving without a token only on a
 * loopback address, a clean shutdown that releases the loaded models.
 *
 * @module
 */

import { UsageError } from "../errors.ts";
import {
  createEvaluationHandler,
  type EvaluationHandler,
  type EvaluationHandlerOptions,
} from "./handler.ts";
import { type HttpServerOptions, serveHttp } from "./http_server.ts";

/** The environment variable `cli.ts serve` reads the bearer token from (by default). */
export const TOKEN_ENV = "CLIPBENCH_API_TOKEN";

/**
 * Whether `hostname` only accepts connections from this machine: `localhost`, `127.0.0.0/8`,
 * `::1`.
 */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  if (host === "localhost" || host === "::1" || host === "0:0:0:0:0:0:0:1") return true;
  const ipv4 = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  return ipv4 !== null && ipv4.slice(1).every((part) => Number(part) <= 255);
}

/**
 * Options of {@linkcode serveEvaluations}: the handler's, and the server's listening address,
 * stop signal and connection limits ({@linkcode HttpServerOptions}; `signal` stops the server and
 * the models are released once it has stopped).
 */
export interface ServeOptions extends
  EvaluationHandlerOptions,
  Pick<
    HttpServerOptions,
    | "hostname"
    | "port"
    | "signal"
    | "onListen"
    | "headerTimeoutMs"
    | "bodyTimeoutMs"
    | "maxConnections"
    | "shutdownGraceMs"
  > {}

/**
 * Serves the evaluation handler until `signal` aborts.
 *
 * @throws {UsageError} when authentication is off on an address that is not loopback, or on
 * without a token.
 */
export async function serveEvaluations(options: ServeOptions): Promise<void> {
  const hostname = options.hostname ?? "127.0.0.1";
  if (options.auth === false && !isLoopbackHost(hostname)) {
    throw new UsageError(
      `serving without a token (--no-auth) is allowed on a loopback address only ` +
        `(127.0.0.1, ::1, localhost), not on ${hostname}; set ${TOKEN_ENV} instead`,
    );
  }
  if (options.auth !== false && !options.token) {
    throw new UsageError(
      `no bearer token: set ${TOKEN_ENV} (clients send 'Authorization: Bearer <token>'), or ` +
        `serve on a loopback address with --no-auth`,
    );
  }
  const handler: EvaluationHandler = createEvaluationHandler(options);
  try {
    const server = serveHttp({
      hostname,
      port: options.port ?? 8080,
      signal: options.signal,
      onListen: (address) => options.onListen?.(address),
      headerTimeoutMs: options.headerTimeoutMs,
      bodyTimeoutMs: options.bodyTimeoutMs,
      maxConnections: options.maxConnections,
      shutdownGraceMs: options.shutdownGraceMs,
      log: options.log,
    }, handler);
    await server.finished;
  } finally {
    await handler.close();
  }
}
