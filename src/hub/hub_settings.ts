/**
 * Which hub, endpoint, revision, credentials, cache folder and network mode a hub request uses:
 * the options given, else the environment variables the Python tools read, else their defaults.
 *
 * | setting          | option     | environment (first set wins)                                        | default                                  |
 * | ---------------- | ---------- | ------------------------------------------------------------------- | ---------------------------------------- |
 * | hub              | `hub`      | —                                                                   | `modelscope` (as evalscope)              |
 * | endpoint (HF)    | `endpoint` | `CLIPBENCH_HUB_ENDPOINT`, `HF_ENDPOINT`                             | `https://huggingface.co`                 |
 * | endpoint (MS)    | `endpoint` | `CLIPBENCH_HUB_ENDPOINT`, `MODELSCOPE_DOMAIN` (`https://` + domain) | `https://www.modelscope.cn`              |
 * | revision         | `revision` | —                                                                   | `main` (HF), `master` (MS)               |
 * | token (HF)       | `token`    | `HF_TOKEN`, `HUGGING_FACE_HUB_TOKEN`, the file `HF_TOKEN_PATH`      | `$HF_HOME/token` if present              |
 * | token (MS)       | `token`    | `MODELSCOPE_API_TOKEN`                                              | none                                     |
 * | cache (HF)       | `cacheDir` | `HF_HUB_CACHE`, `HUGGINGFACE_HUB_CACHE`, `$HF_HOME/hub`             | `~/.cache/huggingface/hub`               |
 * | cache (MS)       | `cacheDir` | `MODELSCOPE_CACHE` + `/models` or `/datasets`                       | `~/.cache/modelscope/hub/{models,datasets}` |
 * | offline          | `offline`  | `HF_HUB_OFFLINE`, `TRANSFORMERS_OFFLINE` (`1`, `ON`, `YES`, `TRUE`) | online                                   |
 *
 * `HF_HOME` defaults to `$XDG_CACHE_HOME/huggingface`, else `~/.cache/huggingface`. An endpoint
 * may be plain `http://` (a local mirror). `MODELSCOPE_DOMAIN` is a host name, prefixed with
 * `https://` as the ModelScope SDK does; clipbench also accepts a full `http(s)://` URL there.
 * With `cacheDir`, a Hugging Face repository goes to `<cacheDir>/datasets--<org>--<name>` and a
 * ModelScope one to `<cacheDir>/<org>/<name>`, as the Python tools' own `cache_dir` arguments do.
 *
 * The Hugging Face token is sent as `Authorization: Bearer <token>`, the ModelScope one as the
 * SDK's session cookie `m_session_id`; both only to the hub's own origin.
 *
 * @module
 */

import { homedir } from "node:os";
import { join } from "node:path";
import type { HttpOptions } from "../io/http/client.ts";
import { UsageError } from "../errors.ts";

/** The hubs clipbench downloads from. */
export type HubName = "modelscope" | "huggingface";

/** The accepted hub names. */
export const HUB_NAMES: readonly HubName[] = ["modelscope", "huggingface"];

/** The hub used when none is chosen (evalscope's). */
export const DEFAULT_HUB: HubName = "modelscope";

/** Whether a repository holds a model or a dataset. */
export type RepoKind = "model" | "dataset";

/** Reads an environment variable (default: `Deno.env.get`). */
export type Environment = (name: string) => string | undefined;

/** The settings a caller may give; the rest comes from the environment. */
export interface HubOptions {
  /** `modelscope` (default) or `huggingface`. */
  readonly hub?: HubName;
  /** Branch, tag or commit (default `main` on Hugging Face, `master` on ModelScope). */
  readonly revision?: string;
  /** The hub's base URL, e.g. `http://localhost:8080` for a mirror. */
  readonly endpoint?: string;
  /** Access token for private or gated repositories. */
  readonly token?: string;
  /** Use only the cache; never touch the network. */
  readonly offline?: boolean;
  /** Cache folder of this hub's repositories, instead of the hub's default. */
  readonly cacheDir?: string;
  /** Where environment variables come from (tests pass their own). */
  readonly env?: Environment;
}

/** Settings with every default applied. */
export interface HubSettings {
  /** The hub. */
  readonly hub: HubName;
  /** Base URL, without a trailing slash. */
  readonly endpoint: string;
  /** Revision asked for. */
  readonly revision: string;
  /** Headers that authenticate with the hub (empty without a token). */
  readonly authHeaders: Readonly<Record<string, string>>;
  /** Offline mode. */
  readonly offline: boolean;
  /** Cache folder holding this kind of repository. */
  readonly cacheRoot: string;
}

/** The default Hugging Face endpoint. */
export const HUGGINGFACE_ENDPOINT = "https://huggingface.co";

/** The default ModelScope endpoint. */
export const MODELSCOPE_ENDPOINT = "https://www.modelscope.cn";

const TRUE_VALUES = new Set(["1", "ON", "YES", "TRUE"]);

/** The environment of the process. */
export const PROCESS_ENV: Environment = (name: string): string | undefined => Deno.env.get(name);

/** Parses a hub name (from a flag or a configuration). */
export function parseHubName(value: string, where: string): HubName {
  const name = value.toLowerCase();
  if (name === "modelscope" || name === "huggingface") return name;
  if (name === "hf") return "huggingface";
  if (name === "ms") return "modelscope";
  throw new UsageError(`${where} must be modelscope or huggingface, got '${value}'`);
}

