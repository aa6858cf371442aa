/**
 * Writes a ustar archive of regular files to disk member by member, so a shard of a thousand
 * images is never held in memory whole. Members are buffered up to a few MiB and written in
 * order; {@linkcode TarFileWriter.close} adds the two zero blocks that end an archive.
 *
 * @module
 */

const encoder = new TextEncoder();
const BLOCK = 512;
/** Buffered bytes before a write. */
const FLUSH_BYTES = 4 << 20;

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, "0") + "\0";
}

/** The 512-byte ustar header of a regular file (mode 0644, owner 0, mtime 0). */
export function tarHeader(name: string, size: number): Uint8Array {
  const nameBytes = encoder.encode(name);
  if (nameBytes.length > 100) {
    throw new RangeError(`tar member name ${JSON.stringify(name)} is longer than 100 bytes`);
  }
  const header = new Uint8Array(BLOCK);
  header.set(nameBytes, 0);
  header.set(encoder.encode(octal(0o644, 8)), 100);
  header.set(encoder.encode(octal(0, 8)), 108);
  header.set(encoder.encode(octal(0, 8)), 116);
  header.set(encoder.encode(octal(size, 12)), 124);
  header.set(encoder.encode(octal(0, 12)), 136);
  header.fill(0x20, 148, 156); // the checksum is computed with its own field as spaces
  header[156] = 0x30; // regular file
  header.set(encoder.encode("ustar\x0000"), 257);
  let checksum = 0;
  for (const byte of header) checksum += byte;
  header.set(encoder.encode(checksum.toString(8).padStart(6, "0") + "\0 "), 148);
  return header;
}

/** A tar archive being written to a file. */
export class TarFileWriter {
  readonly #file: Deno.FsFile;
  #chunks: Uint8Array[] = [];
  #buffered = 0;

  private constructor(file: Deno.FsFile) {
    this.#file = file;
  }

  /** Creates (or truncates) the archive at `path`. */
  static async create(path: string): Promise<TarFileWriter> {
    return new TarFileWriter(
      await Deno.open(path, { write: true, create: true, truncate: true }),
    );
  }

  /** Appends a regular file. */
  async add(name: string, data: Uint8Array | string): Promise<void> {
    const bytes = typeof data === "string" ? encoder.encode(data) : data;
    this.#chunks.push(tarHeader(name, bytes.length), bytes);
    const padding = (BLOCK - (bytes.length % BLOCK)) % BLOCK;
    if (padding > 0) this.#chunks.push(new Uint8Array(padding));
    this.#buffered += BLOCK + bytes.length + padding;
    if (this.#buffered >= FLUSH_BYTES) await this.#flush();
  }

  async #flush(): Promise<void> {
    const out = new Uint8Array(this.#buffered);
    let offset = 0;
    for (const chunk of this.#chunks) {
      out.set(chunk, offset);
      offset += chunk.length;
    }
    this.#chunks = [];
    this.#buffered = 0;
    let written = 0;
    while (written < out.length) written += await this.#file.write(out.subarray(written));
  }

  /** Ends the archive (two zero blocks) and closes the file. */
  async close(): Promise<void> {
    this.#chunks.push(new Uint8Array(2 * BLOCK));
    this.#buffered += 2 * BLOCK;
    try {
      await this.#flush();
    } finally {
      this.#file.close();
    }
  }
}
