/**
 * A ModelScope repository, spoken to the way the ModelScope SDK does (`hub/api.py`,
 * `hub/file_download.py`):
 *
 * - model file: `{endpoint}/api/v1/models/{org}/{name}/repo?Revision={rev}&FilePath={path}`;
 * - model listing: `{endpoint}/api/v1/models/{org}/{name}/repo/files?Revision={rev}&Recursive=True`;
 * - dataset file:
 *   `{endpoint}/api/v1/datasets/{org}/{name}/repo?Source=SDK&Revision={rev}&FilePath={path}`;
 * - dataset listing: the dataset's numeric id from `{endpoint}/api/v1/datasets/{org}/{name}`
 *   (`Data.Id`), then `{endpoint}/api/v1/datasets/{id}/repo/tree?Revision={rev}&Root={folder}&
 *   Recursive=False&PageNumber={n}&PageSize=100`, page after page until one comes back short;
 * - answers are JSON `{"Code": 200, "Data": {"Files": [{"Path", "Type": "blob"|"tree", "Size",
 *   "Sha256", "Revision"}]}, "Message": …}`; another `Code` is an error carrying `Message`;
 * - the token as the SDK's session cookie `m_session_id`, to the endpoint's origin only.
 *
 * The default revision is `master`. Files are cached in the SDK's layout
 * (src/hub/modelscope_cache.ts) and verified against the listing's size and SHA-256, as the SDK
 * verifies them.
 *
 * @module
 */

import { openFile } from "../io/byte_source.ts";
import { type HttpOptions, httpRequest } from "../io/http/client.ts";
import type { OpenedFile } from "../io/opened_file.ts";
import { downloadVerified } from "./download.ts";
import { hashFile } from "./file_hash.ts";
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
import { ModelScopeCache } from "./modelscope_cache.ts";

/** Entries per page of a dataset listing (the SDK's). */
const PAGE_SIZE = 100;

/** Pages followed before giving up (a loop guard). */
const MAX_PAGES = 10_000;

/** A listed file with the commit the hub gives for it. */
interface ListedFile extends RemoteEntry {
  /** `Revision`: the commit id of the file's version. */
  readonly commit: string | undefined;
}

