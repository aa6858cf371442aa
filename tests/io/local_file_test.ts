/**
 * Local files read as byte streams: a file that shrinks while it is read fails at the offset
 * reached.
 */

import assert from "node:assert/strict";
import { openByteStream } from "../../src/io/byte_source.ts";
import { rejectsWith } from "./_rejections.ts";

Deno.test("a file that shrinks while it is read is cut short at the offset reached", async () => {
  const path = await Deno.makeTempFile({ prefix: "clipbench_shrinking_" });
  try {
    await Deno.writeFile(path, new Uint8Array(5000));
    const stream = await openByteStream(path);
    await Deno.truncate(path, 1000);
    let total = 0;
    await rejectsWith(
      (async () => {
        for await (const chunk of stream) total += chunk.length;
      })(),
      (error) => {
        assert.equal(error.path, path);
        assert.equal(error.offset, 1000);
        assert.match(error.message, /cut short: got 1000 of 5000 bytes/);
      },
    );
    assert.equal(total, 1000);
  } finally {
    await Deno.remove(path);
  }
});
