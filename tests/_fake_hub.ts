/**
 * A fake model and dataset hub for tests, served with `Deno.serve` on 127.0.0.1 (port 0): real
 * HTTP, speaking both hubs' URL shapes and headers, with a second server standing in for the
 * CDN that large files are redirected to.
 *
 * Hugging Face shapes: `HEAD|GET /{org}/{name}/resolve/{rev}/{path}` (`/datasets/…` for
 * datasets) answering `X-Repo-Commit`, `ETag` (the Git blob id) for files kept in Git, and for
 * LFS files a 302 to the CDN with `X-Linked-Etag` (SHA-256) and `X-Linked-Size`; 404s carry
 * `X-Error-Code` (`RepoNotFound`, `RevisionNotFound`, `EntryNotFound`); `GET /api/{models|datasets}/
 * {org}/{name}/tree/{rev}[/{path}][?recursive=true]` lists files in pages linked by `Link`.
 *
 * ModelScope shapes: `/api/v1/models/{org}/{name}/repo?Revision=&FilePath=`,
 * `/api/v1/models/{org}/{name}/repo/files?Revision=&Recursive=True`,
 * `/api/v1/datasets/{org}/{name}` (the numeric `Data.Id`),
 * `/api/v1/datasets/{id}/repo/tree?Revision=&Root=&Recursive=&PageNumber=&PageSize=` and
 * `/api/v1/datasets/{org}/{name}/repo?Source=SDK&Revision=&FilePath=`, JSON answers wrapped in
 * `{Code, Data, Message}`; large files are redirected to the CDN too.
 *
 * Both servers honour `Range: bytes=N-`. Faults can be injected per request pattern, each a
 * number of times: a status (401, 404, 429 with `Retry-After`, 500…), a body cut off after N bytes
 * (the connection closed), a body that stalls after N bytes, a slow body, or a body whose first
 * byte is flipped (a corrupted transfer). Every request is
 * logged. A request budget bounds runaway retry loops: beyond it the hub answers 503 and
 * `overLimit` is set. `close()` ends stalled bodies and shuts both servers down.
 *
 * @module
 */

import { createHash } from "node:crypto";

/** A repository the fake hub serves. */
export interface FakeRepo {
  /** The hub whose URL shapes serve it. */
  readonly hub: "huggingface" | "modelscope";
  /** Model or dataset. */
  readonly kind: "model" | "dataset";
  /** `org/name`. */
  readonly id: string;
  /** Files by path. */
  readonly files: Readonly<Record<string, Uint8Array | string>>;
  /** Branch name (default `main` on Hugging Face, `master` on ModelScope). */
  readonly branch?: string;
  /** Commit (default: derived from the id and files). */
  readonly commit?: string;
  /** Which files are LFS files, redirected to the CDN (default: `.onnx`, `.tar`, `_data`, `.bin`). */
  readonly lfs?: (path: string) => boolean;
  /** A token the repository requires (401 without it). */
  readonly token?: string;
}

/** What a fault does to a request. */
export type Fault =
  | { readonly status: number; readonly retryAfter?: string }
  | { readonly cutAfter: number }
  | { readonly stallAfter: number }
  | { readonly slow: { readonly chunkBytes: number; readonly delayMs: number } }
  | { readonly corrupt: true };

/** A fault for the requests whose `pathname + search` matches. */
export interface FaultRule {
  /** Substring or pattern of `pathname + search` (decoded). */
  readonly match: string | RegExp;
  /** Which server (default the hub). */
  readonly server?: "hub" | "cdn";
  /** How many requests it hits (default all). */
  readonly times?: number;
  /** Only requests of this method (default any). */
  readonly method?: string;
  /** The fault. */
  readonly fault: Fault;
}

/** One logged request. */
export interface RequestRecord {
  /** `hub` or `cdn`. */
  readonly server: "hub" | "cdn";
  /** HTTP method. */
  readonly method: string;
  /** `pathname + search`, decoded. */
  readonly path: string;
  /** The `Range` header. */
  readonly range: string | null;
  /** The `Authorization` header. */
  readonly authorization: string | null;
  /** The `Cookie` header. */
  readonly cookie: string | null;
  /** The status answered. */
  status: number;
}

/** Options of {@linkcode startFakeHub}. */
export interface FakeHubOptions {
  /** The repositories. */
  readonly repos: readonly FakeRepo[];
  /** Entries per Hugging Face listing page (default 1000). */
  readonly hfPageSize?: number;
  /** Faults. */
  readonly faults?: readonly FaultRule[];
  /** Requests answered before the hub answers 503 to everything (default 2000). */
  readonly requestLimit?: number;
}

