/**
 * clipbench as an HTTP service: a Fetch API handler, `(request: Request) => Promise<Response>`,
 * that `Deno.serve`, Deno Deploy-style platforms and any adapter speaking the Fetch API can run —
 * one dataset per call.
 *
 * ```ts ignore
 * import { createEvaluationHandler } from "@clipbench/clipbench";
 *
 * const handler = createEvaluationHandler({
 *   modelRoots: ["/models"],
 *   datasetRoots: ["/data/wds/{dataset}"],
 *   token: Deno.env.get("CLIPBENCH_API_TOKEN"),
 * });
 * Deno.serve({ hostname: "127.0.0.1", port: 8080 }, handler);
 * ```
 *
 * Routes:
 *
 * - `POST /v1/evaluate`: a JSON body (src/server/request.ts) → the result JSON, as the result
 *   file holds it; with `shard`, the partial result file (`application/vnd.clipbench.partial`,
 *   src/results/partial/partial_file.ts) to merge with `cli.ts merge`. With `Accept: application/x-ndjson`
 *   the answer is a stream of JSON lines: `{"event":"started"}`, `{"event":"progress", samples,
 *   skipped, shard, nshards, total?}` (at most every `progressIntervalMs`), then
 *   `{"event":"result","result":{…}}`, `{"event":"partial","file_name":…,"partial_base64":…}` or
 *   `{"event":"error","error":{…}}`.
 * - `GET /v1/health`: `{status: "ok", version, running, models_loaded, model_loads}`; no token
 *   needed (for load balancers and orchestrators' probes).
 * - `GET /v1/datasets`: the datasets clipbench knows by name (src/dataset/registry.ts).
 *
 * Security:
 *
 * - a bearer token (`Authorization: Bearer <token>`, compared in constant time) on every route
 *   but the health check; a handler without a token must be created with `auth: false`, which
 *   `cli.ts serve` allows only on a loopback address;
 * - the body is at most `maxBodyBytes` (413 beyond, whether or not a length is declared), JSON
 *   (415 otherwise), and validated field by field (400 naming the field);
 * - models and datasets come only from the allow-list (src/server/sources.ts: 400/403/404), and
 *   the dataset's readers stay within the dataset's folder or URL (`datasetBoundary`);
 * - a request's batch size and zero-shot prompts are limited (src/server/request_limits.ts: 400
 *   naming the limit), checked before any model is loaded or prompt tokenised;
 * - every evaluation has a deadline (`deadlineSeconds`, or a shorter `timeout_s`): an
 *   `AbortSignal` that stops the dataset reading and the decoding pipeline (504 when it fires);
 *   a client that goes away (its connection closed, or a streamed answer no longer read) stops
 *   its evaluation too (logged as 499); a body cut short during its upload is a 400;
 * - answers never name a server path: the request's model and dataset folders, the roots and the
 *   cache are replaced by the names the request used (src/server/redact.ts);
 * - at most `maxConcurrent` evaluations at a time (503 with `Retry-After` beyond);
 * - errors answer `{"error": {status, message, field?, request_id}}`, never a stack trace:
 *   {@linkcode UsageError} 400; {@linkcode DatasetError}, {@linkcode ModelError} and the other
 *   clipbench errors 422 (the request was well formed, the data or model it names cannot be
 *   used); anything else 500 with a generic message, logged with the request id.
 *
 * Models are loaded once per handler and reused by later requests (src/server/model_cache.ts):
 * concurrent requests for one model share one load and one set of onnxruntime sessions.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { join } from "node:path";
import { createHash, timingSafeEqual } from "node:crypto";
import { completePlan, type EvalPlan } from "../run/config.ts";
import { ClipbenchError, DatasetError, ModelError, UsageError } from "../errors.ts";
import { type DatasetOutcome, evaluateDataset, modelLoadOptions } from "../run/evaluate.ts";
import { prepareModel } from "../run/prepare_model.ts";
import type { HubName } from "../hub/hub_settings.ts";
import { REGISTERED_DATASETS } from "../dataset/registry.ts";
import { encodePartial, partialFileName } from "../results/partial/partial_file.ts";
import type { TaskName } from "../results/result.ts";
import type { EvaluationProgress } from "../run/sample_tally.ts";
import { ModelCache } from "./model_cache.ts";
import { PathRedactor } from "./redact.ts";
import { type EvaluationRequest, parseEvaluationRequest } from "./request.ts";
import { RequestError } from "./request_error.ts";
import { checkPromptLimits, DEFAULT_REQUEST_LIMITS, type RequestLimits } from "./request_limits.ts";
import {
  datasetRootFolder,
  type DatasetSource,
  resolveDatasetSource,
  resolveModelSource,
  type SourcePolicy,
} from "./sources.ts";
import { concatBytes } from "../io/bytes.ts";
import { openWebDataset, type WebDataset } from "../dataset/wds.ts";
import type { ZeroShotTemplates } from "../dataset/prompts.ts";
import { VERSION } from "../version.ts";

/** The version the health check reports. */
export const SERVICE_VERSION: string = VERSION;
/** The media type of a partial result file. */
export const PARTIAL_MEDIA_TYPE = "application/vnd.clipbench.partial";
/** The media type of a streamed answer. */
export const NDJSON_MEDIA_TYPE = "application/x-ndjson";