/** Resolves the settings for one kind of repository (models and datasets differ in cache). */
export function hubSettings(options: HubOptions, kind: RepoKind): HubSettings {
  const env = options.env ?? PROCESS_ENV;
  const hub = options.hub ?? DEFAULT_HUB;
  if (!HUB_NAMES.includes(hub)) {
    throw new UsageError(`hub must be modelscope or huggingface, got '${String(hub)}'`);
  }
  const revision = options.revision ?? (hub === "huggingface" ? "main" : "master");
  if (revision === "" || /[\0\r\n\\]/.test(revision) || revision.split("/").includes("..")) {
    throw new UsageError(
      `revision must be a branch, tag or commit, got ${JSON.stringify(revision)}`,
    );
  }
  const offline = options.offline ?? (isTrue(env("HF_HUB_OFFLINE")) ||
    isTrue(env("TRANSFORMERS_OFFLINE")));
  return {
    hub,
    endpoint: endpointOf(hub, options, env),
    revision,
    authHeaders: authHeaders(hub, options.token ?? tokenFromEnv(hub, env)),
    offline,
    cacheRoot: options.cacheDir ?? defaultCacheRoot(hub, kind, env),
  };
}

/** The cache folder a hub uses by default for a kind of repository. */
export function defaultCacheRoot(hub: HubName, kind: RepoKind, env: Environment): string {
  if (hub === "huggingface") {
    const explicit = nonEmpty(env("HF_HUB_CACHE")) ?? nonEmpty(env("HUGGINGFACE_HUB_CACHE"));
    return explicit === undefined ? join(huggingFaceHome(env), "hub") : expandHome(explicit, env);
  }
  const base = nonEmpty(env("MODELSCOPE_CACHE"));
  const root = base === undefined
    ? join(homeDirectory(env), ".cache", "modelscope", "hub")
    : expandHome(base, env);
  return join(root, kind === "model" ? "models" : "datasets");
}

/** `HF_HOME`, else `$XDG_CACHE_HOME/huggingface`, else `~/.cache/huggingface`. */
export function huggingFaceHome(env: Environment): string {
  const explicit = nonEmpty(env("HF_HOME"));
  if (explicit !== undefined) return expandHome(explicit, env);
  const xdg = nonEmpty(env("XDG_CACHE_HOME"));
  return join(
    xdg === undefined ? join(homeDirectory(env), ".cache") : expandHome(xdg, env),
    "huggingface",
  );
}

function endpointOf(hub: HubName, options: HubOptions, env: Environment): string {
  const given = nonEmpty(options.endpoint) ?? nonEmpty(env("CLIPBENCH_HUB_ENDPOINT"));
  let endpoint: string;
  let where: string;
  if (given !== undefined) {
    endpoint = given;
    where = options.endpoint !== undefined ? "endpoint" : "CLIPBENCH_HUB_ENDPOINT";
  } else if (hub === "huggingface") {
    endpoint = nonEmpty(env("HF_ENDPOINT")) ?? HUGGINGFACE_ENDPOINT;
    where = "HF_ENDPOINT";
  } else {
    const domain = nonEmpty(env("MODELSCOPE_DOMAIN"));
    endpoint = domain === undefined
      ? MODELSCOPE_ENDPOINT
      : /^https?:\/\//i.test(domain)
      ? domain
      : `https://${domain}`;
    where = "MODELSCOPE_DOMAIN";
  }
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new UsageError(`${where} must be an http(s):// URL, got '${endpoint}'`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new UsageError(`${where} must be an http(s):// URL, got '${endpoint}'`);
  }
  return endpoint.replace(/\/+$/, "");
}

function tokenFromEnv(hub: HubName, env: Environment): string | undefined {
  if (hub === "modelscope") return nonEmpty(env("MODELSCOPE_API_TOKEN"));
  const fromEnv = nonEmpty(env("HF_TOKEN")) ?? nonEmpty(env("HUGGING_FACE_HUB_TOKEN"));
  if (fromEnv !== undefined) return fromEnv;
  const path = nonEmpty(env("HF_TOKEN_PATH")) ?? join(huggingFaceHome(env), "token");
  try {
    return nonEmpty(Deno.readTextFileSync(expandHome(path, env)).trim());
  } catch {
    return undefined;
  }
}

function authHeaders(hub: HubName, token: string | undefined): Record<string, string> {
  if (token === undefined) return {};
  if (/[\0\r\n;]/.test(token)) throw new UsageError("the hub token contains invalid characters");
  return hub === "huggingface"
    ? { authorization: `Bearer ${token}` }
    : { cookie: `m_session_id=${token}` };
}

function isTrue(value: string | undefined): boolean {
  return value !== undefined && TRUE_VALUES.has(value.trim().toUpperCase());
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value.trim();
}

function homeDirectory(env: Environment): string {
  return nonEmpty(env("HOME")) ?? nonEmpty(env("USERPROFILE")) ?? homedir();
}

/** `~` or `~/…` at the start of a path is the home folder, as Python's `expanduser`. */
function expandHome(path: string, env: Environment): string {
  if (path === "~") return homeDirectory(env);
  if (path.startsWith("~/") || path.startsWith("~\\")) {
    return join(homeDirectory(env), path.slice(2));
  }
  return path;
}

/**
 * The HTTP options of a repository client: the caller's, with the hub's credentials added and
 * allowed to go to the hub's own origin only (not to a CDN it redirects to).
 */
export function repositoryHttp(settings: HubSettings, http: HttpOptions | undefined): HttpOptions {
  return {
    ...http,
    headers: { ...http?.headers, ...settings.authHeaders },
    credentialOrigin: settings.endpoint,
  };
}

/** A repository for messages: `huggingface:datasets/org/name@main`. */
export function repositoryLabel(settings: HubSettings, kind: RepoKind, id: string): string {
  return `${settings.hub}:${kind === "dataset" ? "datasets/" : ""}${id}@${settings.revision}`;
}
