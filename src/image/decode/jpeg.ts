/**
 * JPEG decoding to the Pillow mode Pillow 9.4's `Image.open(f)` gives: "L" for 1-component
 * files, "RGB" for 3-component (YCbCr or RGB) files, "CMYK" for 4-component files.
 *
 * Pixels come from libjpeg-turbo's TurboJPEG API (islow IDCT, fancy upsampling): the system's
 * native library when it loads, else the WebAssembly build (src/image/decode/jpeg_decoder.ts),
 * decoded to grey, RGB or CMYK. Pillow reads CMYK with raw mode "CMYK;I" (Adobe's
 * inverted storage), so the stored values are inverted to Pillow's ink amounts.
 * The EXIF orientation is not applied (Pillow's `open` does not). A file that ends before the
 * data libjpeg needs is refused, as Pillow refuses it (see `jpeg_structure.ts`).
 *
 * Not supported by the WebAssembly build, unlike Pillow and the native library: arithmetic-coded
 * JPEGs (such files fail with libjpeg's message). Valid files decode to Pillow's pixels exactly
 * with either; files with corrupt entropy-coded data or Huffman tables, which decode with
 * warnings, can differ in the damaged blocks under WebAssembly: that build is libjpeg-turbo 2.0
 * running its C code, Pillow's is 2.1.5 with x86 SIMD (whose IDCT saturates differently on
 * out-of-range coefficients) — as is Debian's native library.
 *
 * @module
 */

import { ImageDecodeError } from "../../errors.ts";
import { JpegStructureError, scanJpegStructure } from "./jpeg_structure.ts";
import type { NativeImage } from "../native_image.ts";
import { checkImageSize } from "./pixel_limit.ts";
import { type JpegPixelDecoder, selectedJpegDecoder } from "./jpeg_decoder.ts";
import { TJPF_CMYK, TJPF_GRAY, TJPF_RGB, TurboJpegError } from "./turbojpeg.ts";

/**
 * Decodes a JPEG file.
 *
 * @param bytes The whole file.
 * @param source How to name the input in error messages.
 * @param pixelDecoder The libjpeg-turbo to use (default: this worker's, see jpeg_decoder.ts).
 * @param pixelBuffer Gives the buffer the pixels are written to (default: a fresh one).
 * @returns The image in its Pillow mode: "L", "RGB" or "CMYK".
 * @throws ImageDecodeError for anything Pillow 9.4 refuses, for truncated data and for
 *   arithmetic-coded files.
 */
export async function decodeJpeg(
  bytes: Uint8Array,
  source: string,
  pixelDecoder?: JpegPixelDecoder,
  pixelBuffer?: (bytes: number) => Uint8Array,
): Promise<NativeImage> {
  const fail = (message: string) => new ImageDecodeError("jpeg", `${source}: ${message}`);
  let structure;
  try {
    structure = scanJpegStructure(bytes);
  } catch (error) {
    if (error instanceof JpegStructureError) {
      throw fail(`${error.message} at offset ${error.offset}`);
    }
    throw error;
  }
  if (!structure.complete) {
    throw fail(`file ends after ${bytes.length} bytes, before the image data is complete`);
  }
  const { width, height, components } = structure;
  checkImageSize("jpeg", source, width, height);

  const decoder = pixelDecoder ?? await selectedJpegDecoder();
  try {
    if (components === 4) {
      const cmyk = decoder.decode(bytes, TJPF_CMYK, { width, height }, pixelBuffer).pixels;
      for (let i = 0; i < cmyk.length; i++) cmyk[i] = 255 - cmyk[i];
      return { mode: "CMYK", width, height, data: cmyk };
    }
    if (components === 1) {
      const grey = decoder.decode(bytes, TJPF_GRAY, { width, height }, pixelBuffer);
      return { mode: "L", width, height, data: grey.pixels };
    }
    const rgb = decoder.decode(bytes, TJPF_RGB, { width, height }, pixelBuffer);
    return { mode: "RGB", width, height, data: rgb.pixels };
  } catch (error) {
    if (error instanceof TurboJpegError) throw fail(`libjpeg: ${error.message}`);
    throw error;
  }
}
