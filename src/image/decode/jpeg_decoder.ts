/**
 * Which libjpeg-turbo decodes JPEG pixels: the system's native TurboJPEG library when it loads
 * (src/image/decode/turbojpeg_native.ts, SIMD, the fast path) or the WebAssembly build that
 * ships with clipbench (src/image/decode/turbojpeg.ts, everywhere: serverless platforms, no FFI
 * permission, no library). Both give Pillow's pixels on every valid file (the decode vectors and
 * the JPEG corpus test prove it for both), so the choice changes speed, not numbers — with one
 * exception: the WebAssembly build has no arithmetic decoder, so arithmetic-coded files, which
 * Pillow and the native library decode, are refused by it.
 *
 * {@linkcode JPEG_DECODER_ENV} chooses: `auto` (default: native when it loads, else
 * WebAssembly), `native` (native or fail) or `wasm`. The choice is made once per module
 * instance (once per worker) and reported in each result's runtime block
 * ({@linkcode jpegDecoderDescription}).
 *
 * @module
 */

import { TurboJpegDecoder, type TurboJpegImage } from "./turbojpeg.ts";
import { openNativeTurboJpeg } from "./turbojpeg_native.ts";

/** The environment variable choosing the JPEG decoder: `auto`, `native` or `wasm`. */
export const JPEG_DECODER_ENV = "CLIPBENCH_JPEG_DECODER";

/** The choices {@linkcode JPEG_DECODER_ENV} takes. */
export const JPEG_DECODER_CHOICES = ["auto", "native", "wasm"] as const;

/** A value of {@linkcode JPEG_DECODER_ENV}. */
export type JpegDecoderChoice = typeof JPEG_DECODER_CHOICES[number];

/** A libjpeg-turbo decompressor, native or WebAssembly. */
export interface JpegPixelDecoder {
  /** `native` or `wasm`. */
  readonly kind: "native" | "wasm";
  /** What it is, for the runtime block: library and, for a fallback, why. */
  readonly description: string;
  /**
   * Decodes a whole JPEG file to `pixelFormat` (TurboJPEG's `TJPF_*`), into a buffer from
   * `output` when given (the pixels are then a view of its start), else a fresh one.
   *
   * @throws TurboJpegError with libjpeg's message when libjpeg refuses the data.
   */
  decode(
    jpeg: Uint8Array,
    pixelFormat: number,
    expected: { width: number; height: number },
    output?: (bytes: number) => Uint8Array,
  ): TurboJpegImage;
}

/** The choice in the environment (`auto` when unset or unreadable). */
export function jpegDecoderChoice(): JpegDecoderChoice {
  let value: string | undefined;
  try {
    value = Deno.env.get(JPEG_DECODER_ENV);
  } catch {
    return "auto";
  }
  if (value === undefined || value === "") return "auto";
  if (!(JPEG_DECODER_CHOICES as readonly string[]).includes(value)) {
    throw new TypeError(
      `${JPEG_DECODER_ENV}=${value}: expected one of ${JPEG_DECODER_CHOICES.join(", ")}`,
    );
  }
  return value as JpegDecoderChoice;
}

/**
 * A decoder for `choice` (see the module documentation).
 *
 * @throws Error for `native` when the native library cannot be opened, naming why.
 */
export async function loadJpegDecoder(choice: JpegDecoderChoice): Promise<JpegPixelDecoder> {
  if (choice !== "wasm") {
    const native = openNativeTurboJpeg();
    if (!("unavailable" in native)) {
      return {
        kind: "native",
        description: `native libjpeg-turbo (${native.library})`,
        decode: (jpeg, format, expected, output) => native.decode(jpeg, format, expected, output),
      };
    }
    if (choice === "native") {
      throw new Error(`${JPEG_DECODER_ENV}=native: ${native.unavailable}`);
    }
    const wasm = await TurboJpegDecoder.load();
    return wasmDecoder(wasm, `WebAssembly libjpeg-turbo 2.0 (${native.unavailable})`);
  }
  return wasmDecoder(await TurboJpegDecoder.load(), "WebAssembly libjpeg-turbo 2.0 (chosen)");
}

function wasmDecoder(wasm: TurboJpegDecoder, description: string): JpegPixelDecoder {
  return {
    kind: "wasm",
    description,
    decode: (jpeg, format, expected, output) => wasm.decode(jpeg, format, expected, output),
  };
}

/** This module instance's decoder, chosen on first use. */
let selected: Promise<JpegPixelDecoder> | undefined;

/** The decoder of this module instance (one per worker), per {@linkcode JPEG_DECODER_ENV}. */
export function selectedJpegDecoder(): Promise<JpegPixelDecoder> {
  if (selected === undefined) {
    const loading = (async () => await loadJpegDecoder(jpegDecoderChoice()))();
    // A failed choice is not remembered: the next call reports it again.
    loading.catch(() => {
      if (selected === loading) selected = undefined;
    });
    selected = loading;
  }
  return selected;
}

/** The description of the decoder JPEG files get here (for the result's runtime block). */
export async function jpegDecoderDescription(): Promise<string> {
  return (await selectedJpegDecoder()).description;
}
