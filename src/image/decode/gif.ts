/**
 * GIF decoding (first frame) to the Pillow mode Pillow 9.4's `Image.open(f)` gives: "P" with
 * the colour table, or "L" when there is no table (the indices are then grey levels).
 *
 * The image is the logical screen, grown to hold the first frame if that frame extends past
 * it. Outside the frame, pixels hold the frame's transparency index when its graphic control
 * extension sets one, else index 0; the transparency itself is not applied. Colours come from
 * the frame's local colour table, else the global one; a table that is the identity grey ramp
 * (entry i = (i, i, i)) counts as absent, and without a table indices are grey levels ("L").
 * Indices beyond the table are grey too (Pillow's palette is a ramp under the table).
 *
 * The LZW stream is decoded exactly as Pillow's C decoder does, including its quirks: the data
 * sub-block chain simply continues past a zero-length block, a sub-block is only read when all
 * of it is present, codes never widen when the minimum code size is below 2, and decoding stops
 * at the last pixel. Running out of data, or an end code, before the last pixel is a truncated
 * file; an invalid code or a minimum code size above 12 is an error.
 *
 * @module
 */

import { ImageDecodeError } from "../../errors.ts";
import type { NativeImage } from "../native_image.ts";
import { checkImageSize } from "./pixel_limit.ts";

/** Pillow's GIF decoder table and string-buffer size (Gif.h). */
const GIF_TABLE = 4096;

/** The frame of a GIF that is decoded, as Pillow's `GifImageFile._seek(0)` finds it. */
interface FirstFrame {
  /** Image size (logical screen, grown to hold the frame). */
  width: number;
  height: number;
  /** Frame rectangle. */
  left: number;
  top: number;
  frameWidth: number;
  frameHeight: number;
  interlaced: boolean;
  /** Colour table in use, or undefined for grey levels. */
  palette?: Uint8Array;
  /** Index filling the image outside the frame. */
  background: number;
  /** LZW minimum code size. */
  codeSize: number;
  /** Offset of the first data sub-block. */
  dataOffset: number;
}

/**
 * Decodes the first frame of a GIF file.
 *
 * @param bytes The whole file.
 * @param source How to name the input in error messages.
 * @returns The image in its Pillow mode, "P" or "L".
 * @throws ImageDecodeError for anything Pillow 9.4 refuses, and for truncated data.
 */
export function decodeGif(bytes: Uint8Array, source: string): NativeImage {
  const fail: (message: string) => never = (message) => {
    throw new ImageDecodeError("gif", `${source}: ${message}`);
  };
  const frame = readFirstFrame(bytes, fail);
  const { width, height } = frame;
  checkImageSize("gif", source, width, height);
  if (frame.frameWidth === 0 || frame.frameHeight === 0) {
    fail(`first frame is ${frame.frameWidth}×${frame.frameHeight}`);
  }
  const indices = new Uint8Array(width * height);
  if (frame.background !== 0) indices.fill(frame.background);
  decodeLzw(bytes, frame, indices, fail);
  if (!frame.palette) return { mode: "L", width, height, data: indices };

  const palette = new Uint8Array(768);
  for (let i = 0; i < 256; i++) palette[i * 3] = palette[i * 3 + 1] = palette[i * 3 + 2] = i;
  palette.set(frame.palette);
  return { mode: "P", width, height, data: indices, palette };
}

/** Whether a colour table differs from the identity grey ramp (Pillow's `_is_palette_needed`). */
function paletteNeeded(table: Uint8Array): boolean {
  for (let i = 0; i < table.length; i += 3) {
    const index = i / 3;
    if (table[i] !== index || table[i + 1] !== index || table[i + 2] !== index) return true;
  }
  return false;
}

/**
 * Reads the header, the global colour table and the blocks up to the first image descriptor,
 * failing wherever Pillow's parser raises.
 */
