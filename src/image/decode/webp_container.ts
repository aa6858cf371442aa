/**
 * The WebP RIFF container, checked as libwebp's demuxer (`WebPDemux`, which Pillow's animation
 * decoder uses) checks it, and reduced to what must be decoded: the file itself for a still
 * image, or the first frame of an animation wrapped as a still file.
 *
 * The demuxer needs the whole RIFF (bytes after it are ignored); chunks, padded to even
 * sizes, must fit in it exactly. A simple file (first chunk VP8 or VP8L) is that chunk. An
 * extended file (VP8X) is walked chunk by chunk: ANIM must precede the ANMF frames, a frame is
 * an optional ALPH then a VP8 or VP8L bitstream whose header must parse (its size, not the
 * ANMF's size fields, is the frame size), a frame without image chunks is dropped and its
 * remaining chunks are read as top-level ones, and every frame must lie inside the canvas
 * (exactly cover it for a still image).
 *
 * Whether the image has alpha (Pillow's mode "RGBA" rather than "RGB") is decided as Pillow
 * decides it, with libwebp's `WebPGetFeatures`: an animation has alpha when its VP8X flags say
 * so; a still VP8L bitstream when its header's alpha bit is set (a VP8X flag is then
 * overridden); a still VP8 bitstream when the VP8X flags say so or an ALPH chunk comes with it.
 *
 * @module
 */

/** libwebp's MAX_CHUNK_PAYLOAD. */
const MAX_CHUNK_PAYLOAD = 0xffffffff - 8 - 1;

/** VP8X flag bits. */
const ANIMATION_FLAG = 0x02;
const ALPHA_FLAG = 0x10;
/** The flags libwebp knows: ICC, alpha, EXIF, XMP, animation. */
const ALL_VALID_FLAGS = 0x3e;

/** What to decode. */
export type WebpLayout =
  | {
    readonly kind: "still";
    /** The RIFF, without any bytes after it. */
    readonly riff: Uint8Array;
    readonly width: number;
    readonly height: number;
    /** Whether Pillow opens the image as "RGBA" (else "RGB"). */
    readonly hasAlpha: boolean;
  }
  | {
    readonly kind: "animation";
    readonly canvasWidth: number;
    readonly canvasHeight: number;
    /** Position and size of the first frame on the canvas. */
    readonly x: number;
    readonly y: number;
    readonly width: number;
    readonly height: number;
    /** The first frame's ALPH/VP8/VP8L chunks wrapped as a still WebP file. */
    readonly still: Uint8Array;
    /** Whether Pillow opens the image as "RGBA" (else "RGB"). */
    readonly hasAlpha: boolean;
  };

/** A chunk of the RIFF container. */
interface Chunk {
  readonly fourcc: string;
  /** Offset of the chunk header. */
  readonly offset: number;
  /** The payload (without padding). */
  readonly payload: Uint8Array;
  /** Offset after the payload and its padding byte. */
  readonly end: number;
}

/** A frame as the demuxer stores it. */
interface Frame {
  readonly x: number;
  readonly y: number;
  readonly alpha?: Chunk;
  readonly bitstream?: Chunk;
  /** Size from the bitstream header. */
  readonly width: number;
  readonly height: number;
}

/**
 * Checks a WebP file's container and finds what to decode.
 *
 * @param bytes The whole file (starting with "RIFF....WEBP").
 * @param fail Throws the caller's error with a message.
 * @returns The still image or the first animation frame to decode.
 */
