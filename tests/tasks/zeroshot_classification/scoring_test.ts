import assert from "node:assert/strict";
import { multiHotTarget } from "../../../tasks/zeroshot_classification/scoring.ts";
import { npyFile, TARGET_DTYPES } from "./_npy_file.ts";

Deno.test("multiHotTarget accepts bool, integer and float 0/1 vectors in either byte order", () => {
  const target = [0, 1, 1, 0];
  for (const descr of [...TARGET_DTYPES, "<f8", ">f4"]) {
    const sample = {
      key: "k",
      source: "s",
      fields: new Map([["npy", npyFile(descr, [4], target)]]),
    };
    assert.deepEqual([...multiHotTarget(sample, 4)], target, descr);
  }
  const negativeZero = {
    key: "k",
    source: "s",
    fields: new Map([["npy", npyFile("<f4", [2], [-0, 1])]]),
  };
  assert.deepEqual([...multiHotTarget(negativeZero, 2)], [0, 1]);
});
