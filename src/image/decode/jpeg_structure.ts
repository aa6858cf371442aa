/**
 * A walk over a JPEG file's marker segments that finds the frame header and decides whether
 * Pillow 9.4 would see the file as complete.
 *
 * Pillow feeds libjpeg through a suspending data source and, when libjpeg asks for bytes past
 * the end of the file, raises "image file is truncated". libjpeg reads the file only up to the
 * marker that ends the data it needs, so the walk mirrors where that is:
 *  * a sequential image whose first scan holds every component is decoded from that scan
 *    alone; the file is complete when the scan's entropy-coded data ends at a marker (with a
 *    restart interval, restart markers belong to the scan), whatever follows;
 *  * a progressive or multi-scan image is read whole before any output; the file is complete
 *    when an EOI marker is reached.
 * (libjpeg-turbo's memory source instead invents an EOI at the end of the data, with a
 * warning, so without this walk a truncated file would decode to a grey-padded image.)
 * One case cannot be told from the bytes: when corrupt data makes libjpeg finish a sequential
 * scan before the end of its entropy-coded data, Pillow never reads that end, so it accepts
 * such a file even if no marker follows; the walk reports it as incomplete.
 *
 * The walk also rejects what Pillow's own marker parser rejects before libjpeg runs: marker
 * codes it does not know, and frames that are not 8-bit with 1, 3 or 4 components.
 *
 * @module
 */

/** What the walk found. */
export interface JpegStructure {
  /** Width from the frame header. */
  readonly width: number;
  /** Height from the frame header (0 means "defined by a DNL marker", which libjpeg refuses). */
  readonly height: number;
  /** Components in the frame: 1 (grey), 3 (YCbCr or RGB) or 4 (CMYK or YCCK). */
  readonly components: number;
  /** Whether Pillow's libjpeg would get all the data it needs from the file. */
  readonly complete: boolean;
}

/** A file structure problem that Pillow reports before or while decoding. */
export class JpegStructureError extends Error {
  /** Byte offset where the problem is. */
  readonly offset: number;

  /**
   * @param message What is wrong.
   * @param offset Byte offset where the problem is.
   */
  constructor(message: string, offset: number) {
    super(message);
    this.name = "JpegStructureError";
    this.offset = offset;
  }
}

/** SOF markers: 0xC0–0xCF except DHT (C4), JPG (C8) and DAC (CC). */
function isFrameMarker(marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 &&
    marker !== 0xcc;
}

/**
 * Walks the markers of a JPEG file (which starts with FF D8).
 *
 * @param bytes The whole file.
 * @returns The frame header and whether the data Pillow's libjpeg needs is all present.
 * @throws JpegStructureError for a file Pillow's parser refuses, or with no frame before a scan.
 */
export function scanJpegStructure(bytes: Uint8Array): JpegStructure {
  const length = bytes.length;
  let frame: { width: number; height: number; components: number; marker: number } | undefined;
  const incomplete = () => {
    if (!frame) throw new JpegStructureError("file ends before the frame header", length);
    return {
      width: frame.width,
      height: frame.height,
      components: frame.components,
      complete: false,
    };
  };
  const done = () => ({ ...incomplete(), complete: true });

  let pos = 2;
  let scans = 0;
  let restartInterval = 0;
  for (;;) {
    // Find the next marker: skip stray bytes, then fill bytes (FF FF ...).
    while (pos < length && bytes[pos] !== 0xff) pos++;
    while (pos < length && bytes[pos] === 0xff) pos++;
    if (pos >= length) return incomplete();
    const marker = bytes[pos++];
    const markerOffset = pos - 2;
    if (marker === 0xd9) return scans > 0 ? done() : incomplete();
    // Markers without a length field: a stuffed zero, RSTn, SOI, and TEM (which only libjpeg
    // knows; Pillow's parser refuses it before the first scan).
    if (marker === 0x00 || (marker >= 0xd0 && marker <= 0xd8)) continue;
    if (marker === 0x01 && scans > 0) continue;
    if (marker < 0xc0) {
      throw new JpegStructureError(
        `unknown marker 0xff${marker.toString(16).padStart(2, "0")}`,
        markerOffset,
      );
    }
    if (pos + 2 > length) return incomplete();
    const segmentLength = (bytes[pos] << 8) | bytes[pos + 1];
    if (segmentLength < 2) {
      throw new JpegStructureError(`marker segment length ${segmentLength}`, markerOffset);
    }
    const segmentEnd = pos + segmentLength;
    if (segmentEnd > length) return incomplete();

    if (isFrameMarker(marker)) {
      if (frame) throw new JpegStructureError("a second frame header", markerOffset);
      if (segmentLength < 8) throw new JpegStructureError("short frame header", markerOffset);
      const precision = bytes[pos + 2];
      const components = bytes[pos + 7];
      if (precision !== 8) {
        throw new JpegStructureError(`${precision}-bit samples are not supported`, markerOffset);
      }
      if (components !== 1 && components !== 3 && components !== 4) {
        throw new JpegStructureError(
          `${components}-component images are not supported`,
          markerOffset,
        );
      }
      frame = {
        height: (bytes[pos + 3] << 8) | bytes[pos + 4],
        width: (bytes[pos + 5] << 8) | bytes[pos + 6],
        components,
        marker,
      };
    }

    if (marker === 0xdd && segmentLength >= 4) {
      restartInterval = (bytes[pos + 2] << 8) | bytes[pos + 3];
    }
    if (marker !== 0xda) {
      pos = segmentEnd;
      continue;
    }

    // Start of scan: skip the entropy-coded data. libjpeg's Huffman reader stops at any marker;
    // with a restart interval it then reads on past RSTn markers, and past invalid markers
    // (codes below 0xC0), which `jpeg_resync_to_restart` discards.
    if (!frame) throw new JpegStructureError("scan before the frame header", markerOffset);
    const scanComponents = bytes[pos + 2];
    const progressive = frame.marker === 0xc2 || frame.marker === 0xc6 ||
      frame.marker === 0xca || frame.marker === 0xce;
    const singleScan = scans === 0 && !progressive && scanComponents === frame.components;
    scans++;
    pos = segmentEnd;
    for (;;) {
      const ff = bytes.indexOf(0xff, pos);
      if (ff < 0 || ff + 1 >= length) return incomplete();
      const code = bytes[ff + 1];
      const skipped = code < 0xc0 || (code >= 0xd0 && code <= 0xd7);
      if (code === 0x00 || (restartInterval > 0 && skipped)) {
        pos = ff + 2;
        continue;
      }
      if (code === 0xff) {
        pos = ff + 1;
        continue;
      }
      pos = ff;
      break;
    }
    if (singleScan) return done();
  }
}