/** A running fake hub. */
export interface FakeHub {
  /** `http://127.0.0.1:<port>` of the hub. */
  readonly origin: string;
  /** `http://127.0.0.1:<port>` of the CDN. */
  readonly cdnOrigin: string;
  /** Every request, in order. */
  readonly log: RequestRecord[];
  /** Whether the request budget was exceeded. */
  readonly overLimit: boolean;
  /** Adds a fault. */
  addFault(rule: FaultRule): void;
  /** The logged requests whose path includes `fragment` (and, optionally, of one server). */
  requests(fragment: string, server?: "hub" | "cdn"): RequestRecord[];
  /** The commit of a repository (the first of that id, or the one on `hub`). */
  commitOf(id: string, hub?: "huggingface" | "modelscope"): string;
  /** Stops both servers. */
  close(): Promise<void>;
}

const encoder = new TextEncoder();

/** Content of a served file with its hashes. */
interface StoredFile {
  readonly bytes: Uint8Array;
  readonly sha256: string;
  readonly gitSha1: string;
  readonly lfs: boolean;
}

interface StoredRepo {
  readonly repo: FakeRepo;
  readonly branch: string;
  readonly commit: string;
  readonly files: Map<string, StoredFile>;
  /** Numeric id for ModelScope datasets. */
  readonly number: number;
}

function hex(algorithm: string, ...parts: (string | Uint8Array)[]): string {
  const hash = createHash(algorithm);
  for (const part of parts) hash.update(part);
  return hash.digest("hex");
}

function defaultLfs(path: string): boolean {
  return /\.(onnx|tar|bin|safetensors)$|_data(_[0-9]+)?$/.test(path);
}

