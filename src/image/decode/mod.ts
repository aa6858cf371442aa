/**
 * Image decoding exactly as Pillow 9.4's `Image.open(f)`: {@linkcode decodeNativeImage} gives
 * the image in its Pillow mode, {@linkcode decodeImage} converts it to 8-bit RGB as
 * `Image.open(f).convert("RGB")` does. Both run the same decoders.
 *
 * The format is taken from the file's signature (as Pillow's plugins accept it), never from
 * a name or extension: PNG, JPEG, GIF (first frame) and WebP (first frame). Everything that
 * goes wrong — an unknown signature, corrupt or truncated data, an image too large for
 * Pillow, memory running out for a huge image — is an {@linkcode ImageDecodeError}; a decoder
 * that fails for any other reason (a bug, a WebAssembly module that cannot be loaded) throws a
 * {@linkcode DecoderFailure}, which fails the run instead of skipping the sample.
 *
 * The WebAssembly decoders (JPEG, WebP) are compiled on first use and kept per module
 * instance, so each Web Worker has its own.
 *
 * @module
 */

import { ImageDecodeError } from "../../errors.ts";
import type { NativeImage } from "../native_image.ts";
import { toRgb } from "../pil_convert.ts";
import type { RgbImage } from "../rgb_image.ts";
import { decodeGif } from "./gif.ts";
import { decodeJpeg } from "./jpeg.ts";
import type { JpegPixelDecoder } from "./jpeg_decoder.ts";
import { decodePng } from "./png.ts";
import { decodeWebp } from "./webp.ts";

/** Options of {@linkcode decodeNativeImage}. */
export interface DecodeOptions {
  /**
   * The libjpeg-turbo for JPEG files (default: this worker's choice, see
   * src/image/decode/jpeg_decoder.ts); `loadJpegDecoder` gives one.
   */
  readonly jpegDecoder?: JpegPixelDecoder;
  /**
   * Where a JPEG's pixels may be written instead of a fresh buffer: given the byte count, a
   * buffer at least that long (the image's `data` is then a view of its start). A caller that
   * decodes many images and drops each after use (a decode worker) saves allocating and
   * page-faulting a new buffer per image; it must not reuse the buffer while it still reads
   * the image.
   */
  readonly pixelBuffer?: (bytes: number) => Uint8Array;
}

/** The formats {@linkcode decodeNativeImage} reads. */
type ImageFormat = "png" | "jpeg" | "gif" | "webp";

/** The format whose signature `bytes` starts with, per Pillow's `_accept` functions. */
function sniffFormat(bytes: Uint8Array): ImageFormat | undefined {
  const startsWith = (offset: number, text: string) => {
    if (bytes.length < offset + text.length) return false;
    for (let i = 0; i < text.length; i++) {
      if (bytes[offset + i] !== text.charCodeAt(i)) return false;
    }
    return true;
  };
  if (startsWith(0, "\x89PNG\r\n\x1a\n")) return "png";
  if (startsWith(0, "\xff\xd8\xff")) return "jpeg";
  if (startsWith(0, "GIF87a") || startsWith(0, "GIF89a")) return "gif";
  if (
    startsWith(0, "RIFF") && startsWith(8, "WEBP") &&
    (startsWith(12, "VP8 ") || startsWith(12, "VP8L") || startsWith(12, "VP8X"))
  ) {
    return "webp";
  }
  return undefined;
}

/**
 * Decodes an encoded image to 8-bit RGB, pixel for pixel as Pillow 9.4's
 * `Image.open(f).convert("RGB")`: alpha is dropped without compositing, palettes and
 * greyscale are expanded, 16-bit greyscale is clipped to 0..255, CMYK JPEGs use Pillow's
 * conversion, the EXIF orientation is ignored, and for GIF and animated WebP the first frame is
 * returned. This is {@linkcode decodeNativeImage} followed by `toRgb`.
 *
 * @param bytes The encoded file. It is only read.
 * @param nameHint A name for the input in error messages (e.g. the WebDataset field or file
 *   name); it does not influence the format detection.
 * @returns The decoded image.
 * @throws DecoderFailure when a decoder fails for a reason that is not the image's.
 * @throws ImageDecodeError when the bytes are not a PNG, JPEG, GIF or WebP file Pillow 9.4
 *   would decode (unknown signature, corrupt or truncated data, more than Pillow's pixel
 *   limit), and for arithmetic-coded JPEGs, which this decoder does not support.
 */
export async function decodeImage(bytes: Uint8Array, nameHint?: string): Promise<RgbImage> {
  return toRgb(await decodeNativeImage(bytes, nameHint));
}

/**
 * Decodes an encoded image to the Pillow mode and samples Pillow 9.4's `Image.open(f)` holds
 * (see {@linkcode NativeImage}): "1", "L", "P", "I", "LA", "RGB" or "RGBA" for PNG; "L", "RGB" or "CMYK" for JPEG;
 * "P" or "L" for GIF (first frame); "RGB" or "RGBA" for WebP (first frame). The EXIF
 * orientation is ignored, as in Pillow.
 *
 * @param bytes The encoded file. It is only read.
 * @param nameHint A name for the input in error messages (e.g. the WebDataset field or file
 *   name); it does not influence the format detection.
 * @param options The JPEG decoder to use instead of this worker's.
 * @returns The decoded image in its Pillow mode.
 * @throws ImageDecodeError as {@linkcode decodeImage}.
 * @throws DecoderFailure when a decoder fails for a reason that is not the image's.
 */
export async function decodeNativeImage(
  bytes: Uint8Array,
  nameHint?: string,
  options: DecodeOptions = {},
): Promise<NativeImage> {
  const source = nameHint === undefined ? "image" : `"${nameHint}"`;
  const format = sniffFormat(bytes);
  if (format === undefined) {
    const head = [...bytes.subarray(0, 8)].map((b) => b.toString(16).padStart(2, "0")).join(" ");
    throw new ImageDecodeError(
      "unknown",
      `${source}: ${bytes.length} bytes starting with [${head}] are not a PNG, JPEG, GIF or WebP file`,
    );
  }
  try {
    switch (format) {
      case "png":
        return decodePng(bytes, source);
      case "jpeg":
        return await decodeJpeg(bytes, source, options.jpegDecoder, options.pixelBuffer);
      case "gif":
        return decodeGif(bytes, source);
      case "webp":
        return await decodeWebp(bytes, source);
    }
  } catch (error) {
    if (error instanceof ImageDecodeError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    // An image too large for the memory left is the image's problem, like Pillow's MemoryError.
    if (error instanceof RangeError && /allocation failed/i.test(message)) {
      throw new ImageDecodeError(format, `${source}: out of memory: ${message}`, { cause: error });
    }
    // Anything else (a TypeError from a bug, a WebAssembly module that cannot be loaded) says
    // nothing about the image: it must fail the run, not skip the sample.
    throw new DecoderFailure(`the ${format} decoder failed on ${source}: ${message}`, {
      cause: error,
    });
  }
}

/**
 * A decoder failed for a reason that is not the image's: a programming error, or a WebAssembly
 * module that cannot be loaded. Unlike an {@linkcode ImageDecodeError} it does not skip the
 * sample: it fails the run (src/pipeline/skip_reason.ts).
 */
export class DecoderFailure extends Error {
  /**
   * Creates an instance.
   *
   * @param message What failed, naming the format and the input.
   */
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.name = "DecoderFailure";
  }
}
