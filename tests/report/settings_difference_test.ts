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

Deno.test("only settings (but the model's hash) and task settings count; nested ones flatten", () => {
  const settings = settingsOf({
    version: "0.1.0",
    model: { name: "a", fingerprint_sha256: "abc" },
    settings: { model_sha256: "abc", dtype: "fp32", limit: 16 },
    task_settings: { recall_k: [1, 5], prompts: { templates_sha256: "t" } },
    time: { duration_s: 3, images_per_s: 10 },
    runtime: { deno: "2" },
    samples: { scored: 16, skipped: 0 },
    per_class_recall: [1],
  });
  assert.deepEqual([...settings], [
    ["dtype", '"fp32"'],
    ["limit", "16"],
    ["recall_k", "[1,5]"],
    ["prompts.templates_sha256", '"t"'],
  ]);
});

Deno.test("the result off the majority is marked; without a block nothing is", () => {
  const full1 = result("a", { settings: { model_sha256: "a", limit: null }, time: { s: 1 } });
  const full2 = result("b", { settings: { model_sha256: "b", limit: null }, time: { s: 2 } });
  const limited = result("c", { settings: { model_sha256: "c", limit: 16 } });
  const unknown = result("e");
  const differences = findSettingDifferences([full1, full2, limited, unknown]);
  assert.deepEqual([...differences.keys()], [limited]);
  assert.deepEqual(differences.get(limited), [{ setting: "limit", value: "16", others: ["null"] }]);
});

Deno.test("with no majority every differing result is marked", () => {
  const a = result("a", { task_settings: { recall_k: [1] } });
  const b = result("b", { task_settings: { recall_k: [5] } });
  const differences = findSettingDifferences([a, b]);
  assert.deepEqual(differences.get(a), [{ setting: "recall_k", value: "[1]", others: ["[5]"] }]);
  assert.deepEqual(differences.get(b), [{ setting: "recall_k", value: "[5]", others: ["[1]"] }]);
});
