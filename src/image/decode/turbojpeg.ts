/**
 * A binding to the libjpeg-turbo 2.0 TurboJPEG decompressor compiled to WebAssembly by
 * `@cwasm/jpeg-turbo` (its `jpeg-turbo.wasm`; the package's own `index.js` is not used because
 * it instantiates at import time and cannot recover from a libjpeg error).
 *
 * libjpeg reports errors with `longjmp`; this build imports `setjmp`/`longjmp` from the host,
 * so an error surfaces here as a JavaScript exception thrown through the WebAssembly frames.
 * Those frames never run their cleanup, so after any exception the instance is dropped and the
 * next decode starts a fresh one from the compiled module. The message libjpeg formatted is
 * read from TurboJPEG's static error buffer (located once per instance). Warnings (e.g.
 * "Corrupt JPEG data: 2 extraneous bytes before marker 0xd9") do not stop decoding, as in
 * Pillow.
 *
 * Every image gets a fresh decompressor: a reused one would keep the previous image's tables.
 * Decoding is islow IDCT with fancy upsampling, libjpeg's defaults, which Pillow also uses.
 *
 * @module
 */

import { compilePackageWasm } from "./wasm_module.ts";

/** TurboJPEG pixel format: interleaved R, G, B. */
export const TJPF_RGB = 0;
/** TurboJPEG pixel format: one grey byte per pixel (for 1-component files). */
export const TJPF_GRAY = 6;
/** TurboJPEG pixel format: interleaved C, M, Y, K as stored (Adobe files store inverted ink). */
export const TJPF_CMYK = 11;

/** Bytes per pixel of the supported pixel formats. */
export const PIXEL_SIZE: Readonly<Record<number, number>> = {
  [TJPF_RGB]: 3,
  [TJPF_GRAY]: 1,
  [TJPF_CMYK]: 4,
};

/** After a decode leaves the instance's memory larger than this, the instance is dropped. */
const MAX_RETAINED_MEMORY = 256 * 1024 * 1024;

/** libjpeg's JMSG_LENGTH_MAX: the size of TurboJPEG's static error string buffer. */
const ERROR_BUFFER_SIZE = 200;

/** The exports of jpeg-turbo.wasm. */
interface TurboJpegExports {
  memory: WebAssembly.Memory;
  malloc(size: number): number;
  free(pointer: number): void;
  tjInitDecompress(): number;
  tjDecompressHeader3(
    handle: number,
    source: number,
    size: number,
    width: number,
    height: number,
    subsampling: number,
    colorspace: number,
  ): number;
  tjDecompress2(
    handle: number,
    source: number,
    size: number,
    destination: number,
    width: number,
    pitch: number,
    height: number,
    pixelFormat: number,
    flags: number,
  ): number;
  tjDestroy(handle: number): number;
}

/** A decoded JPEG in a TurboJPEG pixel format. */
export interface TurboJpegImage {
  /** Width in pixels. */
  readonly width: number;
  /** Height in pixels. */
  readonly height: number;
  /** Interleaved pixels, `width × height × (3 or 4)` bytes, owned by the caller. */
  readonly pixels: Uint8Array;
}

/** A failure reported by libjpeg or TurboJPEG, with its message. */
export class TurboJpegError extends Error {
  /** @param message libjpeg's or TurboJPEG's message. */
  constructor(message: string) {
    super(message);
    this.name = "TurboJpegError";
  }
}

/** Thrown into the WebAssembly code in place of `longjmp`. */
class LongJump extends Error {
  constructor() {
    super("libjpeg error exit");
  }
}

/** One WebAssembly instance. */
class Instance {
  readonly exports: TurboJpegExports;
  /** Address of TurboJPEG's static error string, or -1 when it could not be found. */
  readonly errorBuffer: number;

  constructor(module: WebAssembly.Module) {
    const unsupported = (name: string) => () => {
      throw new Error(`jpeg-turbo.wasm called the unsupported system function ${name}`);
    };
    // The imports run after instantiation, when the memory export is known.
    const exported: { memory?: WebAssembly.Memory } = {};
    const instance = new WebAssembly.Instance(module, {
      env: {
        setjmp: () => 0,
        longjmp: () => {
          throw new LongJump();
        },
      },
      wasi_snapshot_preview1: {
        // libc's getenv (TurboJPEG reads a few TJ_* variables): an empty environment.
        environ_sizes_get: (countPointer: number, sizePointer: number) => {
          const view = new DataView(exported.memory!.buffer);
          view.setUint32(countPointer, 0, true);
          view.setUint32(sizePointer, 0, true);
          return 0;
        },
        environ_get: () => 0,
        proc_exit: unsupported("proc_exit"),
        fd_close: unsupported("fd_close"),
        fd_seek: unsupported("fd_seek"),
        fd_write: unsupported("fd_write"),
      },
    });
    exported.memory = (instance.exports as unknown as TurboJpegExports).memory;
    this.exports = instance.exports as unknown as TurboJpegExports;
    this.errorBuffer = findErrorBuffer(new Uint8Array(this.exports.memory.buffer));
  }

  /** The message in TurboJPEG's error buffer. */
  message(): string {
    if (this.errorBuffer < 0) return "libjpeg error";
    const memory = new Uint8Array(this.exports.memory.buffer);
    let end = this.errorBuffer;
    while (end < this.errorBuffer + ERROR_BUFFER_SIZE && memory[end] !== 0) end++;
    return new TextDecoder().decode(memory.subarray(this.errorBuffer, end));
  }
}

