/**
 * The evaluation handler behind `Deno.serve` on 127.0.0.1 with a free port, for the handler tests.
 *
 * @module
 */

import {
  createEvaluationHandler,
  type EvaluationHandler,
  type EvaluationHandlerOptions,
} from "../src/server/handler.ts";

/** Runs `fn` against a server on 127.0.0.1 with a free port, then shuts it and the handler down. */
export async function withServer(
  options: EvaluationHandlerOptions,
  fn: (base: string, handler: EvaluationHandler, port: number) => Promise<void>,
): Promise<void> {
  const handler = createEvaluationHandler(options);
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, handler);
  try {
    await fn(`http://127.0.0.1:${server.addr.port}`, handler, server.addr.port);
  } finally {
    await server.shutdown();
    await handler.close();
  }
}
