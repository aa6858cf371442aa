/**
 * Dependencies point one way (issue 12): `tasks/` use `src/`; nothing in `src/` imports `tasks/`
 * or the entry points (`cli.ts`, `mod.ts`), and neither `src/` nor `tasks/` imports `tests/`,
 * `bench/` or `tools/`. Every relative specifier is read from the source text — static and
 * dynamic imports, re-exports and `new URL(…, import.meta.url)` (worker scripts) — resolved, and
 * checked against the folders its file may not reach.
 */
import assert from "node:assert/strict";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../", import.meta.url));

const SPECIFIER = /(\bfrom\s*|\bimport\s*\(?\s*|new URL\(\s*)(["'])(\.{1,2}\/[^"']+)\2/g;

/** Every `.ts` file under `folder` (absolute paths). */
function tsFiles(folder: string): string[] {
  const out: string[] = [];
  for (const entry of Deno.readDirSync(folder)) {
    const path = join(folder, entry.name);
    if (entry.isDirectory) out.push(...tsFiles(path));
    else if (entry.isFile && entry.name.endsWith(".ts")) out.push(path);
  }
  return out;
}

/**
 * The paths, relative to `root`, that `file` refers to by relative specifiers, except a
 * `new URL("…/cli.ts", import.meta.url)`: that runs the command line as a child process
 * (`--shards`), it does not import it.
 */
function references(root: string, file: string): string[] {
  const text = Deno.readTextFileSync(file);
  return [...text.matchAll(SPECIFIER)]
    .filter((m) => !(m[1].startsWith("new URL") && m[3].endsWith("/cli.ts")))
    .map((m) => relative(root, resolve(dirname(file), m[3])).replaceAll("\\", "/"));
}

/** `file → target` for each reference from files under `from` into one of `forbidden`. */
function violations(root: string, from: string, forbidden: readonly string[]): string[] {
  const found: string[] = [];
  for (const file of tsFiles(join(root, from))) {
    for (const target of references(root, file)) {
      const hit = forbidden.some((f) => target === f || target.startsWith(f.replace(/\/?$/, "/")));
      if (hit) found.push(`${relative(root, file)} → ${target}`);
    }
  }
  return found;
}

const OUTSIDE = ["tests", "bench", "tools", "examples"];

Deno.test("dependencies: nothing in src/ imports tasks/, the entry points, tests, bench or tools", () => {
  assert.deepEqual(violations(ROOT, "src", ["tasks", "cli.ts", "mod.ts", ...OUTSIDE]), []);
});

Deno.test("dependencies: tasks/ import only src/ and each other", () => {
  assert.deepEqual(violations(ROOT, "tasks", ["cli.ts", "mod.ts", ...OUTSIDE]), []);
});

Deno.test("dependencies: the check finds a violation of each kind of specifier", async () => {
  const root = await Deno.makeTempDir();
  try {
    await Deno.mkdir(join(root, "src/run"), { recursive: true });
    await Deno.writeTextFile(
      join(root, "src/run/bad.ts"),
      [
        `import { a } from "../../tasks/a.ts";`,
        `export { b } from '../../tasks/b/mod.ts';`,
        `const c = await import("../../tasks/c.ts");`,
        `new Worker(new URL("../../tasks/w.ts", import.meta.url));`,
        `import "../ok.ts";`,
      ].join("\n"),
    );
    assert.deepEqual(violations(root, "src", ["tasks"]), [
      "src/run/bad.ts → tasks/a.ts",
      "src/run/bad.ts → tasks/b/mod.ts",
      "src/run/bad.ts → tasks/c.ts",
      "src/run/bad.ts → tasks/w.ts",
    ]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
