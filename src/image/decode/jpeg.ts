/**
 * JPEG decoding to the Pillow mode Pillow 9.4's `Image.open(f)` gives: "L" for 1-component
 * files, "RGB" for 3-component (YCbCr or RGB) files, "CMYK" for 4-component files.
 *
 * Pixels come from libjpeg-turbo (the TurboJPEG WebAssembly build, islow IDCT, fancy
 * upsampling), decoded to grey, RGB or CMYK. Pillow reads CMYK with raw mode "CMYK;I" (Adobe's
 * inverted storage), so the stored values are inverted to Pillow's ink amounts.
 * The EXIF orientation is not applied (Pillow's `open` does not). A file that ends before the
 * data libjpeg needs is refused, as Pillow refuses it (see `jpeg_structure.ts`).
 *
 * Not supported, unlike Pillow: arithmetic-coded JPEGs (the WebAssembly build lacks the
 * arithmetic decoder; such files fail with libjpeg's message). Valid files decode to Pillow's
 * pixels exactly; files with corrupt entropy-coded data or Huffman tables, which both decode
 * with warnings, can differ in the damaged blocks: the WebAssembly build is libjpeg-turbo 2.0
 * running its C code, Pillow's is 2.1.5 with x86 SIMD (whose IDCT saturates differently on
 * out-of-range coefficients).
 *
 * @module
 */

import { ImageDecodeError } from "../../errors.ts";
import { JpegStructureError, scanJpegStructure } from "./jpeg_structure.ts";
import type { NativeImage } from "../native_image.ts";
import { checkImageSize } from "./pixel_limit.ts";
import { TJPF_CMYK, TJPF_GRAY, TJPF_RGB, TurboJpegDecoder, TurboJpegError } from "./turbojpeg.ts";

/** The decoder of this module instance (one per worker), compiled on first use. */
let decoderPromise: Promise<TurboJpegDecoder> | undefined;

/**
 * Decodes a JPEG file.
 *
 * @param bytes The whole file.
 * @param source How to name the input in error messages.
 * @returns The image in its Pillow mode: "L", "RGB" or "CMYK".
 * @throws ImageDecodeError for anything Pillow 9.4 refuses, for truncated data and for
 *   arithmetic-coded files.
 */
export async function decodeJpeg(bytes: Uint8Array, source: string): Promise<NativeImage> {
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

  decoderPromise ??= TurboJpegDecoder.load();
  const decoder = await decoderPromise;
  try {
    if (components === 4) {
      const cmyk = decoder.decode(bytes, TJPF_CMYK, { width, height }).pixels;
      for (let i = 0; i < cmyk.length; i++) cmyk[i] = 255 - cmyk[i];
      return { mode: "CMYK", width, height, data: cmyk };
    }
    if (components === 1) {
      const grey = decoder.decode(bytes, TJPF_GRAY, { width, height });
      return { mode: "L", width, height, data: grey.pixels };
    }
    const rgb = decoder.decode(bytes, TJPF_RGB, { width, height });
    return { mode: "RGB", width, height, data: rgb.pixels };
  } catch (error) {
    if (error instanceof TurboJpegError) throw fail(`libjpeg: ${error.message}`);
    throw error;
  }
}
