/**
 * A Hugging Face repository, spoken to the way huggingface_hub does (`file_download.py`):
 *
 * - file URL: `{endpoint}/{repo}/resolve/{revision}/{path}`, with `datasets/` before the repo id
 *   of a dataset; the revision percent-encoded whole, the path segment by segment;
 * - file metadata: a `HEAD` of that URL without following redirects (but for relative ones, a
 *   renamed repository): the commit from `X-Repo-Commit`, the ETag from `X-Linked-Etag` else
 *   `ETag` (quotes dropped), the size from `X-Linked-Size` else `Content-Length`, and the download
 *   location from `Location` (a CDN host, for LFS files), which gets no `Authorization` header;
 *   a 404 with `X-Error-Code: EntryNotFound` is a missing file, `RepoNotFound` and
 *   `RevisionNotFound` a missing repository or revision;
 * - listing: `{endpoint}/api/{models|datasets}/{repo}/tree/{revision}[/{path}]?recursive=true`,
 *   a JSON array of `{type, path, size, oid, lfs: {oid, size}}`, continued by the `Link:
 *   <…>; rel="next"` header;
 * - the token as `Authorization: Bearer <token>`, to the endpoint's origin only.
 *
 * The first request resolves the revision to a commit (`X-Repo-Commit`); every later request
 * uses that commit, so a branch that moves meanwhile cannot mix two versions. Files are cached
 * in huggingface_hub's layout (src/hub/hf_cache.ts): blobs named by ETag and verified against it
 * (an ETag of 64 hex digits is the file's SHA-256, one of 40 its Git blob id), snapshots linking
 * to them, `refs/<revision>` recording the commit, `.no_exist` markers for files a commit lacks.
 *
 * @module
 */

import { dirname } from "node:path";
import { openFile } from "../io/byte_source.ts";
import { type HttpOptions, httpRequest } from "../io/http/client.ts";
import type { OpenedFile } from "../io/opened_file.ts";
import { downloadVerified } from "./download.ts";
import { hashOfEtag } from "./file_hash.ts";
import { HuggingFaceCache, isCommitHash } from "./hf_cache.ts";
import {
  type HubSettings,
  type RepoKind,
  repositoryHttp,
  repositoryLabel,
} from "./hub_settings.ts";
import {
  type FetchOptions,
  type HubRepository,
  type RemoteEntry,
  repoError,
  type RepositoryOptions,
  statusError,
} from "./hub_repository.ts";

/** What a `HEAD` of a file's URL tells. */
export interface HuggingFaceFileMetadata {
  /** `X-Repo-Commit`. */
  readonly commit: string;
  /** `X-Linked-Etag`, else `ETag`, without quotes. */
  readonly etag: string;
  /** `X-Linked-Size`, else `Content-Length`. */
  readonly size: number | undefined;
  /** Where to download it: `Location` (a CDN), else the file's URL. */
  readonly location: string;
}

/** Pages of a listing followed before giving up (a loop guard). */
const MAX_PAGES = 10_000;

/** A Hugging Face repository and its part of the cache. */
export class HuggingFaceRepository implements HubRepository {
  readonly kind: RepoKind;
  readonly id: string;
  readonly settings: HubSettings;
  readonly http: HttpOptions;
  readonly label: string;
  readonly #cache: HuggingFaceCache;
  readonly #options: RepositoryOptions;
  #commit: string | undefined;

  /**
   * A repository client (`openHubRepository` in src/hub/hub_repository.ts makes one from options).
   *
   * @param kind Model or dataset.
   * @param id `org/name`.
   * @param settings Resolved hub settings.
   * @param options HTTP, lock and abort options.
   */
  constructor(kind: RepoKind, id: string, settings: HubSettings, options: RepositoryOptions) {
    this.kind = kind;
    this.id = id;
    this.settings = settings;
    this.#options = options;
    this.http = repositoryHttp(settings, options.http);
    this.label = repositoryLabel(settings, kind, id);
    this.#cache = new HuggingFaceCache(settings.cacheRoot, kind, id);
    this.#commit = isCommitHash(settings.revision) ? settings.revision : undefined;
  }

  get commit(): string | undefined {
    return this.#commit;
  }

  /** The revision in URLs: the pinned commit, else the revision asked for. */
  #urlRevision(): string {
    return encodeURIComponent(this.#commit ?? this.settings.revision);
  }