/** Options of {@linkcode createEvaluationHandler}. */
export interface EvaluationHandlerOptions {
  /** Folders holding the models requests may name (see src/server/sources.ts). */
  readonly modelRoots?: readonly string[];
  /** Dataset roots requests may use: folders or `http(s)` URLs, `{dataset}` where the name goes. */
  readonly datasetRoots?: readonly string[];
  /** Hubs requests may fetch models and datasets from (default: none); the first is the default. */
  readonly hubs?: readonly HubName[];
  /** The bearer token every request but the health check must carry. */
  readonly token?: string;
  /** `false` serves without a token (only safe on a loopback address). Default `true`. */
  readonly auth?: boolean;
  /** Largest request body, in bytes (default 65,536). */
  readonly maxBodyBytes?: number;
  /** Longest evaluation, in seconds (default 900); a request's `timeout_s` can only shorten it. */
  readonly deadlineSeconds?: number;
  /** Evaluations running at once (default 2); more are answered 503. */
  readonly maxConcurrent?: number;
  /** Models kept loaded when idle (default 2). */
  readonly modelCacheSize?: number;
  /**
   * Server-side evaluation settings (decoding workers, threads, device, graph optimisation,
   * classifier cache, hub endpoint, offline mode, default batch size…), which requests cannot
   * set; request fields override the others.
   */
  readonly settings?: Partial<EvalPlan>;
  /** Largest `batch_size` a request may ask for (default 256; src/server/request_limits.ts). */
  readonly maxBatchSize?: number;
  /** Most zero-shot prompts (class names × templates) of one request (default 100,000). */
  readonly maxPrompts?: number;
  /** Longest zero-shot prompt once `{c}` is filled, in characters (default 2,000). */
  readonly maxPromptLength?: number;
  /** Most characters of one request's prompts together (default 8,000,000). */
  readonly maxPromptChars?: number;
  /** Minimum interval between NDJSON progress events, in ms (default 500). */
  readonly progressIntervalMs?: number;
  /** One line per request, and the details of internal errors (default: stderr). */
  readonly log?: (line: string) => void;
}

/** What a handler is doing. */
export interface HandlerStats {
  /** Evaluations running. */
  readonly running: number;
  /** Models loaded (or loading) now. */
  readonly modelsLoaded: number;
  /** Model loads since the handler was created. */
  readonly modelLoads: number;
}

/** A Fetch API handler with its statistics and a `close` that releases the loaded models. */
export type EvaluationHandler = ((request: Request) => Promise<Response>) & {
  /** What the handler is doing now. */
  readonly stats: () => HandlerStats;
  /** Releases the loaded models (after the server has stopped). */
  readonly close: () => Promise<void>;
};

const JSON_HEADERS = { "content-type": "application/json; charset=utf-8" };

