/**
 * Tests of WebDataset sample grouping, checked case by case against the rules of webdataset's
 * tariterators.py (`base_plus_ext`, `group_by_keys`, `tar_file_iterator`'s meta skipping) and
 * against the members Python's tarfile reads from tests/data/tar/ustar.tar.
 */

import assert from "node:assert/strict";
import { DatasetError, SampleError } from "../../src/errors.ts";
import { type TarEntry, TarEntryStream } from "../../src/dataset/tar_stream.ts";
import {
  imageField,
  isMetaMember,
  labelField,
  type Sample,
  SampleStream,
  splitSampleKey,
} from "../../src/dataset/webdataset.ts";

const encoder = new TextEncoder();

function entry(path: string, text = path, offset = 0): TarEntry {
  const data = encoder.encode(text);
  return { path, size: data.length, offset, data };
}

/** Samples grouped from `entries`, and the error the stream ended with, if any. */
async function group(entries: TarEntry[]): Promise<{ samples: Sample[]; error?: unknown }> {
  const samples: Sample[] = [];
  const stream = ReadableStream.from(entries).pipeThrough(new SampleStream({ source: "s.tar" }));
  try {
    for await (const sample of stream) samples.push(sample);
  } catch (error) {
    return { samples, error };
  }
  return { samples };
}

function summary(samples: Sample[]): [string, string[]][] {
  return samples.map((sample) => [sample.key, [...sample.fields.keys()]]);
}

function sample(key: string, fields: Record<string, string>): Sample {
  const map = new Map<string, Uint8Array>();
  for (const [ext, text] of Object.entries(fields)) map.set(ext, encoder.encode(text));
  return { key, source: "s.tar", fields: map };
}

Deno.test("splitSampleKey follows webdataset's base_plus_ext", () => {
  const cases: [string, [string, string] | undefined][] = [
    ["a.b.c.png", ["a", "b.c.png"]],
    ["dir/x.JPG", ["dir/x", "JPG"]],
    ["s0000001.cls", ["s0000001", "cls"]],
    ["a.b/c.d.e", ["a.b/c", "d.e"]],
    ["x.", ["x", ""]],
    ["noext", undefined],
    ["dir.d/noext", undefined],
    [".hidden.png", undefined],
    // The key part [^.]+ may span slashes: a dot-file's key is its directory with the slash.
    ["dir/.x.png", ["dir/", "x.png"]],
    // Python's `.` matches a carriage return (only \n is excluded).
    ["a\rb/c.png", ["a\rb/c", "png"]],
    ["", undefined],
  ];
  for (const [path, expected] of cases) {
    const parts = splitSampleKey(path);
    assert.deepEqual(
      parts === undefined ? undefined : [parts.key, parts.extension],
      expected,
      JSON.stringify(path),
    );
  }
});

Deno.test("isMetaMember follows tar_file_iterator's meta skipping", () => {
  for (const path of ["__meta__", "__", "___", "__x__/y.json", "__a.b__"]) {
    assert.equal(isMetaMember(path), true, path);
  }
  for (const path of ["__meta__.json", "d/__x__", "x__", "__x", "s.__x__"]) {
    assert.equal(isMetaMember(path), false, path);
  }
});

Deno.test("consecutive members with one key form a sample; extensions are lower-cased", async () => {
  const { samples, error } = await group([
    entry("a.b.c.png"),
    entry("dir/x.JPG", "jpeg bytes"),
    entry("dir/x.cls", "3"),
    entry("noext"),
    entry("__meta__"),
    entry("dir/x.Seg.PNG"),
    entry("k1.txt"),
    entry("k2.txt"),
    entry("k1.cls"),
  ]);
  assert.equal(error, undefined);
  assert.deepEqual(summary(samples), [
    ["a", ["b.c.png"]],
    ["dir/x", ["jpg", "cls", "seg.png"]],
    ["k1", ["txt"]],
    ["k2", ["txt"]],
    // A key that comes back after another one starts a new sample, as in webdataset.
    ["k1", ["cls"]],
  ]);
  assert.ok(samples.every((s) => s.source === "s.tar"));
  assert.equal(new TextDecoder().decode(samples[1].fields.get("jpg")), "jpeg bytes");
  assert.deepEqual((await group([])).samples, []);
});

