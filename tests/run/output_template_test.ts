/** `eval --output` templates (src/run/output_template.ts). */
import assert from "node:assert/strict";
import { join } from "node:path";
import { UsageError } from "../../src/errors.ts";
import {
  checkOutputTemplate,
  fillOutputTemplate,
  outputTemplateFolders,
  prepareOutputTemplateFolders,
} from "../../src/run/output_template.ts";
import { resultPath } from "../../src/results/result.ts";

Deno.test("fillOutputTemplate: fields replaced, a dataset's '/' written '_'", () => {
  const values = { model: "m", dataset: "org/name", task: "zeroshot_retrieval" };
  assert.equal(
    fillOutputTemplate("out/{model}/{dataset}_{task}.json", values),
    "out/m/org_name_zeroshot_retrieval.json",
  );
  assert.equal(fillOutputTemplate("{dataset}-{dataset}.json", values), "org_name-org_name.json");
  // resultPath takes the template instead of the output folder.
  assert.equal(
    resultPath("outputs", "m", "cars", "zeroshot_classification", "r/{dataset}_{task}.json"),
    "r/cars_zeroshot_classification.json",
  );
  assert.equal(
    resultPath("outputs", "m", "cars", "zeroshot_classification"),
    join("outputs", "m", "cars_zeroshot_classification.json"),
  );
});

Deno.test("checkOutputTemplate: unknown fields and shared files are refused", () => {
  const refused = (pattern: RegExp) => (error: unknown) =>
    error instanceof UsageError && pattern.test(error.message);
  checkOutputTemplate("r/{model}/{dataset}_{task}.json", ["a", "b"], ["cars", "mnist"]);
  checkOutputTemplate("r/result.json", ["a"], ["cars"]); // one pair: any path
  checkOutputTemplate("r/{dataset}.json", ["a"], ["cars", "mnist"]);
  assert.throws(
    () => checkOutputTemplate("r/{pretrained}_{dataset}.json", ["a"], ["cars"]),
    refused(/unknown field \{pretrained\}/),
  );
  assert.throws(
    () => checkOutputTemplate("r/{model}.json", ["a"], ["cars", "mnist"]),
    refused(/a \/ cars and a \/ mnist would both write r\/a\.json; put \{dataset\} in it/),
  );
  assert.throws(
    () => checkOutputTemplate("r/{dataset}.json", ["a", "b"], ["cars"]),
    refused(/a \/ cars and b \/ cars would both write r\/cars\.json; put \{model\} in it/),
  );
});

Deno.test("outputTemplateFolders: each pair's folder, cut before {task}", async () => {
  assert.deepEqual(outputTemplateFolders("r/{model}/{dataset}.json", ["a", "b"], ["c"]), [
    "r/a",
    "r/b",
  ]);
  assert.deepEqual(outputTemplateFolders("r/{model}/{task}/{dataset}.json", ["a"], ["c", "d"]), [
    "r/a",
  ]);
  assert.deepEqual(outputTemplateFolders("{dataset}.json", ["a"], ["c"]), ["."]);
  const dir = await Deno.makeTempDir();
  try {
    await prepareOutputTemplateFolders(join(dir, "x/{model}/{dataset}.json"), ["a"], ["c"]);
    assert.ok((await Deno.stat(join(dir, "x/a"))).isDirectory);
    await Deno.writeTextFile(join(dir, "file"), "");
    await assert.rejects(
      prepareOutputTemplateFolders(join(dir, "file/{dataset}.json"), ["a"], ["c"]),
      (error: unknown) => error instanceof UsageError && error.message.startsWith("--output "),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
