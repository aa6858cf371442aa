/**
 * Runs `cli.ts` in a real `deno run` subprocess, as a user would, for the CLI tests.
 *
 * @module
 */

const CLI = new URL("../cli.ts", import.meta.url).pathname;

/** A classifier cache for this test process, so CLI runs never touch ~/.cache/clipbench. */
const CACHE = Deno.makeTempDirSync({ prefix: "clipbench_cli_cache_" });
globalThis.addEventListener("unload", () => {
  try {
    Deno.removeSync(CACHE, { recursive: true });
  } catch {
    // Already gone.
  }
});

/** What a CLI run printed and returned. */
export interface CliRun {
  /** Exit status. */
  readonly code: number;
  /** Standard output. */
  readonly stdout: string;
  /** Standard error. */
  readonly stderr: string;
}

/**
 * Runs `deno run -A cli.ts ...args` (no colours) and collects its output; `env` adds variables
 * (a `CLIPBENCH_CACHE` there replaces this process's private cache).
 */
export async function runCli(
  args: readonly string[],
  cwd?: string,
  env: Readonly<Record<string, string>> = {},
): Promise<CliRun> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, ...args],
    cwd,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", CLIPBENCH_CACHE: CACHE, ...env },
  }).output();
  const text = new TextDecoder();
  return { code, stdout: text.decode(stdout), stderr: text.decode(stderr) };
}
