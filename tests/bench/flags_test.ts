/** The bench's flags for the converter measures: defaults, `--quick` sizes, switches, errors. */

import assert from "node:assert/strict";
import { parseBenchFlags } from "../../bench/flags.ts";

Deno.test("bench flags: converter measures on by default, switched off by name", () => {
  const full = parseBenchFlags([]);
  assert.deepEqual(
    [
      full.convertBench,
      full.convertCheckpoint,
      full.exportBench,
      full.exportBatch,
      full.exportReps,
    ],
    [true, undefined, true, 32, 7],
  );
  const quick = parseBenchFlags(["--quick"]);
  assert.deepEqual([quick.exportBatch, quick.exportReps], [4, 2]);
  const off = parseBenchFlags([
    "--no-convert-bench",
    "--no-export-bench",
    "--convert-checkpoint",
    "/ckpt",
    "--export-batch",
    "8",
    "--export-reps",
    "3",
  ]);
  assert.deepEqual(
    [off.convertBench, off.convertCheckpoint, off.exportBench, off.exportBatch, off.exportReps],
    [false, "/ckpt", false, 8, 3],
  );
  assert.throws(() => parseBenchFlags(["--export-batch", "0"]), /--export-batch/);
  assert.throws(() => parseBenchFlags(["--export-reps", "x"]), /--export-reps/);
});