/**
 * Finds TurboJPEG's `static char errStr[JMSG_LENGTH_MAX] = "No error"` in a fresh instance's
 * memory: the "No error" string followed by zeros to the end of the buffer.
 */
function findErrorBuffer(memory: Uint8Array): number {
  const text = [...new TextEncoder().encode("No error"), 0];
  let at = memory.indexOf(text[0]);
  while (at >= 0 && at + ERROR_BUFFER_SIZE <= memory.length) {
    let matches = text.every((b, i) => memory[at + i] === b);
    for (let i = at + text.length; matches && i < at + ERROR_BUFFER_SIZE; i++) {
      matches = memory[i] === 0;
    }
    if (matches) return at;
    at = memory.indexOf(text[0], at + 1);
  }
  return -1;
}

/**
 * A lazily instantiated TurboJPEG WebAssembly module. One per module instance (so one per
 * worker); not re-entrant, which cannot matter since every call is synchronous.
 */
export class TurboJpegDecoder {
  readonly #module: WebAssembly.Module;
  #instance: Instance | undefined;

  private constructor(module: WebAssembly.Module) {
    this.#module = module;
  }

  /**
   * Compiles `@cwasm/jpeg-turbo`'s WebAssembly module.
   *
   * @returns A decoder; its first decode instantiates the module.
   */
  static async load(): Promise<TurboJpegDecoder> {
    return new TurboJpegDecoder(await compilePackageWasm("@cwasm/jpeg-turbo/jpeg-turbo.wasm"));
  }

  /**
   * Decodes a JPEG file.
   *
   * @param jpeg The whole file.
   * @param pixelFormat {@linkcode TJPF_RGB}, {@linkcode TJPF_GRAY} (1-component files only) or
   *   {@linkcode TJPF_CMYK} (4-component files only).
   * @param expected The frame size found by the caller; the header libjpeg reads must agree.
   * @param into Gives the buffer the pixels are copied to (they are a view of its start);
   *   default a fresh one.
   * @returns The pixels in `pixelFormat`.
   * @throws TurboJpegError with libjpeg's message when libjpeg refuses the data.
   */
  decode(
    jpeg: Uint8Array,
    pixelFormat: number,
    expected: { width: number; height: number },
    into?: (bytes: number) => Uint8Array,
  ): TurboJpegImage {
    const pixelSize = PIXEL_SIZE[pixelFormat];
    if (pixelSize === undefined) throw new RangeError(`unsupported pixel format ${pixelFormat}`);
    const instance = this.#instance ??= new Instance(this.#module);
    const { exports } = instance;
    let handle = 0;
    let input = 0;
    let header = 0;
    let output = 0;
    try {
      // A fresh decompressor per image: a reused one keeps the previous image's quantisation
      // and Huffman tables, which a corrupt file lacking its own would then silently use.
      handle = exports.tjInitDecompress();
      if (handle === 0) throw new TurboJpegError("tjInitDecompress failed");
      input = exports.malloc(jpeg.length);
      header = exports.malloc(16);
      if (input === 0 || header === 0) throw new TurboJpegError("out of memory for the input");
      new Uint8Array(exports.memory.buffer, input, jpeg.length).set(jpeg);
      new Int32Array(exports.memory.buffer, header, 4).fill(0);
      // TurboJPEG 2.0 returns -1 for samplings it cannot name (e.g. 2x2,1x2,2x1) after it has
      // stored the size, so the status is not used: the size must match the caller's.
      exports.tjDecompressHeader3(
        handle,
        input,
        jpeg.length,
        header,
        header + 4,
        header + 8,
        header + 12,
      );
      const [width, height] = new Int32Array(exports.memory.buffer, header, 2);
      if (width !== expected.width || height !== expected.height) {
        throw new TurboJpegError(
          `libjpeg reads a ${width}×${height} frame, the file's frame header says ` +
            `${expected.width}×${expected.height}`,
        );
      }
      const size = width * height * pixelSize;
      output = exports.malloc(size);
      if (output === 0) throw new TurboJpegError(`out of memory for a ${width}×${height} image`);
      // A status of -1 without an exception means libjpeg only warned (corrupt but decodable
      // data): Pillow ignores warnings too.
      exports.tjDecompress2(
        handle,
        input,
        jpeg.length,
        output,
        width,
        width * pixelSize,
        height,
        pixelFormat,
        0,
      );
      const decoded = new Uint8Array(exports.memory.buffer, output, size);
      let pixels: Uint8Array;
      if (into === undefined) {
        pixels = decoded.slice();
      } else {
        pixels = into(size).subarray(0, size);
        pixels.set(decoded);
      }
      return { width, height, pixels };
    } catch (error) {
      if (error instanceof TurboJpegError) throw error;
      // An exception thrown through the WebAssembly frames: the instance's state is unknown.
      this.#instance = undefined;
      if (error instanceof LongJump) throw new TurboJpegError(instance.message());
      throw new TurboJpegError(`WebAssembly failure: ${(error as Error).message}`);
    } finally {
      if (this.#instance === instance) {
        if (handle) exports.tjDestroy(handle);
        if (input) exports.free(input);
        if (header) exports.free(header);
        if (output) exports.free(output);
        if (exports.memory.buffer.byteLength > MAX_RETAINED_MEMORY) this.#instance = undefined;
      }
    }
  }
}
