/**
 * When and how long to wait before an HTTP request is tried again: which failures are worth
 * another attempt (a lost connection, a timeout, HTTP 408, 429 and most 5xx), exponential backoff
 * with jitter between attempts, and the server's `Retry-After` where it sends one.
 *
 * The clock (sleep, random numbers, current time) is injectable so tests run in milliseconds.
 *
 * @module
 */

/** How many times and how patiently a request is retried. */
export interface RetryPolicy {
  /** Retries after the first attempt; 0 makes a single attempt. */
  readonly maxRetries: number;
  /** Wait before the first retry, in milliseconds; it doubles with each further retry. */
  readonly baseDelayMs: number;
  /** Longest backoff wait, in milliseconds. */
  readonly maxDelayMs: number;
  /**
   * Longest `Retry-After` honoured, in milliseconds. A server asking for a longer pause makes the
   * request fail at once, with the wait it asked for in the message.
   */
  readonly maxRetryAfterMs: number;
  /**
   * Fraction of each backoff wait that is random: the wait is drawn uniformly from
   * `[(1 - jitter) × d, d]`, so clients that failed together do not retry together.
   */
  readonly jitter: number;
}

/**
 * The default policy: 5 retries, waits of about 1, 2, 4, 8 and 16 s (half of each random),
 * `Retry-After` honoured up to 5 minutes.
 */
export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxRetries: 5,
  baseDelayMs: 1000,
  maxDelayMs: 16_000,
  maxRetryAfterMs: 300_000,
  jitter: 0.5,
};

/** A policy that makes a single attempt. */
export const NO_RETRY_POLICY: RetryPolicy = { ...DEFAULT_RETRY_POLICY, maxRetries: 0 };

/** Time and randomness, injectable for tests. */
export interface RetryClock {
  /** Waits `ms` milliseconds; rejects with the signal's reason when it is aborted. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** A uniform random number in [0, 1). */
  random(): number;
  /** The current time in milliseconds since the epoch (for HTTP-date `Retry-After` values). */
  now(): number;
}

/** The real clock: `setTimeout`, `Math.random`, `Date.now`. */
export const SYSTEM_CLOCK: RetryClock = {
  sleep: abortableSleep,
  random: Math.random,
  now: Date.now,
};

/** Completes the missing fields of a partial policy with {@linkcode DEFAULT_RETRY_POLICY}'s. */
export function retryPolicy(partial: Partial<RetryPolicy> | false | undefined): RetryPolicy {
  if (partial === false) return NO_RETRY_POLICY;
  const policy = { ...DEFAULT_RETRY_POLICY, ...partial };
  if (!Number.isInteger(policy.maxRetries) || policy.maxRetries < 0) {
    throw new RangeError(`maxRetries must be a non-negative integer, got ${policy.maxRetries}`);
  }
  if (!(policy.jitter >= 0 && policy.jitter <= 1)) {
    throw new RangeError(`jitter must be between 0 and 1, got ${policy.jitter}`);
  }
  return policy;
}

/**
 * The backoff wait before retry number `retry` (1 for the first retry): `baseDelayMs × 2^(retry-1)`
 * capped at `maxDelayMs`, minus a random part of up to `jitter` of it.
 */
export function backoffDelayMs(retry: number, policy: RetryPolicy, random: () => number): number {
  const full = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, retry - 1));
  return full * (1 - policy.jitter * random());
}

/**
 * The wait a `Retry-After` header asks for, in milliseconds: delay-seconds (`120`) or an
 * HTTP-date (`Wed, 21 Oct 2015 07:28:00 GMT`, relative to `nowMs`; a past date is 0).
 * `undefined` for an absent or malformed header.
 */
export function parseRetryAfter(value: string | null, nowMs: number): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^[0-9]+$/.test(text)) return Number(text) * 1000;
  if (!/[a-z]/i.test(text)) return undefined;
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - nowMs);
}

/**
 * Whether an HTTP status is worth retrying: 408 (request timeout), 429 (too many requests) and
 * the 5xx server errors except 501 (not implemented) and 505 (version not supported), which
 * another attempt cannot fix.
 */
export function isRetryableStatus(status: number): boolean {
  if (status === 408 || status === 429) return true;
  return status >= 500 && status <= 599 && status !== 501 && status !== 505;
}

/** `setTimeout` as a promise that an abort signal cuts short (rejecting with its reason). */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, Math.max(0, ms));
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
