/**
 * One repository on a hub, with its part of the local cache: what src/hub/resolve_model.ts and
 * src/hub/resolve_dataset.ts work with, whichever the hub. src/hub/huggingface.ts and
 * src/hub/modelscope.ts implement it with each hub's URL shapes, headers and cache layout.
 *
 * @module
 */

import type { HttpOptions } from "../io/http/client.ts";
import type { OpenedFile } from "../io/opened_file.ts";
import { DatasetError, ModelError, UsageError } from "../errors.ts";
import type { DownloadProgress } from "./download_progress.ts";
import type { ContentHash } from "./file_hash.ts";
import type { FileLockOptions } from "./file_lock.ts";
import { HuggingFaceRepository } from "./huggingface.ts";
import { type HubOptions, type HubSettings, hubSettings, type RepoKind } from "./hub_settings.ts";
import { ModelScopeRepository } from "./modelscope.ts";

/** A file or folder of a repository, as the hub lists it. */
export interface RemoteEntry {
  /** Path from the repository root, `/`-separated. */
  readonly path: string;
  /** File or folder. */
  readonly type: "file" | "directory";
  /** Size in bytes (files), when listed. */
  readonly size?: number;
  /** Content hash (files), when listed. */
  readonly hash?: ContentHash;
}

/** Options of {@linkcode HubRepository.fetch}. */
export interface FetchOptions {
  /** Cancels the download. */
  readonly signal?: AbortSignal;
  /** Download progress. */
  readonly progress?: DownloadProgress;
}

/** Options of {@linkcode openHubRepository}: the hub settings plus HTTP and lock tuning. */
export interface RepositoryOptions extends HubOptions {
  /** HTTP settings (retries, timeouts); the hub's credentials are added. */
  readonly http?: HttpOptions;
  /** Lock settings for downloads into the cache. */
  readonly lock?: Omit<FileLockOptions, "signal">;
  /** Cancels requests. */
  readonly signal?: AbortSignal;
}

/** A repository on a hub and its cached files. */
export interface HubRepository {
  /** Model or dataset. */
  readonly kind: RepoKind;
  /** `org/name`. */
  readonly id: string;
  /** Hub, endpoint, revision, credentials, cache root, offline mode. */
  readonly settings: HubSettings;
  /** HTTP settings carrying the hub's credentials (sent to the hub's origin only). */
  readonly http: HttpOptions;
  /** `huggingface:org/name@main`, for messages. */
  readonly label: string;
  /** The commit the revision resolved to, once {@linkcode HubRepository.pin} found one. */
  readonly commit: string | undefined;
  /** The folder where cached files appear under their repository paths. */
  localDir(): string;
  /** The hub's download URL of a file at the (pinned) revision. */
  fileUrl(path: string): string;
  /** A URL prefix naming the repository at its revision (for `WebDataset.root`). */
  displayRoot(): string;
  /**
   * Online: resolves the revision (to a commit, where the hub has them) and checks that the
   * repository can be reached, using `probe`, a file it should hold. Offline: reads the commit
   * the cache recorded for the revision.
   *
   * @returns whether `probe` exists (offline: whether it is cached).
   * @throws {ModelError | DatasetError} for a repository or revision the hub does not have, or
   *   refuses to show (naming the token variable to set).
   */
  pin(probe: string): Promise<boolean>;
  /** The entries under `folder` (`""` for the root), listed by the hub. Online only. */
  list(folder: string, recursive: boolean): Promise<RemoteEntry[]>;
  /**
   * The cached copy of `path`, if it is current (online: checked against the hub's listing or
   * the pinned commit; offline: any copy); `missing` when the cache records the hub has none.
   */
  cached(path: string): Promise<string | "missing" | undefined>;
  /** Downloads `path` into the cache unless it is there; its local path, or `missing`. */
  fetch(path: string, options?: FetchOptions): Promise<string | "missing">;
  /** Opens `path` on the hub, without the cache. */
  openRemote(
    path: string,
    options?: { signal?: AbortSignal; offset?: number },
  ): Promise<OpenedFile>;
  /** Paths of the cached files under `folder` (`""` for all), sorted. */
  listCached(folder: string): Promise<string[]>;
}

/**
 * Opens a repository of `kind` on the hub the options choose.
 *
 * @throws {UsageError} for an id that is not `org/name`, or bad settings.
 */
export function openHubRepository(
  kind: RepoKind,
  id: string,
  options: RepositoryOptions = {},
): HubRepository {
  if (!isRepoId(id)) {
    throw new UsageError(
      `'${id}' is not a hub repository id (org/name, letters, digits, '-', '_', '.')`,
    );
  }
  const settings = hubSettings(options, kind);
  return settings.hub === "huggingface"
    ? new HuggingFaceRepository(kind, id, settings, options)
    : new ModelScopeRepository(kind, id, settings, options);
}

/** Whether `value` has the shape of a repository id: `org/name`. */
export function isRepoId(value: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9_.-]*\/[A-Za-z0-9_.][A-Za-z0-9_.-]*$/.test(value) &&
    !value.includes("..");
}

/** The error class for a repository of this kind. */
export function repoError(
  kind: RepoKind,
  message: string,
  options: { path?: string; cause?: unknown } = {},
): ModelError | DatasetError {
  return kind === "model" ? new ModelError(message, options) : new DatasetError(message, options);
}

/** What an HTTP status means for a repository request, as an error to throw. */
export function statusError(
  repo: { kind: RepoKind; label: string; settings: HubSettings },
  response: Response,
  url: string,
): ModelError | DatasetError {
  const status = `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ""}`;
  const tokenVariable = repo.settings.hub === "huggingface" ? "HF_TOKEN" : "MODELSCOPE_API_TOKEN";
  const code = response.headers.get("x-error-code");
  let meaning: string;
  if (response.status === 401 || response.status === 403) {
    meaning = `the ${repo.kind} does not exist, or it is private or gated and needs an access ` +
      `token (set ${tokenVariable}${response.status === 403 ? ", and accept its terms" : ""})`;
  } else if (code === "RevisionNotFound") {
    meaning = `no revision '${repo.settings.revision}'`;
  } else if (response.status === 404) {
    meaning = `no such ${repo.kind} on ${repo.settings.endpoint}`;
  } else {
    meaning = "the hub could not answer";
  }
  return repoError(repo.kind, `${repo.label}: ${status} from ${url}: ${meaning}`, { path: url });
}
