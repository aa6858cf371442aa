import assert from "node:assert/strict";
import { CheckpointError } from "../../src/checkpoint/checkpoint.ts";
import { FileBytes } from "../../src/checkpoint/file_bytes.ts";
import { looksLikeZip, readZipDirectory } from "../../src/checkpoint/zip.ts";
import { scratchFile, VECTORS } from "./_vectors.ts";

async function directory(path: string) {
  return readZipDirectory(await FileBytes.open(path));
}

async function rejectsNaming(path: string, pattern: RegExp): Promise<void> {
  await assert.rejects(directory(path), (error: unknown) => {
    assert.ok(error instanceof CheckpointError, String(error));
    assert.ok(error.message.startsWith(`${path}: `), error.message);
    assert.match(error.message, pattern);
    return true;
  });
}

Deno.test("torch's zip: every entry, its data in place", async () => {
  const path = `${VECTORS}dtypes/pytorch_model.bin`;
  const entries = await directory(path);
  const names = [...entries.keys()];
  assert.ok(names.includes("pytorch_model/data.pkl"), names.join());
  assert.ok(names.includes("pytorch_model/version"), names.join());
  const version = entries.get("pytorch_model/version")!;
  const bytes = (await FileBytes.open(path)).read(version.offset, version.size, "version");
  assert.equal(new TextDecoder().decode(bytes).trim(), "3");
  const pickle = entries.get("pytorch_model/data.pkl")!;
  const head = (await FileBytes.open(path)).read(pickle.offset, 2, "data.pkl");
  assert.deepEqual([...head], [0x80, 0x02]);
});

Deno.test("ZIP64 records (extra fields, end record and locator) give the same entries", async () => {
  const plain = await directory(`${VECTORS}dtypes/pytorch_model.bin`);
  const zip64 = await directory(`${VECTORS}zip64/pytorch_model.bin`);
  assert.deepEqual([...zip64.keys()].sort(), [...plain.keys()].sort());
  const a = await FileBytes.open(`${VECTORS}dtypes/pytorch_model.bin`);
  const b = await FileBytes.open(`${VECTORS}zip64/pytorch_model.bin`);
  for (const [name, entry] of plain) {
    const other = zip64.get(name)!;
    assert.equal(other.size, entry.size, name);
    assert.deepEqual(
      b.read(other.offset, other.size, name),
      a.read(entry.offset, entry.size, name),
    );
  }
});

Deno.test("compressed entries are refused naming the entry", async () => {
  await rejectsNaming(
    `${VECTORS}bad/deflated.bin`,
    /ZIP entry "[^"]+": compressed \(method 8\); only stored entries/,
  );
});

Deno.test("a truncated archive has no end record", async () => {
  const whole = await Deno.readFile(`${VECTORS}dtypes/pytorch_model.bin`);
  await rejectsNaming(
    await scratchFile("cut.bin", whole.subarray(0, Math.floor(whole.length / 2))),
    /no ZIP end-of-central-directory record: truncated or not a ZIP archive/,
  );
  await rejectsNaming(await scratchFile("tiny.bin", whole.subarray(0, 10)), /too short/);
});

Deno.test("a corrupt central directory or out-of-bounds offsets are named", async () => {
  const whole = await Deno.readFile(`${VECTORS}dtypes/pytorch_model.bin`);
  const view = new DataView(whole.buffer);
  const eocd = whole.length - 22;
  assert.equal(view.getUint32(eocd, true), 0x06054b50);
  const directoryOffset = view.getUint32(eocd + 16, true);

  const badSignature = whole.slice();
  badSignature[directoryOffset] ^= 0xff;
  await rejectsNaming(
    await scratchFile("sig.bin", badSignature),
    /corrupt ZIP central directory \(entry 0 at byte \d+\)/,
  );

  const badDirectoryOffset = whole.slice();
  new DataView(badDirectoryOffset.buffer).setUint32(eocd + 16, whole.length, true);
  await rejectsNaming(
    await scratchFile("cd.bin", badDirectoryOffset),
    /central directory .* extends past its end record/,
  );

  const badLocal = whole.slice();
  // The first central entry's local header offset, pointed past the directory start.
  new DataView(badLocal.buffer).setUint32(directoryOffset + 42, directoryOffset, true);
  await rejectsNaming(
    await scratchFile("local.bin", badLocal),
    /ZIP entry "pytorch_model\/data\.pkl": local header offset out of bounds/,
  );

  const badSize = whole.slice();
  const sizes = new DataView(badSize.buffer);
  sizes.setUint32(directoryOffset + 20, directoryOffset, true);
  sizes.setUint32(directoryOffset + 24, directoryOffset, true);
  await rejectsNaming(
    await scratchFile("size.bin", badSize),
    /ZIP entry "pytorch_model\/data\.pkl": data \(\d+ bytes at \d+\) out of bounds/,
  );

  const encrypted = whole.slice();
  encrypted[directoryOffset + 8] |= 1;
  await rejectsNaming(await scratchFile("enc.bin", encrypted), /encrypted entries/);
});

Deno.test("looksLikeZip", () => {
  assert.ok(looksLikeZip(new Uint8Array([0x50, 0x4b, 0x03, 0x04])));
  assert.ok(!looksLikeZip(new Uint8Array([0x80, 0x02, 0x8a, 0x0a])));
  assert.ok(!looksLikeZip(new Uint8Array([0x50])));
});
