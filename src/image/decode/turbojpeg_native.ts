/**
 * A binding to the system's native libjpeg-turbo TurboJPEG library (`libturbojpeg.so.0`, Debian's
 * and Ubuntu's `libturbojpeg0`; Homebrew's `jpeg-turbo`) through Deno's FFI: the same decoder as
 * the WebAssembly build (src/image/decode/turbojpeg.ts), with libjpeg-turbo's SIMD code — about
 * four times faster on one core.
 *
 * The library is found by {@linkcode openNativeTurboJpeg}: the path in
 * {@linkcode LIBTURBOJPEG_ENV} when set, else the platform's usual names. Opening needs Deno's
 * FFI permission (`--allow-ffi`, part of `-A`); without it, or without the library, the caller
 * falls back to WebAssembly (src/image/decode/jpeg_decoder.ts).
 *
 * Decoding is the WebAssembly binding's: a fresh decompressor per image, libjpeg's defaults
 * (islow IDCT, fancy upsampling, which Pillow also uses), warnings ignored as Pillow ignores them
 * and fatal errors raised with libjpeg's message. The output buffer is sized from the frame size
 * the caller found and that libjpeg must confirm, so the library never writes past it.
 *
 * @module
 */

import { PIXEL_SIZE, TurboJpegError, type TurboJpegImage } from "./turbojpeg.ts";

/** The environment variable naming the TurboJPEG library to load (a path or a file name). */
export const LIBTURBOJPEG_ENV = "CLIPBENCH_LIBTURBOJPEG";

/** TurboJPEG's `TJERR_FATAL` (`tjGetErrorCode`): the error stopped decoding. */
const TJERR_FATAL = 1;

/** The library names tried when {@linkcode LIBTURBOJPEG_ENV} is not set, per platform. */
function candidateNames(): string[] {
  switch (Deno.build.os) {
    case "darwin":
      return [
        "libturbojpeg.0.dylib",
        "/opt/homebrew/opt/jpeg-turbo/lib/libturbojpeg.0.dylib",
        "/usr/local/opt/jpeg-turbo/lib/libturbojpeg.0.dylib",
      ];
    case "windows":
      return ["turbojpeg.dll"];
    default:
      return ["libturbojpeg.so.0", "libturbojpeg.so"];
  }
}

/** `unsigned long` (TurboJPEG's size type): 32 bits on Windows, 64 elsewhere. */
const UNSIGNED_LONG = Deno.build.os === "windows" ? "u32" : "u64";

const SYMBOLS = {
  tjInitDecompress: { parameters: [], result: "pointer" },
  tjDecompressHeader3: {
    parameters: ["pointer", "buffer", UNSIGNED_LONG, "buffer", "buffer", "buffer", "buffer"],
    result: "i32",
  },
  tjDecompress2: {
    parameters: [
      "pointer",
      "buffer",
      UNSIGNED_LONG,
      "buffer",
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
    ],
    result: "i32",
  },
  tjGetErrorCode: { parameters: ["pointer"], result: "i32" },
  tjGetErrorStr2: { parameters: ["pointer"], result: "pointer" },
  tjDestroy: { parameters: ["pointer"], result: "i32" },
} as const;

type TurboJpegLibrary = Deno.DynamicLibrary<typeof SYMBOLS>;

/** A TurboJPEG decompressor backed by the native library (see the module documentation). */
export class NativeTurboJpegDecoder {
  readonly #library: TurboJpegLibrary;
  /** The library as it was opened (a file name or path). */
  readonly library: string;

  private constructor(library: TurboJpegLibrary, name: string) {
    this.#library = library;
    this.library = name;
  }

  /** Opens `name` with Deno's FFI (throws when it cannot). */
  static open(name: string): NativeTurboJpegDecoder {
    return new NativeTurboJpegDecoder(Deno.dlopen(name, SYMBOLS), name);
  }

