import assert from "node:assert/strict";
import { completePlan, planFromTaskConfig } from "../../src/run/config.ts";
import { UsageError } from "../../src/errors.ts";

function taskConfig(extra: Record<string, unknown>) {
  return {
    eval_backend: "RAGEval",
    eval_config: {
      tool: "clip_benchmark",
      eval: { models: [{ model_name: "m" }], dataset_name: ["d"], ...extra },
    },
  };
}

Deno.test("task_cfg: shard and shard_count are clipbench extensions", () => {
  assert.deepEqual(planFromTaskConfig(taskConfig({ shard: "1/4" }), "cfg.yaml").shard, {
    index: 1,
    count: 4,
  });
  assert.deepEqual(
    planFromTaskConfig(taskConfig({ shard: { index: 0, count: 2 } }), "cfg.yaml").shard,
    { index: 0, count: 2 },
  );
  assert.equal(planFromTaskConfig(taskConfig({ shard_count: 8 }), "cfg.yaml").shardCount, 8);
  assert.throws(
    () => planFromTaskConfig(taskConfig({ shard: "4/4" }), "cfg.yaml"),
    (e) =>
      e instanceof UsageError &&
      /cfg\.yaml: eval_config\.eval\.shard: the shard index must be an integer from 0 to 3/.test(
        e.message,
      ),
  );
  assert.throws(
    () => planFromTaskConfig(taskConfig({ shard: { index: 0, of: 2 } }), "cfg.yaml"),
    /unknown key 'of' in cfg\.yaml: eval_config\.eval\.shard/,
  );
  assert.throws(
    () => completePlan(planFromTaskConfig(taskConfig({ shard: "0/2", limit: 10 }), "cfg.yaml")),
    /a limit \(--limit 10\) cannot be combined with a shard/,
  );
});