export function readWebpLayout(bytes: Uint8Array, fail: (message: string) => never): WebpLayout {
  if (bytes.length < 20) fail(`file has ${bytes.length} bytes, a WebP header needs 20`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const riffSize = view.getUint32(4, true);
  if (riffSize < 12 || riffSize > MAX_CHUNK_PAYLOAD) fail(`invalid RIFF size ${riffSize}`);
  const riffEnd = riffSize + 8;
  if (riffEnd > bytes.length) {
    fail(`RIFF size says ${riffEnd} bytes, file has ${bytes.length} (truncated file?)`);
  }
  const readChunk = (pos: number): Chunk => {
    if (pos + 8 > riffEnd) fail(`incomplete chunk header at offset ${pos}`);
    const size = view.getUint32(pos + 4, true);
    const payloadEnd = pos + 8 + size;
    if (size > MAX_CHUNK_PAYLOAD || payloadEnd + (size & 1) > riffEnd) {
      fail(`chunk at offset ${pos} runs past the end of the RIFF`);
    }
    return {
      fourcc: String.fromCharCode(...bytes.subarray(pos, pos + 4)),
      offset: pos,
      payload: bytes.subarray(pos + 8, payloadEnd),
      end: payloadEnd + (size & 1),
    };
  };

  const first = readChunk(12);
  if (first.fourcc === "VP8 " || first.fourcc === "VP8L") {
    const [width, height] = bitstreamSize(first, fail);
    const hasAlpha = first.fourcc === "VP8L" && vp8lAlphaBit(first);
    return { kind: "still", riff: bytes.subarray(0, riffEnd), width, height, hasAlpha };
  }
  if (first.fourcc !== "VP8X") fail(`first chunk is "${first.fourcc}", not VP8, VP8L or VP8X`);
  if (first.payload.length < 10) fail("VP8X chunk is shorter than 10 bytes");
  const flags = first.payload[0];
  if (flags & ~ALL_VALID_FLAGS) fail(`VP8X flags 0x${flags.toString(16)} set reserved bits`);
  const animated = (flags & ANIMATION_FLAG) !== 0;
  const canvasWidth = 1 + readUint24(first.payload, 4);
  const canvasHeight = 1 + readUint24(first.payload, 7);

  // An optional ALPH then a bitstream, from `start` (libwebp's StoreFrame).
  const storeFrame = (start: number, x: number, y: number) => {
    let alpha: Chunk | undefined;
    let bitstream: Chunk | undefined;
    let pos = start;
    while (pos < riffEnd) {
      const chunk = readChunk(pos);
      if (chunk.fourcc === "ALPH" && !alpha) {
        alpha = chunk;
      } else if ((chunk.fourcc === "VP8 " || chunk.fourcc === "VP8L") && !bitstream) {
        if (alpha && chunk.fourcc === "VP8L") fail(`ALPH chunk before the VP8L chunk at ${pos}`);
        bitstream = chunk;
      } else {
        break;
      }
      pos = chunk.end;
    }
    const [width, height] = bitstream ? bitstreamSize(bitstream, fail) : [0, 0];
    return { frame: { x, y, alpha, bitstream, width, height }, end: pos };
  };

  const frames: Frame[] = [];
  let animChunks = 0;
  let pos = first.end;
  if (pos + 8 > riffEnd) fail("no chunk after the VP8X chunk");
  while (pos < riffEnd) {
    const chunk = readChunk(pos);
    pos = chunk.end;
    switch (chunk.fourcc) {
      case "VP8X":
        fail(`second VP8X chunk at offset ${chunk.offset}`);
        break;
      case "ALPH":
      case "VP8 ":
      case "VP8L": {
        if (animChunks > 0 || animated) fail(`image chunk outside ANMF at offset ${chunk.offset}`);
        if (frames.length > 0) fail(`second image at offset ${chunk.offset}`);
        const stored = storeFrame(chunk.offset, 0, 0);
        frames.push(stored.frame);
        pos = stored.end;
        break;
      }
      case "ANIM":
        if (chunk.payload.length < 6) fail(`ANIM chunk at offset ${chunk.offset} is too short`);
        animChunks++;
        break;
      case "ANMF": {
        if (animChunks === 0) fail(`ANMF chunk at offset ${chunk.offset} before ANIM`);
        const payload = chunk.payload;
        if (payload.length < 16) fail(`ANMF chunk at offset ${chunk.offset} is too short`);
        const x = 2 * readUint24(payload, 0);
        const y = 2 * readUint24(payload, 3);
        const stored = storeFrame(chunk.offset + 24, x, y);
        if (stored.end > chunk.offset + 8 + payload.length) {
          fail(`frame data runs past the ANMF chunk at offset ${chunk.offset}`);
        }
        if (animated && (stored.frame.alpha || stored.frame.bitstream)) frames.push(stored.frame);
        // Chunks of the frame that are not image data are read as top-level chunks.
        pos = stored.end;
        break;
      }
    }
    if (pos < riffEnd && pos + 8 > riffEnd) fail(`incomplete chunk header at offset ${pos}`);
  }

  if (frames.length === 0) fail("no image data (VP8, VP8L or ANMF chunk)");
  for (const frame of frames) {
    const where = `frame at (${frame.x}, ${frame.y})`;
    if (!frame.bitstream) fail(`${where} has no VP8 or VP8L bitstream`);
    if (frame.alpha && frame.alpha.offset > frame.bitstream.offset) {
      fail(`${where} has its ALPH chunk after its bitstream`);
    }
    const exact = !animated;
    const fits = exact
      ? frame.x === 0 && frame.y === 0 && frame.width === canvasWidth &&
        frame.height === canvasHeight
      : frame.x + frame.width <= canvasWidth && frame.y + frame.height <= canvasHeight;
    if (!fits) {
      fail(
        `${frame.width}×${frame.height} ${where} does not fit the ` +
          `${canvasWidth}×${canvasHeight} canvas`,
      );
    }
  }
  if (!animated) {
    const { alpha, bitstream } = frames[0];
    return {
      kind: "still",
      riff: bytes.subarray(0, riffEnd),
      width: canvasWidth,
      height: canvasHeight,
      hasAlpha: bitstream!.fourcc === "VP8L"
        ? vp8lAlphaBit(bitstream!)
        : (flags & ALPHA_FLAG) !== 0 || alpha !== undefined,
    };
  }
  const { x, y, width, height, alpha, bitstream } = frames[0];
  const still = alpha && bitstream!.fourcc === "VP8 "
    ? wrapRiff([vp8xChunk(ALPHA_FLAG, width, height), chunkBytes(alpha), chunkBytes(bitstream!)])
    : wrapRiff([chunkBytes(bitstream!)]);
  const hasAlpha = (flags & ALPHA_FLAG) !== 0;
  return { kind: "animation", canvasWidth, canvasHeight, x, y, width, height, still, hasAlpha };
}

/** The "alpha is used" bit of a VP8L header (checked by {@linkcode bitstreamSize} first). */
function vp8lAlphaBit(chunk: Chunk): boolean {
  return (chunk.payload[4] & 0x10) !== 0;
}

/**
 * Width and height from a VP8 or VP8L bitstream header, checked as libwebp's `VP8GetInfo` /
 * `VP8LGetInfo` do (a key frame, a valid profile, shown, a first partition that fits; the VP8L
 * signature and version).
 */
function bitstreamSize(chunk: Chunk, fail: (message: string) => never): [number, number] {
  const p = chunk.payload;
  const where = `${chunk.fourcc.trim()} chunk at offset ${chunk.offset}`;
  if (chunk.fourcc === "VP8 ") {
    if (p.length < 10 || p[3] !== 0x9d || p[4] !== 0x01 || p[5] !== 0x2a) {
      fail(`${where} has no key frame start code`);
    }
    const bits = p[0] | (p[1] << 8) | (p[2] << 16);
    const keyFrame = (bits & 1) === 0;
    const profile = (bits >> 1) & 7;
    const shown = (bits >> 4) & 1;
    if (!keyFrame || profile > 3 || !shown || bits >> 5 >= p.length) {
      fail(`${where} has an invalid frame header`);
    }
    const width = (p[6] | (p[7] << 8)) & 0x3fff;
    const height = (p[8] | (p[9] << 8)) & 0x3fff;
    if (width === 0 || height === 0) fail(`${where} declares a ${width}×${height} image`);
    return [width, height];
  }
  if (p.length < 5 || p[0] !== 0x2f || p[4] >> 5 !== 0) {
    fail(`${where} has no VP8L signature`);
  }
  const bits = p[1] | (p[2] << 8) | (p[3] << 16) | (p[4] << 24);
  return [1 + (bits & 0x3fff), 1 + ((bits >>> 14) & 0x3fff)];
}

/** Little-endian 24-bit value. */
function readUint24(bytes: Uint8Array, offset: number): number {
  return bytes[offset] | (bytes[offset + 1] << 8) | (bytes[offset + 2] << 16);
}

/** A chunk's header, payload and padding. */
function chunkBytes(chunk: Chunk): Uint8Array {
  const size = chunk.payload.length;
  const out = new Uint8Array(8 + size + (size & 1));
  for (let i = 0; i < 4; i++) out[i] = chunk.fourcc.charCodeAt(i);
  new DataView(out.buffer).setUint32(4, size, true);
  out.set(chunk.payload, 8);
  return out;
}

/** A VP8X chunk for a still image of the given size. */
function vp8xChunk(flags: number, width: number, height: number): Uint8Array {
  const out = new Uint8Array(18);
  out.set([0x56, 0x50, 0x38, 0x58, 10, 0, 0, 0, flags]);
  const w = width - 1, h = height - 1;
  out.set([w & 255, (w >> 8) & 255, w >> 16, h & 255, (h >> 8) & 255, h >> 16], 12);
  return out;
}

/** A RIFF/WEBP file holding the given chunks. */
function wrapRiff(chunks: Uint8Array[]): Uint8Array {
  const size = 4 + chunks.reduce((n, c) => n + c.length, 0);
  const out = new Uint8Array(8 + size);
  out.set([0x52, 0x49, 0x46, 0x46]);
  new DataView(out.buffer).setUint32(4, size, true);
  out.set([0x57, 0x45, 0x42, 0x50], 8);
  let pos = 12;
  for (const c of chunks) {
    out.set(c, pos);
    pos += c.length;
  }
  return out;
}
