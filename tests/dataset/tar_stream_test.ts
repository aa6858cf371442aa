/**
 * Tests of the streaming tar reader against archives written (and read back) by Python's
 * tarfile: tools/vectors/make_tar_vectors.py made tests/data/tar/*.tar and manifest.json, which
 * records what Python reads from each (names, sizes, offsets, data sha256).
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import { DatasetError } from "../../src/errors.ts";
import { type TarEntry, TarEntryStream } from "../../src/dataset/tar_stream.ts";

const DATA = new URL("../data/tar/", import.meta.url);

interface ManifestMember {
  name: string;
  type: string;
  size: number;
  offset: number;
  offset_data: number;
  isreg: boolean;
  sha256?: string;
}

const manifest: Record<string, { length: number; members: ManifestMember[] }> = JSON.parse(
  await Deno.readTextFile(new URL("manifest.json", DATA)),
);

function readArchive(name: string): Promise<Uint8Array> {
  return Deno.readFile(new URL(name, DATA));
}

/** A stream delivering `bytes` in chunks of `chunkSize` (the last one shorter). */
function chunked(bytes: Uint8Array, chunkSize: number): ReadableStream<Uint8Array> {
  let position = 0;
  return new ReadableStream({
    pull(controller) {
      if (position >= bytes.length) {
        controller.close();
        return;
      }
      controller.enqueue(bytes.slice(position, position + chunkSize));
      position += chunkSize;
    },
  });
}

/** Entries read before the stream ended, and the error it ended with (if any). */
interface ParseResult {
  entries: TarEntry[];
  error?: DatasetError;
}

async function parse(
  bytes: Uint8Array,
  chunkSize = bytes.length || 1,
  maxMemberSize?: number,
  allowMissingEnd = false,
): Promise<ParseResult> {
  const entries: TarEntry[] = [];
  const stream = chunked(bytes, chunkSize).pipeThrough(
    new TarEntryStream({ source: "shard.tar", maxMemberSize, allowMissingEnd }),
  );
  try {
    for await (const entry of stream) entries.push(entry);
  } catch (error) {
    assert.ok(error instanceof DatasetError, `expected a DatasetError, got ${error}`);
    return { entries, error };
  }
  return { entries };
}

function describe(entries: TarEntry[]) {
  return entries.map((entry) => {
    assert.equal(entry.data.length, entry.size);
    const sha256 = createHash("sha256").update(entry.data).digest("hex");
    return { name: entry.path, size: entry.size, offset: entry.offset, sha256 };
  });
}

function pythonRegularMembers(name: string, upTo = Infinity) {
  return manifest[name].members
    .filter((member) => member.isreg && member.offset_data + member.size <= upTo)
    .map((member) => ({
      name: member.name,
      size: member.size,
      offset: member.offset,
      sha256: member.sha256,
    }));
}

/**
 * Checks the entries read before an error: a prefix of those Python reads before that point
 * (an error errors the stream at once, and entries queued but not yet read are discarded, as
 * usual for web streams), all of them when there was no error.
 */
function assertEntriesBefore(result: ParseResult, expected: unknown[], label: string): void {
  const actual = describe(result.entries);
  if (result.error === undefined) {
    assert.deepEqual(actual, expected, label);
  } else {
    assert.deepEqual(actual, expected.slice(0, actual.length), label);
  }
}

/** Rewrites a header's checksum field the way Python's tarfile writes it ("%06o\0 "). */
function fixChecksum(bytes: Uint8Array, headerOffset: number): void {
  const header = bytes.subarray(headerOffset, headerOffset + 512);
  header.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of header) sum += byte;
  const field = new TextEncoder().encode(sum.toString(8).padStart(6, "0") + "\0 ");
  header.set(field, 148);
}

const ARCHIVES = Object.keys(manifest);

/** v7.tar was written without end-of-archive blocks on purpose (it ends at a header boundary). */
const WITHOUT_END = new Set(["v7.tar"]);

Deno.test("every archive gives the regular members Python's tarfile reads, whatever the chunking", async () => {
  for (const name of ARCHIVES) {
    const bytes = await readArchive(name);
    const expected = pythonRegularMembers(name);
    assert.ok(expected.length > 0);
    for (const chunkSize of [1, 511, 512, 513, 4096, bytes.length]) {
      const result = await parse(bytes, chunkSize, undefined, WITHOUT_END.has(name));
      assert.equal(result.error, undefined, `${name} in ${chunkSize}-byte chunks`);
      assert.deepEqual(describe(result.entries), expected, `${name} in ${chunkSize}-byte chunks`);
    }
  }
});

