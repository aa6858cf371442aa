/**
 * A streaming tar reader: {@linkcode TarEntryStream} turns the bytes of a tar archive into its
 * regular-file members, one {@linkcode TarEntry} each, without ever holding more than one member
 * and one input chunk.
 *
 * Formats read: POSIX ustar (with the 155-byte name prefix), old V7 headers, GNU tar's long
 * names and link targets (`L` / `K` records) and pax extended headers (`x` per member, `g`
 * global). Of the pax records, `path` and `size` are applied; the others (`linkpath`, `mtime`…)
 * are parsed and ignored, like the link targets, since links are skipped anyway. Numeric fields
 * may be octal text padded with spaces or NULs, or GNU base-256 binary. Header checksums are
 * verified, the unsigned and the signed byte sum both being accepted, as GNU tar and Python's
 * `tarfile` do.
 *
 * Behaviour compared with Python's `tarfile` (which WebDataset uses, in stream mode `r|*`):
 *
 * - Same: member names and sizes after every extension is applied; `offset` is Python's
 *   `TarInfo.offset` (the first `x`/`L`/`K` header of the member, not a global `g` header);
 *   types `0`, NUL and `7` are regular files; a NUL-type member whose name ends in `/` is an
 *   old-style directory; an archive ends at its first all-zero block (one zero block is
 *   enough, as for GNU tar and Python; writers put two there); a stream that ends inside a
 *   member's data or its padding is an error; a zero-byte input is an error ("empty file").
 * - Different on purpose: a stream that ends at a header boundary with no end-of-archive block
 *   is an error naming the offset (a shard cut on a 512-byte boundary would otherwise pass for a
 *   complete one with fewer samples); Python's `tarfile` ends the archive there silently.
 *   {@linkcode TarEntryStreamOptions.allowMissingEnd} accepts it, as Python does.
 * - Different on purpose: a bad checksum, an unparsable numeric field or a truncated header
 *   anywhere is a {@linkcode DatasetError}; Python silently ends the archive there unless the
 *   problem is in the very first header (WebDataset would then just yield fewer samples).
 * - Different on purpose: data blocks are skipped, per GNU tar, for every non-regular member
 *   except directories (POSIX: no data follows a directory header, whatever its size field
 *   says; Python and GNU tar agree on that). Python skips none for links, devices and FIFOs,
 *   which only matters for headers with a non-zero size there.
 * - Different on purpose: the ustar `prefix` field is used only with the POSIX magic
 *   `"ustar\0"` (as GNU tar does), never under the old GNU magic whose bytes there are other
 *   fields.
 * - Precedence of names and sizes: per-member pax record, then GNU long name, then global pax
 *   record, then the header field. A per-member pax record with an empty value cancels the
 *   global one for that member, and an empty value in a global header deletes it (POSIX);
 *   Python instead stores the empty string.
 * - Not supported: GNU sparse members (type `S` or `GNU.sparse.*` pax records) are an error
 *   naming the member; names that are not valid UTF-8 are decoded with U+FFFD replacement
 *   (Python keeps the raw bytes as surrogate escapes); of the numeric fields only `size` and
 *   `chksum` are parsed.
 *
 * Errors follow web-streams semantics: the stream errors as soon as the problem is found, and
 * entries already queued but not yet read are discarded, so how many members a reader sees
 * before an error depends on the chunking (the error itself does not).
 *
 * @module
 */

import { DatasetError } from "../errors.ts";

/** One regular-file member of a tar archive, read whole. */
export interface TarEntry {
  /** Member path after pax / GNU long-name extensions are applied. */
  readonly path: string;
  /** Data size in bytes (`data.length`). */
  readonly size: number;
  /**
   * Byte offset in the archive of the member's first header block: its `x`, `L` or `K`
   * extension header where it has one, else its own header (Python's `TarInfo.offset`).
   */
  readonly offset: number;
  /** The member's bytes. */
  readonly data: Uint8Array;
}

