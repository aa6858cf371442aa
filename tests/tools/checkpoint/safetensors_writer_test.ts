/**
 * The safetensors writer: files it writes (streamed, or as bytes) read back through clipbench's
 * own reader (src/checkpoint) with the same names, shapes and values; the header is 8-byte
 * aligned and refuses repeated names and bad shapes.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { readSafetensors } from "../../../src/checkpoint/safetensors.ts";
import { openCheckpoint } from "../../../src/checkpoint/open_checkpoint.ts";
import {
  safetensorsBytes,
  safetensorsHeader,
  type TensorToWrite,
  writeSafetensors,
} from "../../../tools/checkpoint/safetensors_writer.ts";

const tensors: TensorToWrite[] = [
  { name: "b.scalar", shape: [], fill: (out) => out.fill(2.5) },
  { name: "a.matrix", shape: [2, 3], fill: (out) => out.forEach((_, i) => (out[i] = i - 1.25)) },
  { name: "c.empty", shape: [0, 4], fill: () => {} },
  { name: "d.vector", shape: [5], fill: (out) => out.forEach((_, i) => (out[i] = 1 / (i + 1))) },
];

Deno.test("safetensors writer: round trip through readSafetensors and openCheckpoint", async () => {
  const dir = await Deno.makeTempDir({ prefix: "clipbench-safetensors-writer-" });
  try {
    const path = join(dir, "model.safetensors");
    const size = await writeSafetensors(path, tensors, { format: "pt" });
    assert.equal(size, (await Deno.stat(path)).size);
    assert.deepEqual(await Deno.readFile(path), safetensorsBytes(tensors, { format: "pt" }));
    const file = await readSafetensors(path);
    assert.deepEqual(file.metadata, { format: "pt" });
    assert.deepEqual(file.tensors.map((t) => t.name), tensors.map((t) => t.name));
    const checkpoint = await openCheckpoint(dir);
    for (const written of tensors) {
      const read = checkpoint.get(written.name);
      assert.ok(read, written.name);
      assert.equal(read.dtype, "F32");
      assert.deepEqual([...read.shape], written.shape);
      const expected = new Float32Array(written.shape.reduce((n, d) => n * d, 1));
      written.fill(expected);
      assert.deepEqual(read.float32(), expected);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("safetensors writer: header length is a multiple of 8 and names are unique", () => {
  for (const count of [1, 2, 3, 4]) {
    const header = safetensorsHeader(tensors.slice(0, count));
    const length = Number(new DataView(header.buffer).getBigUint64(0, true));
    assert.equal(length % 8, 0);
    assert.equal(header.length, 8 + length);
    const json = JSON.parse(new TextDecoder().decode(header.subarray(8)));
    assert.equal(Object.keys(json).length, count);
  }
  assert.throws(() => safetensorsHeader([tensors[0], tensors[0]]), /repeated/);
  assert.throws(() => safetensorsBytes([tensors[0], tensors[0]]), /repeated/);
  assert.throws(
    () => safetensorsHeader([{ name: "x", shape: [1.5], fill: () => {} }]),
    /bad shape/,
  );
});
