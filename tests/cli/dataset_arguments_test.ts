/** `--dataset datasets.txt` (src/cli/dataset_arguments.ts), on real files. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { UsageError } from "../../src/errors.ts";
import { expandDatasetArguments, parseDatasetListText } from "../../src/cli/dataset_arguments.ts";

Deno.test("parseDatasetListText: one name a line; blank lines and # comments ignored", () => {
  assert.deepEqual(
    parseDatasetListText("# VTAB\nvtab_cifar10\r\n\n  cars  # Stanford cars\nmnist\n#end"),
    ["vtab_cifar10", "cars", "mnist"],
  );
});

Deno.test("expandDatasetArguments: existing .txt files are lists, other values names", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const list = join(dir, "webdatasets.txt");
    await Deno.writeTextFile(list, "cars\n\n# comment\nvtab_cifar10\n");
    assert.deepEqual(await expandDatasetArguments(["mnist", list, "flickr30k"]), [
      "mnist",
      "cars",
      "vtab_cifar10",
      "flickr30k",
    ]);
    // A .txt name that is no file stays a name (then refused as an unknown dataset, say).
    assert.deepEqual(await expandDatasetArguments([join(dir, "missing.txt")]), [
      join(dir, "missing.txt"),
    ]);
    // A folder named *.txt is not a list.
    await Deno.mkdir(join(dir, "folder.txt"));
    assert.deepEqual(await expandDatasetArguments([join(dir, "folder.txt")]), [
      join(dir, "folder.txt"),
    ]);
    const empty = join(dir, "empty.txt");
    await Deno.writeTextFile(empty, "# nothing\n\n");
    await assert.rejects(
      expandDatasetArguments([empty]),
      (error: unknown) => error instanceof UsageError && error.message.includes(empty),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