/** Options of a {@linkcode TarEntryStream}. */
export interface TarEntryStreamOptions {
  /** Name of the archive (shard path or URL) used in error messages and `DatasetError.path`. */
  readonly source: string;
  /**
   * Largest member (and pax / long-name extension) read into memory, in bytes; a larger one is
   * a {@linkcode DatasetError} naming it. Default {@linkcode DEFAULT_MAX_MEMBER_SIZE}.
   */
  readonly maxMemberSize?: number;
  /**
   * Accept an archive whose input ends at a header boundary without the end-of-archive block,
   * as Python's `tarfile` does (default `false`: that is a truncated archive, an error).
   * `onMissingEnd` is then called once with a warning naming the archive and the offset.
   */
  readonly allowMissingEnd?: boolean;
  /** Told, with {@linkcode allowMissingEnd}, that the archive had no end-of-archive block. */
  readonly onMissingEnd?: (warning: string) => void;
}

/** Default {@linkcode TarEntryStreamOptions.maxMemberSize}: 256 MiB. */
export const DEFAULT_MAX_MEMBER_SIZE = 256 * 1024 * 1024;

/**
 * Parses a tar archive arriving as byte chunks of any size and emits its regular-file members
 * in archive order. Directories, links, devices, FIFOs and unknown types are skipped. Errors
 * (truncation, bad checksum, malformed fields, an oversized member) error the stream with a
 * {@linkcode DatasetError} whose `path` is the `source` and whose `offset` is the byte offset of
 * the bad header, or, for a truncated archive, the offset at which the input ended.
 *
 * @example
 * ```ts ignore
 * const file = await Deno.open("shard.tar");
 * for await (const entry of file.readable.pipeThrough(new TarEntryStream({ source: "shard.tar" }))) {
 *   console.log(entry.path, entry.size);
 * }
 * ```
 */
export class TarEntryStream extends TransformStream<Uint8Array, TarEntry> {
  /** @param options The archive's name for errors and the member size limit. */
  constructor(options: TarEntryStreamOptions) {
    const parser = new TarParser(options.source, options.maxMemberSize ?? DEFAULT_MAX_MEMBER_SIZE);
    super({
      transform(chunk, controller) {
        parser.push(chunk, (entry) => controller.enqueue(entry));
      },
      flush() {
        const missingEnd = parser.finish(options.allowMissingEnd ?? false);
        if (missingEnd !== undefined) options.onMissingEnd?.(missingEnd);
      },
    });
  }
}

const BLOCK_SIZE = 512;

// Header field offsets and lengths (ustar layout; V7 and GNU share the first 257 bytes).
const NAME_OFFSET = 0;
const NAME_LENGTH = 100;
const SIZE_OFFSET = 124;
const SIZE_LENGTH = 12;
const CHECKSUM_OFFSET = 148;
const CHECKSUM_LENGTH = 8;
const TYPEFLAG_OFFSET = 156;
const MAGIC_OFFSET = 257;
const PREFIX_OFFSET = 345;
const PREFIX_LENGTH = 155;

// Type flags (ASCII codes).
const TYPE_REGULAR = 0x30; // '0'
const TYPE_REGULAR_OLD = 0x00; // NUL (V7 and early ustar)
const TYPE_CONTIGUOUS = 0x37; // '7'
const TYPE_DIRECTORY = 0x35; // '5'
const TYPE_PAX_LOCAL = 0x78; // 'x'
const TYPE_PAX_SOLARIS = 0x58; // 'X' (Solaris extended header, same records)
const TYPE_PAX_GLOBAL = 0x67; // 'g'
const TYPE_GNU_LONG_NAME = 0x4c; // 'L'
const TYPE_GNU_LONG_LINK = 0x4b; // 'K'
const TYPE_GNU_SPARSE = 0x53; // 'S'

/** "ustar\0": the POSIX magic, the only one under which the prefix field holds a path prefix. */
const POSIX_MAGIC = [0x75, 0x73, 0x74, 0x61, 0x72, 0x00];

/** What the data after the current header is (the `skipped` and `longLink` kinds are not kept). */
type MemberKind = "file" | "paxLocal" | "paxGlobal" | "longName" | "longLink" | "skipped";

/** Where the parser is within the archive's block structure. */
type Phase = "header" | "data" | "padding" | "ended";

/** Extension records collected for the next real member. */
interface PendingExtensions {
  /** Offset of the first `x` / `L` / `K` header seen for the member. */
  firstOffset: number;
  /** Per-member pax records. */
  pax: Map<string, string>;
  /** GNU `L` long name. */
  longName?: string;
}

const utf8 = new TextDecoder("utf-8");

