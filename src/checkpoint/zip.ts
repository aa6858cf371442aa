/**
 * A minimal reader of the ZIP archives `torch.save` writes: the end-of-central-directory record
 * (and its ZIP64 forms, for archives over 4 GiB), the central directory, and each entry's local
 * header, so that an entry's bytes can be read in place. Only stored (method 0), unencrypted
 * entries are accepted; compressed or encrypted entries and offsets outside the file are
 * {@linkcode CheckpointError}s naming the archive and the entry.
 *
 * @module
 */

import { CheckpointError } from "./checkpoint.ts";
import type { FileBytes } from "./file_bytes.ts";

/** One stored entry of a ZIP archive. */
export interface ZipEntry {
  /** Its path inside the archive. */
  readonly name: string;
  /** Byte offset of its data in the archive file. */
  readonly offset: number;
  /** Its size in bytes. */
  readonly size: number;
}

const EOCD_SIGNATURE = 0x06054b50;
const ZIP64_LOCATOR_SIGNATURE = 0x07064b50;
const ZIP64_EOCD_SIGNATURE = 0x06064b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const LOCAL_SIGNATURE = 0x04034b50;
const EOCD_SIZE = 22;
const MAX_COMMENT = 65535;

/** Whether `bytes` start like a ZIP archive (a local header or an empty archive's end record). */
export function looksLikeZip(bytes: Uint8Array): boolean {
  if (bytes.length < 4) return false;
  const signature = new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true);
  return signature === LOCAL_SIGNATURE || signature === EOCD_SIGNATURE;
}

/**
 * Reads the directory of the ZIP archive `file`: every entry by name, with its data's place.
 *
 * @throws CheckpointError naming the archive (and entry) when it is truncated, corrupt, or holds
 *   compressed or encrypted entries.
 */
