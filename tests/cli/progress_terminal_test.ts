// deno-lint-ignore-file no-control-regex -- the terminal output is read with its escapes
/**
 * Progress on a real terminal: `cli.ts eval` under a pseudo-terminal (util-linux `script`) of 80
 * and of 50 columns draws its bar and messages without a line wider than the terminal, so the
 * terminal never wraps one (a wrapped bar line would be redrawn below itself). Skipped, saying
 * why, where `script` is missing.
 */
import assert from "node:assert/strict";
import { join } from "node:path";

const ROOT = new URL("../../", import.meta.url).pathname;
const CLI = `${ROOT}cli.ts`;
const MODEL = `${ROOT}examples/demo/tiny-clip-demo`;
const DATA = `${ROOT}examples/demo/data/{dataset}`;

const script = await new Deno.Command("script", {
  args: ["--version"],
  stdout: "null",
  stderr: "null",
})
  .output()
  .then((o) => o.success, () => false);
if (!script) console.log("progress_terminal_test: skipped: util-linux `script` is not installed");

/** Single-quotes a word for sh. */
const quote = (word: string) => `'${word.replaceAll("'", `'\\''`)}'`;

/**
 * Runs `deno run -A cli.ts ...args` on a pseudo-terminal `columns` wide, stdout to a file; returns
 * what the terminal received (stderr) and stdout.
 */
async function onTerminal(columns: number, args: readonly string[]) {
  const dir = await Deno.makeTempDir({ prefix: "clipbench_pty_" });
  try {
    const stdout = join(dir, "stdout.txt");
    const command = [Deno.execPath(), "run", "-A", CLI, ...args].map(quote).join(" ");
    const shell = `stty cols ${columns} rows 24; ${command} > ${quote(stdout)}`;
    const run = await new Deno.Command("script", {
      args: ["-qfec", shell, "/dev/null"],
      cwd: dir,
      env: { NO_COLOR: "1", CLIPBENCH_CACHE: join(dir, "cache") },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const terminal = new TextDecoder().decode(run.stdout);
    return { code: run.code, terminal, stdout: await Deno.readTextFile(stdout) };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The lines a terminal shows: split at carriage returns and newlines, control sequences removed. */
function screenLines(text: string): string[] {
  return text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "").split(/[\r\n]/);
}

for (const columns of [80, 50]) {
  Deno.test({
    name: `progress on a ${columns}-column terminal: no line wider than the terminal`,
    ignore: !script,
    fn: async () => {
      const out = await Deno.makeTempDir({ prefix: "clipbench_pty_out_with_a_long_name_" });
      try {
        const eval_ = [
          "eval",
          "--model",
          MODEL,
          "--dataset",
          "fashion_mnist_1k",
          "--dataset-root",
          DATA,
          "--batch-size",
          "8",
          "--num-workers",
          "0",
          "--output-dir",
        ];
        for (const extra of [["--limit", "600"], ["--shards", "2"]]) {
          const run = await onTerminal(columns, [...eval_, join(out, extra[0]), ...extra]);
          assert.equal(run.code, 0, run.terminal);
          assert.match(run.terminal, /\r\x1b\[2K/, "the progress line is redrawn (a terminal)");
          assert.match(run.terminal, /samples/);
          for (const line of screenLines(run.terminal)) {
            assert.ok(line.length < columns, `${line.length} columns: ${line}\n${run.terminal}`);
          }
          if (extra[0] === "--limit") {
            assert.match(run.terminal, /600\/600 samples/, "the last line: the true total");
          } else {
            // The shards finished show where the terminal has room for them.
            assert.match(
              run.terminal,
              columns >= 80 ? /1000 samples .*2\/2 shards done/ : /1000 samples/,
            );
            assert.doesNotMatch(run.terminal, /\[shard/, "one combined line, no worker's own");
          }
          assert.match(run.stdout, /^tiny-clip-demo\s+fashion_mnist_1k\s/m);
        }
      } finally {
        await Deno.remove(out, { recursive: true });
      }
    },
  });
}