  #repoPath(): string {
    return `${this.kind === "dataset" ? "datasets/" : ""}${this.id}`;
  }

  localDir(): string {
    return this.#commit === undefined ? this.#cache.repoDir : this.#cache.snapshotDir(this.#commit);
  }

  fileUrl(path: string): string {
    return `${this.displayRoot()}/${encodePath(path)}`;
  }

  displayRoot(): string {
    return `${this.settings.endpoint}/${this.#repoPath()}/resolve/${this.#urlRevision()}`;
  }

  async pin(probe: string): Promise<boolean> {
    if (this.settings.offline) {
      this.#commit ??= await this.#cache.readRef(this.settings.revision);
      return this.#commit !== undefined &&
        (await this.#cache.cachedFile(this.#commit, probe)) !== undefined;
    }
    const meta = await this.fileMetadata(probe);
    if (meta.commit !== undefined) {
      this.#commit = meta.commit;
      await this.#cache.writeRef(this.settings.revision, meta.commit).catch(() => {});
    }
    return meta.kind === "found";
  }

  /**
   * The metadata of a file (see the module documentation), or `missing` (with the commit when the
   * hub told it).
   *
   * @throws {ModelError | DatasetError} for a missing repository or revision, a refusal, or a
   *   server that is not a Hugging Face hub (no `X-Repo-Commit`).
   */
  async fileMetadata(
    path: string,
  ): Promise<
    | ({ kind: "found" } & HuggingFaceFileMetadata)
    | { kind: "missing"; commit: string | undefined }
  > {
    const url = this.fileUrl(path);
    const answer = await httpRequest(
      { url, method: "HEAD", redirect: "manual" },
      { http: this.http, signal: this.#options.signal },
    );
    const { response } = answer;
    await response.body?.cancel().catch(() => {});
    const headers = response.headers;
    const commit = headers.get("x-repo-commit") ?? undefined;
    if (response.status === 404) {
      const code = headers.get("x-error-code");
      if (code === "RepoNotFound" || code === "RevisionNotFound") {
        throw statusError(this, response, url);
      }
      return { kind: "missing", commit };
    }
    if (response.status >= 400) throw statusError(this, response, url);
    if (commit === undefined || !isCommitHash(commit)) {
      throw repoError(
        this.kind,
        `${this.label}: ${url} answered without a commit (X-Repo-Commit); is ` +
          `${this.settings.endpoint} a Hugging Face hub?`,
        { path: url },
      );
    }
    const etag = normalizeEtag(headers.get("x-linked-etag") ?? headers.get("etag"));
    if (etag === undefined) {
      throw repoError(this.kind, `${this.label}: ${url} answered without an ETag`, { path: url });
    }
    const sizeHeader = headers.get("x-linked-size") ?? headers.get("content-length");
    const size = sizeHeader !== null && /^[0-9]+$/.test(sizeHeader)
      ? Number(sizeHeader)
      : undefined;
    const location = headers.get("location");
    return {
      kind: "found",
      commit,
      etag,
      size,
      location: location === null ? answer.url : new URL(location, answer.url).href,
    };
  }

  async list(folder: string, recursive: boolean): Promise<RemoteEntry[]> {
    const kinds = this.kind === "dataset" ? "datasets" : "models";
    const suffix = folder === "" ? "" : `/${encodePath(folder)}`;
    let url: string | undefined =
      `${this.settings.endpoint}/api/${kinds}/${this.id}/tree/${this.#urlRevision()}${suffix}` +
      (recursive ? "?recursive=true" : "");
    const entries: RemoteEntry[] = [];
    for (let page = 0; url !== undefined; page++) {
      if (page === MAX_PAGES) {
        throw repoError(this.kind, `${this.label}: listing has more than ${MAX_PAGES} pages`);
      }
      const { response } = await httpRequest({ url }, {
        http: this.http,
        signal: this.#options.signal,
      });
      if (response.status === 404 && response.headers.get("x-error-code") === "EntryNotFound") {
        await response.body?.cancel().catch(() => {});
        return [];
      }
      if (!response.ok) {
        await response.body?.cancel().catch(() => {});
        throw statusError(this, response, url);
      }
      const body = await readJson(response, url, this.kind);
      if (!Array.isArray(body)) {
        throw repoError(this.kind, `${url}: expected a JSON array of files`, { path: url });
      }
      for (const item of body) entries.push(treeEntry(item, url, this.kind));
      url = nextLink(response.headers.get("link"), url);
    }
    return entries;
  }

  async cached(path: string): Promise<string | "missing" | undefined> {
    const commit = this.#commit ?? await this.#cache.readRef(this.settings.revision);
    if (commit === undefined) return undefined;
    if (await this.#cache.isKnownMissing(commit, path)) return "missing";
    return await this.#cache.cachedFile(commit, path);
  }

  async fetch(path: string, options: FetchOptions = {}): Promise<string | "missing"> {
    const meta = await this.fileMetadata(path);
    if (meta.kind === "missing") {
      if (meta.commit !== undefined && isCommitHash(meta.commit)) {
        this.#commit ??= meta.commit;
        await this.#cache.writeRef(this.settings.revision, meta.commit);
        await this.#cache.markMissing(meta.commit, path);
      }
      return "missing";
    }
    this.#commit ??= meta.commit;
    await this.#cache.writeRef(this.settings.revision, meta.commit);
    const present = await this.#cache.cachedFile(meta.commit, path);
    if (present !== undefined) return present;
    if (!(await this.#cache.hasBlob(meta.etag))) {
      await downloadVerified(
        {
          label: path,
          url: meta.location,
          partialPath: this.#cache.partialPath(meta.etag),
          lockPath: this.#cache.lockPath(meta.etag),
          isComplete: () => this.#cache.hasBlob(meta.etag),
          commit: async (verified) => {
            await Deno.mkdir(dirname(this.#cache.blobPath(meta.etag)), { recursive: true });
            await Deno.rename(verified, this.#cache.blobPath(meta.etag));
          },
        },
        { size: meta.size, hash: hashOfEtag(meta.etag) },
        {
          http: this.http,
          signal: options.signal ?? this.#options.signal,
          progress: options.progress,
          lock: this.#options.lock,
        },
      );
    }
    return await this.#cache.linkPointer(meta.commit, path, meta.etag);
  }

  openRemote(
    path: string,
    options: { signal?: AbortSignal; offset?: number } = {},
  ): Promise<OpenedFile> {
    return openFile(this.fileUrl(path), {
      http: this.http,
      signal: options.signal ?? this.#options.signal,
      offset: options.offset,
    });
  }

  async listCached(folder: string): Promise<string[]> {
    const commit = this.#commit ?? await this.#cache.readRef(this.settings.revision);
    return commit === undefined ? [] : await this.#cache.listCached(commit, folder);
  }
}

/** `"abc"` or `W/"abc"` → `abc`. */
function normalizeEtag(value: string | null): string | undefined {
  if (value === null) return undefined;
  const etag = value.replace(/^W\//, "").replace(/^"|"$/g, "");
  return etag === "" || /[\/\\\0]/.test(etag) || etag.startsWith(".") ? undefined : etag;
}

/** Percent-encodes each segment of a `/`-separated path. */
function encodePath(path: string): string {
  return path.split("/").map(encodeURIComponent).join("/");
}

/** The `rel="next"` target of a `Link` header, absolute. */
function nextLink(header: string | null, base: string): string | undefined {
  if (header === null) return undefined;
  for (const part of header.split(",")) {
    const match = /<([^>]*)>\s*;(.*)$/.exec(part.trim());
    if (match !== null && /(^|;)\s*rel\s*=\s*"?next"?\s*(;|$)/i.test(match[2])) {
      return new URL(match[1], base).href;
    }
  }
  return undefined;
}

async function readJson(response: Response, url: string, kind: RepoKind): Promise<unknown> {
  try {
    return await response.json();
  } catch (error) {
    throw repoError(kind, `${url}: not valid JSON: ${(error as Error).message}`, {
      path: url,
      cause: error,
    });
  }
}

function treeEntry(item: unknown, url: string, kind: RepoKind): RemoteEntry {
  const entry = item as Record<string, unknown>;
  if (typeof entry?.path !== "string" || (entry.type !== "file" && entry.type !== "directory")) {
    throw repoError(kind, `${url}: unexpected listing entry ${JSON.stringify(item)}`, {
      path: url,
    });
  }
  if (entry.type === "directory") return { path: entry.path, type: "directory" };
  const lfs = entry.lfs as Record<string, unknown> | undefined;
  const sha256 = typeof lfs?.oid === "string" ? lfs.oid : undefined;
  const size = typeof lfs?.size === "number"
    ? lfs.size
    : typeof entry.size === "number"
    ? entry.size
    : undefined;
  const hash = sha256 !== undefined
    ? hashOfEtag(sha256)
    : typeof entry.oid === "string"
    ? hashOfEtag(entry.oid)
    : undefined;
  return { path: entry.path, type: "file", size, hash };
}