function jsonResponse(
  status: number,
  body: unknown,
  id: string,
  headers: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { ...JSON_HEADERS, "x-request-id": id, ...headers },
  });
}

function sha256(text: string): Uint8Array {
  return createHash("sha256").update(text).digest();
}

/** The deadline fired, as opposed to the client going away. */
class DeadlineError extends Error {
  constructor(readonly seconds: number) {
    super(`the evaluation did not finish within its deadline of ${seconds} s`);
  }
}

/** The client went away: it stopped reading a streamed answer, or closed its connection. */
class ClientGoneError extends Error {
  constructor() {
    super("the client went away before its answer was ready");
  }
}

/** An error of an evaluation, with the redactor of its request's server paths. */
class RedactedError extends Error {
  constructor(readonly error: unknown, readonly redactor: PathRedactor) {
    super("redacted", { cause: error });
  }
}

/** Reads a body of at most `limit` bytes. */
async function readBody(request: Request, limit: number): Promise<Uint8Array> {
  const tooLarge = () =>
    new RequestError(413, `the request body exceeds the limit of ${limit} bytes`);
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > limit) {
    await request.body?.cancel().catch(() => {});
    throw tooLarge();
  }
  if (request.body === null) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  while (true) {
    let read: ReadableStreamReadResult<Uint8Array>;
    try {
      read = await reader.read();
    } catch {
      throw new RequestError(400, "the request body could not be read: its upload was cut short");
    }
    const { done, value } = read;
    if (done) break;
    total += value.length;
    if (total > limit) {
      await reader.cancel().catch(() => {});
      throw tooLarge();
    }
    chunks.push(value);
  }
  return concatBytes(chunks, total);
}

/**
 * The error body and status of an error (see the module documentation). With a redactor, the
 * message loses the request's server paths (src/server/redact.ts).
 */
function describeError(
  error: unknown,
  id: string,
  log: (line: string) => void,
  redactor?: PathRedactor,
): { status: number; body: Record<string, unknown> } {
  if (error instanceof RedactedError) return describeError(error.error, id, log, error.redactor);
  const body = (status: number, text: string, field?: string) => {
    const message = redactor === undefined
      ? text
      : error instanceof RequestError
      ? redactor.text(text)
      : redactor.message(text);
    return {
      status,
      body: { error: { status, message, ...(field && { field }), request_id: id } },
    };
  };
  if (error instanceof RequestError) return body(error.status, error.message, error.field);
  if (error instanceof DeadlineError) return body(504, error.message);
  // Nobody reads it; 499 (nginx's "client closed request") shows in the log line.
  if (error instanceof ClientGoneError) return body(499, error.message);
  if (error instanceof UsageError) return body(400, error.message);
  if (error instanceof DatasetError || error instanceof ModelError) {
    return body(422, error.message);
  }
  if (error instanceof ClipbenchError) return body(422, error.message);
  log(`${id} internal error: ${(error as Error)?.stack ?? String(error)}`);
  return body(500, `internal error (request id ${id}); the server log has the details`);
}

/**
 * Creates the handler (see the module documentation).
 *
 * @throws {UsageError} when authentication is on and no token is given, or a limit is invalid.
 *
 * @example Evaluate the demo model on 8 samples, without a server
 * ```ts
 * import assert from "node:assert/strict";
 * import { createEvaluationHandler } from "@clipbench/clipbench";
 *
 * const handler = createEvaluationHandler({
 *   modelRoots: ["examples/demo"],
 *   datasetRoots: ["examples/demo/data/{dataset}"],
 *   token: "secret",
 *   settings: { noCache: true },
 * });
 * try {
 *   const health = await handler(new Request("http://localhost/v1/health"));
 *   assert.equal((await health.json()).status, "ok");
 *
 *   const response = await handler(
 *     new Request("http://localhost/v1/evaluate", {
 *       method: "POST",
 *       headers: { authorization: "Bearer secret", "content-type": "application/json" },
 *       body: JSON.stringify({ model: "tiny-clip-demo", dataset: "fashion_mnist_1k", limit: 8 }),
 *     }),
 *   );
 *   assert.equal(response.status, 200);
 *   const result = await response.json();
 *   assert.equal(result.n_samples, 8);
 *   assert.equal(result.metrics.acc1, 0.75);
 * } finally {
 *   await handler.close();
 * }
 * ```
 */
