/**
 * Giving the event loop a turn between slices of long synchronous work (tokenising, a session
 * run), so that timers (deadlines), I/O (health checks, other requests) and aborts are served
 * between slices rather than after the whole job.
 *
 * @module
 */

/**
 * Resolves on a later turn of the event loop (a macrotask, not a microtask: pending timers and
 * I/O callbacks run first), then throws the abort reason if `signal` was aborted meanwhile.
 */
export async function yieldToEventLoop(signal?: AbortSignal): Promise<void> {
  signal?.throwIfAborted();
  await new Promise<void>((resolve) => setTimeout(resolve, 0));
  signal?.throwIfAborted();
}
