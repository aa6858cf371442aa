import assert from "node:assert/strict";
import type { ReportedResult } from "../../src/report/result_files.ts";
import { findSettingDifferences, settingsOf } from "../../src/report/settings_difference.ts";

function result(model: string, clipbench?: Record<string, unknown>): ReportedResult {
  return {
    path: model,
    dataset: "d",
    model,
    task: "zeroshot_classification",
    metrics: {},
    ...(clipbench && { clipbench }),
  };
}

Deno.test("run-specific fields are not settings; nested settings are flattened", () => {
  const settings = settingsOf({
    version: "0.1.0",
    model_fingerprint: "abc",
    duration_s: 3,
    runtime: { deno: "2" },
    per_class_recall: [1],
    limit: 16,
    task_options: { recall_k: [1, 5] },
  });
  assert.deepEqual([...settings], [["limit", "16"], ["task_options.recall_k", "[1,5]"]]);
});

Deno.test("the result off the majority is marked; without a block nothing is", () => {
  const full1 = result("a", { limit: null, duration_s: 1 });
  const full2 = result("b", { limit: null, duration_s: 2 });
  const limited = result("c", { limit: 16 });
  const unknown = result("e");
  const differences = findSettingDifferences([full1, full2, limited, unknown]);
  assert.deepEqual([...differences.keys()], [limited]);
  assert.deepEqual(differences.get(limited), [{ setting: "limit", value: "16", others: ["null"] }]);
});
