#!/usr/bin/python3
"""A corpus of photographic JPEGs for the JPEG decoders (src/image/decode/jpeg_decoder.ts).

The decode vectors (make_decode_vectors.py) cover every JPEG feature on synthetic content; this
corpus covers the same kinds on real photographs, where every DCT coefficient, chroma plane and
upsampling path is busy: each chroma subsampling libjpeg writes (4:4:4, 4:2:2, 4:2:0, 4:4:0,
4:1:1, 4:1:0 and two mixed ones), greyscale, RGB (no colour transform), CMYK (Adobe, inverted),
progressive (also with restart markers), restart intervals in rows and in blocks, optimised
Huffman tables, qualities 30 to 100, odd sizes, an ICC profile and an EXIF orientation (both
ignored, as Pillow's ``open`` ignores them) and arithmetic coding.

What it writes (in tests/data/decode/jpeg_corpus/):
  * ``<name>.jpg``: the file;
  * ``manifest.json``: name, file, size, Pillow's mode, the SHA-256 of Pillow 9.4's
    ``Image.open(f).convert("RGB")`` bytes (photographs do not compress: the hash keeps the
    corpus small; the test compares the decoders with each other where a hash differs), and the
    encoder with its options.

The photographs are crops of two pictures from the Rust Embedded Book
(rust-embedded/book, src/assets/f3.jpg and verify.jpeg, MIT or Apache-2.0), as the rustup
toolchain installs them under share/doc/rust/html/embedded-book/assets/; pass another folder of
JPEG photographs as the first argument to use others.

Requirements: Debian's /usr/bin/python3 with Pillow 9.4.0 (libjpeg-turbo 2.1.5) and ``cjpeg``
from Debian's ``libjpeg-turbo-progs`` 2.1.5.

Rerun from the repository root: /usr/bin/python3 tools/vectors/make_jpeg_corpus.py [PHOTOS]
The output directory is emptied and rewritten.
"""

import glob
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile

from PIL import Image

OUT = os.path.join("tests", "data", "decode", "jpeg_corpus")
DEFAULT_PHOTOS = os.path.expanduser(
    "~/.rustup/toolchains/stable-x86_64-unknown-linux-gnu/share/doc/rust/html/embedded-book/assets"
)

# cjpeg runs: name, options, crop size. Sizes are odd on purpose (partial MCUs at both edges).
CJPEG = [
    ("444", ["-sample", "1x1"], (203, 151)),
    ("422", ["-sample", "2x1"], (203, 151)),
    ("420", ["-sample", "2x2"], (203, 151)),
    ("440", ["-sample", "1x2"], (203, 151)),
    ("411", ["-sample", "4x1"], (205, 149)),
    ("410", ["-sample", "4x2"], (205, 149)),
    ("mixed_2x2_1x2_2x1", ["-sample", "2x2,1x2,2x1"], (131, 97)),
    ("mixed_1x1_2x2_1x1", ["-sample", "1x1,2x2,1x1"], (131, 97)),
    ("420_q30", ["-sample", "2x2", "-quality", "30"], (203, 151)),
    ("444_q100", ["-sample", "1x1", "-quality", "100"], (160, 120)),
    ("420_optimize", ["-sample", "2x2", "-optimize"], (203, 151)),
    ("420_progressive", ["-sample", "2x2", "-progressive"], (203, 151)),
    ("444_progressive", ["-sample", "1x1", "-progressive"], (161, 119)),
    ("422_restart_rows", ["-sample", "2x1", "-restart", "1"], (203, 151)),
    ("420_restart_blocks", ["-sample", "2x2", "-restart", "3B"], (203, 151)),
    ("420_progressive_restart", ["-sample", "2x2", "-progressive", "-restart", "2B"], (161, 119)),
    ("grey", ["-grayscale"], (203, 151)),
    ("grey_progressive", ["-grayscale", "-progressive"], (161, 119)),
    ("rgb", ["-rgb"], (131, 97)),
    ("420_arithmetic", ["-sample", "2x2", "-arithmetic"], (161, 119)),
]

# Pillow's own encoder: name, save options, crop size, mode before saving.
PILLOW = [
    ("pil_420_q75", {"quality": 75}, (224, 168), "RGB"),
    ("pil_444_q95", {"quality": 95, "subsampling": 0}, (224, 168), "RGB"),
    ("pil_422_progressive_optimize", {"quality": 85, "subsampling": 1, "progressive": True,
                                      "optimize": True}, (224, 168), "RGB"),
    ("pil_cmyk", {"quality": 90}, (131, 97), "CMYK"),
]


def crop(photo, size, index):
    """A crop of ``size`` from ``photo``, at a place that depends on ``index``."""
    width, height = size
    left = (index * 37) % max(1, photo.width - width)
    top = (index * 23) % max(1, photo.height - height)
    return photo.crop((left, top, left + width, top + height))


def reference(path):
    with Image.open(path) as image:
        mode = image.mode
        rgb = image.convert("RGB").tobytes()
        return mode, image.size, rgb


def main():
    source = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_PHOTOS
    photos = sorted(glob.glob(os.path.join(source, "*.jp*g")))
    if not photos:
        sys.exit(f"no JPEG photographs in {source}")
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    entries = []
    cjpeg_version = subprocess.run(["cjpeg", "-version"], capture_output=True, text=True)
    with tempfile.TemporaryDirectory() as tmp:
        index = 0
        for p, photo_path in enumerate(photos):
            photo = Image.open(photo_path).convert("RGB")
            stem = f"photo{p}"
            for name, options, size in CJPEG:
                index += 1
                ppm = os.path.join(tmp, "in.ppm")
                crop(photo, size, index).save(ppm)
                file = f"{stem}_{name}.jpg"
                subprocess.run(["cjpeg", *options, "-outfile", os.path.join(OUT, file), ppm],
                               check=True)
                entries.append((file, "cjpeg " + " ".join(options)))
            for name, options, size, mode in PILLOW:
                index += 1
                file = f"{stem}_{name}.jpg"
                crop(photo, size, index).convert(mode).save(os.path.join(OUT, file), "JPEG",
                                                            **options)
                entries.append((file, f"Pillow save {options}, mode {mode}"))
            # An ICC profile and an EXIF orientation of 6, both ignored by Image.open.
            index += 1
            file = f"{stem}_pil_icc_exif.jpg"
            image = crop(photo, (160, 120), index)
            exif = Image.Exif()
            exif[0x0112] = 6
            srgb = Image.open(photo_path).info.get("icc_profile") or b"\0" * 128
            image.save(os.path.join(OUT, file), "JPEG", quality=90, exif=exif.tobytes(),
                       icc_profile=srgb)
            entries.append((file, "Pillow save with an ICC profile and EXIF orientation 6"))
    manifest = []
    for file, encoder in entries:
        path = os.path.join(OUT, file)
        mode, (width, height), rgb = reference(path)
        manifest.append({
            "name": file[:-4], "file": file, "width": width, "height": height,
            "pilMode": mode, "rgbSha256": hashlib.sha256(rgb).hexdigest(), "encoder": encoder,
        })
    with open(os.path.join(OUT, "manifest.json"), "w") as out:
        json.dump({
            "pillow": Image.__version__,
            "cjpeg": cjpeg_version.stderr.strip().splitlines()[0],
            "images": manifest,
        }, out, indent=1)
        out.write("\n")
    print(f"wrote {len(manifest)} files to {OUT}")


if __name__ == "__main__":
    main()