/** The tar state machine behind {@linkcode TarEntryStream}. */
class TarParser {
  readonly #source: string;
  readonly #maxMemberSize: number;
  /** Absolute offset of the next input byte. */
  #position = 0;
  #phase: Phase = "header";
  readonly #header = new Uint8Array(BLOCK_SIZE);
  #headerFill = 0;
  // The member whose data is being consumed.
  #kind: MemberKind = "skipped";
  #memberPath = "";
  #memberOffset = 0;
  #memberHeaderOffset = 0;
  #memberSize = 0;
  #memberData: Uint8Array | undefined;
  #dataFill = 0;
  #remaining = 0;
  #globals = new Map<string, string>();
  #pending: PendingExtensions | undefined;

  constructor(source: string, maxMemberSize: number) {
    this.#source = source;
    this.#maxMemberSize = maxMemberSize;
  }

  /** Consumes one input chunk, calling `emit` for every member completed in it. */
  push(chunk: Uint8Array, emit: (entry: TarEntry) => void): void {
    const length = chunk.length;
    let index = 0;
    while (index < length) {
      switch (this.#phase) {
        case "ended":
          this.#position += length - index;
          return;
        case "header": {
          const count = Math.min(BLOCK_SIZE - this.#headerFill, length - index);
          this.#header.set(chunk.subarray(index, index + count), this.#headerFill);
          this.#headerFill += count;
          index += count;
          this.#position += count;
          if (this.#headerFill === BLOCK_SIZE) {
            this.#headerFill = 0;
            this.#onHeader(emit);
          }
          break;
        }
        case "data": {
          const count = Math.min(this.#remaining, length - index);
          if (this.#memberData !== undefined) {
            this.#memberData.set(chunk.subarray(index, index + count), this.#dataFill);
          }
          this.#dataFill += count;
          this.#remaining -= count;
          index += count;
          this.#position += count;
          if (this.#remaining === 0) this.#onData(emit);
          break;
        }
        case "padding": {
          const count = Math.min(this.#remaining, length - index);
          this.#remaining -= count;
          index += count;
          this.#position += count;
          if (this.#remaining === 0) this.#phase = "header";
          break;
        }
      }
    }
  }

  /**
   * Checks that the input ended at a legal place. An input that ends at a header boundary
   * without the end-of-archive block throws, or with `allowMissingEnd` returns a warning.
   */
  finish(allowMissingEnd: boolean): string | undefined {
    switch (this.#phase) {
      case "ended":
        return undefined;
      case "header":
        if (this.#headerFill > 0) {
          const start = this.#position - this.#headerFill;
          throw this.#error(
            `tar archive truncated: input ended at byte ${this.#position}, ${this.#headerFill} ` +
              `bytes into the header block at byte ${start}`,
            this.#position,
          );
        }
        if (this.#position === 0) throw this.#error("empty tar archive (0 bytes)", 0);
        if (this.#pending !== undefined) {
          throw this.#error(
            `tar archive truncated: input ended at byte ${this.#position}, after the extension ` +
              `header at byte ${this.#pending.firstOffset} but before the member it describes`,
            this.#position,
          );
        }
        {
          const message = `tar archive truncated: input ended at byte ${this.#position}, at a ` +
            `header boundary without the end-of-archive block (two zero blocks)`;
          if (!allowMissingEnd) throw this.#error(message, this.#position);
          return `${this.#source}: ${message}; read as complete (allowMissingEnd)`;
        }
      case "data":
        throw this.#error(
          `tar archive truncated: input ended at byte ${this.#position}, inside the data of ` +
            `${this.#describeMember()} (${this.#remaining} of ${this.#memberSize} bytes missing)`,
          this.#position,
        );
      case "padding":
        throw this.#error(
          `tar archive truncated: input ended at byte ${this.#position}, inside the padding ` +
            `after ${this.#describeMember()}`,
          this.#position,
        );
    }
  }

  #error(message: string, offset: number): DatasetError {
    return new DatasetError(`${this.#source}: ${message}`, { path: this.#source, offset });
  }

  #describeMember(): string {
    if (this.#kind === "file" || this.#kind === "skipped") {
      return `member "${this.#memberPath}" (header at byte ${this.#memberHeaderOffset})`;
    }
    return `the ${EXTENSION_NAMES[this.#kind]} at byte ${this.#memberHeaderOffset}`;
  }

  #onHeader(emit: (entry: TarEntry) => void): void {
    const header = this.#header;
    const offset = this.#position - BLOCK_SIZE;
    if (isZeroBlock(header)) {
      if (this.#pending !== undefined) {
        throw this.#error(
          `end-of-archive block at byte ${offset} right after the extension header at byte ` +
            `${this.#pending.firstOffset}`,
          offset,
        );
      }
      this.#phase = "ended";
      return;
    }
    try {
      this.#verifyChecksum(offset);
    } catch (error) {
      if (offset === 0 && header[0] === 0x1f && header[1] === 0x8b) {
        throw this.#error(
          "not a tar archive: it looks gzip-compressed (shards must be plain tar)",
          0,
        );
      }
      throw error;
    }
    const typeflag = header[TYPEFLAG_OFFSET];
    let name = readString(header, NAME_OFFSET, NAME_LENGTH);
    const size = this.#readNumber(SIZE_OFFSET, SIZE_LENGTH, "size", offset);
    if (size < 0) {
      throw this.#error(`negative size ${size} in tar header at byte ${offset}`, offset);
    }
    if (startsWith(header, MAGIC_OFFSET, POSIX_MAGIC) && header[PREFIX_OFFSET] !== 0) {
      if (!isGnuExtension(typeflag)) {
        name = `${readString(header, PREFIX_OFFSET, PREFIX_LENGTH)}/${name}`;
      }
    }
    switch (typeflag) {
      case TYPE_PAX_LOCAL:
      case TYPE_PAX_SOLARIS:
        this.#pendingExtensions(offset);
        this.#startMember("paxLocal", name, offset, offset, size, emit);
        return;
      case TYPE_PAX_GLOBAL:
        this.#startMember("paxGlobal", name, offset, offset, size, emit);
        return;
      case TYPE_GNU_LONG_NAME:
        this.#pendingExtensions(offset);
        this.#startMember("longName", name, offset, offset, size, emit);
        return;
      case TYPE_GNU_LONG_LINK:
        this.#pendingExtensions(offset);
        this.#startMember("longLink", name, offset, offset, size, emit);
        return;
    }
    this.#startRealMember(typeflag, name, size, offset, emit);
  }

  /** A header describing an actual archive member, with pending extensions applied. */
  #startRealMember(
    typeflag: number,
    headerName: string,
    headerSize: number,
    offset: number,
    emit: (entry: TarEntry) => void,
  ): void {
    const pending = this.#pending;
    this.#pending = undefined;
    const local = pending?.pax;
    const localPath = local?.get("path");
    let path = headerName;
    if (localPath !== undefined && localPath !== "") {
      path = stripTrailingSlashes(localPath);
    } else if (pending?.longName !== undefined) {
      path = pending.longName;
    } else if (localPath === undefined && this.#globals.has("path")) {
      path = stripTrailingSlashes(this.#globals.get("path")!);
    }
    const sizeRecord = paxValue(local, this.#globals, "size");
    const size = sizeRecord === undefined
      ? headerSize
      : this.#parsePaxSize(sizeRecord, path, offset);
    const firstOffset = pending?.firstOffset ?? offset;
    const isOldDirectory = typeflag === TYPE_REGULAR_OLD && headerName.endsWith("/");
    const isRegular = !isOldDirectory &&
      (typeflag === TYPE_REGULAR || typeflag === TYPE_REGULAR_OLD ||
        typeflag === TYPE_CONTIGUOUS);
    if (typeflag === TYPE_GNU_SPARSE || (isRegular && hasSparseRecords(local, this.#globals))) {
      throw this.#error(
        `member "${path}" (header at byte ${offset}) is a GNU sparse file, which is not supported`,
        offset,
      );
    }
    if (isRegular) {
      this.#startMember("file", path, firstOffset, offset, size, emit);
    } else if (typeflag === TYPE_DIRECTORY || isOldDirectory) {
      // POSIX: no data blocks follow a directory header, whatever its size field says; the
      // next block is a header again.
    } else {
      this.#startMember("skipped", path, firstOffset, offset, size, emit);
    }
  }

  #pendingExtensions(offset: number): PendingExtensions {
    this.#pending ??= { firstOffset: offset, pax: new Map() };
    return this.#pending;
  }

  #startMember(
    kind: MemberKind,
    path: string,
    firstOffset: number,
    headerOffset: number,
    size: number,
    emit: (entry: TarEntry) => void,
  ): void {
    this.#kind = kind;
    this.#memberPath = path;
    this.#memberOffset = firstOffset;
    this.#memberHeaderOffset = headerOffset;
    this.#memberSize = size;
    this.#dataFill = 0;
    this.#remaining = size;
    if (kind === "skipped" || kind === "longLink") {
      // Link targets are not needed: links are skipped.
      this.#memberData = undefined;
    } else {
      if (size > this.#maxMemberSize) {
        throw this.#error(
          `${this.#describeMember()} is ${size} bytes, more than the ${this.#maxMemberSize}-byte ` +
            `limit for one member`,
          headerOffset,
        );
      }
      this.#memberData = new Uint8Array(size);
    }
    if (size === 0) {
      this.#onData(emit);
    } else {
      this.#phase = "data";
    }
  }

  /** The current member's data is complete: emit or interpret it, then skip the padding. */
  #onData(emit: (entry: TarEntry) => void): void {
    const data = this.#memberData ?? new Uint8Array(0);
    this.#memberData = undefined;
    switch (this.#kind) {
      case "file":
        emit({ path: this.#memberPath, size: this.#memberSize, offset: this.#memberOffset, data });
        break;
      case "paxLocal":
        this.#parsePaxRecords(data, this.#pendingExtensions(this.#memberOffset).pax, false);
        break;
      case "paxGlobal":
        this.#parsePaxRecords(data, this.#globals, true);
        break;
      case "longName":
        this.#pendingExtensions(this.#memberOffset).longName = readString(data, 0, data.length);
        break;
      case "longLink":
      case "skipped":
        break;
    }
    this.#remaining = (BLOCK_SIZE - (this.#memberSize % BLOCK_SIZE)) % BLOCK_SIZE;
    this.#phase = this.#remaining === 0 ? "header" : "padding";
  }

  /**
   * Parses pax records `"<length> <keyword>=<value>\n"` into `target`; parsing stops at a NUL
   * byte (as Python's tarfile does). In a global header an empty value deletes the keyword.
   */
  #parsePaxRecords(data: Uint8Array, target: Map<string, string>, isGlobal: boolean): void {
    const dataOffset = this.#memberHeaderOffset + BLOCK_SIZE;
    let position = 0;
    while (position < data.length && data[position] !== 0) {
      const recordOffset = dataOffset + position;
      const bad = (why: string) =>
        this.#error(
          `invalid pax record at byte ${recordOffset} in the extended header at byte ` +
            `${this.#memberHeaderOffset}: ${why}`,
          recordOffset,
        );
      let cursor = position;
      let length = 0;
      while (cursor < data.length && data[cursor] >= 0x30 && data[cursor] <= 0x39) {
        length = length * 10 + data[cursor] - 0x30;
        cursor++;
      }
      const digits = cursor - position;
      if (digits === 0 || digits > 20 || data[cursor] !== 0x20) {
        throw bad("no decimal length followed by a space");
      }
      if (length < 5 || position + length > data.length) {
        throw bad(`record length ${length} does not fit the header data`);
      }
      const end = position + length - 1;
      if (data[end] !== 0x0a) throw bad("record does not end with a newline");
      const keywordStart = cursor + 1;
      const equals = data.indexOf(0x3d, keywordStart);
      if (equals < 0 || equals >= end || equals === keywordStart) {
        throw bad("no keyword=value");
      }
      const keyword = utf8.decode(data.subarray(keywordStart, equals));
      const value = utf8.decode(data.subarray(equals + 1, end));
      if (isGlobal && value === "") {
        target.delete(keyword);
      } else {
        target.set(keyword, value);
      }
      position += length;
    }
  }

  #parsePaxSize(value: string, path: string, offset: number): number {
    const size = /^[0-9]+$/.test(value) ? Number(value) : NaN;
    if (!Number.isSafeInteger(size)) {
      throw this.#error(
        `invalid pax size record "${value}" for member "${path}" (header at byte ${offset})`,
        offset,
      );
    }
    return size;
  }

  #verifyChecksum(offset: number): void {
    const header = this.#header;
    const stored = this.#readNumber(CHECKSUM_OFFSET, CHECKSUM_LENGTH, "checksum", offset);
    let unsigned = 8 * 0x20;
    let signed = 8 * 0x20;
    for (let i = 0; i < BLOCK_SIZE; i++) {
      if (i === CHECKSUM_OFFSET) {
        i += CHECKSUM_LENGTH - 1;
        continue;
      }
      const byte = header[i];
      unsigned += byte;
      signed += byte < 0x80 ? byte : byte - 0x100;
    }
    if (stored !== unsigned && stored !== signed) {
      throw this.#error(
        `bad tar header checksum at byte ${offset}: stored ${stored}, computed ${unsigned}` +
          `${unsigned === signed ? "" : ` (unsigned) or ${signed} (signed)`}`,
        offset,
      );
    }
  }

  /**
   * A numeric header field: base-256 when its first byte is 0x80 (positive) or 0xFF
   * (negative), else octal text up to the first NUL with surrounding whitespace ignored, empty
   * meaning 0 (Python's `nti`).
   */
  #readNumber(start: number, length: number, field: string, offset: number): number {
    const header = this.#header;
    const first = header[start];
    let value = 0;
    if (first === 0x80 || first === 0xff) {
      for (let i = start + 1; i < start + length; i++) value = value * 256 + header[i];
      if (first === 0xff) value -= 256 ** (length - 1);
    } else {
      let end = start;
      while (end < start + length && header[end] !== 0) end++;
      let begin = start;
      while (begin < end && isAsciiWhitespace(header[begin])) begin++;
      while (end > begin && isAsciiWhitespace(header[end - 1])) end--;
      for (let i = begin; i < end; i++) {
        const digit = header[i] - 0x30;
        if (digit < 0 || digit > 7) {
          const text = JSON.stringify(
            String.fromCharCode(...header.subarray(start, start + length)),
          );
          throw this.#error(
            `invalid ${field} field ${text} in tar header at byte ${offset} (not a tar header?)`,
            offset,
          );
        }
        value = value * 8 + digit;
      }
    }
    if (!Number.isSafeInteger(value)) {
      throw this.#error(`${field} field too large in tar header at byte ${offset}`, offset);
    }
    return value;
  }
}

