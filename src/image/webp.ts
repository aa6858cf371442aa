/**
 * WebP decoding to 8-bit RGB with Pillow 9.4's `Image.open(f).convert("RGB")` semantics.
 *
 * Pillow reads WebP through libwebp's animation decoder, which needs the whole RIFF (a file
 * shorter than its RIFF size is refused; bytes after it are ignored) and renders the first
 * frame onto a canvas cleared to transparent black. Alpha is then dropped (not composited).
 * The bitstreams are decoded by libwebp compiled to WebAssembly (`@jsquash/webp`, fancy
 * upsampling as in Pillow). For an animation, the first frame's ALPH/VP8/VP8L chunks are
 * wrapped into a still image, decoded, and placed at the frame's offset on a black canvas.
 * The WebAssembly libwebp is 1.0.2 (Pillow's is 1.2.4): valid files decode identically, corrupt
 * lossy bitstreams that both versions accept can decode to different pixels.
 *
 * @module
 */

import { ImageDecodeError } from "../errors.ts";
import type { RgbImage } from "./rgb_image.ts";
import { rgbaToRgb } from "./pil_convert.ts";
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
 * @returns The image as 8-bit RGB.
 * @throws ImageDecodeError for anything Pillow 9.4 refuses, and for truncated data.
 */
export async function decodeWebp(bytes: Uint8Array, source: string): Promise<RgbImage> {
  const fail: (message: string) => never = (message) => {
    throw new ImageDecodeError("webp", `${source}: ${message}`);
  };
  const layout = readWebpLayout(bytes, fail);
  if (layout.kind === "still") {
    checkImageSize("webp", source, layout.width, layout.height);
    const rgba = await decodeStill(layout.riff, fail);
    if (rgba.width !== layout.width || rgba.height !== layout.height) {
      fail(
        `bitstream is ${rgba.width}×${rgba.height}, header says ${layout.width}×${layout.height}`,
      );
    }
    const rgb = new Uint8Array(rgba.width * rgba.height * 3);
    rgbaToRgb(rgba.data, rgba.width * rgba.height, rgb);
    return { width: rgba.width, height: rgba.height, data: rgb };
  }
  const { canvasWidth, canvasHeight, x, y, width, height } = layout;
  checkImageSize("webp", source, canvasWidth, canvasHeight);
  const frame = await decodeStill(layout.still, fail);
  if (frame.width !== width || frame.height !== height) {
    fail(`first frame decodes to ${frame.width}×${frame.height}, header says ${width}×${height}`);
  }
  const rgb = new Uint8Array(canvasWidth * canvasHeight * 3);
  rgbaToRgb(frame.data, width * height, rgb, (y * canvasWidth + x) * 3, width, canvasWidth * 3);
  return { width: canvasWidth, height: canvasHeight, data: rgb };
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
