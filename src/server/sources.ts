/**
 * Where a request's model and dataset may come from: the handler's allow-list of model roots,
 * dataset roots and hubs. A request never names an arbitrary local path.
 *
 * **Models.** `model` is either a relative path (segments of letters, digits, `_`, `.`, `-`, none
 * starting with a dot) to a folder under one of the model roots — the roots are tried in order,
 * and the folder's real path (symbolic links resolved) must stay inside the root's — or, when it
 * is no such folder (as on the command line, a local folder wins), a hub id (`org/name`) on an allowed hub: `hub` (default: the first allowed
 * hub). An absolute path, a `..` segment or a backslash is refused (400); a hub that is not
 * allowed is refused (403); a model found nowhere allowed is 404.
 *
 * **Datasets.** `dataset` is a name (letters, digits, `_`, `.`, `-`, not starting with a dot);
 * `split` is plain relative segments (src/server/request.ts). A dataset root is a folder or
 * `http(s)://` URL, with `{dataset}` where the name goes (else the name is appended as a path
 * segment). `dataset_root`, when given, must be one of the roots exactly as configured (403
 * otherwise). Without it the roots are tried in order — a local root is used when the dataset's
 * folder and its split folder exist there and their real paths (symbolic links resolved) stay
 * inside the root's folder, as a model's must; an `http(s)` root is used as it is — and then an
 * allowed hub, by name (CLIP_benchmark's repositories) or repository id (`org/name`). The
 * `custom` dataset needs a root. Every "not there" and "not allowed" dataset gets the same 404
 * message, which says nothing about which server paths exist. The resolved dataset carries its
 * boundary (`EvalPlan.datasetBoundary`): the readers keep every file, shard URL and redirect
 * within it.
 *
 * @module
 */

import { isAbsolute, join, resolve, sep } from "node:path";
import { SILENT_PROGRESS } from "../hub/download_progress.ts";
import { isRepoId } from "../hub/hub_repository.ts";
import type { HubName } from "../hub/hub_settings.ts";
import { resolveModel } from "../hub/resolve_model.ts";
import type { ModelDtype } from "../model/files.ts";
import { RequestError } from "./request_error.ts";

/** The allow-list. */
export interface SourcePolicy {
  /** Folders under which request models may be (none: local models are not allowed). */
  readonly modelRoots: readonly string[];
  /** Folders or `http(s)` URLs of datasets, `{dataset}` where the name goes. */
  readonly datasetRoots: readonly string[];
  /** Hubs from which models and datasets may be fetched by id or name (none: no hub). */
  readonly hubs: readonly HubName[];
}

/** Hub settings the server gives (never the request). */
export interface HubAccess {
  /** A mirror replacing the hub's URL. */
  readonly endpoint?: string;
  /** Use the caches only. */
  readonly offline?: boolean;
  /** Cancels downloads. */
  readonly signal?: AbortSignal;
}

/** A resolved model. */
export interface ModelSource {
  /** The local folder to load. */
  readonly dir: string;
  /** The name results are filed under. */
  readonly name: string;
}

/** A resolved dataset: a concrete root, or a hub to fetch it from by name. */
export interface DatasetSource {
  /**
   * Folder (its real path) or URL of the dataset itself (`{dataset}` already replaced), checked
   * to be under the allowed root.
   */
  readonly root?: string;
  /**
   * The folder or URL prefix every file of the dataset must stay within (the plan's
   * `datasetBoundary`): the dataset's own real folder, or its URL with a final `/`.
   */
  readonly boundary?: string;
  /** Every server-side spelling of the dataset's folder or URL (kept out of answers). */
  readonly serverPaths: readonly string[];
  /** The hub to fetch it from, when `root` is absent. */
  readonly hub?: HubName;
}

const SEGMENT = "[A-Za-z0-9_][A-Za-z0-9._-]*";
const RELATIVE_PATH = new RegExp(`^${SEGMENT}(?:/${SEGMENT})*$`);
const DATASET_NAME = new RegExp(`^${SEGMENT}$`);

function isUrl(root: string): boolean {
  return /^https?:\/\//i.test(root);
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch {
    return false;
  }
}

/** The hub a request may use, or a 403. */
function allowedHub(policy: SourcePolicy, hub: HubName | undefined, what: string): HubName {
  const chosen = hub ?? policy.hubs[0];
  if (chosen === undefined) {
    throw new RequestError(403, `${what} from a hub are not allowed on this server`, {
      field: hub === undefined ? undefined : "hub",
    });
  }
  if (!policy.hubs.includes(chosen)) {
    throw new RequestError(
      403,
      `hub '${chosen}' is not allowed on this server (allowed: ${
        policy.hubs.join(", ") || "none"
      })`,
      { field: "hub" },
    );
  }
  return chosen;
}

/**
 * The model folder a request names (see the module documentation).
 *
 * @throws {RequestError} 400 for a path that is not a plain relative one, 403 for a hub that is
 * not allowed, 404 for a model found nowhere allowed.
 * @throws {ModelError} when the hub has no usable export of the model.
 */