/** How errors name the extension headers. */
const EXTENSION_NAMES: Record<Exclude<MemberKind, "file" | "skipped">, string> = {
  paxLocal: "pax extended header",
  paxGlobal: "pax global header",
  longName: "GNU long name header",
  longLink: "GNU long link header",
};

function isZeroBlock(block: Uint8Array): boolean {
  for (let i = 0; i < block.length; i++) {
    if (block[i] !== 0) return false;
  }
  return true;
}

function startsWith(block: Uint8Array, start: number, bytes: readonly number[]): boolean {
  for (let i = 0; i < bytes.length; i++) {
    if (block[start + i] !== bytes[i]) return false;
  }
  return true;
}

/** GNU extension types, whose headers never carry a ustar prefix (Python's `GNU_TYPES`). */
function isGnuExtension(typeflag: number): boolean {
  return typeflag === TYPE_GNU_LONG_NAME || typeflag === TYPE_GNU_LONG_LINK ||
    typeflag === TYPE_GNU_SPARSE;
}

/** Python's `bytes.strip()` whitespace: space, \t \n \v \f \r, and \x1c-\x1f for str. */
function isAsciiWhitespace(byte: number): boolean {
  return byte === 0x20 || (byte >= 0x09 && byte <= 0x0d) || (byte >= 0x1c && byte <= 0x1f);
}

/** A NUL-terminated (or field-filling) UTF-8 string. */
function readString(bytes: Uint8Array, start: number, length: number): string {
  let end = start;
  while (end < start + length && bytes[end] !== 0) end++;
  return utf8.decode(bytes.subarray(start, end));
}

function stripTrailingSlashes(path: string): string {
  let end = path.length;
  while (end > 0 && path.charCodeAt(end - 1) === 0x2f) end--;
  return path.slice(0, end);
}

/** A pax record for the member: per-member first; an empty per-member value hides the global. */
function paxValue(
  local: Map<string, string> | undefined,
  globals: Map<string, string>,
  keyword: string,
): string | undefined {
  const value = local?.get(keyword);
  if (value !== undefined) return value === "" ? undefined : value;
  return globals.get(keyword);
}

function hasSparseRecords(
  local: Map<string, string> | undefined,
  globals: Map<string, string>,
): boolean {
  for (const records of [local, globals]) {
    if (records === undefined) continue;
    for (const keyword of records.keys()) {
      if (keyword.startsWith("GNU.sparse.")) return true;
    }
  }
  return false;
}
