/**
 * The checks made on a model argument (`--model`, a task_cfg's `model_name`) before anything is
 * read or loaded, so that a wrong path is a configuration error (exit status 2) reported up front,
 * not a failed evaluation after the datasets were opened.
 *
 * @module
 */

import { UsageError } from "../errors.ts";
import { isRepoId } from "../hub/hub_repository.ts";

/** What is at `path`: a folder, something else, or nothing (or nothing readable). */
async function pathKind(path: string): Promise<"folder" | "other" | "none"> {
  try {
    return (await Deno.stat(path)).isDirectory ? "folder" : "other";
  } catch {
    return "none";
  }
}

/**
 * Checks a model argument of `eval`: an existing local folder, or the shape of a hub id
 * (`org/name`, not starting with `.`, `~`, `/` or `\`), as src/hub/resolve_model.ts takes it.
 *
 * @param flag How the argument is named in the message.
 * @throws {UsageError} for a file, or a path that does not exist and is not a hub id.
 */
export async function checkModelArgument(idOrPath: string, flag = "--model"): Promise<void> {
  const kind = await pathKind(idOrPath);
  if (kind === "folder") return;
  if (kind === "other") {
    throw new UsageError(`${flag} ${idOrPath} is not a folder (a model is a folder or a hub id)`);
  }
  if (!isRepoId(idOrPath) || /^[.~\/\\]/.test(idOrPath)) {
    throw new UsageError(
      `${flag}: model folder not found: ${idOrPath} (nor is it a hub id of the form org/name)`,
    );
  }
}

/**
 * Checks that `dir` is an existing local model folder (the `inspect` commands read no hub).
 *
 * @param flag How the argument is named in the message.
 * @throws {UsageError} when it does not exist or is not a folder.
 */
export async function checkModelFolder(dir: string, flag = "--model"): Promise<void> {
  const kind = await pathKind(dir);
  if (kind === "none") throw new UsageError(`${flag}: model folder not found: ${dir}`);
  if (kind === "other") throw new UsageError(`${flag} ${dir} is not a folder`);
}