function readFirstFrame(bytes: Uint8Array, fail: (message: string) => never): FirstFrame {
  if (bytes.length < 13) fail(`header needs 13 bytes, file has ${bytes.length}`);
  const u16 = (offset: number) => bytes[offset] | (bytes[offset + 1] << 8);
  let width = u16(6);
  let height = u16(8);
  const screenFlags = bytes[10];
  let pos = 13;
  let globalPalette: Uint8Array | undefined;
  if (screenFlags & 0x80) {
    const size = 3 << ((screenFlags & 7) + 1);
    if (pos + size > bytes.length) fail(`file ends in the global colour table at offset ${pos}`);
    const table = bytes.subarray(pos, pos + size);
    if (paletteNeeded(table)) globalPalette = table;
    pos += size;
  }

  // Pillow's `data()`: one sub-block, or undefined at a zero length byte or the end of file.
  const subBlock = (): Uint8Array | undefined => {
    if (pos >= bytes.length || bytes[pos] === 0) {
      if (pos < bytes.length) pos++;
      return undefined;
    }
    const start = pos + 1;
    const end = Math.min(start + bytes[pos], bytes.length);
    pos = end;
    return bytes.subarray(start, end);
  };

  let transparency: number | undefined;
  for (;;) {
    if (pos >= bytes.length) fail("no image descriptor before the end of the file");
    const introducer = bytes[pos++];
    if (introducer === 0x3b) fail(`trailer at offset ${pos - 1} before any image descriptor`);
    if (introducer === 0x21) {
      if (pos >= bytes.length) fail(`file ends in the extension at offset ${pos - 1}`);
      const label = bytes[pos++];
      const block = subBlock();
      if (label === 0xf9) {
        if (!block || block.length < 3) fail(`graphic control extension at offset ${pos} is short`);
        if (block[0] & 1) {
          if (block.length < 4) fail(`graphic control extension at offset ${pos} is short`);
          transparency = block[3];
        }
      } else if (label === 0xfe) {
        // Comment: Pillow's loop consumed every sub-block including the terminator.
        let next = block;
        while (next) next = subBlock();
        continue;
      } else if (label === 0xff) {
        if (!block) fail(`empty application extension at offset ${pos}`);
        if (isNetscape(block)) {
          const loop = subBlock();
          if (!loop) fail(`NETSCAPE2.0 extension without data at offset ${pos}`);
        }
      }
      while (subBlock());
      continue;
    }
    if (introducer !== 0x2c) continue; // Pillow skips unknown bytes between blocks.

    if (pos + 9 > bytes.length) fail(`file ends in the image descriptor at offset ${pos - 1}`);
    const left = u16(pos);
    const top = u16(pos + 2);
    const frameWidth = u16(pos + 4);
    const frameHeight = u16(pos + 6);
    const flags = bytes[pos + 8];
    pos += 9;
    width = Math.max(width, left + frameWidth);
    height = Math.max(height, top + frameHeight);
    let palette = globalPalette;
    if (flags & 0x80) {
      const size = 3 << ((flags & 7) + 1);
      if (pos + size > bytes.length) fail(`file ends in the local colour table at offset ${pos}`);
      const table = bytes.subarray(pos, pos + size);
      if (paletteNeeded(table)) palette = table;
      pos += size;
    }
    if (pos >= bytes.length) fail("file ends before the LZW minimum code size");
    return {
      width,
      height,
      left,
      top,
      frameWidth,
      frameHeight,
      interlaced: (flags & 0x40) !== 0,
      palette,
      background: transparency ?? 0,
      codeSize: bytes[pos],
      dataOffset: pos + 1,
    };
  }
}

/** Whether an application extension block starts with "NETSCAPE2.0". */
function isNetscape(block: Uint8Array): boolean {
  const id = "NETSCAPE2.0";
  if (block.length < id.length) return false;
  for (let i = 0; i < id.length; i++) if (block[i] !== id.charCodeAt(i)) return false;
  return true;
}

/**
 * Decodes the frame's LZW data into `indices` (the full image, row-major), following Pillow's
 * `ImagingGifDecode` step by step.
 */