export async function resolveModelSource(
  policy: SourcePolicy,
  request: { model: string; hub?: HubName; revision?: string; dtype?: ModelDtype },
  access: HubAccess = {},
): Promise<ModelSource> {
  const { model } = request;
  if (isAbsolute(model) || model.includes("\\") || !RELATIVE_PATH.test(model)) {
    throw new RequestError(
      400,
      `model must be a folder name relative to an allowed model root, or a hub id (org/name); ` +
        `got ${JSON.stringify(model)}`,
      { field: "model" },
    );
  }
  for (const root of policy.modelRoots) {
    const candidate = join(root, model);
    if (!(await isDirectory(candidate))) continue;
    const real = await Deno.realPath(candidate);
    const realRoot = await Deno.realPath(root);
    if (real !== realRoot && real.startsWith(realRoot + sep)) {
      return { dir: real, name: model.split("/").pop()! };
    }
  }
  if (!isRepoId(model) || (policy.hubs.length === 0 && request.hub === undefined)) {
    throw new RequestError(
      404,
      `model ${JSON.stringify(model)} is not a model folder under the allowed model roots` +
        (policy.hubs.length === 0 ? " (and hub models are not allowed on this server)" : ""),
      { field: "model" },
    );
  }
  const hub = allowedHub(policy, request.hub, "models");
  const resolved = await resolveModel(model, {
    hub,
    revision: request.revision,
    endpoint: access.endpoint,
    offline: access.offline,
    dtype: request.dtype,
    checkpoints: true,
    progress: SILENT_PROGRESS,
    signal: access.signal,
  });
  return { dir: resolved.dir, name: resolved.name };
}

/** A root with the dataset's name put in. */
function datasetAt(root: string, name: string): string {
  if (root.includes("{dataset}")) return root.replaceAll("{dataset}", name);
  return isUrl(root) ? `${root.replace(/\/+$/, "")}/${name}` : join(root, name);
}

/**
 * The folder (or URL prefix) a dataset root confines its datasets to: the root itself, or — with
 * `{dataset}` in it — the folder holding the path segment where the name goes.
 */
export function datasetRootFolder(root: string): string {
  const at = root.indexOf("{dataset}");
  if (at < 0) return root;
  const prefix = root.slice(0, at);
  const cut = Math.max(prefix.lastIndexOf("/"), prefix.lastIndexOf(sep));
  return cut < 0 ? "." : prefix.slice(0, cut + 1) || sep;
}

/** The real path of a folder, or `undefined` when it is none. */
async function realFolder(path: string): Promise<string | undefined> {
  try {
    const real = await Deno.realPath(path);
    return (await Deno.stat(real)).isDirectory ? real : undefined;
  } catch {
    return undefined;
  }
}

/** Whether `path` is strictly inside the folder `folder` (both real paths). */
function isInside(path: string, folder: string): boolean {
  const prefix = folder.endsWith(sep) ? folder : folder + sep;
  return path !== folder && path.startsWith(prefix);
}

/**
 * The real path of a dataset's folder under a local root, when it (and its split folder) exist
 * and — symbolic links resolved — stay inside the root's folder (and the dataset's folder).
 */
async function localDataset(
  root: string,
  name: string,
  split: string | undefined,
): Promise<string | undefined> {
  const base = await realFolder(datasetRootFolder(root));
  const real = await realFolder(resolve(datasetAt(root, name)));
  if (base === undefined || real === undefined || !isInside(real, base)) return undefined;
  if (split === undefined) return real;
  const splitReal = await realFolder(join(real, ...split.split("/")));
  return splitReal !== undefined && isInside(splitReal, real) ? real : undefined;
}

/**
 * Where a request's dataset is read from (see the module documentation). `split` (checked to be
 * plain relative segments by src/server/request.ts) must be a folder of a local dataset; the
 * custom dataset has none.
 *
 * @throws {RequestError} 400 for a name that is not a plain name, 403 for a root or hub that is
 * not allowed, 404 — one message, whatever the reason — for a dataset found nowhere allowed.
 */
export async function resolveDatasetSource(
  policy: SourcePolicy,
  request: { dataset: string; datasetRoot?: string; hub?: HubName; split?: string },
): Promise<DatasetSource> {
  const { dataset } = request;
  const hubName = isRepoId(dataset);
  if (!DATASET_NAME.test(dataset) && !hubName) {
    throw new RequestError(
      400,
      `dataset must be a dataset name (letters, digits, '_', '.', '-') or a hub repository id; ` +
        `got ${JSON.stringify(dataset)}`,
      { field: "dataset" },
    );
  }
  const split = dataset === "custom" ? undefined : request.split ?? "test";
  /** A root's dataset, when it is there and allowed. */
  const at = async (root: string): Promise<DatasetSource | undefined> => {
    const location = datasetAt(root, dataset);
    if (isUrl(root)) {
      const url = location.replace(/\/+$/, "");
      return { root: url, boundary: `${url}/`, serverPaths: [url] };
    }
    const real = await localDataset(root, dataset, split);
    if (real === undefined) return undefined;
    return { root: real, boundary: real, serverPaths: [real, location] };
  };
  const notFound = () =>
    new RequestError(
      404,
      `dataset ${JSON.stringify(dataset)}${
        split === undefined ? "" : ` (split ${JSON.stringify(split)})`
      } is not under the allowed dataset roots` +
        (policy.hubs.length === 0 ? " (and hub datasets are not allowed on this server)" : ""),
      { field: "dataset" },
    );
  if (request.datasetRoot !== undefined) {
    if (!policy.datasetRoots.includes(request.datasetRoot)) {
      throw new RequestError(
        403,
        `dataset_root ${JSON.stringify(request.datasetRoot)} is not one of this server's ` +
          `dataset roots`,
        { field: "dataset_root" },
      );
    }
    if (hubName) {
      throw new RequestError(400, "a dataset under a dataset root must be a plain name", {
        field: "dataset",
      });
    }
    const found = await at(request.datasetRoot);
    if (found === undefined) throw notFound();
    return found;
  }
  if (!hubName) {
    for (const root of policy.datasetRoots) {
      const found = await at(root);
      if (found !== undefined) return found;
    }
  }
  if (dataset === "custom" || (policy.hubs.length === 0 && request.hub === undefined)) {
    throw notFound();
  }
  return { hub: allowedHub(policy, request.hub, "datasets"), serverPaths: [] };
}
