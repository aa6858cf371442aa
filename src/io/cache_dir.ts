/**
 * clipbench's cache folder (classifiers, file hashes, hub datasets), unless a flag names another.
 *
 * @module
 */

import { join } from "node:path";

/**
 * The default cache folder: `$CLIPBENCH_CACHE`, else `$XDG_CACHE_HOME/clipbench`, else
 * `~/.cache/clipbench`, else `.cache/clipbench` in the working directory.
 */
export function defaultCacheDir(): string {
  const env = (name: string) => {
    try {
      return Deno.env.get(name) || undefined;
    } catch {
      return undefined; // no env permission
    }
  };
  const explicit = env("CLIPBENCH_CACHE");
  if (explicit) return explicit;
  const xdg = env("XDG_CACHE_HOME");
  if (xdg) return join(xdg, "clipbench");
  const home = env("HOME") ?? env("USERPROFILE");
  return home ? join(home, ".cache", "clipbench") : join(".cache", "clipbench");
}
