/**
 * A tokenizer from a hub model: the tokenizer files of a repository (`tokenizer.json`, else the
 * slow files it is built from, with `tokenizer_config.json` and `special_tokens_map.json`) are
 * brought into the hub's cache, and the folder holding them is what `ClipModel.load` reads as
 * `tokenizerDir`. Used for models that carry no tokenizer (open_clip checkpoints), by default
 * OpenAI CLIP's.
 *
 * @module
 */

import { ModelError } from "../errors.ts";
import type { DownloadProgress } from "./download_progress.ts";
import { openHubRepository, type RepositoryOptions } from "./hub_repository.ts";

/** The model whose tokenizer open_clip checkpoints use by default: open_clip's built-in BPE. */
export const DEFAULT_OPEN_CLIP_TOKENIZER = "openai/clip-vit-base-patch32";

/** Tokenizer files, each fetched when the repository has it. */
const TOKENIZER_FILES = [
  "tokenizer.json",
  "tokenizer_config.json",
  "special_tokens_map.json",
];

/** Slow tokenizer files, fetched when the repository has no `tokenizer.json`. */
const SLOW_TOKENIZER_FILES = ["vocab.json", "merges.txt", "vocab.txt", "spiece.model"];

/**
 * The local folder holding the tokenizer files of hub model `id`.
 *
 * @throws {ModelError} when the repository has no tokenizer files, or (offline) they are not
 *   cached.
 */
export async function resolveTokenizer(
  id: string,
  options: RepositoryOptions & { readonly progress?: DownloadProgress } = {},
): Promise<string> {
  const repo = openHubRepository("model", id, options);
  await repo.pin("tokenizer_config.json");
  const available = new Set(
    repo.settings.offline
      ? await repo.listCached("")
      : (await repo.list("", false)).filter((e) => e.type === "file").map((e) => e.path),
  );
  const wanted = available.has("tokenizer.json")
    ? TOKENIZER_FILES
    : [...TOKENIZER_FILES, ...SLOW_TOKENIZER_FILES];
  const files = wanted.filter((file) => available.has(file));
  const hasTokenizer = files.some((file) =>
    file === "tokenizer.json" || SLOW_TOKENIZER_FILES.includes(file)
  );
  if (!hasTokenizer) {
    throw new ModelError(
      repo.settings.offline
        ? `${repo.label}: no tokenizer files are cached for offline use (${repo.localDir()})`
        : `${repo.label} has no tokenizer files (tokenizer.json, vocab.json + merges.txt, ` +
          `vocab.txt or spiece.model)`,
      { path: repo.fileUrl("tokenizer.json") },
    );
  }
  // Offline, the listing is the cache's: the files lie there already, nothing is fetched.
  if (repo.settings.offline) return repo.localDir();
  for (const file of files) {
    const local = await repo.fetch(file, { progress: options.progress, signal: options.signal });
    if (local === "missing") {
      throw new ModelError(`${repo.label}: ${file} is listed but the hub does not have it`, {
        path: repo.fileUrl(file),
      });
    }
  }
  return repo.localDir();
}