Deno.test("a member bigger than one file-read chunk streams from disk intact", async () => {
  const file = await Deno.open(new URL("ustar.tar", DATA));
  const entries: TarEntry[] = [];
  for await (
    const entry of file.readable.pipeThrough(new TarEntryStream({ source: "ustar.tar" }))
  ) {
    entries.push(entry);
  }
  assert.deepEqual(describe(entries), pythonRegularMembers("ustar.tar"));
  const big = entries.find((entry) => entry.path === "data/s0001.png")!;
  assert.equal(big.size, 70000);
  // member_bytes(1, size) of the generator: (seed * 7 + j * 31 + (j >> 9)) mod 256.
  for (const j of [0, 1, 511, 512, 65535, 65536, 69999]) {
    assert.equal(big.data[j], (7 + j * 31 + (j >> 9)) & 0xff, `byte ${j}`);
  }
});

Deno.test("special members: sizes 0, 512 and 511, links and FIFOs skipped, extension headers", async () => {
  const ustar = (await parse(await readArchive("ustar.tar"))).entries;
  assert.deepEqual(ustar.map((entry) => [entry.path, entry.size]), [
    ["data/s0001.cls", 1],
    ["data/s0001.png", 70000],
    ["data/s0002.empty", 0],
    ["data/s0002.bin", 512],
    ["p".repeat(60) + "/" + "q".repeat(50) + "/s0003.txt", 511],
    ["dir/x.JPG", 100],
    ["a.b.c.png", 3],
  ]);
  const pax = (await parse(await readArchive("pax.tar"))).entries;
  const paxNames = pax.map((entry) => entry.path);
  assert.ok(paxNames.includes("pax/日本語/画像.png"));
  assert.ok(paxNames.includes("pax/café/ñandú.JPG"));
  assert.ok(paxNames.includes("pax/" + "d".repeat(120) + "/" + "e".repeat(140) + "/s0001.txt"));
  // The pax "size" record (600) overrides the patched ustar size field (1).
  const override = pax.find((entry) => entry.path === "pax/override.bin")!;
  assert.equal(override.size, 600);
  // A member described by an x header starts at that header (Python's TarInfo.offset): the
  // first one follows the global header (512 + 512 bytes).
  assert.equal(pax[0].offset, 1024);
  const global = (await parse(await readArchive("pax_global.tar"))).entries;
  assert.deepEqual(global.map((entry) => entry.path), [
    "global/named.txt",
    "local/override.txt",
    "global/named.txt",
  ]);
  const gnu = (await parse(await readArchive("gnu.tar"))).entries;
  assert.equal(gnu[0].path, "gnu/" + "n".repeat(140) + ".txt");
  assert.equal(gnu[0].offset, 0);
  assert.ok(gnu.some((entry) => entry.path === "gnu/ünïcode.png" && entry.size === 513));
  const v7 = (await parse(await readArchive("v7.tar"), undefined, undefined, true)).entries;
  assert.deepEqual(v7.map((entry) => entry.path), ["v7/s0001.txt", "v7/café.txt", "v7/s0002.bin"]);
  const patched = (await parse(await readArchive("patched.tar"))).entries;
  assert.deepEqual(patched.map((entry) => [entry.path, entry.size]), [
    ["big/s0001.bin", 1000],
    ["cont/s0002.txt", 64],
    ["after/s0003.txt", 10],
  ]);
});

/**
 * Where a truncated archive must fail, computed from Python's layout of the archive: the input
 * may end only after the first end-of-archive block — or, with `allowMissingEnd` (Python's
 * behaviour), also where a member's first header starts or where that block starts. Everywhere
 * else the error's offset is the truncation point.
 */
function truncationExpectation(
  name: string,
  cut: number,
  allowMissingEnd: boolean,
): { clean: boolean } {
  const { members } = manifest[name];
  const blockEnd = (member: ManifestMember) =>
    member.offset_data + (member.type === "5" ? 0 : Math.ceil(member.size / 512) * 512);
  const archiveEnd = Math.max(...members.map(blockEnd));
  const atBoundary = members.some((member) => member.offset === cut) || cut === archiveEnd;
  const clean = cut > 0 && (cut >= archiveEnd + 512 || (allowMissingEnd && atBoundary));
  return { clean };
}

