/**
 * The HTTP client that every download and every dataset read over HTTP goes through
 * ({@linkcode httpRequest}), which makes HTTP reliable in one place:
 *
 * - **Retries** of lost connections, timeouts, HTTP 408, 429 and 5xx, with exponential backoff
 *   and jitter, honouring `Retry-After` (see src/io/http/retry.ts for the policy).
 * - **Timeouts** on every request, until the response headers arrive. (Body reads have their own
 *   idle timeout, and cut bodies are resumed: see src/io/http/resumable_body.ts.)
 * - **Redirects** are followed by hand, so that credentials ({@linkcode HttpOptions.headers}) go
 *   only to the origin they were given for, never to a CDN host a hub redirects to.
 * - **Boundary** ({@linkcode HttpRequestOptions.boundary}): every URL requested, redirects
 *   included, must lie within the boundary prefix ({@linkcode isUrlWithin}); anything else is
 *   refused with a {@linkcode DatasetError} that names the URL as requested.
 * - `Accept-Encoding: identity`, so that sizes and byte offsets are those of the file itself.
 *
 * @module
 */

import { DatasetError } from "../../errors.ts";
import { messageOf } from "../error_message.ts";
import { isUrlWithin } from "../locations.ts";
import {
  backoffDelayMs,
  isRetryableStatus,
  parseRetryAfter,
  type RetryClock,
  type RetryPolicy,
  retryPolicy,
  SYSTEM_CLOCK,
} from "./retry.ts";

/** How HTTP requests are made: credentials, retries, timeouts. */
export interface HttpOptions {
  /**
   * Extra request headers, e.g. `Authorization`. They are sent only to
   * {@linkcode HttpOptions.credentialOrigin} (by default the origin — scheme, host and port —
   * of the URL requested), and dropped when a redirect leads to another origin.
   */
  readonly headers?: Readonly<Record<string, string>>;
  /**
   * The only origin `headers` go to, e.g. a hub's `https://huggingface.co`, so that a request
   * made straight to a CDN URL the hub handed out carries no credentials.
   */
  readonly credentialOrigin?: string;
  /** Retry policy (missing fields take the defaults); `false` makes a single attempt. */
  readonly retry?: Partial<RetryPolicy> | false;
  /** Milliseconds allowed for each attempt until the response headers arrive (default 30 s). */
  readonly requestTimeoutMs?: number;
  /**
   * Milliseconds a body may go without delivering a byte before the connection is dropped and
   * the transfer resumed (default 60 s).
   */
  readonly idleTimeoutMs?: number;
  /** Sleep, randomness and time for the backoff (tests inject a fast clock). */
  readonly clock?: RetryClock;
  /** Called before each retry, e.g. to log it. */
  readonly onRetry?: (event: RetryEvent) => void;
}

/** What {@linkcode HttpOptions.onRetry} is told. */
export interface RetryEvent {
  /** The URL requested. */
  readonly url: string;
  /** The retry about to be made (1 for the first). */
  readonly retry: number;
  /** Milliseconds waited before it. */
  readonly delayMs: number;
  /** What failed: `HTTP 503 Service Unavailable`, `connection failed: …`, `body cut short …`. */
  readonly reason: string;
  /** For a resumed body, the byte offset it resumes from. */
  readonly offset?: number;
}

/** Options of {@linkcode httpRequest}. */
export interface HttpRequestOptions {
  /** Cancels the request; the abort reason is thrown as is. */
  readonly signal?: AbortSignal;
  /** Credentials, retries and timeouts. */
  readonly http?: HttpOptions;
  /**
   * An `http(s)://` URL prefix that every URL requested, redirects included, must stay within
   * (see {@linkcode isUrlWithin}); unset, redirects go anywhere.
   */
  readonly boundary?: string;
}

/** Default {@linkcode HttpOptions.requestTimeoutMs}: 30 s. */
const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

/** Default {@linkcode HttpOptions.idleTimeoutMs}: 60 s. */
export const DEFAULT_IDLE_TIMEOUT_MS = 60_000;

/** Redirects followed before a request fails. */
const MAX_REDIRECTS = 10;

/** An HTTP request for {@linkcode httpRequest}. */
export interface HttpRequest {
  /** The URL. */
  readonly url: string;
  /** `GET` (default) or `HEAD`. */
  readonly method?: "GET" | "HEAD";
  /** Headers of this request (sent to every host, unlike {@linkcode HttpOptions.headers}). */
  readonly headers?: Readonly<Record<string, string>>;
  /**
   * `follow` (default): follow redirects, dropping the credential headers when leaving the
   * origin. `manual`: return a 3xx response as it is (after following same-origin relative
   * redirects, as Hugging Face's clients do, so a renamed repository still resolves).
   */
  readonly redirect?: "follow" | "manual";
}

/** The answer to an {@linkcode httpRequest}. */
export interface HttpResponse {
  /** The response; its body is unread (cancel it if it is not needed). */
  readonly response: Response;
  /** The URL that answered (after redirects). */
  readonly url: string;
  /** Attempts made (1 when the first one was answered). */
  readonly attempts: number;
  /** Aborts the connection (e.g. when the body stops coming). */
  readonly abort: (reason?: unknown) => void;
}

