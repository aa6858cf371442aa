/**
 * The retry policy: exponential backoff with jitter, `Retry-After` in both of its forms, which
 * statuses are retried, policy checks, and an abortable sleep. (Retries over real HTTP are
 * tested in tests/io/http/client_test.ts and tests/hub/resolve_dataset_test.ts.)
 */

import assert from "node:assert/strict";
import {
  abortableSleep,
  backoffDelayMs,
  DEFAULT_RETRY_POLICY,
  isRetryableStatus,
  parseRetryAfter,
  retryPolicy,
} from "../../../src/io/http/retry.ts";

Deno.test("backoff doubles from the base, is capped, and keeps jitter within its fraction", () => {
  const full = (retry: number) => backoffDelayMs(retry, DEFAULT_RETRY_POLICY, () => 0);
  assert.deepEqual([1, 2, 3, 4, 5, 6, 10].map(full), [1000, 2000, 4000, 8000, 16000, 16000, 16000]);
  const lowest = (retry: number) => backoffDelayMs(retry, DEFAULT_RETRY_POLICY, () => 0.999999);
  assert.ok(Math.abs(lowest(1) - 500) < 0.01);
  const policy = retryPolicy({ baseDelayMs: 10, maxDelayMs: 35, jitter: 0 });
  assert.deepEqual([1, 2, 3, 4].map((r) => backoffDelayMs(r, policy, Math.random)), [
    10,
    20,
    35,
    35,
  ]);
});

Deno.test("Retry-After: delay-seconds and HTTP-dates", () => {
  const now = Date.parse("2024-01-01T00:00:00Z");
  assert.equal(parseRetryAfter("120", now), 120_000);
  assert.equal(parseRetryAfter(" 0 ", now), 0);
  assert.equal(parseRetryAfter("Mon, 01 Jan 2024 00:01:00 GMT", now), 60_000);
  assert.equal(parseRetryAfter("Sun, 31 Dec 2023 23:00:00 GMT", now), 0);
  for (const bad of [null, "", "-5", "1.5", "soon", "12abc"]) {
    assert.equal(parseRetryAfter(bad, now), undefined, String(bad));
  }
});

Deno.test("retried statuses: 408, 429 and 5xx but 501 and 505", () => {
  const retried = [408, 429, 500, 502, 503, 504, 520, 599];
  const final = [200, 206, 301, 400, 401, 403, 404, 410, 416, 501, 505];
  for (const status of retried) assert.equal(isRetryableStatus(status), true, String(status));
  for (const status of final) assert.equal(isRetryableStatus(status), false, String(status));
});

Deno.test("policies are completed and checked", () => {
  assert.deepEqual(retryPolicy(undefined), DEFAULT_RETRY_POLICY);
  assert.equal(retryPolicy(false).maxRetries, 0);
  assert.equal(retryPolicy({ maxRetries: 2 }).baseDelayMs, DEFAULT_RETRY_POLICY.baseDelayMs);
  assert.throws(() => retryPolicy({ maxRetries: -1 }), RangeError);
  assert.throws(() => retryPolicy({ maxRetries: 1.5 }), RangeError);
  assert.throws(() => retryPolicy({ jitter: 2 }), RangeError);
});

Deno.test("an abort ends a sleep with its reason", async () => {
  const controller = new AbortController();
  const reason = new Error("stop");
  const started = performance.now();
  const sleeping = abortableSleep(10_000, controller.signal);
  setTimeout(() => controller.abort(reason), 10);
  await assert.rejects(sleeping, (error) => error === reason);
  assert.ok(performance.now() - started < 5000);
  await assert.rejects(abortableSleep(1, controller.signal), (error) => error === reason);
  await abortableSleep(1);
});
