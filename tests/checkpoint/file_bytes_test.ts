import assert from "node:assert/strict";
import { CheckpointError } from "../../src/checkpoint/checkpoint.ts";
import { FileBytes } from "../../src/checkpoint/file_bytes.ts";
import { scratchFile } from "./_vectors.ts";

Deno.test("reads byte ranges into buffers of their own, with or without a held handle", async () => {
  const path = await scratchFile("bytes.bin", Uint8Array.from({ length: 100 }, (_, i) => i));
  const file = await FileBytes.open(path);
  assert.equal(file.size, 100);
  const range = file.read(10, 5, "a range");
  assert.deepEqual([...range], [10, 11, 12, 13, 14]);
  assert.equal(range.byteOffset, 0);
  file.hold();
  assert.deepEqual([...file.read(98, 2, "the end")], [98, 99]);
  assert.deepEqual([...file.read(0, 1, "the start")], [0]);
  file.release();
  assert.equal(file.read(100, 0, "nothing").length, 0);
});

Deno.test("a range past the end names the file and what needed it", async () => {
  const path = await scratchFile("short.bin", new Uint8Array(8));
  const file = await FileBytes.open(path);
  assert.throws(() => file.read(4, 8, `tensor "w"`), (error: unknown) => {
    assert.ok(error instanceof CheckpointError);
    assert.match(error.message, /short\.bin: truncated: tensor "w" needs bytes 4\.\.12/);
    return true;
  });
});

Deno.test("a file truncated after it was opened is an error, not short data", async () => {
  const path = await scratchFile("shrinks.bin", new Uint8Array(64));
  const file = await FileBytes.open(path);
  await Deno.truncate(path, 16);
  assert.throws(() => file.read(8, 32, "a range"), CheckpointError);
});

Deno.test("a missing file is a CheckpointError naming it", async () => {
  await assert.rejects(FileBytes.open("/nonexistent/model.safetensors"), (error: unknown) => {
    assert.ok(error instanceof CheckpointError);
    assert.match(error.message, /\/nonexistent\/model\.safetensors/);
    return true;
  });
});