Deno.test("a truncated archive fails at the exact offset where the input ended", async () => {
  for (
    const [name, allowMissingEnd] of ["ustar.tar", "gnu.tar", "pax.tar", "pax_global.tar"]
      .flatMap((name) => [[name, false], [name, true]] as const)
  ) {
    const bytes = await readArchive(name);
    const cuts = new Set<number>([0]);
    for (const member of manifest[name].members) {
      const dataEnd = member.offset_data + member.size;
      const blockEnd = member.offset_data + Math.ceil(member.size / 512) * 512;
      for (
        const cut of [
          member.offset,
          member.offset + 1,
          member.offset + 148,
          member.offset_data - 512,
          member.offset_data - 1,
          member.offset_data,
          member.offset_data + 1,
          dataEnd - 1,
          dataEnd,
          dataEnd + 1,
          blockEnd - 1,
          blockEnd,
          blockEnd + 1,
          blockEnd + 512,
        ]
      ) {
        if (cut >= 0 && cut < bytes.length) cuts.add(cut);
      }
    }
    let errors = 0;
    for (const cut of [...cuts].sort((a, b) => a - b)) {
      const result = await parse(bytes.slice(0, cut), undefined, undefined, allowMissingEnd);
      const label = `${name} cut at ${cut}${allowMissingEnd ? " (allowMissingEnd)" : ""}`;
      assertEntriesBefore(result, pythonRegularMembers(name, cut), label);
      if (truncationExpectation(name, cut, allowMissingEnd).clean) {
        assert.equal(result.error, undefined, `${label}: ${result.error?.message}`);
      } else {
        errors++;
        assert.ok(result.error !== undefined, `${label}: no error`);
        assert.equal(result.error.path, "shard.tar", label);
        assert.equal(result.error.offset, cut, `${label}: ${result.error.message}`);
      }
    }
    assert.ok(errors > 20, `${name}: only ${errors} failing cuts`);
  }
});

Deno.test("truncation messages name the header block or the member", async () => {
  const bytes = await readArchive("ustar.tar");
  // data/s0001.png: header at 1536, 70000 data bytes from 2048.
  const midHeader = (await parse(bytes.slice(0, 1536 + 100))).error!;
  assert.equal(midHeader.offset, 1636);
  assert.match(midHeader.message, /^shard\.tar: .*byte 1636.*header block at byte 1536/);
  const midData = (await parse(bytes.slice(0, 2048 + 65536), 4096)).error!;
  assert.equal(midData.offset, 67584);
  assert.match(midData.message, /member "data\/s0001\.png" \(header at byte 1536\)/);
  assert.match(midData.message, /4464 of 70000 bytes missing/);
  const midPadding = (await parse(bytes.slice(0, 2048 + 70000 + 1))).error!;
  assert.equal(midPadding.offset, 72049);
  assert.match(midPadding.message, /padding after member "data\/s0001\.png"/);
  const pax = await readArchive("pax.tar");
  // The first x header is at 1024 (512 header + 512 data), the member's own header at 2048.
  const afterExtension = (await parse(pax.slice(0, 2048))).error!;
  assert.equal(afterExtension.offset, 2048);
  assert.match(afterExtension.message, /extension header at byte 1024/);
  const zeros = new Uint8Array(2048 + 1024);
  zeros.set(pax.subarray(0, 2048));
  const endAfterExtension = (await parse(zeros)).error!;
  assert.equal(endAfterExtension.offset, 2048);
  assert.match(endAfterExtension.message, /end-of-archive block at byte 2048/);
  const empty = (await parse(new Uint8Array(0))).error!;
  assert.equal(empty.offset, 0);
  assert.match(empty.message, /empty tar archive/);
});

Deno.test("a corrupted header fails with its offset: checksum bytes, name bytes, garbage", async () => {
  for (const name of ["ustar.tar", "gnu.tar", "pax.tar", "v7.tar"]) {
    const original = await readArchive(name);
    const headers = new Set<number>();
    for (const member of manifest[name].members) {
      headers.add(member.offset);
      headers.add(member.offset_data - 512);
    }
    for (const header of headers) {
      for (const [field, label] of [[148, "checksum"], [3, "name"]] as const) {
        const bytes = original.slice();
        bytes[header + field] ^= 0x01;
        const result = await parse(bytes, 1000);
        const what = `${name}: ${label} byte of the header at ${header}`;
        assert.ok(result.error !== undefined, `${what}: no error`);
        assert.equal(result.error.offset, header, `${what}: ${result.error.message}`);
        assert.match(
          result.error.message,
          new RegExp(`bad tar header checksum at byte ${header}:`),
        );
        assertEntriesBefore(result, pythonRegularMembers(name, header), what);
      }
    }
  }
  const ustar = await readArchive("ustar.tar");
  const garbage = ustar.slice();
  for (let i = 0; i < 512; i++) garbage[72704 + i] = (i * 97 + 13) & 0xff;
  const result = await parse(garbage);
  assert.equal(result.error?.offset, 72704);
  assertEntriesBefore(result, pythonRegularMembers("ustar.tar", 72704), "garbage at 72704");
  const text = new TextEncoder().encode("this is not a tar archive\n".repeat(40));
  const notTar = await parse(text);
  assert.equal(notTar.error?.offset, 0);
  assert.match(notTar.error!.message, /invalid checksum field .* at byte 0/);
  const gzipped = await parse(gzipSync(ustar));
  assert.equal(gzipped.error?.offset, 0);
  assert.match(gzipped.error!.message, /gzip-compressed/);
});

