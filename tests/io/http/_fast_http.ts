/**
 * HTTP options for tests whose retries must not wait: a recording clock, whose sleeps return at
 * once and are kept so that the backoff can be checked without being slept, and a log of retries.
 *
 * @module
 */

import type { HttpOptions, RetryEvent } from "../../../src/io/http/client.ts";
import type { RetryClock } from "../../../src/io/http/retry.ts";

/** A clock whose sleeps return at once and are recorded (milliseconds). */
export function recordingClock(): RetryClock & { slept: number[] } {
  const slept: number[] = [];
  return {
    slept,
    sleep: (ms) => {
      slept.push(ms);
      return Promise.resolve();
    },
    random: () => 0.5,
    now: () => Date.parse("2024-01-01T00:00:00Z"),
  };
}

/** HTTP options with the recording clock and a log of retries. */
export function fastHttp(extra: Omit<HttpOptions, "clock" | "onRetry"> = {}): HttpOptions & {
  clock: ReturnType<typeof recordingClock>;
  retries: RetryEvent[];
} {
  const retries: RetryEvent[] = [];
  return { ...extra, clock: recordingClock(), retries, onRetry: (event) => retries.push(event) };
}

/** HTTP options whose retries wait 1 ms on a clock that does not sleep. */
export const FAST = {
  retry: { baseDelayMs: 1, maxDelayMs: 1 },
  clock: {
    sleep: () => Promise.resolve(),
    random: () => 0.5,
    now: () => 0,
  },
};
