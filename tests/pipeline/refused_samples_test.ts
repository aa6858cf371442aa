/**
 * Issue 9, item 1: a long run of samples refused before decoding (no caption for a retrieval
 * task, an image under an unknown field) once left the decoding pipeline waiting for an answer
 * no worker was going to send. These runs go through the command line and the HTTP handler, as
 * a user's would, and must end — with the project's "too many skipped samples" error — well
 * within their deadlines.
 */
import assert from "node:assert/strict";
import { createEvaluationHandler } from "../../src/server/handler.ts";
import { DEMO_DATA, DEMO_MODEL } from "../_shard_fixtures.ts";
import { makeTar, readTarMembers } from "../_tar_writer.ts";
import "../../tasks/mod.ts";

const CLI = new URL("../../cli.ts", import.meta.url).pathname;
const DIR = await Deno.makeTempDir({ prefix: "clipbench_refused_" });
globalThis.addEventListener("unload", () => Deno.removeSync(DIR, { recursive: true }));

/** 700 samples whose image is under `.image` (not a known image field), then 300 good ones. */
async function writeUnknownFieldDataset(): Promise<void> {
  const demo = readTarMembers(await Deno.readFile(`${DEMO_DATA}/test/0.tar`));
  const members = demo.slice(0, 2000).map((member, i) =>
    i < 1400 && member.name.endsWith(".png")
      ? { name: member.name.replace(/\.png$/, ".image"), data: member.data }
      : member
  );
  const dir = `${DIR}/unknown_field`;
  await Deno.mkdir(`${dir}/test`, { recursive: true });
  for (const file of ["classnames.txt", "zeroshot_classification_templates.txt"]) {
    await Deno.copyFile(`${DEMO_DATA}/${file}`, `${dir}/${file}`);
  }
  await Deno.writeFile(`${dir}/test/0.tar`, makeTar(members));
  await Deno.writeTextFile(`${dir}/test/nshards.txt`, "1\n");
}
/** 1,000 samples with an image and no label. */
async function writeUnlabelledDataset(): Promise<void> {
  const demo = readTarMembers(await Deno.readFile(`${DEMO_DATA}/test/0.tar`));
  const dir = `${DIR}/no_label`;
  await Deno.mkdir(`${dir}/test`, { recursive: true });
  for (const file of ["classnames.txt", "zeroshot_classification_templates.txt"]) {
    await Deno.copyFile(`${DEMO_DATA}/${file}`, `${dir}/${file}`);
  }
  await Deno.writeFile(`${dir}/test/0.tar`, makeTar(demo.filter((m) => m.name.endsWith(".png"))));
  await Deno.writeTextFile(`${dir}/test/nshards.txt`, "1\n");
}
await writeUnknownFieldDataset();
await writeUnlabelledDataset();
// A copy, not a symbolic link: the server refuses a dataset folder whose real path leaves its root.
await Deno.mkdir(`${DIR}/fashion_mnist_1k/test`, { recursive: true });
for (const file of ["classnames.txt", "zeroshot_classification_templates.txt"]) {
  await Deno.copyFile(`${DEMO_DATA}/${file}`, `${DIR}/fashion_mnist_1k/${file}`);
}
for (const entry of Deno.readDirSync(`${DEMO_DATA}/test`)) {
  if (entry.isFile) {
    await Deno.copyFile(
      `${DEMO_DATA}/test/${entry.name}`,
      `${DIR}/fashion_mnist_1k/test/${entry.name}`,
    );
  }
}

/** Runs `cli.ts eval …`, killed after `ms` so that a regression fails instead of hanging. */
async function runEval(args: string[], ms: number) {
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      CLI,
      "eval",
      "--model",
      DEMO_MODEL,
      "--dataset-root",
      `${DIR}/{dataset}`,
      "--output-dir",
      `${DIR}/outputs`,
      "--no-cache",
      "--quiet",
      ...args,
    ],
    stdout: "null",
    stderr: "piped",
    env: { NO_COLOR: "1" },
    signal: AbortSignal.timeout(ms),
  }).output();
  return { code, stderr: new TextDecoder().decode(stderr) };
}

Deno.test("cli: runs of samples refused before decoding end with the skipped-samples error", async () => {
  const cases = [
    ["--dataset", "fashion_mnist_1k", "--task", "zeroshot_retrieval"],
    ["--dataset", "unknown_field"],
    ["--dataset", "no_label"],
  ];
  for (const args of cases) {
    for (const workers of ["2", "0"]) {
      const run = await runEval([...args, "--num-workers", workers], 120_000);
      const label = `${args.join(" ")} --num-workers ${workers}`;
      assert.equal(run.code, 1, `${label}: exit ${run.code}\n${run.stderr}`);
      assert.match(run.stderr, /skipped/, label);
    }
  }
});

Deno.test("handler: runs of refused samples answer within the deadline and free their slot", async () => {
  const handler = createEvaluationHandler({
    modelRoots: [`${DEMO_MODEL}/..`],
    datasetRoots: [`${DIR}/{dataset}`],
    auth: false,
    maxConcurrent: 2,
    settings: { noCache: true, numWorkers: 2, batchSize: 16 },
    log: () => {},
  });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, handler);
  const base = `http://127.0.0.1:${server.addr.port}`;
  const evaluate = (body: Record<string, unknown>) =>
    fetch(`${base}/v1/evaluate`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "tiny-clip-demo", timeout_s: 60, ...body }),
      signal: AbortSignal.timeout(90_000),
    });
  try {
    // Two at once: before the fix each held one of the two slots forever.
    const answers = await Promise.all([
      evaluate({ dataset: "fashion_mnist_1k", task: "zeroshot_retrieval" }),
      evaluate({ dataset: "unknown_field" }),
    ]);
    answers.push(await evaluate({ dataset: "no_label" }));
    for (const answer of answers) {
      const body = await answer.json();
      assert.equal(answer.status, 422, JSON.stringify(body));
      assert.match(body.error.message, /skipped/);
    }
    assert.equal(handler.stats().running, 0);
    const health = await fetch(`${base}/v1/health`);
    assert.equal((await health.json()).running, 0);
  } finally {
    await server.shutdown();
    await handler.close();
  }
});
