import assert from "node:assert/strict";
import { join } from "node:path";
import { ClipbenchError, UsageError } from "../../src/errors.ts";
import { completePlan } from "../../src/run/config.ts";
import { runEvaluations } from "../../src/run/evaluate.ts";
import { REPORT_HELP, reportText, runReport } from "../../src/report/report_command.ts";
import "../../tasks/mod.ts";

const FIXTURES = "tests/data/stats/report";
const OUTPUTS = `${FIXTURES}/outputs`;

Deno.test("report of the fixed result files equals the golden Markdown, CSV and JSON", async () => {
  for (const [format, file] of [["markdown", "md"], ["csv", "csv"], ["json", "json"]] as const) {
    const expected = await Deno.readTextFile(`${FIXTURES}/golden_report.${file}`);
    assert.equal(await reportText([OUTPUTS], format), expected, format);
  }
});

Deno.test("runReport writes --output, refuses bad flags, missing paths and empty folders", async () => {
  const folder = await Deno.makeTempDir();
  try {
    const output = join(folder, "report.csv");
    assert.equal(await runReport([OUTPUTS, "--format", "csv", "--output", output]), 0);
    assert.equal(
      await Deno.readTextFile(output),
      await Deno.readTextFile(`${FIXTURES}/golden_report.csv`),
    );
    await assert.rejects(() => runReport([OUTPUTS, "--format", "html"]), UsageError);
    await assert.rejects(() => runReport([OUTPUTS, "--colour"]), UsageError);
    await assert.rejects(() => runReport([join(folder, "missing")]), UsageError);
    const empty = join(folder, "empty");
    await Deno.mkdir(empty);
    await assert.rejects(() => runReport([empty]), /no result files/);
    const broken = join(folder, "x_zeroshot_classification.json");
    await Deno.writeTextFile(broken, JSON.stringify({ dataset: "x", model: "m", task: "t" }));
    await assert.rejects(() => runReport([broken]), ClipbenchError);
    assert.match(REPORT_HELP, /--format FORMAT/);
  } finally {
    await Deno.remove(folder, { recursive: true });
  }
});

Deno.test("report reads the result of a real demo evaluation", async () => {
  const outputDir = await Deno.makeTempDir();
  try {
    const plan = completePlan({
      models: [{ id: "examples/demo/tiny-clip-demo" }],
      datasets: ["fashion_mnist_1k"],
      datasetRoot: "examples/demo/data/{dataset}",
      limit: 40,
      noCache: true,
      outputDir,
      quiet: true,
    });
    const { results, failures } = await runEvaluations(plan);
    assert.deepEqual(failures, []);
    const acc1 = results[0].metrics.acc1!;
    const report = JSON.parse(await reportText([outputDir], "json"));
    const [table] = report.tables;
    assert.equal(table.task, "zeroshot_classification");
    assert.deepEqual(table.models, ["tiny-clip-demo"]);
    const metric = table.results[0].metrics[0];
    assert.equal(metric.value, acc1);
    assert.equal(metric.trials, 40);
    assert.equal(metric.successes, Math.round(acc1 * 40));
    assert.ok(metric.low <= acc1 && acc1 <= metric.high);
    const markdown = await reportText([outputDir], "markdown");
    assert.match(markdown, /\| tiny-clip-demo \| \d+\.\d\d \[\d+\.\d\d, \d+\.\d\d\] \|/);
    assert.doesNotMatch(markdown, /settings differ/);
    // The same model under another name with another --limit: the real blocks differ in `limit`
    // only (not in the model's name, times or runtime), and both results are marked.
    const limited = await runEvaluations({
      ...plan,
      models: [{ id: "examples/demo/tiny-clip-demo", name: "demo-limit-20" }],
      limit: 20,
    });
    assert.deepEqual(limited.failures, []);
    const marked = await reportText([outputDir], "markdown");
    assert.match(
      marked,
      /demo-limit-20 on fashion_mnist_1k: settings differ: limit = 20 \(others: 40\)/,
    );
    assert.match(
      marked,
      /tiny-clip-demo on fashion_mnist_1k: settings differ: limit = 40 \(others: 20\)/,
    );
    assert.equal(marked.match(/settings differ/g)?.length, 2);
  } finally {
    await Deno.remove(outputDir, { recursive: true });
  }
});