Deno.test("signed and unsigned header checksums are both accepted", async () => {
  // v7.tar's v7/café.txt header (at 1536) was written with the signed sum; rewriting it with
  // the unsigned sum must read the same. The UTF-8 é makes the two sums differ.
  const bytes = await readArchive("v7.tar");
  const unsigned = bytes.slice();
  fixChecksum(unsigned, 1536);
  assert.notDeepEqual(
    unsigned.subarray(1536 + 148, 1536 + 156),
    bytes.subarray(1536 + 148, 1536 + 156),
  );
  for (const variant of [bytes, unsigned]) {
    const result = await parse(variant, undefined, undefined, true);
    assert.equal(result.error, undefined);
    assert.deepEqual(describe(result.entries), pythonRegularMembers("v7.tar"));
  }
});

Deno.test("an oversized member or a malformed extension is an error naming it", async () => {
  const ustar = await readArchive("ustar.tar");
  const tooBig = await parse(ustar, 4096, 69999);
  assert.equal(tooBig.error?.offset, 1536);
  assert.match(
    tooBig.error!.message,
    /member "data\/s0001\.png" \(header at byte 1536\) is 70000 bytes/,
  );
  assertEntriesBefore(tooBig, pythonRegularMembers("ustar.tar", 1536), "member over the limit");
  assert.equal((await parse(ustar, 4096, 70000)).error, undefined);

  // pax.tar: global header at 0 (records from 512), first x header at 1024 (records from 1536).
  const pax = await readArchive("pax.tar");
  const badRecord = pax.slice();
  badRecord[1536] = 0x78; // 'x' where the record length should start
  const paxError = (await parse(badRecord)).error!;
  assert.equal(paxError.offset, 1536);
  assert.match(
    paxError.message,
    /invalid pax record at byte 1536 in the extended header at byte 1024/,
  );

  const sparse = ustar.slice();
  sparse[512 + 156] = 0x53; // 'S': data/s0001.cls becomes a GNU sparse member
  fixChecksum(sparse, 512);
  const sparseError = (await parse(sparse)).error!;
  assert.equal(sparseError.offset, 512);
  assert.match(sparseError.message, /"data\/s0001\.cls".*GNU sparse/);
});

Deno.test("bytes after the end-of-archive block are not read as members", async () => {
  const ustar = await readArchive("ustar.tar");
  const padded = new Uint8Array(ustar.length + 3000).fill(0xff);
  padded.set(ustar);
  const result = await parse(padded, 700);
  assert.equal(result.error, undefined);
  assert.deepEqual(describe(result.entries), pythonRegularMembers("ustar.tar"));
});

Deno.test("an archive cut on a 512-byte boundary, without its end-of-archive block, is an error", async () => {
  // ustar.tar cut where data/s0002.empty's header starts (72192): every byte up to there is
  // whole members, so only the missing end-of-archive block shows the cut.
  const ustar = await readArchive("ustar.tar");
  for (const chunkSize of [512, 4096, 72192]) {
    const cut = await parse(ustar.slice(0, 72192), chunkSize);
    assert.ok(cut.error !== undefined, `${chunkSize}-byte chunks: no error`);
    assert.equal(cut.error.path, "shard.tar");
    assert.equal(cut.error.offset, 72192);
    assert.match(
      cut.error.message,
      /^shard\.tar: tar archive truncated: input ended at byte 72192, .*without the end-of-archive block/,
    );
  }
  // v7.tar was written without end-of-archive blocks: an error, unless allowMissingEnd, which
  // reads what Python reads and warns once, naming the archive and the offset.
  const v7 = await readArchive("v7.tar");
  const strict = await parse(v7);
  assert.equal(strict.error?.offset, 4096);
  assert.deepEqual(describe(strict.entries), pythonRegularMembers("v7.tar"));
  const warnings: string[] = [];
  const entries: TarEntry[] = [];
  const lenient = chunked(v7, 700).pipeThrough(
    new TarEntryStream({
      source: "v7.tar",
      allowMissingEnd: true,
      onMissingEnd: (warning) => warnings.push(warning),
    }),
  );
  for await (const entry of lenient) entries.push(entry);
  assert.deepEqual(describe(entries), pythonRegularMembers("v7.tar"));
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /^v7\.tar: .*byte 4096.*without the end-of-archive block/);
});

Deno.test("one zero block ends an archive (the second one may be missing)", async () => {
  const ustar = await readArchive("ustar.tar");
  const { members } = manifest["ustar.tar"];
  const last = members[members.length - 1];
  const archiveEnd = last.offset_data + Math.ceil(last.size / 512) * 512;
  const result = await parse(ustar.slice(0, archiveEnd + 512), 1000);
  assert.equal(result.error, undefined);
  assert.deepEqual(describe(result.entries), pythonRegularMembers("ustar.tar"));
});
