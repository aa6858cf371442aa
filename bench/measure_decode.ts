/**
 * Decode + preprocess speed on one core: the dataset's first images, already read into memory,
 * decoded by clipbench's decoders (`decodeNativeImage`, JPEGs by the libjpeg-turbo given — the
 * native library or the WebAssembly fallback, src/image/decode/jpeg_decoder.ts) and
 * preprocessed by the model's
 * preprocessor into one reused tensor, one after the other on the calling thread. Decoding and
 * preprocessing are timed apart, so the report says where the time goes.
 *
 * @module
 */

import type { WebDataset } from "../src/dataset/wds.ts";
import { decodeNativeImage } from "../src/image/decode/mod.ts";
import type { JpegPixelDecoder } from "../src/image/decode/jpeg_decoder.ts";
import type { ImagePreprocessor } from "../src/image/preprocess/kernel.ts";
import { imageField } from "../src/dataset/webdataset.ts";
import { PixelScratch } from "../src/pipeline/slot_decoder.ts";

/** An encoded image read from a dataset. */
export interface EncodedImage {
  /** The file's bytes. */
  readonly bytes: Uint8Array;
  /** Its field (`jpg`, `png`, …). */
  readonly ext: string;
}

/** Reads the images of the dataset's first `count` samples (samples without one are passed). */
export async function readImages(dataset: WebDataset, count: number): Promise<EncodedImage[]> {
  const images: EncodedImage[] = [];
  for await (const sample of dataset.samples({ limit: count })) {
    const image = imageField(sample);
    if (image) images.push({ bytes: image.bytes, ext: image.ext });
  }
  return images;
}

/** What {@linkcode measureDecode} measured. */
export interface DecodeMeasure {
  /** The JPEG decoder (its description). */
  readonly jpegDecoder: string;
  /** Images timed. */
  readonly images: number;
  /** Mean size of the encoded files, bytes. */
  readonly meanBytes: number;
  /** Size of the first image, `width×height`. */
  readonly sourceSize: string;
  /** Seconds decoding. */
  readonly decodeSeconds: number;
  /** Seconds preprocessing (resize, crop, normalise into the tensor). */
  readonly preprocessSeconds: number;
  /** Images per second, decode + preprocess, one core. */
  readonly imagesPerSecond: number;
}

/**
 * Times decode + preprocess of `images` on the calling thread (after decoding the first few once
 * untimed, so the WebAssembly decoders are compiled and warm).
 */
export async function measureDecode(
  images: readonly EncodedImage[],
  preprocessor: ImagePreprocessor,
  jpegDecoder: JpegPixelDecoder,
): Promise<DecodeMeasure> {
  if (images.length === 0) throw new RangeError("no images to decode");
  // Reused pixel memory, as a decode worker reuses it (one decode at a time here).
  const options = { jpegDecoder, pixelBuffer: new PixelScratch().take().buffer };
  const out = new Float32Array(preprocessor.outputLength);
  for (const image of images.slice(0, 4)) {
    preprocessor.process(await decodeNativeImage(image.bytes, image.ext, options), out, 0);
  }
  let decodeMs = 0;
  let preprocessMs = 0;
  let bytes = 0;
  let sourceSize = "";
  for (const image of images) {
    const started = performance.now();
    const decoded = await decodeNativeImage(image.bytes, image.ext, options);
    const decodedAt = performance.now();
    preprocessor.process(decoded, out, 0);
    preprocessMs += performance.now() - decodedAt;
    decodeMs += decodedAt - started;
    bytes += image.bytes.length;
    sourceSize ||= `${decoded.width}×${decoded.height}`;
  }
  const seconds = (decodeMs + preprocessMs) / 1000;
  return {
    jpegDecoder: jpegDecoder.description,
    images: images.length,
    meanBytes: bytes / images.length,
    sourceSize,
    decodeSeconds: decodeMs / 1000,
    preprocessSeconds: preprocessMs / 1000,
    imagesPerSecond: images.length / seconds,
  };
}
