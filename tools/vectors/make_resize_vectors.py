#!/usr/bin/python3
"""Reference vectors for src/image/resize.ts: Pillow's Image.resize on RGB images.

Produces, in tests/data/resize/:
  cases.json      one entry per case: the input (width, height, seed of the synthetic image),
                  the output size, Pillow's filter number, an optional crop window (left, top,
                  width, height) applied to Pillow's full result, and where the expected bytes
                  lie in outputs.bin.gz (byte offset and length).
  outputs.bin.gz  gzip of all expected outputs concatenated: raw RGB bytes, row-major.

Inputs are not stored: synthetic_image() below computes them from (width, height, seed), and
tests/_synthetic_image.ts computes the same bytes in TypeScript.

The expected outputs are Pillow's own: Image.frombytes("RGB", ...).resize((w, h), filter), then
.crop(window) for windowed cases. Requires Debian's Pillow 9.4 and numpy:

    /usr/bin/python3 tools/vectors/make_resize_vectors.py      (from the repository root)

The script is deterministic; rerunning it rewrites the same files.
"""

import gzip
import json
import os
import sys

import numpy as np
import PIL
from PIL import Image

U64 = np.uint64
MASK32 = U64(0xFFFFFFFF)
OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "data", "resize")

NEAREST, LANCZOS, BILINEAR, BICUBIC, BOX, HAMMING = 0, 1, 2, 3, 4, 5
ALL_FILTERS = [NEAREST, LANCZOS, BILINEAR, BICUBIC, BOX, HAMMING]


def sample_hash(x, y, c, seed):
    """32-bit hash of sample positions (numpy uint64 arrays), as sampleHash in synthetic_image.ts."""
    h = (x * U64(374761393) + y * U64(668265263) + c * U64(0x86042597) + seed * U64(0xC2B2AE3D)) & MASK32
    h = ((h ^ (h >> U64(13))) * U64(1274126177)) & MASK32
    return h ^ (h >> U64(16))


def synthetic_image(width, height, seed):
    """The synthetic RGB image as a (height, width, 3) uint8 array; see synthetic_image.ts."""
    x = np.arange(width, dtype=np.uint64)[None, :, None]
    y = np.arange(height, dtype=np.uint64)[:, None, None]
    c = np.arange(3, dtype=np.uint64)[None, None, :]
    h = sample_hash(x, y, c, np.uint64(seed)).astype(np.int64)
    xi, yi, ci = (a.astype(np.int64) for a in (x, y, c))
    phase = ((xi * 510) // max(width - 1, 1) + (yi * 255) // max(height - 1, 1) + ci * 170) % 510
    gradient = np.where(phase <= 255, phase, 510 - phase)
    value = np.clip(gradient + ((h >> 8) & 15) - 8, 0, 255)
    spike = h & 255
    value = np.where(spike < 20, 0, np.where(spike < 40, 255, value))
    return value.astype(np.uint8)


def pil_image(width, height, seed):
    return Image.fromarray(synthetic_image(width, height, seed), "RGB")


def cases():
    """(input w, input h, seed, output w, output h, filters, window or None)."""
    out = []

    def add(iw, ih, seed, ow, oh, filters=ALL_FILTERS, window=None):
        out.append((iw, ih, seed, ow, oh, filters, window))

    add(1, 1, 1, 1, 1)  # same size: a copy
    add(1, 1, 2, 5, 3)
    add(3, 2, 3, 1, 1)
    add(2, 2, 4, 3, 3)
    add(7, 3, 5, 16, 7)
    add(7, 3, 6, 3, 7)
    add(28, 28, 7, 32, 32)  # Fashion-MNIST to the tiny model's input
    add(28, 28, 8, 13, 13)
    add(1, 300, 9, 1, 37)  # extreme aspect ratios
    add(1, 300, 10, 5, 100)
    add(300, 1, 11, 37, 1)
    add(300, 1, 12, 100, 5)
    add(64, 48, 13, 64, 20)  # width unchanged: vertical pass only
    add(64, 48, 14, 20, 48)  # height unchanged: horizontal pass only
    add(32, 24, 15, 32, 51)
    add(100, 75, 16, 33, 25)  # non-integer ratios, down
    add(40, 30, 17, 71, 53)  # non-integer ratios, up
    add(47, 43, 18, 43, 47)  # down in one dimension, up in the other
    add(20, 16, 19, 60, 48)  # exact 3x up
    add(1200, 900, 20, 97, 73)  # large downscale, non-integer ratio
    add(1200, 900, 21, 7, 5)
    add(640, 480, 22, 298, 224, [BICUBIC], (37, 64, 224, 96))  # the CLIP hot path
    add(640, 480, 22, 298, 224, ALL_FILTERS, (37, 100, 224, 6))  # rows of the centre crop
    add(333, 222, 23, 504, 336, ALL_FILTERS, (84, 161, 336, 3))
    add(1, 500, 24, 224, 112000, ALL_FILTERS, (0, 55888, 224, 5))
    add(500, 1, 25, 112000, 224, ALL_FILTERS, (55888, 0, 224, 5))
    add(120, 90, 26, 61, 47, ALL_FILTERS, (5, 7, 31, 20))
    add(45, 61, 27, 90, 30, ALL_FILTERS, (60, 29, 30, 1))
    add(1000, 3, 28, 333, 1, ALL_FILTERS)
    add(3, 1000, 29, 1, 333, ALL_FILTERS)
    # Hamming cases where Pillow's single-precision 0.54f/0.46f change an output byte
    # (found by search; with 0.54/0.46 in double precision one byte of each differs).
    add(24, 8, 77, 8, 8, [HAMMING])
    add(82, 8, 77, 49, 8, [HAMMING])
    add(108, 8, 77, 29, 8, [HAMMING])
    return out


def main():
    if not PIL.__version__.startswith("9.4."):
        sys.exit(f"needs Pillow 9.4 (found {PIL.__version__}); run /usr/bin/python3")
    entries = []
    blob = bytearray()
    for iw, ih, seed, ow, oh, filters, window in cases():
        image = pil_image(iw, ih, seed)
        for f in filters:
            result = image.resize((ow, oh), f)
            entry = {
                "input": {"width": iw, "height": ih, "seed": seed},
                "width": ow,
                "height": oh,
                "filter": f,
            }
            if window is not None:
                left, top, width, height = window
                result = result.crop((left, top, left + width, top + height))
                entry["window"] = {"left": left, "top": top, "width": width, "height": height}
            data = result.tobytes()
            assert len(data) == result.width * result.height * 3
            entry["offset"] = len(blob)
            entry["length"] = len(data)
            blob += data
            entries.append(entry)
    os.makedirs(OUT_DIR, exist_ok=True)
    with open(os.path.join(OUT_DIR, "cases.json"), "w") as f:
        # One case per line: readable diffs, small file.
        f.write('{"pillow": %s, "cases": [\n' % json.dumps(PIL.__version__))
        f.write(",\n".join(json.dumps(e, separators=(",", ":")) for e in entries))
        f.write("\n]}\n")
    with gzip.GzipFile(os.path.join(OUT_DIR, "outputs.bin.gz"), "wb", compresslevel=9, mtime=0) as f:
        f.write(bytes(blob))
    print(f"{len(entries)} cases, {len(blob)} bytes of outputs")


if __name__ == "__main__":
    main()
