/**
 * ModelScope's `.msc` cache index: read as Python's `pickle.dumps` writes it (protocols 2, 4 and
 * 5; tests/data/hub, made by tools/vectors/make_msc_vectors.py), and written in bytes that the
 * generator checked load in Python to the intended list.
 */

import assert from "node:assert/strict";
import { readCacheIndex, writeCacheIndex } from "../../src/hub/pickle_index.ts";

const DATA = new URL("../data/hub/", import.meta.url);

Deno.test("indexes pickled by Python (protocols 2, 4, 5) are read", async () => {
  const expected = JSON.parse(await Deno.readTextFile(new URL("msc_expected.json", DATA)));
  assert.equal(expected.length, 133);
  for (const protocol of [2, 4, 5]) {
    const bytes = await Deno.readFile(new URL(`msc_protocol${protocol}.pickle`, DATA));
    assert.deepEqual(readCacheIndex(bytes), expected, `protocol ${protocol}`);
  }
});

Deno.test("indexes are written in bytes Python loads to the same list", async () => {
  const written = JSON.parse(await Deno.readTextFile(new URL("msc_written.json", DATA)));
  const expected = await Deno.readFile(new URL("msc_clipbench.pickle", DATA));
  assert.deepEqual(writeCacheIndex(written), expected);
  assert.deepEqual(readCacheIndex(writeCacheIndex(written)), written);
  assert.deepEqual(readCacheIndex(writeCacheIndex([])), []);
  assert.deepEqual(readCacheIndex(writeCacheIndex([{}])), [{}]);
});

Deno.test("pickles that are not such an index are refused, naming the problem", () => {
  const cases: [number[], RegExp][] = [
    [[0x80, 0x02, 0x4b, 0x01, 0x2e], /unsupported pickle opcode 0x4b at byte 2/], // BININT1
    [[0x80, 0x02, 0x7d, 0x2e], /does not hold a list/],
    [[0x80, 0x02, 0x5d, 0x4e, 0x61, 0x2e], /item 0 is not a dict/],
    [[0x80, 0x02, 0x5d], /truncated at byte 3/],
    [[0x80, 0x02, 0x5d, 0x68, 0x05], /unknown memo 5/],
    [[0x80, 0x02, 0x5d, 0x58, 0x09, 0x00, 0x00, 0x00, 0x61], /truncated/],
  ];
  for (const [bytes, message] of cases) {
    assert.throws(() => readCacheIndex(Uint8Array.from(bytes)), message);
  }
});