export function createEvaluationHandler(
  options: EvaluationHandlerOptions = {},
): EvaluationHandler {
  const auth = options.auth ?? true;
  if (auth && !options.token) {
    throw new UsageError(
      "the evaluation handler needs a bearer token (or auth: false, on a loopback address only)",
    );
  }
  const positive = (value: number | undefined, fallback: number, what: string) => {
    const chosen = value ?? fallback;
    if (!(chosen > 0) || !Number.isFinite(chosen)) {
      throw new UsageError(`${what} must be a positive number, got ${value}`);
    }
    return chosen;
  };
  const maxBodyBytes = positive(options.maxBodyBytes, 65_536, "maxBodyBytes");
  const deadlineSeconds = positive(options.deadlineSeconds, 900, "deadlineSeconds");
  const maxConcurrent = positive(options.maxConcurrent, 2, "maxConcurrent");
  const limits: RequestLimits = {
    maxBatchSize: positive(
      options.maxBatchSize,
      DEFAULT_REQUEST_LIMITS.maxBatchSize,
      "maxBatchSize",
    ),
    maxPrompts: positive(options.maxPrompts, DEFAULT_REQUEST_LIMITS.maxPrompts, "maxPrompts"),
    maxPromptLength: positive(
      options.maxPromptLength,
      DEFAULT_REQUEST_LIMITS.maxPromptLength,
      "maxPromptLength",
    ),
    maxPromptChars: positive(
      options.maxPromptChars,
      DEFAULT_REQUEST_LIMITS.maxPromptChars,
      "maxPromptChars",
    ),
  };
  if (
    options.settings?.batchSize !== undefined && options.settings.batchSize > limits.maxBatchSize
  ) {
    throw new UsageError(
      `the default batch size ${options.settings.batchSize} is more than maxBatchSize ` +
        `${limits.maxBatchSize}`,
    );
  }
  const progressInterval = options.progressIntervalMs ?? 500;
  const log = options.log ?? ((line: string) => console.error(line));
  const tokenHash = options.token ? sha256(options.token) : undefined;
  const policy: SourcePolicy = {
    modelRoots: options.modelRoots ?? [],
    datasetRoots: options.datasetRoots ?? [],
    hubs: options.hubs ?? [],
  };
  const settings = Object.fromEntries(
    Object.entries(options.settings ?? {}).filter(([, value]) => value !== undefined),
  ) as Partial<EvalPlan>;
  const cache = new ModelCache({ capacity: options.modelCacheSize ?? 2 });
  let running = 0;

  /** The server's own folders, each under a placeholder (resolved once, as they exist then). */
  let serverFolders: Promise<[string, string][]> | undefined;
  const ownFolders = () =>
    serverFolders ??= (async () => {
      const named: [string, string][] = [
        ...policy.modelRoots.map((root): [string, string] => [root, "<model root>"]),
        ...policy.datasetRoots.map((root): [string, string] => [
          datasetRootFolder(root),
          "<dataset root>",
        ]),
        ...(settings.cacheDir === undefined
          ? []
          : [[settings.cacheDir, "<cache>"] as [string, string]]),
      ];
      const real = await Promise.all(
        named.map(async ([path, name]): Promise<[string, string] | undefined> => {
          try {
            return [await Deno.realPath(path), name];
          } catch {
            return undefined;
          }
        }),
      );
      return [...named, ...real.filter((pair) => pair !== undefined)];
    })();

  /**
   * Checks the zero-shot prompts against the limits before any model is loaded: the inline
   * class names and templates, and what the dataset's own files add to them (read ahead from a
   * dataset root; a hub dataset's are CLIP_benchmark's). A dataset that cannot be read ahead is
   * left to the evaluation, which reads it within its boundary and says what is wrong.
   */
  const checkPrompts = async (
    parsed: EvaluationRequest,
    dataset: DatasetSource,
    plan: EvalPlan,
    signal: AbortSignal,
  ) => {
    if (plan.task === "zeroshot_retrieval" || parsed.dataset === "custom") return;
    let classnames: readonly string[] | undefined = parsed.classnames;
    let templates: ZeroShotTemplates | undefined = parsed.templates;
    if ((classnames === undefined || templates === undefined) && dataset.root !== undefined) {
      let own: WebDataset;
      try {
        own = await openWebDataset(dataset.root, {
          split: plan.split,
          signal,
          boundary: plan.datasetBoundary,
        });
      } catch (error) {
        signal.throwIfAborted();
        // The evaluation reads the dataset again within its boundary, and reports what is wrong.
        if (error instanceof DatasetError) return;
        throw error;
      }
      if (own.type === "retrieval") return;
      classnames ??= own.classnames;
      templates ??= own.templates;
    }
    if (classnames === undefined || templates === undefined) return;
    const field = parsed.templates ? "templates" : parsed.classnames ? "classnames" : "dataset";
    checkPromptLimits(classnames, templates, limits, field);
  };

  const checkToken = (request: Request) => {
    if (!auth) return;
    const header = request.headers.get("authorization");
    const match = header === null ? null : /^Bearer[ ]+(\S+)\s*$/i.exec(header);
    if (match === null) {
      throw new RequestError(401, "missing bearer token (Authorization: Bearer <token>)");
    }
    if (!timingSafeEqual(sha256(match[1]), tokenHash!)) {
      throw new RequestError(401, "invalid bearer token");
    }
  };

  /**
   * Resolves, checks, loads and evaluates; the model is shared through the cache. Every server
   * path resolved on the way is added to `redactor`, under the name the request used.
   */
  const evaluate = async (
    parsed: EvaluationRequest,
    signal: AbortSignal,
    redactor: PathRedactor,
    onProgress?: (progress: EvaluationProgress) => void,
  ): Promise<DatasetOutcome> => {
    for (const [path, name] of await ownFolders()) redactor.add(path, name);
    const model = await resolveModelSource(
      policy,
      {
        model: parsed.model,
        hub: parsed.hub,
        revision: parsed.revision,
        dtype: parsed.settings.dtype,
      },
      { endpoint: settings.endpoint, offline: settings.offline, signal },
    );
    redactor.add(model.dir, parsed.model);
    for (const root of policy.modelRoots) redactor.add(join(root, parsed.model), parsed.model);
    const requestSettings = Object.fromEntries(
      Object.entries(parsed.settings).filter(([, value]) => value !== undefined),
    );
    const split = (requestSettings as Partial<EvalPlan>).split ?? settings.split;
    const dataset = await resolveDatasetSource(policy, { ...parsed, split });
    for (const path of dataset.serverPaths) redactor.add(path, parsed.dataset);
    const plan = completePlan({
      ...settings,
      ...requestSettings,
      models: [{ id: model.dir }],
      datasets: [parsed.dataset],
      datasetRoot: dataset.root,
      datasetBoundary: dataset.boundary,
      hub: dataset.hub ?? settings.hub,
      quiet: true,
    });
    await checkPrompts(parsed, dataset, plan, signal);
    // A checkpoint without ONNX graphs is converted into the conversion cache on first use.
    const prepared = await prepareModel(plan, plan.models[0], { signal });
    redactor.add(prepared.dir, parsed.model);
    if (prepared.tokenizerDir !== undefined) redactor.add(prepared.tokenizerDir, "<tokenizer>");
    const lease = await cache.acquire(prepared.dir, {
      ...modelLoadOptions(plan),
      tokenizerDir: prepared.tokenizerDir,
    });
    try {
      signal.throwIfAborted();
      return await evaluateDataset(plan, lease.model, model.name, parsed.dataset, {
        signal,
        onProgress,
        log: () => {},
        interactive: false,
        prompts: {
          classnames: parsed.classnames && {
            path: "request",
            forDataset: () => parsed.classnames!,
          },
          templates: parsed.templates && { path: "request", forDataset: () => parsed.templates! },
        },
      });
    } finally {
      await lease.release();
    }
  };

  /**
   * The evaluation's deadline, as an abort signal; a client that goes away (its request's signal
   * aborts, or it stops reading a streamed answer) aborts it too.
   */
  const deadlineFor = (parsed: EvaluationRequest, request: Request) => {
    const seconds = Math.min(deadlineSeconds, parsed.timeoutSeconds ?? Infinity);
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new DeadlineError(seconds)), seconds * 1000);
    const gone = () => controller.abort(new ClientGoneError());
    const clientSignal = request.signal;
    if (clientSignal.aborted) gone();
    else clientSignal.addEventListener("abort", gone, { once: true });
    return {
      controller,
      /** The deadline or client-gone error when one stopped it, else the error itself. */
      explain: (error: unknown) => {
        const reason = controller.signal.reason;
        return reason instanceof DeadlineError || reason instanceof ClientGoneError
          ? reason
          : error;
      },
      dispose: () => {
        clearTimeout(timer);
        clientSignal.removeEventListener("abort", gone);
      },
    };
  };

  /** A result or partial with the request's server paths replaced (src/server/redact.ts). */
  const redactOutcome = (outcome: DatasetOutcome, redactor: PathRedactor): DatasetOutcome =>
    outcome.kind === "result" ? { kind: "result", result: redactor.value(outcome.result) } : {
      kind: "partial",
      partial: {
        ...outcome.partial,
        outcome: {
          ...outcome.partial.outcome,
          datasetRoot: redactor.text(outcome.partial.outcome.datasetRoot),
          skipped: redactor.value(outcome.partial.outcome.skipped),
        },
      },
    };

  const outcomeResponse = (outcome: DatasetOutcome, id: string): Response => {
    if (outcome.kind === "result") return jsonResponse(200, outcome.result, id);
    const { outcome: shard } = outcome.partial;
    const name = partialFileName(
      String(shard.resultFields.dataset),
      shard.resultFields.task as TaskName,
      shard.shard,
    );
    return new Response(encodePartial(outcome.partial), {
      status: 200,
      headers: {
        "content-type": PARTIAL_MEDIA_TYPE,
        "content-disposition": `attachment; filename="${name.replaceAll('"', "")}"`,
        "x-request-id": id,
      },
    });
  };

  const streamed = (
    parsed: EvaluationRequest,
    request: Request,
    id: string,
    done: () => void,
  ): Response => {
    const deadline = deadlineFor(parsed, request);
    const redactor = new PathRedactor();
    const encoder = new TextEncoder();
    let last = -Infinity;
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        const send = (event: Record<string, unknown>) => {
          try {
            controller.enqueue(encoder.encode(JSON.stringify(event) + "\n"));
          } catch {
            // The client has gone; the evaluation is being aborted.
          }
        };
        send({ event: "started", request_id: id });
        const onProgress = (progress: EvaluationProgress) => {
          const now = performance.now();
          if (now - last < progressInterval) return;
          last = now;
          send({ event: "progress", ...progress });
        };
        (async () => {
          try {
            const outcome = redactOutcome(
              await evaluate(parsed, deadline.controller.signal, redactor, onProgress),
              redactor,
            );
            if (outcome.kind === "result") {
              send({ event: "result", result: outcome.result });
            } else {
              const bytes = encodePartial(outcome.partial);
              const shard = outcome.partial.outcome;
              send({
                event: "partial",
                file_name: partialFileName(
                  String(shard.resultFields.dataset),
                  shard.resultFields.task as TaskName,
                  shard.shard,
                ),
                partial_base64: Buffer.from(bytes).toString("base64"),
              });
            }
          } catch (error) {
            if (deadline.controller.signal.reason instanceof ClientGoneError) {
              log(`${id} the client stopped reading; its evaluation was stopped`);
            } else {
              const { body } = describeError(deadline.explain(error), id, log, redactor);
              send({ event: "error", ...body });
            }
          } finally {
            deadline.dispose();
            done();
            try {
              controller.close();
            } catch {
              // Already cancelled.
            }
          }
        })();
      },
      cancel() {
        deadline.controller.abort(new ClientGoneError());
      },
    });
    return new Response(stream, {
      status: 200,
      headers: { "content-type": NDJSON_MEDIA_TYPE, "x-request-id": id },
    });
  };

  const postEvaluate = async (request: Request, id: string): Promise<Response> => {
    checkToken(request);
    const type = request.headers.get("content-type") ?? "";
    if (!/^application\/json\s*(;|$)/i.test(type)) {
      await request.body?.cancel().catch(() => {});
      throw new RequestError(415, `the body must be application/json, got '${type || "none"}'`);
    }
    const bytes = await readBody(request, maxBodyBytes);
    let body: unknown;
    try {
      body = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
    } catch (error) {
      throw new RequestError(400, `the body is not valid JSON: ${(error as Error).message}`);
    }
    const parsed = parseEvaluationRequest(body, { maxBatchSize: limits.maxBatchSize });
    if (running >= maxConcurrent) {
      return jsonResponse(
        503,
        {
          error: {
            status: 503,
            message: `${running} evaluation(s) are running, the most this server runs at once`,
            request_id: id,
          },
        },
        id,
        { "retry-after": "5" },
      );
    }
    running++;
    let finished = false;
    const done = () => {
      if (!finished) running--;
      finished = true;
    };
    let handedOver = false;
    try {
      if ((request.headers.get("accept") ?? "").includes(NDJSON_MEDIA_TYPE)) {
        // The stream owns the slot from here: it calls `done` when the evaluation ends.
        handedOver = true;
        return streamed(parsed, request, id, done);
      }
      const deadline = deadlineFor(parsed, request);
      const redactor = new PathRedactor();
      try {
        const outcome = await evaluate(parsed, deadline.controller.signal, redactor);
        return outcomeResponse(redactOutcome(outcome, redactor), id);
      } catch (error) {
        throw new RedactedError(deadline.explain(error), redactor);
      } finally {
        deadline.dispose();
      }
    } finally {
      if (!handedOver) done();
    }
  };

  const route = async (request: Request, id: string): Promise<Response> => {
    const { pathname } = new URL(request.url);
    const allow = (methods: string) => {
      throw Object.assign(
        new RequestError(
          405,
          `${request.method} is not allowed on ${pathname} (allowed: ${methods})`,
        ),
        { allow: methods },
      );
    };
    switch (pathname) {
      case "/v1/health":
        if (request.method !== "GET" && request.method !== "HEAD") allow("GET");
        return jsonResponse(200, {
          status: "ok",
          version: SERVICE_VERSION,
          running,
          models_loaded: cache.size,
          model_loads: cache.loads,
        }, id);
      case "/v1/datasets":
        if (request.method !== "GET" && request.method !== "HEAD") allow("GET");
        checkToken(request);
        return jsonResponse(200, { datasets: REGISTERED_DATASETS }, id);
      case "/v1/evaluate":
        if (request.method !== "POST") allow("POST");
        return await postEvaluate(request, id);
      default:
        throw new RequestError(
          404,
          `no route ${pathname} (routes: /v1/evaluate, /v1/health, /v1/datasets)`,
        );
    }
  };

  const handler = async (request: Request): Promise<Response> => {
    const id = crypto.randomUUID();
    const started = performance.now();
    let response: Response;
    try {
      response = await route(request, id);
    } catch (error) {
      const { status, body } = describeError(error, id, log);
      const headers: Record<string, string> = {};
      if (status === 401) headers["www-authenticate"] = 'Bearer realm="clipbench"';
      const allow = (error as { allow?: string }).allow;
      if (allow) headers.allow = allow;
      response = jsonResponse(status, body, id, headers);
    }
    const { pathname } = new URL(request.url);
    log(
      `${id} ${request.method} ${pathname} ${response.status} ${
        (performance.now() - started).toFixed(0)
      } ms`,
    );
    return response;
  };

  return Object.assign(handler, {
    stats: (): HandlerStats => ({
      running,
      modelsLoaded: cache.size,
      modelLoads: cache.loads,
    }),
    close: () => cache.close(),
  });
}
