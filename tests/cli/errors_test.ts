/**
 * Every user error of every command is one line on stderr (`clipbench: …`), without a stack
 * trace, and exits 2 (flags, configuration, files named on the command line, a wrong model path)
 * or 1 (data or model content), as the README says.
 */
import assert from "node:assert/strict";
import { runCli } from "../_cli.ts";
import { DEMO_DATA, DEMO_MODEL } from "../_shard_fixtures.ts";

const ROOT = DEMO_DATA.replace(/fashion_mnist_1k$/, "{dataset}");
const PNG = new URL("../data/decode/png_adam7_grey16_7x5.png", import.meta.url).pathname;
const GARBAGE = new URL("../data/decode/garbage.bin", import.meta.url).pathname;
const FOLDER = new URL("../data/decode", import.meta.url).pathname;
const A_FILE = new URL("../../README.md", import.meta.url).pathname;
const EVAL = [
  "eval",
  "--model",
  DEMO_MODEL,
  "--dataset",
  "fashion_mnist_1k",
  "--dataset-root",
  ROOT,
];

/** A bad command line, its exit status and what its one line of stderr says. */
interface Case {
  readonly args: readonly string[];
  readonly code: 1 | 2;
  readonly message: RegExp;
}

const CASES: readonly Case[] = [
  { args: ["bogus"], code: 2, message: /unknown command 'bogus'/ },
  // eval: flags and their values.
  { args: ["eval", "--foo"], code: 2, message: /Unknown option '--foo'/ },
  { args: ["eval"], code: 2, message: /no model given/ },
  { args: ["eval", "--model", DEMO_MODEL], code: 2, message: /no dataset given/ },
  {
    args: [...EVAL, "--limit", "-5"],
    code: 2,
    message: /--limit must be a positive integer, got "-5"/,
  },
  { args: [...EVAL, "--limit=-5"], code: 2, message: /--limit must be a positive integer/ },
  { args: [...EVAL, "--limit"], code: 2, message: /--limit needs a value/ },
  { args: [...EVAL, "--limit", "--quiet"], code: 2, message: /--limit needs a value/ },
  { args: [...EVAL, "--limit", "NaN"], code: 2, message: /--limit must be a positive integer/ },
  { args: [...EVAL, "--limit", "2.5"], code: 2, message: /--limit must be a positive integer/ },
  { args: [...EVAL, "--batch-size", "0"], code: 2, message: /--batch-size must be a positive/ },
  { args: [...EVAL, "--batch-size", "-1"], code: 2, message: /--batch-size must be a positive/ },
  { args: [...EVAL, "--num-workers", "-2"], code: 2, message: /--num-workers must be a non-neg/ },
  { args: [...EVAL, "--threads", "x"], code: 2, message: /--threads must be a non-negative/ },
  { args: [...EVAL, "--max-skipped", "-0.1"], code: 2, message: /--max-skipped must be a number/ },
  { args: [...EVAL, "--max-skipped", "NaN"], code: 2, message: /--max-skipped must be a number/ },
  { args: [...EVAL, "--recall-k", "0"], code: 2, message: /--recall-k must be a positive/ },
  { args: [...EVAL, "--task", "bogus"], code: 2, message: /--task must be/ },
  { args: [...EVAL, "--dtype", "fp99"], code: 2, message: /--dtype must be one of/ },
  { args: [...EVAL, "--shards", "0"], code: 2, message: /--shards must be a positive/ },
  { args: [...EVAL, "--shard", "3/2"], code: 2, message: /--shard: the shard index/ },
  { args: [...EVAL, "extra"], code: 2, message: /unexpected argument 'extra'/ },
  // eval: files and models named on the command line.
  { args: ["eval", "--config", "/nonexistent.yaml"], code: 2, message: /cannot read config file/ },
  { args: ["eval", "--config", A_FILE], code: 2, message: /not valid JSON/ },
  { args: [...EVAL, "--classnames", "/nonexistent.txt"], code: 2, message: /class-names file/ },
  { args: [...EVAL, "--templates", "/nonexistent.txt"], code: 2, message: /templates file/ },
  {
    args: ["eval", "--model", "/nonexistent/model", "--dataset", "x", "--dataset-root", ROOT],
    code: 2,
    message: /--model: model folder not found: \/nonexistent\/model/,
  },
  {
    args: ["eval", "--model", A_FILE, "--dataset", "x", "--dataset-root", ROOT],
    code: 2,
    message: /--model .*README\.md is not a folder/,
  },
  {
    args: ["eval", "--model", DEMO_MODEL, "--dataset", "no_such_dataset"],
    code: 2,
    message: /unknown dataset 'no_such_dataset'/,
  },
  { args: [...EVAL, "--output-dir", A_FILE], code: 2, message: /--output-dir .*is a file, not a/ },
  // merge.
  { args: ["merge"], code: 2, message: /merge needs the partial files/ },
  { args: ["merge", "--output-dir"], code: 2, message: /--output-dir needs a value/ },
  { args: ["merge", "/nonexistent.partial"], code: 1, message: /cannot read partial/ },
  {
    args: ["merge", "/nonexistent.partial", "--output-dir", A_FILE],
    code: 2,
    message: /--output-dir .*README\.md is a file, not a folder/,
  },
  // inspect.
  { args: ["inspect", "foo"], code: 2, message: /unknown inspect target 'foo'/ },
  { args: ["inspect", "text", "hi"], code: 2, message: /inspect needs --model/ },
  { args: ["inspect", "text", "--model", DEMO_MODEL], code: 2, message: /at least one TEXT/ },
  {
    args: ["inspect", "text", "--model", "/nonexistent/model", "hi"],
    code: 2,
    message: /--model: model folder not found/,
  },
  {
    args: ["inspect", "image", "--model", "/nonexistent/model", PNG],
    code: 2,
    message: /--model: model folder not found/,
  },
  {
    args: ["inspect", "image", "--model", DEMO_MODEL, "/nonexistent.png"],
    code: 2,
    message: /cannot read the image \/nonexistent\.png: no such file/,
  },
  {
    args: ["inspect", "image", "--model", DEMO_MODEL, FOLDER],
    code: 2,
    message: /cannot read the image .*: it is a folder/,
  },
  {
    args: ["inspect", "image", "--model", DEMO_MODEL, PNG, "--out", "/nonexistent/x.f32"],
    code: 2,
    message: /--out: cannot write \/nonexistent\/x\.f32/,
  },
  {
    args: ["inspect", "image", "--model", DEMO_MODEL, GARBAGE],
    code: 1,
    message: /cannot decode unknown image/,
  },
  {
    args: ["inspect", "image", "--model", DEMO_MODEL, PNG, "--preprocess", "x"],
    code: 2,
    message: /--preprocess must be one of/,
  },
  // datasets and serve.
  { args: ["datasets", "--hub", "foo"], code: 2, message: /--hub must be/ },
  { args: ["datasets", "extra"], code: 2, message: /unexpected argument 'extra'/ },
  { args: ["serve", "--port", "-1"], code: 2, message: /--port must be a non-negative integer/ },
  { args: ["serve", "--port", "abc"], code: 2, message: /--port must be a non-negative integer/ },
  { args: ["serve", "--deadline", "0"], code: 2, message: /--deadline must be a positive/ },
];

Deno.test("cli: every user error is one line without a stack trace, exit 2 or 1", async (t) => {
  for (const { args, code, message } of CASES) {
    await t.step(args.map((a) => a.replace(/^\/.*\//, "…/")).join(" "), async () => {
      const run = await runCli(args);
      const lines = run.stderr.trimEnd().split("\n");
      assert.equal(run.code, code, run.stderr);
      assert.equal(lines.length, 1, `expected one line:\n${run.stderr}`);
      assert.match(lines[0], /^clipbench: /);
      assert.match(lines[0], message);
      assert.doesNotMatch(run.stderr, /^\s+at /m);
    });
  }
});

Deno.test("cli: a failed evaluation exits 1 with its message and no stack trace", async () => {
  const run = await runCli([
    "eval",
    "--model",
    DEMO_MODEL,
    "--dataset",
    "fashion_mnist_1k",
    "--dataset-root",
    "/nonexistent/{dataset}",
    "--quiet",
  ]);
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stderr, /nshards\.txt: not found/);
  assert.doesNotMatch(run.stderr, /^\s+at /m);
});
