/**
 * A minimal Protocol Buffers wire-format writer: the encoding half of protobuf that
 * {@link ./builder.ts} needs to write ONNX `ModelProto`s, without a schema compiler.
 *
 * A message is built as a list of byte chunks; a nested message is written with its length
 * prefix, so the whole tree is encoded once, bottom up. Large `bytes` fields (tensor data) are
 * kept as references to the caller's buffers and copied only once, by {@linkcode concatBytes}
 * ({@linkcode ProtoWriter.finish}) or not at all ({@linkcode ProtoWriter.writeTo} streams them).
 *
 * Wire types: 0 = varint (int32/int64/enum/bool), 2 = length-delimited (bytes, string, message,
 * packed repeated scalars), 5 = 32-bit (float).
 *
 * @module
 */

import { concatBytes } from "../io/bytes.ts";

const utf8 = new TextEncoder();

/** Writes one protobuf message; fields are appended in call order. */
export class ProtoWriter {
  readonly #chunks: Uint8Array[] = [];
  #scratch: number[] = [];
  #length = 0;

  /** Number of bytes written so far. */
  get length(): number {
    return this.#length + this.#scratch.length;
  }

  #flushScratch(): void {
    if (this.#scratch.length === 0) return;
    this.#chunks.push(Uint8Array.from(this.#scratch));
    this.#length += this.#scratch.length;
    this.#scratch = [];
  }

  #varint(value: number | bigint): void {
    // int64 values are written as their two's-complement 64-bit pattern (10 bytes when negative).
    let v = BigInt.asUintN(64, BigInt(value));
    while (v >= 0x80n) {
      this.#scratch.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.#scratch.push(Number(v));
  }

  #tag(field: number, wireType: number): void {
    this.#varint((field << 3) | wireType);
  }

  #appendBytes(bytes: Uint8Array): void {
    this.#flushScratch();
    this.#chunks.push(bytes);
    this.#length += bytes.length;
  }

  /** A varint field (int32, int64, enum, bool). */
  varint(field: number, value: number | bigint): this {
    this.#tag(field, 0);
    this.#varint(value);
    return this;
  }

  /** A 32-bit float field. */
  float(field: number, value: number): this {
    this.#tag(field, 5);
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setFloat32(0, value, true);
    this.#scratch.push(...bytes);
    return this;
  }

  /** A length-delimited field holding `bytes` (kept by reference until {@linkcode finish}). */
  bytes(field: number, bytes: Uint8Array): this {
    this.#tag(field, 2);
    this.#varint(bytes.length);
    this.#appendBytes(bytes);
    return this;
  }

  /** A UTF-8 string field. */
  string(field: number, value: string): this {
    return this.bytes(field, utf8.encode(value));
  }

  /** A nested message field. */
  message(field: number, message: ProtoWriter): this {
    this.#tag(field, 2);
    this.#varint(message.length);
    message.#flushScratch();
    for (const chunk of message.#chunks) this.#appendBytes(chunk);
    return this;
  }

  /** A packed repeated varint field (written only when `values` is not empty). */
  packedVarints(field: number, values: readonly (number | bigint)[]): this {
    if (values.length === 0) return this;
    const body = new ProtoWriter();
    for (const value of values) body.#varint(value);
    return this.message(field, body);
  }

  /** A packed repeated float field (written only when `values` is not empty). */
  packedFloats(field: number, values: readonly number[]): this {
    if (values.length === 0) return this;
    const bytes = new Uint8Array(values.length * 4);
    const view = new DataView(bytes.buffer);
    values.forEach((value, i) => view.setFloat32(i * 4, value, true));
    return this.bytes(field, bytes);
  }

  /** The encoded message as one buffer. */
  finish(): Uint8Array {
    this.#flushScratch();
    return concatBytes(this.#chunks, this.#length);
  }

  /**
   * Writes the encoded message to `file` without assembling it in memory: small chunks are
   * gathered into writes of about 1 MiB, large ones (tensor data) written from the caller's
   * buffers.
   *
   * @returns The bytes written.
   */
  async writeTo(file: Deno.FsFile): Promise<number> {
    this.#flushScratch();
    return await writeChunks(file, this.#chunks);
  }
}

/** Bytes gathered before a write (and the size from which a chunk is written on its own). */
const WRITE_BATCH = 1 << 20;

/**
 * Writes `chunks` to `file` in order, gathering small ones into writes of about 1 MiB.
 *
 * @returns The bytes written.
 */
export async function writeChunks(
  file: Deno.FsFile,
  chunks: readonly Uint8Array[],
): Promise<number> {
  const batch = new Uint8Array(WRITE_BATCH);
  let filled = 0;
  let total = 0;
  const writeAll = async (bytes: Uint8Array) => {
    for (let at = 0; at < bytes.length;) at += await file.write(bytes.subarray(at));
    total += bytes.length;
  };
  for (const chunk of chunks) {
    if (filled + chunk.length > WRITE_BATCH && filled > 0) {
      await writeAll(batch.subarray(0, filled));
      filled = 0;
    }
    if (chunk.length >= WRITE_BATCH) {
      await writeAll(chunk);
    } else {
      batch.set(chunk, filled);
      filled += chunk.length;
    }
  }
  if (filled > 0) await writeAll(batch.subarray(0, filled));
  return total;
}

export { concatBytes };
