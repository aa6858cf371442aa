/**
 * Pillow's image size limits, checked before any pixel memory is allocated.
 *
 * Pillow's `Image.open` raises `DecompressionBombError` for images with more than twice
 * `Image.MAX_IMAGE_PIXELS` pixels (it only warns between one and two times the limit), and no
 * format it reads here can describe an image with a zero dimension.
 *
 * @module
 */

import { ImageDecodeError } from "../../errors.ts";

/** Pillow 9.4's `Image.MAX_IMAGE_PIXELS` (`1024 ** 3 // 4 // 3`). */
const MAX_IMAGE_PIXELS = 89_478_485;

/**
 * Throws unless `width × height` is a size Pillow 9.4 opens.
 *
 * @param format The image format, for the error.
 * @param source How to name the input in the error message.
 * @param width Width in pixels from the file's header.
 * @param height Height in pixels from the file's header.
 * @throws ImageDecodeError for a zero dimension or more than `2 × MAX_IMAGE_PIXELS` pixels.
 */
export function checkImageSize(
  format: string,
  source: string,
  width: number,
  height: number,
): void {
  if (!(width >= 1 && height >= 1)) {
    throw new ImageDecodeError(format, `${source}: image size ${width}×${height} is empty`);
  }
  if (width * height > 2 * MAX_IMAGE_PIXELS) {
    throw new ImageDecodeError(
      format,
      `${source}: image size ${width}×${height} exceeds Pillow's limit of ${
        2 * MAX_IMAGE_PIXELS
      } pixels (decompression bomb)`,
    );
  }
}
