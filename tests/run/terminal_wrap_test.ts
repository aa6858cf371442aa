/** Messages wrapped at a terminal's width (src/run/terminal_wrap.ts). */
import assert from "node:assert/strict";
import { wrapText } from "../../src/run/terminal_wrap.ts";

Deno.test("wrapText: at spaces, continuation indented, long words cut, every line narrower", () => {
  const message = "tiny-clip-demo / fashion_mnist_1k: zeroshot_classification over 1 shard(s) of " +
    "/a/very/long/path/to/some/dataset/folder/that/will/not/fit/on/one/line/at/all/fashion_mnist_1k";
  const wrapped = wrapText(message, 40);
  const lines = wrapped.split("\n");
  assert.ok(lines.length > 2);
  for (const line of lines) assert.ok(line.length < 40, line);
  assert.ok(lines.slice(1).every((line) => line.startsWith("  ")));
  // Nothing is lost: the words come back when the breaks are undone.
  assert.equal(
    lines.join("").replaceAll(" ", ""),
    message.replaceAll(" ", ""),
    "the cut long word joins up again",
  );
  assert.equal(wrapText("short line\n  another", 40), "short line\n  another");
  // An indented line keeps its indent on its continuation lines.
  const indented = wrapText("  model / dataset: error text that is long enough to wrap", 30);
  assert.ok(indented.split("\n").slice(1).every((line) => line.startsWith("    ")), indented);
});
