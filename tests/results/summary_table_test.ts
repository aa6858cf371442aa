/** The summary table on stdout (src/results/summary_table.ts): abbreviations, legend, 100 columns. */
import assert from "node:assert/strict";
import type { TaskResult } from "../../src/results/result.ts";
import { abbreviateMetric, formatSummaryTable } from "../../src/results/summary_table.ts";

function result(
  model: string,
  dataset: string,
  task: TaskResult["task"],
  metrics: Record<string, number | null>,
  skipped = 0,
): TaskResult {
  return { model, dataset, task, metrics, n_samples: 1000, n_skipped: skipped, skipped: [] };
}

const RETRIEVAL = Object.fromEntries(
  [1, 5, 10].flatMap((
    k,
  ) => [[`image_retrieval_recall@${k}`, 0.5], [`text_retrieval_recall@${k}`, 0.25]]),
);
const CLASSIFICATION = { acc1: 0.75, acc5: 0.995, mean_per_class_recall: 0.7529 };

function widest(text: string): number {
  return Math.max(...text.split("\n").map((line) => line.length));
}

Deno.test("abbreviateMetric: retrieval recalls and long names get short titles and a legend", () => {
  assert.deepEqual(abbreviateMetric("image_retrieval_recall@5"), {
    title: "img R@5",
    legend: "img R@k = image_retrieval_recall@k",
  });
  assert.equal(abbreviateMetric("text_retrieval_recall@10").title, "txt R@10");
  assert.equal(abbreviateMetric("mean_per_class_recall").title, "bal_acc");
  assert.deepEqual(abbreviateMetric("acc1"), { title: "acc1" });
});

Deno.test("summary table: one table per task, a legend once, no line over 100 columns", () => {
  const results = [
    result("clip-vit-base-patch32", "flickr30k", "zeroshot_retrieval", RETRIEVAL),
    result("clip-vit-base-patch32", "cars", "zeroshot_classification", {
      ...CLASSIFICATION,
    }),
    result("tiny-clip-demo", "mscoco_captions", "zeroshot_retrieval", RETRIEVAL, 3),
  ];
  const text = formatSummaryTable(results);
  assert.ok(widest(text) <= 100, text);
  const lines = text.split("\n");
  // The retrieval table (too wide with a task column: the task is its title), then the
  // classification table, then the legend.
  assert.equal(lines[0], "zeroshot_retrieval");
  assert.match(lines[1], /^model\s+dataset\s+img R@1\s+txt R@1\s+img R@5\s+txt R@5\s+img R@10/);
  assert.match(text, /^clip-vit-\S+\s+flickr30k\s+0\.5000\s+0\.2500/m);
  assert.match(text, /^tiny-clip-\S+\s+mscoco_\S+\s+.*\s3$/m, "the skipped count is kept");
  assert.match(text, /\n\nmodel\s+dataset\s+task\s+acc1\s+acc5\s+bal_acc\s+samples/);
  assert.match(text, /^clip-vit-base-patch32\s+cars\s+zeroshot_classification\s+0\.7500/m);
  const legend = lines.slice(lines.lastIndexOf("") + 1).join(" ");
  assert.equal(
    legend,
    "img R@k = image_retrieval_recall@k; txt R@k = text_retrieval_recall@k; " +
      "bal_acc = mean_per_class_recall (balanced accuracy); " +
      "n = samples scored; skip = samples skipped", // the retrieval table titles its counts short
  );
  assert.match(lines[1], /\s+n\s+skip$/);
  assert.equal(text.match(/img R@k =/g)?.length, 1, "the legend is printed once");
});

Deno.test("summary table: a metric that could not be computed shows n/a, a missing one nothing", () => {
  const text = formatSummaryTable([
    result("m", "cars", "zeroshot_classification", { acc1: 0.5, acc5: null }),
    result("m", "pets", "zeroshot_classification", { acc1: 0.25 }),
  ]);
  assert.match(text, /^m\s+cars\s+zeroshot_classification\s+0\.5000\s+n\/a\s+1000\s+0$/m);
  assert.match(text, /^m\s+pets\s+zeroshot_classification\s+0\.2500\s+1000\s+0$/m);
});

Deno.test("summary table: names too long for 100 columns are shortened with …", () => {
  const long = "a-model-with-a-remarkably-long-name-from-some-hub-organisation-v2";
  const text = formatSummaryTable([
    result(long, "flickr30k", "zeroshot_retrieval", RETRIEVAL),
  ]);
  assert.ok(widest(text) <= 100, text);
  assert.match(text, /^a-model-with-\S*…\s/m);
  // A narrower limit is honoured too.
  assert.ok(
    widest(
      formatSummaryTable(
        [result("m", "cars", "zeroshot_classification", CLASSIFICATION)],
        new Set(),
        60,
      ),
    ) <= 60,
  );
});

Deno.test("summary table: kept results are marked in a source column", () => {
  const kept = result("m", "cars", "zeroshot_classification", CLASSIFICATION);
  const fresh = result("m", "mnist", "zeroshot_classification", CLASSIFICATION);
  const text = formatSummaryTable([kept, fresh], new Set([kept]));
  assert.match(text, /^m\s+cars\s.*existing$/m);
  assert.match(text, /^m\s+mnist\s.*new$/m);
  assert.equal(formatSummaryTable([]), "");
});
