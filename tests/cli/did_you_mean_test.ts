/** Edit distances and "did you mean" suggestions (src/cli/did_you_mean.ts). */
import assert from "node:assert/strict";
import { closestNames, didYouMean, editDistance } from "../../src/cli/did_you_mean.ts";
import { REGISTERED_DATASETS } from "../../src/dataset/registry.ts";

Deno.test("editDistance: insertions, deletions, substitutions and adjacent swaps cost 1", () => {
  assert.equal(editDistance("", ""), 0);
  assert.equal(editDistance("", "abc"), 3);
  assert.equal(editDistance("abc", ""), 3);
  assert.equal(editDistance("mnist", "mnist"), 0);
  assert.equal(editDistance("mnst", "mnist"), 1); // insertion
  assert.equal(editDistance("mnistt", "mnist"), 1); // deletion
  assert.equal(editDistance("mnisx", "mnist"), 1); // substitution
  assert.equal(editDistance("mnsit", "mnist"), 1); // swap (Levenshtein would say 2)
  assert.equal(editDistance("kitten", "sitting"), 3);
  // Optimal string alignment: "ca" → "abc" is 3 (no substring edited twice), not 2.
  assert.equal(editDistance("ca", "abc"), 3);
  // Symmetric.
  for (const [a, b] of [["flickr30k", "flikr8k"], ["--dataset", "--datset"], ["ab", "ba"]]) {
    assert.equal(editDistance(a, b), editDistance(b, a));
  }
});

Deno.test("closestNames: the nearest, within a threshold by length, case-insensitive", () => {
  const names = REGISTERED_DATASETS.map((d) => d.name);
  assert.deepEqual(closestNames("mnst", names), ["mnist"]);
  assert.deepEqual(closestNames("MNIST", names), ["mnist"]);
  assert.deepEqual(closestNames("vtab_cifar1000", names), ["vtab_cifar100"]); // only the nearest
  assert.deepEqual(closestNames("vtab_cifar10x", names), ["vtab_cifar10", "vtab_cifar100"]);
  assert.deepEqual(closestNames("imagenet1", names), ["imagenet1k"]);
  assert.deepEqual(closestNames("zzzz", names), []);
  assert.deepEqual(closestNames("mnist", ["mnist"]), [], "an exact name suggests nothing");
});

Deno.test("didYouMean: one, two or no suggestions as a message tail", () => {
  assert.equal(didYouMean("--datset", ["--dataset", "--model"]), " (did you mean '--dataset'?)");
  assert.equal(
    didYouMean("vtab_cifar10x", ["vtab_cifar10", "vtab_cifar100", "vtab_cifar1"]),
    " (did you mean 'vtab_cifar10' or 'vtab_cifar100'?)",
  );
  assert.equal(didYouMean("--bogus", ["--dataset", "--model"]), "");
});
