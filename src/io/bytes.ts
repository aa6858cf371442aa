/**
 * Byte-buffer helpers shared by the readers (HTTP bodies, small text files, PNG chunks) and the
 * ONNX writer.
 *
 * @module
 */

/** Concatenates byte chunks into one new buffer of `total` bytes (default: their sum). */
export function concatBytes(chunks: readonly Uint8Array[], total?: number): Uint8Array {
  const out = new Uint8Array(total ?? chunks.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}