/** Starts the fake hub and its CDN. */
export function startFakeHub(options: FakeHubOptions): FakeHub {
  const repos = new Map<string, StoredRepo>();
  let number = 1000;
  for (const repo of options.repos) {
    const files = new Map<string, StoredFile>();
    for (const [path, content] of Object.entries(repo.files)) {
      const bytes = typeof content === "string" ? encoder.encode(content) : content;
      files.set(path, {
        bytes,
        sha256: hex("sha256", bytes),
        gitSha1: hex("sha1", `blob ${bytes.length}\0`, bytes),
        lfs: (repo.lfs ?? defaultLfs)(path),
      });
    }
    const commit = repo.commit ??
      hex(
        "sha1",
        `${repo.hub}:${repo.kind}:${repo.id}`,
        ...[...files.values()].map((f) => f.sha256),
      );
    repos.set(`${repo.hub}:${repo.kind}:${repo.id}`, {
      repo,
      branch: repo.branch ?? (repo.hub === "huggingface" ? "main" : "master"),
      commit,
      files,
      number: number++,
    });
  }
  const faults: { rule: FaultRule; left: number }[] = (options.faults ?? []).map((rule) => ({
    rule,
    left: rule.times ?? Infinity,
  }));
  const log: RequestRecord[] = [];
  const limit = options.requestLimit ?? 2000;
  let overLimit = false;
  const stalled = new Set<ReadableStreamDefaultController<Uint8Array>>();
  const timers = new Set<ReturnType<typeof setTimeout>>();
  let cdnOrigin = "";

  const findFault = (server: "hub" | "cdn", method: string, path: string): Fault | undefined => {
    for (const entry of faults) {
      const { rule } = entry;
      if ((rule.server ?? "hub") !== server || entry.left <= 0) continue;
      if (rule.method !== undefined && rule.method !== method) continue;
      const hit = typeof rule.match === "string"
        ? path.includes(rule.match)
        : rule.match.test(path);
      if (!hit) continue;
      entry.left--;
      return rule.fault;
    }
    return undefined;
  };

  /** Applies a body fault (cut, stall, slow) to a response. */
  const withBodyFault = (response: Response, fault: Fault | undefined): Response => {
    if (fault === undefined || "status" in fault || response.body === null) return response;
    const source = response.body.getReader();
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const { done, value } = await source.read();
        if (done) {
          controller.close();
          return;
        }
        let chunk = value;
        if ("corrupt" in fault) {
          if (sent === 0 && chunk.length > 0) {
            chunk = Uint8Array.of(chunk[0] ^ 0xff, ...chunk.subarray(1));
          }
          sent += chunk.length;
          controller.enqueue(chunk);
          return;
        }
        if ("slow" in fault) {
          for (let i = 0; i < chunk.length; i += fault.slow.chunkBytes) {
            await new Promise<void>((resolve) => {
              const timer = setTimeout(() => {
                timers.delete(timer);
                resolve();
              }, fault.slow.delayMs);
              timers.add(timer);
            });
            controller.enqueue(chunk.slice(i, i + fault.slow.chunkBytes));
          }
          return;
        }
        const stop = "cutAfter" in fault ? fault.cutAfter : fault.stallAfter;
        if (sent + chunk.length > stop) chunk = chunk.slice(0, Math.max(0, stop - sent));
        sent += chunk.length;
        if (chunk.length > 0) controller.enqueue(chunk);
        if (sent >= stop) {
          await source.cancel().catch(() => {});
          if ("cutAfter" in fault) {
            controller.close();
            return;
          }
          stalled.add(controller);
          // A stalled body is never pulled again: it waits until the client or close() ends it.
          await new Promise(() => {});
        }
      },
      cancel() {
        source.cancel().catch(() => {});
      },
    }, { highWaterMark: 0 });
    return new Response(stream, { status: response.status, headers: response.headers });
  };

  const serve = (server: "hub" | "cdn", route: (request: Request, url: URL) => Response) =>
    Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
      const url = new URL(request.url);
      const path = decodeURIComponent(url.pathname) + decodeURIComponent(url.search);
      const record: RequestRecord = {
        server,
        method: request.method,
        path,
        range: request.headers.get("range"),
        authorization: request.headers.get("authorization"),
        cookie: request.headers.get("cookie"),
        status: 0,
      };
      log.push(record);
      let response: Response;
      if (log.length > limit) {
        overLimit = true;
        response = new Response("request budget exceeded", { status: 503 });
      } else {
        const fault = findFault(server, request.method, path);
        if (fault !== undefined && "status" in fault) {
          const headers: Record<string, string> = fault.retryAfter === undefined
            ? {}
            : { "retry-after": fault.retryAfter };
          response = new Response(`fault ${fault.status}`, { status: fault.status, headers });
        } else {
          response = withBodyFault(route(request, url), fault);
        }
      }
      record.status = response.status;
      return response;
    });

  /** A file's bytes as a response, honouring `Range: bytes=N-`. */
  const fileResponse = (
    request: Request,
    file: StoredFile,
    headers: Record<string, string>,
  ): Response => {
    const range = /^bytes=([0-9]+)-$/.exec(request.headers.get("range") ?? "");
    const start = range === null ? 0 : Number(range[1]);
    if (start > 0 && start >= file.bytes.length) {
      return new Response(null, {
        status: 416,
        headers: { "content-range": `bytes */${file.bytes.length}` },
      });
    }
    const body = file.bytes.slice(start);
    const all: Record<string, string> = {
      ...headers,
      "accept-ranges": "bytes",
      "content-length": String(body.length),
    };
    if (start > 0) {
      all["content-range"] = `bytes ${start}-${file.bytes.length - 1}/${file.bytes.length}`;
    }
    return new Response(body, { status: start > 0 ? 206 : 200, headers: all });
  };

  const cdnLocation = (file: StoredFile) => `${cdnOrigin}/blobs/${file.sha256}?expires=never`;

  const authorized = (stored: StoredRepo, request: Request): boolean => {
    const token = stored.repo.token;
    if (token === undefined) return true;
    return stored.repo.hub === "huggingface"
      ? request.headers.get("authorization") === `Bearer ${token}`
      : (request.headers.get("cookie") ?? "").split(/;\s*/).includes(`m_session_id=${token}`);
  };

  const hfError = (status: number, code: string, headers: Record<string, string> = {}) =>
    new Response(JSON.stringify({ error: code }), {
      status,
      headers: { "x-error-code": code, "content-type": "application/json", ...headers },
    });

  const msJson = (data: unknown, status = 200, code = 200, message = "success") =>
    new Response(
      JSON.stringify({
        Code: code,
        Data: data,
        Message: message,
        RequestId: "fake",
        Success: code === 200,
      }),
      { status, headers: { "content-type": "application/json" } },
    );

  const routeHuggingFace = (request: Request, url: URL): Response | undefined => {
    const segments = url.pathname.split("/").slice(1).map(decodeURIComponent);
    // /api/{models|datasets}/{org}/{name}/tree/{rev}[/path]
    if (segments[0] === "api" && (segments[1] === "models" || segments[1] === "datasets")) {
      const kind = segments[1] === "models" ? "model" : "dataset";
      const stored = repos.get(`huggingface:${kind}:${segments[2]}/${segments[3]}`);
      if (segments[4] !== "tree") return undefined;
      if (stored === undefined || !authorized(stored, request)) {
        return hfError(stored === undefined ? 404 : 401, "RepoNotFound");
      }
      const revision = segments[5];
      if (revision !== stored.branch && revision !== stored.commit) {
        return hfError(404, "RevisionNotFound");
      }
      const folder = segments.slice(6).join("/");
      const recursive = url.searchParams.get("recursive") === "true";
      const entries = listEntries(stored, folder, recursive).map(([path, file]) =>
        file === undefined ? { type: "directory", oid: "0".repeat(40), size: 0, path } : {
          type: "file",
          oid: file.gitSha1,
          size: file.bytes.length,
          path,
          ...(file.lfs
            ? { lfs: { oid: file.sha256, size: file.bytes.length, pointerSize: 134 } }
            : {}),
        }
      );
      if (folder !== "" && entries.length === 0) return hfError(404, "EntryNotFound");
      const pageSize = options.hfPageSize ?? 1000;
      const cursor = Number(url.searchParams.get("cursor") ?? "0");
      const page = entries.slice(cursor, cursor + pageSize);
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (cursor + pageSize < entries.length) {
        const next = new URL(url.href);
        next.searchParams.set("cursor", String(cursor + pageSize));
        headers.link = `<${next.pathname}${next.search}>; rel="next"`;
      }
      return new Response(JSON.stringify(page), { headers });
    }
    // /[datasets/]{org}/{name}/resolve/{rev}/{path}
    const kind = segments[0] === "datasets" ? "dataset" : "model";
    const rest = kind === "dataset" ? segments.slice(1) : segments;
    if (rest[2] !== "resolve") return undefined;
    const stored = repos.get(`huggingface:${kind}:${rest[0]}/${rest[1]}`);
    if (stored === undefined || !authorized(stored, request)) {
      return hfError(stored === undefined ? 404 : 401, "RepoNotFound");
    }
    const revision = rest[3];
    if (revision !== stored.branch && revision !== stored.commit) {
      return hfError(404, "RevisionNotFound");
    }
    const path = rest.slice(4).join("/");
    const file = stored.files.get(path);
    const commitHeader = { "x-repo-commit": stored.commit };
    if (file === undefined) return hfError(404, "EntryNotFound", commitHeader);
    if (file.lfs) {
      return new Response("Found", {
        status: 302,
        headers: {
          ...commitHeader,
          location: cdnLocation(file),
          "x-linked-etag": `"${file.sha256}"`,
          "x-linked-size": String(file.bytes.length),
          etag: `"${file.gitSha1}"`,
        },
      });
    }
    return fileResponse(request, file, { ...commitHeader, etag: `"${file.gitSha1}"` });
  };

  const routeModelScope = (request: Request, url: URL): Response | undefined => {
    const segments = url.pathname.split("/").slice(1).map(decodeURIComponent);
    if (segments[0] !== "api" || segments[1] !== "v1") return undefined;
    const query = url.searchParams;
    if (segments[2] === "models") {
      const stored = repos.get(`modelscope:model:${segments[3]}/${segments[4]}`);
      if (segments[5] !== "repo") return undefined;
      if (stored === undefined) return msJson(null, 404, 10010205001, "model not found");
      if (!authorized(stored, request)) return msJson(null, 401, 10010205002, "unauthorized");
      if (query.get("Revision") !== stored.branch && query.get("Revision") !== stored.commit) {
        return msJson(null, 404, 10010205003, "revision not found");
      }
      if (segments[6] === "files") {
        return msJson({ Files: msFiles(stored, listEntries(stored, "", true)) });
      }
      return msFile(request, stored, query.get("FilePath") ?? "");
    }
    if (segments[2] === "datasets") {
      // /api/v1/datasets/{number}/repo/tree
      if (segments[4] === "repo" && segments[5] === "tree") {
        const stored = [...repos.values()].find((r) =>
          r.repo.hub === "modelscope" && r.repo.kind === "dataset" &&
          String(r.number) === segments[3]
        );
        if (stored === undefined) return msJson(null, 404, 10010205001, "dataset not found");
        if (!authorized(stored, request)) return msJson(null, 401, 10010205002, "unauthorized");
        if (query.get("Revision") !== stored.branch && query.get("Revision") !== stored.commit) {
          return msJson(null, 404, 10010205003, "revision not found");
        }
        const root = (query.get("Root") ?? "/").replace(/^\/+|\/+$/g, "");
        const recursive = query.get("Recursive") === "True";
        const entries = listEntries(stored, root, recursive);
        const size = Number(query.get("PageSize") ?? "100");
        const pageNumber = Number(query.get("PageNumber") ?? "1");
        const page = entries.slice((pageNumber - 1) * size, pageNumber * size);
        return msJson({ Files: msFiles(stored, page) });
      }
      const stored = repos.get(`modelscope:dataset:${segments[3]}/${segments[4]}`);
      if (stored === undefined) return msJson(null, 404, 10010205001, "dataset not found");
      if (!authorized(stored, request)) return msJson(null, 401, 10010205002, "unauthorized");
      if (segments.length === 5) return msJson({ Id: stored.number, Type: 0 });
      if (segments[5] === "repo" && segments.length === 6) {
        if (query.get("Revision") !== stored.branch && query.get("Revision") !== stored.commit) {
          return msJson(null, 404, 10010205003, "revision not found");
        }
        return msFile(request, stored, query.get("FilePath") ?? "");
      }
    }
    return undefined;
  };

  const msFile = (request: Request, stored: StoredRepo, path: string): Response => {
    const file = stored.files.get(path);
    if (file === undefined) return msJson(null, 404, 10010205004, `file ${path} not found`);
    if (file.lfs) {
      return new Response(null, { status: 302, headers: { location: cdnLocation(file) } });
    }
    return fileResponse(request, file, {});
  };

  const msFiles = (stored: StoredRepo, entries: [string, StoredFile | undefined][]) =>
    entries.map(([path, file]) => ({
      Name: path.split("/").pop(),
      Path: path,
      Type: file === undefined ? "tree" : "blob",
      Size: file?.bytes.length ?? 0,
      Sha256: file?.sha256 ?? "",
      Revision: stored.commit,
      IsLFS: file?.lfs ?? false,
    }));

  const hub = serve("hub", (request, url) => {
    const answer = routeHuggingFace(request, url) ?? routeModelScope(request, url);
    return answer ?? new Response("no route", { status: 404 });
  });
  const cdn = serve("cdn", (request, url) => {
    const sha = /^\/blobs\/([0-9a-f]{64})$/.exec(url.pathname)?.[1];
    for (const stored of repos.values()) {
      for (const file of stored.files.values()) {
        if (file.sha256 === sha) return fileResponse(request, file, { etag: `"${file.sha256}"` });
      }
    }
    return new Response("no such blob", { status: 404 });
  });
  cdnOrigin = `http://127.0.0.1:${cdn.addr.port}`;

  return {
    origin: `http://127.0.0.1:${hub.addr.port}`,
    cdnOrigin,
    log,
    get overLimit() {
      return overLimit;
    },
    addFault(rule) {
      faults.push({ rule, left: rule.times ?? Infinity });
    },
    requests(fragment, server) {
      return log.filter((r) =>
        r.path.includes(fragment) && (server === undefined || r.server === server)
      );
    },
    commitOf(id, hubName) {
      const stored = [...repos.values()].find((r) =>
        r.repo.id === id && (hubName === undefined || r.repo.hub === hubName)
      );
      if (stored === undefined) throw new Error(`no repository ${id}`);
      return stored.commit;
    },
    async close() {
      for (const controller of stalled) {
        try {
          controller.error(new Error("fake hub closing"));
        } catch {
          // already cancelled by the client
        }
      }
      stalled.clear();
      for (const timer of timers) clearTimeout(timer);
      await Promise.all([hub.shutdown(), cdn.shutdown()]);
    },
  };
}

/**
 * The entries under `folder` ("" for the root): files with their content, folders as
 * `undefined`, sorted by path; all levels when `recursive`.
 */
function listEntries(
  stored: StoredRepo,
  folder: string,
  recursive: boolean,
): [string, StoredFile | undefined][] {
  const prefix = folder === "" ? "" : `${folder}/`;
  const result = new Map<string, StoredFile | undefined>();
  for (const [path, file] of stored.files) {
    if (!path.startsWith(prefix)) continue;
    const rest = path.slice(prefix.length).split("/");
    for (let depth = 1; depth < rest.length; depth++) {
      if (!recursive && depth > 1) break;
      result.set(prefix + rest.slice(0, depth).join("/"), undefined);
    }
    if (recursive || rest.length === 1) result.set(path, file);
  }
  return [...result.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