/** A ModelScope repository and its part of the cache. */
export class ModelScopeRepository implements HubRepository {
  readonly kind: RepoKind;
  readonly id: string;
  readonly settings: HubSettings;
  readonly http: HttpOptions;
  readonly label: string;
  readonly commit: string | undefined = undefined;
  readonly #cache: ModelScopeCache;
  readonly #options: RepositoryOptions;
  /** Listings by folder ("" for the root; for models, one recursive listing under ""). */
  readonly #listings = new Map<string, Promise<ListedFile[]>>();
  #datasetId: Promise<string> | undefined;
  /** Local files verified in this process: path → the SHA-256 they were checked against. */
  readonly #verified = new Map<string, string | undefined>();

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
    this.#cache = new ModelScopeCache(settings.cacheRoot, id);
  }

  localDir(): string {
    return this.#cache.repoDir;
  }

  fileUrl(path: string): string {
    const revision = encodeURIComponent(this.settings.revision);
    const file = encodeURIComponent(path);
    return this.kind === "model"
      ? `${this.settings.endpoint}/api/v1/models/${this.id}/repo?Revision=${revision}&FilePath=${file}`
      : `${this.settings.endpoint}/api/v1/datasets/${this.id}/repo?Source=SDK&Revision=${revision}&FilePath=${file}`;
  }

  displayRoot(): string {
    return `${this.settings.endpoint}/${this.kind}s/${this.id}/resolve/${
      encodeURIComponent(this.settings.revision)
    }`;
  }

  async pin(probe: string): Promise<boolean> {
    if (this.settings.offline) return (await this.#cache.cachedFile(probe)) !== undefined;
    return (await this.#listed(probe)) !== undefined;
  }

  async list(folder: string, recursive: boolean): Promise<RemoteEntry[]> {
    if (this.kind === "model") {
      const all = await this.#listing("");
      const prefix = folder === "" ? "" : `${folder}/`;
      return all.filter((entry) =>
        entry.path.startsWith(prefix) &&
        (recursive || !entry.path.slice(prefix.length).includes("/"))
      );
    }
    if (!recursive) return await this.#listing(folder);
    const entries: RemoteEntry[] = [];
    const walk = async (dir: string) => {
      for (const entry of await this.#listing(dir)) {
        entries.push(entry);
        if (entry.type === "directory") await walk(entry.path);
      }
    };
    await walk(folder);
    return entries;
  }

  async cached(path: string): Promise<string | "missing" | undefined> {
    if (this.settings.offline) {
      if (await this.#cache.isKnownMissing(this.settings.revision, path)) return "missing";
      return await this.#cache.cachedFile(path);
    }
    // Online, a copy counts only if it is the listed version; without a copy, no need to ask.
    if ((await this.#cache.cachedFile(path)) === undefined) return undefined;
    const listed = await this.#listed(path);
    if (listed === undefined) return "missing";
    return (await this.#isCurrent(path, listed)) ? this.#cache.filePath(path) : undefined;
  }

  async fetch(path: string, options: FetchOptions = {}): Promise<string | "missing"> {
    const listed = await this.#listed(path);
    if (listed === undefined) {
      await this.#cache.markMissing(this.settings.revision, path);
      return "missing";
    }
    if (await this.#isCurrent(path, listed)) return this.#cache.filePath(path);
    const sha256 = listed.hash?.algorithm === "sha256" ? listed.hash.hex : undefined;
    await downloadVerified(
      {
        label: path,
        url: this.fileUrl(path),
        partialPath: this.#cache.partialPath(path, sha256),
        lockPath: this.#cache.lockPath(path),
        isComplete: () => this.#isCurrent(path, listed),
        commit: async (verified) => {
          await this.#cache.store(path, verified, listed.commit ?? this.settings.revision);
          this.#verified.set(this.#cache.filePath(path), sha256);
        },
      },
      { size: listed.size, hash: listed.hash },
      {
        http: this.http,
        signal: options.signal ?? this.#options.signal,
        progress: options.progress,
        lock: this.#options.lock,
      },
    );
    return this.#cache.filePath(path);
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

  listCached(folder: string): Promise<string[]> {
    return this.#cache.listCached(folder);
  }

  /** Whether the cached copy of `path` has the listed size and SHA-256. */
  async #isCurrent(path: string, listed: ListedFile): Promise<boolean> {
    const file = await this.#cache.cachedFile(path);
    if (file === undefined) return false;
    const sha256 = listed.hash?.algorithm === "sha256" ? listed.hash.hex : undefined;
    if (this.#verified.has(file) && this.#verified.get(file) === sha256) return true;
    const { size } = await Deno.stat(file);
    if (listed.size !== undefined && size !== listed.size) return false;
    if (sha256 !== undefined && (await hashFile(file, "sha256")) !== sha256) return false;
    this.#verified.set(file, sha256);
    return true;
  }

  /** The listing entry of a file, or `undefined` when the hub does not list it. */
  async #listed(path: string): Promise<ListedFile | undefined> {
    const folder = this.kind === "model" ? "" : path.split("/").slice(0, -1).join("/");
    const entries = await this.#listing(folder);
    return entries.find((entry) => entry.type === "file" && entry.path === path);
  }

  /** The listing of a folder (for models, of the whole repository), fetched once. */
  #listing(folder: string): Promise<ListedFile[]> {
    let listing = this.#listings.get(folder);
    if (listing === undefined) {
      listing = this.kind === "model" ? this.#listModel() : this.#listDatasetFolder(folder);
      listing.catch(() => this.#listings.delete(folder));
      this.#listings.set(folder, listing);
    }
    return listing;
  }

  async #listModel(): Promise<ListedFile[]> {
    const revision = encodeURIComponent(this.settings.revision);
    const url =
      `${this.settings.endpoint}/api/v1/models/${this.id}/repo/files?Revision=${revision}&Recursive=True`;
    const data = await this.#getData(url);
    return files(data, url, this.kind);
  }

  async #listDatasetFolder(folder: string): Promise<ListedFile[]> {
    const id = await this.#datasetNumber();
    const entries: ListedFile[] = [];
    for (let page = 1;; page++) {
      if (page > MAX_PAGES) {
        throw repoError(this.kind, `${this.label}: listing has more than ${MAX_PAGES} pages`);
      }
      const query = new URLSearchParams({
        Revision: this.settings.revision,
        Root: folder === "" ? "/" : folder,
        Recursive: "False",
        PageNumber: String(page),
        PageSize: String(PAGE_SIZE),
      });
      const url = `${this.settings.endpoint}/api/v1/datasets/${id}/repo/tree?${query}`;
      const pageFiles = files(await this.#getData(url), url, this.kind);
      entries.push(...pageFiles);
      if (pageFiles.length < PAGE_SIZE) return entries;
    }
  }

  /** The dataset's numeric id, which the tree listing is addressed by. */
  #datasetNumber(): Promise<string> {
    this.#datasetId ??= (async () => {
      const url = `${this.settings.endpoint}/api/v1/datasets/${this.id}`;
      const data = await this.#getData(url) as Record<string, unknown>;
      if (typeof data?.Id !== "number" && typeof data?.Id !== "string") {
        throw repoError(this.kind, `${url}: the answer has no Data.Id`, { path: url });
      }
      return String(data.Id);
    })();
    this.#datasetId.catch(() => (this.#datasetId = undefined));
    return this.#datasetId;
  }

  /** GETs a JSON API URL and returns its `Data`, checking the HTTP status and `Code`. */
  async #getData(url: string): Promise<unknown> {
    const { response } = await httpRequest({ url }, {
      http: this.http,
      signal: this.#options.signal,
    });
    if (!response.ok) {
      await response.body?.cancel().catch(() => {});
      throw statusError(this, response, url);
    }
    let body: Record<string, unknown>;
    try {
      body = await response.json();
    } catch (error) {
      throw repoError(this.kind, `${url}: not valid JSON: ${(error as Error).message}`, {
        path: url,
        cause: error,
      });
    }
    if (body?.Code !== 200 && body?.Code !== "200" && body?.Success !== true) {
      const message = typeof body?.Message === "string" ? body.Message : JSON.stringify(body);
      throw repoError(this.kind, `${this.label}: ${url} answered code ${body?.Code}: ${message}`, {
        path: url,
      });
    }
    return body.Data;
  }
}

/** The `Files` of a listing's `Data`. */
function files(data: unknown, url: string, kind: RepoKind): ListedFile[] {
  const list = (data as Record<string, unknown> | null)?.Files;
  if (list === null || list === undefined) return [];
  if (!Array.isArray(list)) {
    throw repoError(kind, `${url}: Data.Files is not a list`, { path: url });
  }
  return list.map((item) => {
    const entry = item as Record<string, unknown>;
    if (typeof entry?.Path !== "string" || (entry.Type !== "blob" && entry.Type !== "tree")) {
      throw repoError(kind, `${url}: unexpected listing entry ${JSON.stringify(item)}`, {
        path: url,
      });
    }
    const sha256 = typeof entry.Sha256 === "string" && /^[0-9a-f]{64}$/i.test(entry.Sha256)
      ? entry.Sha256.toLowerCase()
      : undefined;
    return {
      path: entry.Path,
      type: entry.Type === "tree" ? "directory" : "file",
      size: typeof entry.Size === "number" && entry.Type === "blob" ? entry.Size : undefined,
      hash: sha256 === undefined ? undefined : { algorithm: "sha256", hex: sha256 },
      commit: typeof entry.Revision === "string" ? entry.Revision : undefined,
    };
  });
}