/**
 * Sends an HTTP request with retries (see the module documentation). A response with a status
 * that is not retried (2xx, 3xx with `redirect: "manual"`, 4xx but 408 and 429) is returned at
 * once; a retried status that persists is returned after the last retry.
 *
 * @throws {DatasetError} naming the URL when it cannot be reached (after the last retry), when a
 *   server asks to wait longer than the policy allows, or when redirects loop.
 */
export async function httpRequest(
  request: HttpRequest,
  options: HttpRequestOptions = {},
): Promise<HttpResponse> {
  const { signal } = options;
  const http = options.http ?? {};
  const policy = retryPolicy(http.retry);
  const clock = http.clock ?? SYSTEM_CLOCK;
  for (let attempt = 1;; attempt++) {
    signal?.throwIfAborted();
    const retriesLeft = attempt <= policy.maxRetries;
    let failure: string;
    let retryAfterMs: number | undefined;
    const attemptControl = new AbortController();
    const attemptSignal = signal === undefined
      ? attemptControl.signal
      : AbortSignal.any([signal, attemptControl.signal]);
    const timeoutMs = http.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    const timer = setTimeout(
      () => attemptControl.abort(new RequestTimeout(`no response within ${timeoutMs / 1000} s`)),
      timeoutMs,
    );
    try {
      const answered = await followRedirects(request, http, attemptSignal, options.boundary);
      const { response } = answered;
      if (!isRetryableStatus(response.status) || !retriesLeft) {
        return {
          ...answered,
          attempts: attempt,
          abort: (reason) => attemptControl.abort(reason),
        };
      }
      await response.body?.cancel().catch(() => {});
      failure = statusText(response);
      retryAfterMs = parseRetryAfter(response.headers.get("retry-after"), clock.now());
      if (retryAfterMs !== undefined && retryAfterMs > policy.maxRetryAfterMs) {
        throw new DatasetError(
          `${request.url}: ${failure}; the server asks to retry after ${
            Math.ceil(retryAfterMs / 1000)
          } s, longer than the ${policy.maxRetryAfterMs / 1000} s clipbench waits`,
          { path: request.url },
        );
      }
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      if (error instanceof DatasetError) throw error;
      failure = attemptControl.signal.aborted
        ? `timed out (${messageOf(attemptControl.signal.reason)})`
        : `request failed: ${messageOf(error)}`;
      if (!retriesLeft) {
        throw new DatasetError(`${request.url}: ${failure}${attemptsNote(attempt)}`, {
          path: request.url,
          cause: error,
        });
      }
    } finally {
      clearTimeout(timer);
    }
    const delayMs = retryAfterMs ?? backoffDelayMs(attempt, policy, clock.random);
    http.onRetry?.({ url: request.url, retry: attempt, delayMs, reason: failure });
    await clock.sleep(delayMs, signal);
  }
}

/** A request that got no response in time. */
class RequestTimeout extends Error {}

/** One attempt: the request and its redirects, credentials kept to their own origin. */
async function followRedirects(
  request: HttpRequest,
  http: HttpOptions,
  signal: AbortSignal,
  boundary: string | undefined,
): Promise<{ response: Response; url: string }> {
  const credentialOrigin = http.credentialOrigin === undefined
    ? new URL(request.url).origin
    : new URL(http.credentialOrigin).origin;
  let url = request.url;
  const method = request.method ?? "GET";
  for (let hop = 0;; hop++) {
    if (boundary !== undefined) {
      if (!isUrlWithin(url, boundary)) {
        throw new DatasetError(
          hop === 0
            ? `${request.url}: refused: outside the dataset's allowed URL prefix`
            : `${request.url}: refused: redirected outside the dataset's allowed URL prefix`,
          { path: request.url },
        );
      }
      url = new URL(url).href;
    }
    const headers = new Headers({ "accept-encoding": "identity" });
    if (new URL(url).origin === credentialOrigin) {
      for (const [name, value] of Object.entries(http.headers ?? {})) headers.set(name, value);
    }
    for (const [name, value] of Object.entries(request.headers ?? {})) headers.set(name, value);
    const response = await fetch(url, { method, headers, signal, redirect: "manual" });
    const location = response.headers.get("location");
    if (response.status < 300 || response.status > 399 || location === null) {
      return { response, url };
    }
    const next = new URL(location, url);
    const relative = !/^[a-z][a-z0-9+.-]*:/i.test(location) && !location.startsWith("//");
    if (request.redirect === "manual" && !(relative && next.origin === new URL(url).origin)) {
      return { response, url };
    }
    await response.body?.cancel().catch(() => {});
    if (hop >= MAX_REDIRECTS) {
      throw new DatasetError(`${request.url}: more than ${MAX_REDIRECTS} redirects`, {
        path: request.url,
      });
    }
    if (next.protocol !== "http:" && next.protocol !== "https:") {
      throw new DatasetError(`${request.url}: redirected to unsupported URL ${next.href}`, {
        path: request.url,
      });
    }
    url = next.href;
  }
}

/** How a status is named in messages: `HTTP 503 Service Unavailable`. */
export function statusText(response: Response): string {
  return `HTTP ${response.status}${response.statusText === "" ? "" : ` ${response.statusText}`}`;
}

/** The note that ends a failure message after several attempts: ` (3 attempts)`, else nothing. */
export function attemptsNote(attempts: number): string {
  return attempts > 1 ? ` (${attempts} attempts)` : "";
}