export function readZipDirectory(file: FileBytes): Map<string, ZipEntry> {
  const path = file.path;
  const fail = (message: string): never => {
    throw new CheckpointError(`${path}: ${message}`, { path });
  };
  if (file.size < EOCD_SIZE) fail(`truncated: ${file.size} bytes, too short for a ZIP archive`);
  file.hold();
  try {
    const tailLength = Math.min(file.size, EOCD_SIZE + MAX_COMMENT);
    const tailStart = file.size - tailLength;
    const tail = file.read(tailStart, tailLength, "the ZIP end record");
    const tailView = new DataView(tail.buffer);
    let eocd = -1;
    for (let i = tailLength - EOCD_SIZE; i >= 0; i--) {
      if (
        tailView.getUint32(i, true) === EOCD_SIGNATURE &&
        i + EOCD_SIZE + tailView.getUint16(i + 20, true) <= tailLength
      ) {
        eocd = i;
        break;
      }
    }
    if (eocd < 0) fail("no ZIP end-of-central-directory record: truncated or not a ZIP archive");
    let entryCount = tailView.getUint16(eocd + 10, true);
    let directorySize = tailView.getUint32(eocd + 12, true);
    let directoryOffset = tailView.getUint32(eocd + 16, true);
    if (tailView.getUint16(eocd + 4, true) !== 0 || tailView.getUint16(eocd + 6, true) !== 0) {
      fail("multi-disk ZIP archives are not supported");
    }
    const eocdPosition = tailStart + eocd;
    if (
      entryCount === 0xffff || directorySize === 0xffffffff || directoryOffset === 0xffffffff
    ) {
      if (eocdPosition < 20) fail("ZIP64 end record locator missing");
      const locator = new DataView(
        file.read(eocdPosition - 20, 20, "the ZIP64 end record locator").buffer,
      );
      if (locator.getUint32(0, true) !== ZIP64_LOCATOR_SIGNATURE) {
        fail("ZIP64 end record locator missing or corrupt");
      }
      const recordOffset = safeNumber(locator.getBigUint64(8, true), "ZIP64 end record offset");
      if (recordOffset + 56 > eocdPosition - 20) fail("ZIP64 end record offset out of bounds");
      const record = new DataView(file.read(recordOffset, 56, "the ZIP64 end record").buffer);
      if (record.getUint32(0, true) !== ZIP64_EOCD_SIGNATURE) fail("ZIP64 end record corrupt");
      entryCount = safeNumber(record.getBigUint64(32, true), "ZIP64 entry count");
      directorySize = safeNumber(record.getBigUint64(40, true), "ZIP64 directory size");
      directoryOffset = safeNumber(record.getBigUint64(48, true), "ZIP64 directory offset");
    }
    if (directoryOffset + directorySize > eocdPosition) {
      fail(
        `central directory (${directorySize} bytes at ${directoryOffset}) extends past its end ` +
          `record at ${eocdPosition}: truncated or corrupt`,
      );
    }
    const directory = file.read(directoryOffset, directorySize, "the ZIP central directory");
    const view = new DataView(directory.buffer);
    const decoder = new TextDecoder();
    const entries = new Map<string, ZipEntry>();
    let at = 0;
    for (let index = 0; index < entryCount; index++) {
      if (at + 46 > directorySize || view.getUint32(at, true) !== CENTRAL_SIGNATURE) {
        fail(`corrupt ZIP central directory (entry ${index} at byte ${directoryOffset + at})`);
      }
      const flags = view.getUint16(at + 8, true);
      const method = view.getUint16(at + 10, true);
      let compressedSize = view.getUint32(at + 20, true);
      let size = view.getUint32(at + 24, true);
      const nameLength = view.getUint16(at + 28, true);
      const extraLength = view.getUint16(at + 30, true);
      const commentLength = view.getUint16(at + 32, true);
      let localOffset = view.getUint32(at + 42, true);
      const end = at + 46 + nameLength + extraLength + commentLength;
      if (end > directorySize) fail(`corrupt ZIP central directory (entry ${index} overruns it)`);
      const name = decoder.decode(directory.subarray(at + 46, at + 46 + nameLength));
      const entryFail = (message: string): never => fail(`ZIP entry "${name}": ${message}`);
      // ZIP64 extended information: the 8-byte values whose 4-byte fields are saturated.
      let extra = at + 46 + nameLength;
      const extraEnd = extra + extraLength;
      while (extra + 4 <= extraEnd) {
        const id = view.getUint16(extra, true);
        const length = view.getUint16(extra + 2, true);
        if (extra + 4 + length > extraEnd) entryFail("corrupt extra field");
        if (id === 0x0001) {
          let field = extra + 4;
          const next = (what: string): number => {
            if (field + 8 > extra + 4 + length) entryFail(`ZIP64 extra field lacks the ${what}`);
            const value = safeNumber(view.getBigUint64(field, true), `ZIP64 ${what}`);
            field += 8;
            return value;
          };
          if (size === 0xffffffff) size = next("size");
          if (compressedSize === 0xffffffff) compressedSize = next("compressed size");
          if (localOffset === 0xffffffff) localOffset = next("local header offset");
        }
        extra += 4 + length;
      }
      if (flags & 0x1) entryFail("encrypted entries are not supported");
      if (method !== 0) {
        entryFail(`compressed (method ${method}); only stored entries, as torch.save writes`);
      }
      if (compressedSize !== size) entryFail("stored entry with differing sizes: corrupt");
      if (localOffset + 30 > directoryOffset) entryFail("local header offset out of bounds");
      const local = new DataView(file.read(localOffset, 30, `ZIP entry "${name}"`).buffer);
      if (local.getUint32(0, true) !== LOCAL_SIGNATURE) entryFail("corrupt local header");
      const offset = localOffset + 30 + local.getUint16(26, true) + local.getUint16(28, true);
      if (offset + size > directoryOffset) {
        entryFail(`data (${size} bytes at ${offset}) out of bounds: truncated or corrupt`);
      }
      if (entries.has(name)) entryFail("appears twice");
      entries.set(name, { name, offset, size });
      at = end;
    }
    return entries;
  } finally {
    file.release();
  }

  function safeNumber(value: bigint, what: string): number {
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) fail(`${what} ${value} out of range`);
    return Number(value);
  }
}
