/**
 * WebP decoding to the Pillow mode Pillow 9.4's `Image.open(f)` gives: "RGBA", or "RGB" when
 * libwebp reports no alpha (see `webp_container.ts`; the alpha samples are then dropped, as
 * Pillow's raw mode "RGBX" drops them).
 *
 * Pillow reads WebP through libwebp's animation decoder, which needs the whole RIFF (a file
 * shorter than its RIFF size is refused; bytes after it are ignored) and renders the first
 * frame onto a canvas cleared to transparent black.
 * The bitstreams are decoded by libwebp compiled to WebAssembly (`@jsquash/webp`, fancy
 * upsampling as in Pillow). For an animation, the first frame's ALPH/VP8/VP8L chunks are
 * wrapped into a still image, decoded, and placed at the frame's offset on a black canvas.
 * The WebAssembly libwebp is 1.0.2 (Pillow's is 1.2.4): valid files decode identically, corrupt
 * lossy bitstreams that both versions accept can decode to different pixels.
 *
 * @module
 */

import { ImageDecodeError } from "../../errors.ts";
import type { NativeImage } from "../native_image.ts";
import { rgbaToRgb } from "../pil_convert.ts";
import { checkImageSize } from "./pixel_limit.ts";
import { compilePackageWasm } from "./wasm_module.ts";
import { readWebpLayout } from "./webp_container.ts";
import webpDecoderFactory, { type WebPModule } from "@jsquash/webp/codec/dec/webp_dec.js";

/** The emscripten module of this module instance (one per worker), created on first use. */
let decoderPromise: Promise<WebPModule> | undefined;

/**
 * Decodes a WebP file (the first frame of an animation).
 *
 * @param bytes The whole file.
 * @param source How to name the input in error messages.
 * @returns The image in its Pillow mode, "RGB" or "RGBA".
 * @throws ImageDecodeError for anything Pillow 9.4 refuses, and for truncated data.
 */
export async function decodeWebp(bytes: Uint8Array, source: string): Promise<NativeImage> {
  const fail: (message: string) => never = (message) => {
    throw new ImageDecodeError("webp", `${source}: ${message}`);
  };
  const layout = readWebpLayout(bytes, fail);
  const mode = layout.hasAlpha ? "RGBA" : "RGB";
  const bands = layout.hasAlpha ? 4 : 3;
  if (layout.kind === "still") {
    checkImageSize("webp", source, layout.width, layout.height);
    const rgba = await decodeStill(layout.riff, fail);
    const { width, height } = rgba;
    if (width !== layout.width || height !== layout.height) {
      fail(`bitstream is ${width}×${height}, header says ${layout.width}×${layout.height}`);
    }
    const data = new Uint8Array(width * height * bands);
    if (layout.hasAlpha) data.set(rgba.data);
    else rgbaToRgb(rgba.data, width * height, data);
    return { mode, width, height, data };
  }
  const { canvasWidth, canvasHeight, x, y, width, height } = layout;
  checkImageSize("webp", source, canvasWidth, canvasHeight);
  const frame = await decodeStill(layout.still, fail);
  if (frame.width !== width || frame.height !== height) {
    fail(`first frame decodes to ${frame.width}×${frame.height}, header says ${width}×${height}`);
  }
  // The canvas starts transparent black; the first frame is a key frame, copied onto it as is.
  const data = new Uint8Array(canvasWidth * canvasHeight * bands);
  const at = (y * canvasWidth + x) * bands;
  if (layout.hasAlpha) {
    for (let row = 0; row < height; row++) {
      const start = row * width * 4;
      data.set(frame.data.subarray(start, start + width * 4), at + row * canvasWidth * 4);
    }
  } else {
    rgbaToRgb(frame.data, width * height, data, at, width, canvasWidth * 3);
  }
  return { mode, width: canvasWidth, height: canvasHeight, data };
}

/** Decodes a still WebP file to RGBA with libwebp. */
async function decodeStill(
  riff: Uint8Array,
  fail: (message: string) => never,
): Promise<{ width: number; height: number; data: Uint8ClampedArray }> {
  decoderPromise ??= loadDecoder();
  const decoder = await decoderPromise;
  let image: ImageData | null;
  try {
    // The binding copies the bytes into WebAssembly memory, whatever buffer backs them.
    image = decoder.decode(riff as Uint8Array<ArrayBuffer>);
  } catch (error) {
    // An emscripten abort leaves the module unusable: start a fresh one next time.
    decoderPromise = undefined;
    return fail(`libwebp failed: ${(error as Error).message ?? String(error)}`);
  }
  if (!image) return fail("libwebp cannot decode the bitstream");
  return { width: image.width, height: image.height, data: image.data as Uint8ClampedArray };
}

/** Instantiates libwebp's decoder from the package's wasm file. */
async function loadDecoder(): Promise<WebPModule> {
  const module = await compilePackageWasm("@jsquash/webp/codec/dec/webp_dec.wasm");
  // The emscripten glue sets `self.location = { href: "" }` when it finds no location (Deno's
  // main thread without --location); put the global back as it was.
  const location = Object.getOwnPropertyDescriptor(globalThis, "location");
  try {
    return await instantiateDecoder(module);
  } finally {
    if (location) Object.defineProperty(globalThis, "location", location);
  }
}

/** Runs the emscripten factory with the compiled module (no fetch of the wasm file). */
function instantiateDecoder(module: WebAssembly.Module): Promise<WebPModule> {
  return webpDecoderFactory({
    noInitialRun: true,
    // emscripten's hook; its callback takes the instance.
    instantiateWasm: (
      imports: WebAssembly.Imports,
      done: (instance: WebAssembly.Instance) => void,
    ) => {
      const instance = new WebAssembly.Instance(module, imports);
      done(instance);
      return instance.exports;
    },
  });
}
