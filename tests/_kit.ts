/**
 * Location of the conformance kit (`../shared/kit` beside the project root, or `$CLIPBENCH_KIT`)
 * for the conformance tests, which are skipped with a printed reason when it is absent — or, with
 * `CLIPBENCH_REQUIRE_KIT=1` (set by .ci/run under CI), fail.
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

/** The variable that turns a missing kit from skipped kit tests into failed ones. */
export const REQUIRE_KIT_ENV = "CLIPBENCH_REQUIRE_KIT";

/** Whether the kit tests must run (`CLIPBENCH_REQUIRE_KIT=1`): without the kit they fail. */
export const KIT_REQUIRED: boolean = Deno.env.get(REQUIRE_KIT_ENV) === "1";

if (!KIT_AVAILABLE) {
  console.warn(
    `conformance kit not found at ${KIT_DIR} (set CLIPBENCH_KIT to its path): kit tests ${
      KIT_REQUIRED ? `fail (${REQUIRE_KIT_ENV}=1)` : "are skipped"
    }`,
  );
}

/**
 * Registers a kit test: skipped when the kit is absent, or failing with a message naming the kit
 * folder when the kit is required ({@linkcode KIT_REQUIRED}).
 */
export function kitTest(name: string, fn: () => Promise<void> | void): void {
  if (!KIT_AVAILABLE && KIT_REQUIRED) {
    Deno.test(`[kit] ${name}`, () => {
      throw new Error(
        `the conformance kit is required (${REQUIRE_KIT_ENV}=1) but not found at ${KIT_DIR}`,
      );
    });
    return;
  }
  Deno.test({ name: `[kit] ${name}`, ignore: !KIT_AVAILABLE, fn });
}