function decodeLzw(
  bytes: Uint8Array,
  frame: FirstFrame,
  indices: Uint8Array,
  fail: (message: string) => never,
): void {
  const bits = frame.codeSize;
  if (bits > 12) fail(`LZW minimum code size ${bits} (at most 12)`);
  const clear = 1 << bits;
  const end = clear + 1;
  const suffix = new Uint8Array(GIF_TABLE);
  const prefix = new Uint16Array(GIF_TABLE);
  const stack = new Uint8Array(GIF_TABLE);

  const { width, frameWidth, frameHeight, left, top } = frame;
  let interlacePass = frame.interlaced ? 1 : 0;
  let step = frame.interlaced ? 8 : 1;
  let x = 0;
  let y = 0;
  let out = (y + top) * width + left;

  let pos = frame.dataOffset;
  let blockLeft = 0;
  let bitBuffer = 0;
  let bitCount = 0;
  let codeSize = 0;
  let codeMask = 0;
  let next = 0;
  let lastCode = 0;
  let lastData = 0;
  let state = 1; // 1: (re)initialise the table, 2: first code after a clear, 3: decoding
  let stackTop = GIF_TABLE;

  /** Writes one pixel; returns true once the last pixel of the frame is written. */
  const put = (value: number): boolean => {
    indices[out++] = value;
    if (++x < frameWidth) return false;
    x = 0;
    y += step;
    while (y >= frameHeight) {
      if (interlacePass === 1) {
        y = 4;
        interlacePass = 2;
      } else if (interlacePass === 2) {
        step = 4;
        y = 2;
        interlacePass = 3;
      } else if (interlacePass === 3) {
        step = 2;
        y = 1;
        interlacePass = 0;
      } else {
        return true;
      }
    }
    out = (y + top) * width + left;
    return false;
  };

  for (;;) {
    if (state === 1) {
      next = clear + 2;
      codeSize = bits + 1;
      codeMask = (1 << codeSize) - 1;
      stackTop = GIF_TABLE;
      state = 2;
    }
    if (stackTop < GIF_TABLE) {
      // The rest of the previous code's string.
      while (stackTop < GIF_TABLE) {
        if (put(stack[stackTop++])) return;
      }
      continue;
    }
    while (bitCount < codeSize) {
      if (blockLeft > 0) {
        bitBuffer |= bytes[pos++] << bitCount;
        bitCount += 8;
        blockLeft--;
      } else {
        // A new sub-block; Pillow waits until all of it is available.
        if (pos >= bytes.length || pos + 1 + bytes[pos] > bytes.length) {
          fail(`LZW data ends at offset ${pos} before the frame is complete (truncated file?)`);
        }
        blockLeft = bytes[pos++];
      }
    }
    let code = bitBuffer & codeMask;
    bitBuffer >>>= codeSize;
    bitCount -= codeSize;

    if (code === clear) {
      if (state !== 2) state = 1;
      continue;
    }
    if (code === end) fail(`LZW end code at offset ${pos} before the frame is complete`);

    if (state === 2) {
      if (code > clear) fail(`LZW code ${code} after a clear code at offset ${pos}`);
      lastData = lastCode = code;
      state = 3;
    } else {
      const thisCode = code;
      if (code > next) fail(`LZW code ${code} beyond the table (${next}) at offset ${pos}`);
      if (code === next) {
        stack[--stackTop] = lastData;
        code = lastCode;
      }
      while (code >= clear) {
        if (stackTop <= 0 || code >= GIF_TABLE) fail(`corrupt LZW string at offset ${pos}`);
        stack[--stackTop] = suffix[code];
        code = prefix[code];
      }
      lastData = code;
      if (next < GIF_TABLE) {
        suffix[next] = code;
        prefix[next] = lastCode;
        if (next === codeMask && codeSize < 12) {
          codeSize++;
          codeMask = (1 << codeSize) - 1;
        }
        next++;
      }
      lastCode = thisCode;
    }
    if (put(lastData)) return;
  }
}