  /**
   * Decodes a JPEG file, as `TurboJpegDecoder.decode` does.
   *
   * @param jpeg The whole file.
   * @param pixelFormat `TJPF_RGB`, `TJPF_GRAY` (1-component files) or `TJPF_CMYK` (4-component).
   * @param expected The frame size found by the caller; the header libjpeg reads must agree.
   * @param output Gives the buffer to decode into (the pixels are a view of its start);
   *   default a fresh one.
   * @throws TurboJpegError with libjpeg's message when libjpeg refuses the data.
   */
  decode(
    jpeg: Uint8Array,
    pixelFormat: number,
    expected: { width: number; height: number },
    output?: (bytes: number) => Uint8Array,
  ): TurboJpegImage {
    const pixelSize = PIXEL_SIZE[pixelFormat];
    if (pixelSize === undefined) throw new RangeError(`unsupported pixel format ${pixelFormat}`);
    const lib = this.#library.symbols;
    // A fresh decompressor per image: a reused one keeps the previous image's tables.
    const handle = lib.tjInitDecompress();
    if (handle === null) throw new TurboJpegError("tjInitDecompress failed");
    const message = () => {
      const text = lib.tjGetErrorStr2(handle);
      return text === null ? "libjpeg error" : Deno.UnsafePointerView.getCString(text);
    };
    try {
      const [w, h, subsampling, colorspace] = [1, 2, 3, 4].map(() => new Int32Array(1));
      const status = lib.tjDecompressHeader3(
        handle,
        jpeg,
        jpeg.length,
        w,
        h,
        subsampling,
        colorspace,
      );
      // Like the WebAssembly binding: a sampling TurboJPEG cannot name fails the header call
      // after the size is stored, so the size decides, and it must be the caller's.
      const [width, height] = [w[0], h[0]];
      if (width !== expected.width || height !== expected.height) {
        throw new TurboJpegError(
          status !== 0 && width === 0
            ? message()
            : `libjpeg reads a ${width}×${height} frame, the file's frame header says ` +
              `${expected.width}×${expected.height}`,
        );
      }
      const size = width * height * pixelSize;
      const pixels = output === undefined ? new Uint8Array(size) : output(size).subarray(0, size);
      const result = lib.tjDecompress2(
        handle,
        jpeg,
        jpeg.length,
        pixels,
        width,
        width * pixelSize,
        height,
        pixelFormat,
        0,
      );
      // -1 with TJERR_WARNING: libjpeg only warned (corrupt but decodable data), as Pillow.
      if (result !== 0 && lib.tjGetErrorCode(handle) === TJERR_FATAL) {
        throw new TurboJpegError(message());
      }
      return { width, height, pixels };
    } finally {
      lib.tjDestroy(handle);
    }
  }

  /** Closes the library. */
  close(): void {
    this.#library.close();
  }
}

/**
 * Opens the native TurboJPEG library: {@linkcode LIBTURBOJPEG_ENV}'s value when set, else the
 * first of the platform's usual names that loads.
 *
 * @returns The decoder, or why there is none (no FFI permission, no library).
 */
export function openNativeTurboJpeg(): NativeTurboJpegDecoder | { unavailable: string } {
  let configured: string | undefined;
  try {
    configured = Deno.env.get(LIBTURBOJPEG_ENV) || undefined;
  } catch {
    // No permission to read the environment: the usual names.
  }
  const names = configured === undefined ? candidateNames() : [configured];
  const reasons: string[] = [];
  for (const name of names) {
    try {
      return NativeTurboJpegDecoder.open(name);
    } catch (error) {
      if (
        error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied
      ) {
        return { unavailable: "no FFI permission (--allow-ffi)" };
      }
      reasons.push(`${name}: ${(error as Error).message.split("\n")[0]}`);
    }
  }
  return { unavailable: `no TurboJPEG library (${reasons.join("; ")})` };
}
