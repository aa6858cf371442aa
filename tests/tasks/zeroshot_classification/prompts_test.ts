import assert from "node:assert/strict";
import { DatasetError } from "../../../src/errors.ts";
import { fillTemplate } from "../../../tasks/zeroshot_classification/prompts.ts";

Deno.test("fillTemplate follows Python's str.format(c=...)", () => {
  assert.equal(fillTemplate("a photo of a {c}.", "dog"), "a photo of a dog.");
  assert.equal(fillTemplate("{c} and {c}", "x"), "x and x");
  assert.equal(fillTemplate("{{c}} is literal, {c} is not", "x"), "{c} is literal, x is not");
  assert.equal(fillTemplate("no placeholder", "x"), "no placeholder");
  assert.throws(() => fillTemplate("a {label}", "x"), DatasetError);
  assert.throws(() => fillTemplate("unbalanced {", "x"), DatasetError);
});