Deno.test("a repeated extension in one sample is an error naming key, extension and offset", async () => {
  const { samples, error } = await group([
    entry("a.png", "a", 0),
    entry("b.png", "b", 1024),
    entry("b.PNG", "c", 2048),
  ]);
  assert.ok(error instanceof DatasetError);
  assert.equal(error.path, "s.tar");
  assert.equal(error.offset, 2048);
  assert.match(error.message, /sample "b" has a second member with extension "png" \("b\.PNG"/);
  // The transform that meets the duplicate enqueues nothing, so sample "a" was read first.
  assert.deepEqual(summary(samples), [["a", ["png"]]]);
  // webdataset's own bookkeeping fields collide too.
  const reserved = await group([entry("k.__key__", "x", 512)]);
  assert.ok(reserved.error instanceof DatasetError);
  assert.equal(reserved.error.offset, 512);
});

Deno.test("a real archive groups into the samples webdataset would make", async () => {
  const file = await Deno.open(new URL("../data/tar/ustar.tar", import.meta.url));
  const samples: Sample[] = [];
  const stream = file.readable
    .pipeThrough(new TarEntryStream({ source: "ustar.tar" }))
    .pipeThrough(new SampleStream({ source: "ustar.tar" }));
  for await (const sample of stream) samples.push(sample);
  assert.deepEqual(summary(samples), [
    ["data/s0001", ["cls", "png"]],
    ["data/s0002", ["empty", "bin"]],
    ["p".repeat(60) + "/" + "q".repeat(50) + "/s0003", ["txt"]],
    ["dir/x", ["jpg"]],
    ["a", ["b.c.png"]],
  ]);
  assert.equal(samples[0].fields.get("png")!.length, 70000);
  assert.equal(labelField(samples[0]), 7);
  assert.deepEqual(imageField(samples[0])?.ext, "png");
  assert.deepEqual(imageField(samples[3])?.ext, "jpg");
  assert.equal(imageField(samples[4]), undefined); // "b.c.png" is not the "png" field
});

Deno.test("imageField takes webp, png, jpg, jpeg in that order", () => {
  const cases: [Record<string, string>, string | undefined][] = [
    [{ jpg: "1", png: "2", webp: "3" }, "webp"],
    [{ jpeg: "1", png: "2" }, "png"],
    [{ jpeg: "1", jpg: "2" }, "jpg"],
    [{ jpeg: "1", cls: "0" }, "jpeg"],
    [{ gif: "1", cls: "0" }, undefined],
  ];
  for (const [fields, expected] of cases) {
    const image = imageField(sample("k", fields));
    assert.equal(image?.ext, expected, JSON.stringify(fields));
    if (expected !== undefined) {
      assert.equal(new TextDecoder().decode(image!.bytes), fields[expected]);
    }
  }
});

Deno.test("labelField parses cls like Python's int(bytes)", () => {
  const valid: [string, number][] = [
    ["7", 7],
    [" 3\n", 3],
    ["\t12\r\n", 12],
    ["+4", 4],
    ["-2", -2],
    ["-0", 0],
    ["007", 7],
    ["1_000", 1000],
  ];
  for (const [text, expected] of valid) {
    assert.equal(labelField(sample("k", { cls: text })), expected, JSON.stringify(text));
  }
  for (
    const text of [
      "",
      " ",
      "3.0",
      "abc",
      "1__0",
      "_1",
      "1_",
      "٣",
      "0x1",
      "1 2",
      "99999999999999999999",
    ]
  ) {
    assert.throws(
      () => labelField(sample("s0000042", { cls: text })),
      (error: unknown) =>
        error instanceof SampleError && error.key === "s0000042" && /cls field/.test(error.message),
      JSON.stringify(text),
    );
  }
  assert.equal(labelField(sample("k", { png: "x" })), undefined);
});
