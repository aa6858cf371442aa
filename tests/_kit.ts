/**
 * Location of the conformance kit (`../shared/kit` beside the project root, or `$CLIPBENCH_KIT`)
 * for the conformance tests, which are skipped with a printed reason when it is absent.
 *
 * @module
 */

import { fileURLToPath } from "node:url";

function locateKit(): string {
  const fromEnv = Deno.env.get("CLIPBENCH_KIT");
  if (fromEnv) return fromEnv.replace(/\/+$/, "");
  return fileURLToPath(new URL("../../shared/kit", import.meta.url));
}

/** Absolute path of the kit folder (whether or not it exists). */
export const KIT_DIR: string = locateKit();

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Whether the kit is present (its README is readable). */
export const KIT_AVAILABLE: boolean = exists(`${KIT_DIR}/README.md`);

if (!KIT_AVAILABLE) {
  console.warn(
    `conformance kit not found at ${KIT_DIR} (set CLIPBENCH_KIT to its path): kit tests are skipped`,
  );
}

/** Options for `Deno.test` that skip a test when the kit is absent. */
export function kitTest(name: string, fn: () => Promise<void> | void): void {
  Deno.test({ name: `[kit] ${name}`, ignore: !KIT_AVAILABLE, fn });
}
