#!/usr/bin/python3
"""Reference vectors for src/image/decode/mod.ts: Pillow 9.4's ``Image.open(f).convert("RGB")``.

What it produces (in tests/data/decode/):
  * one encoded file per vector (``<name>.png|.jpg|.gif|.webp``): PNG, JPEG, GIF and WebP in
    the variants the decoder must reproduce (bit depths, palettes, interlacing, subsampling,
    progressive, restart markers, CMYK, EXIF orientation, animated first frames, ...);
  * ``<name>.rgb.gz``: the bytes of Pillow's ``convert("RGB")`` of that file, gzip-compressed;
  * ``cmyk_to_rgb.gz``: Pillow's CMYK->RGB conversion of every (C, K) pair (256x256 red bytes);
  * ``manifest.json``: the list of vectors, the files Pillow refuses (``errors``, with Pillow's
    exception text) and, for some vectors, the outcome of Pillow on truncated copies
    (``truncations``: for each cut length, ``"error"`` or ``"ok"``; an ``"ok"`` cut decodes to
    the same pixels as the whole file, which this script asserts).

Pixel content comes from a deterministic integer formula (gradients, edges and hashed noise)
so that chroma subsampling, IDCT and upsampling differences show.

Requirements: Debian's /usr/bin/python3 with Pillow 9.4.0 (libjpeg-turbo 2.1.5, libwebp 1.2.4)
and numpy, plus ``cjpeg`` and ``jpegtran`` from Debian's ``libjpeg-turbo-progs`` 2.1.5 (used for
restart markers, 4:4:0 / 4:1:1 / mixed sampling, RGB JPEGs and arithmetic coding, which Pillow
cannot write).

Rerun: ``apt-get install libjpeg-turbo-progs`` once, then from the repository root:
  /usr/bin/python3 tools/vectors/make_decode_vectors.py
The output directory is emptied and rewritten.
"""

import gzip
import io
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import warnings
import zlib

import numpy as np
import PIL
from PIL import Image, features

OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "data",
                       "decode")

# --------------------------------------------------------------------------------------------
# Deterministic content


def hash_noise(w, h, seed):
    """uint32 hash of (x, y, seed) for every pixel, shape (h, w)."""
    y, x = np.mgrid[0:h, 0:w].astype(np.uint64)
    v = (x * np.uint64(73856093)) ^ (y * np.uint64(19349663)) ^ np.uint64(seed * 83492791)
    v &= np.uint64(0xFFFFFFFF)
    v = (v ^ (v >> np.uint64(13))) * np.uint64(1274126177) & np.uint64(0xFFFFFFFF)
    v ^= v >> np.uint64(16)
    return v


def rgb_content(w, h, seed=1, noise=12):
    """Gradients (R along x, G along y), a blue checkerboard with hard edges, and noise."""
    y, x = np.mgrid[0:h, 0:w].astype(np.int64)
    n = (hash_noise(w, h, seed) % np.uint64(2 * noise + 1)).astype(np.int64) - noise
    r = x * 255 // max(w - 1, 1) + n
    g = y * 255 // max(h - 1, 1) - n
    b = np.where(((x + seed) // 5 + y // 7) % 2 == 0, 220, 30) + n // 2
    b = np.where(x > y * 2, b, 255 - b)
    return np.clip(np.stack([r, g, b], -1), 0, 255).astype(np.uint8)


def alpha_content(w, h, seed=1):
    """An alpha channel with fully transparent, partially transparent and opaque areas."""
    y, x = np.mgrid[0:h, 0:w].astype(np.int64)
    a = (x * 255 // max(w - 1, 1) + (hash_noise(w, h, seed + 7) % np.uint64(9)).astype(np.int64))
    a = np.where(y < h // 3, 0, np.clip(a, 0, 255))
    return a.astype(np.uint8)


def index_content(w, h, levels, seed=1):
    """Palette indices / low-bit grey levels in [0, levels)."""
    y, x = np.mgrid[0:h, 0:w].astype(np.int64)
    n = (hash_noise(w, h, seed) % np.uint64(3)).astype(np.int64)
    return ((x // 3 + y // 2 + n) % levels).astype(np.int64)


def palette_bytes(n, seed=1):
    """n RGB palette entries from a formula (not a grey ramp)."""
    i = np.arange(n, dtype=np.int64)
    r = (i * 37 + seed * 11) % 256
    g = (i * 91 + 60) % 256
    b = (255 - i * 53) % 256
    return bytes(np.stack([r, g, b], -1).astype(np.uint8).reshape(-1))


# --------------------------------------------------------------------------------------------
# PNG writer (Pillow cannot write most bit depth / colour type / filter combinations)


def png_chunk(ctype, data):
    return struct.pack(">I", len(data)) + ctype + data + struct.pack(
        ">I", zlib.crc32(ctype + data) & 0xFFFFFFFF)


def pack_row(samples, bits):
    """samples: 1-D int array of one scanline's samples -> packed bytes."""
    if bits == 16:
        return samples.astype(">u2").tobytes()
    if bits == 8:
        return samples.astype(np.uint8).tobytes()
    per_byte = 8 // bits
    padded = np.zeros(((len(samples) + per_byte - 1) // per_byte) * per_byte, dtype=np.int64)
    padded[:len(samples)] = samples
    padded = padded.reshape(-1, per_byte)
    out = np.zeros(len(padded), dtype=np.int64)
    for k in range(per_byte):
        out |= padded[:, k] << (8 - bits * (k + 1))
    return out.astype(np.uint8).tobytes()


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def filter_row(ftype, row, prev, bpp):
    out = bytearray(len(row))
    for i, x in enumerate(row):
        a = row[i - bpp] if i >= bpp else 0
        b = prev[i]
        c = prev[i - bpp] if i >= bpp else 0
        pred = [0, a, b, (a + b) // 2, paeth(a, b, c)][ftype]
        out[i] = (x - pred) & 0xFF
    return bytes([ftype]) + bytes(out)


ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2),
         (0, 1, 1, 2)]


def png_raw(samples, bits, interlace, filter_seed):
    """samples (h, w, channels) -> filtered (and optionally Adam7-ordered) scanline bytes.

    Filter types cycle per row so that every filter is exercised."""
    channels = samples.shape[2]
    bpp = max(1, channels * bits // 8)
    images = [samples] if not interlace else [
        samples[y0::dy, x0::dx] for (x0, y0, dx, dy) in ADAM7]
    out = bytearray()
    row_index = filter_seed
    for img in images:
        if img.shape[0] == 0 or img.shape[1] == 0:
            continue
        prev = None
        for row in img:
            packed = pack_row(row.reshape(-1), bits)
            if prev is None:
                prev = bytes(len(packed))
            out += filter_row(row_index % 5, packed, prev, bpp)
            prev = packed
            row_index += 1
    return bytes(out)


def make_png(samples, bits, color_type, interlace=False, plte=None, trns=None, pre=(),
             post=(), idat_split=None, filter_seed=0, zdata=None):
    h, w = samples.shape[:2]
    raw = png_raw(samples, bits, interlace, filter_seed)
    z = zlib.compress(raw, 9) if zdata is None else zdata
    out = b"\x89PNG\r\n\x1a\n" + png_chunk(
        b"IHDR", struct.pack(">IIBBBBB", w, h, bits, color_type, 0, 0, 1 if interlace else 0))
    for c in pre:
        out += c
    if plte is not None:
        out += png_chunk(b"PLTE", plte)
    if trns is not None:
        out += png_chunk(b"tRNS", trns)
    if idat_split:
        pieces, start = [], 0
        for cut in idat_split:
            pieces.append(z[start:cut])
            start = cut
        pieces.append(z[start:])
    else:
        pieces = [z]
    for p in pieces:
        out += png_chunk(b"IDAT", p)
    for c in post:
        out += c
    return out + png_chunk(b"IEND", b"")


def bare_png(w, h, bits, color_type, raw):
    """A minimal PNG (IHDR, one IDAT holding zlib(raw) unless raw is None, IEND)."""
    out = b"\x89PNG\r\n\x1a\n" + png_chunk(
        b"IHDR", struct.pack(">IIBBBBB", w, h, bits, color_type, 0, 0, 0))
    if raw is not None:
        out += png_chunk(b"IDAT", zlib.compress(raw))
    return out + png_chunk(b"IEND", b"")


# --------------------------------------------------------------------------------------------
# GIF writer (for first frames Pillow does not write: local tables, offsets, odd code sizes)


def lzw_encode(indices, min_code_size, reset_when_full=True):
    clear = 1 << min_code_size
    end = clear + 1
    codes = []
    code_size = min_code_size + 1
    table = {(i,): i for i in range(clear)}
    nxt = end + 1
    codes.append((clear, code_size))
    w = ()
    for k in indices:
        wk = w + (int(k),)
        if wk in table:
            w = wk
            continue
        codes.append((table[w], code_size))
        if nxt < 4096:
            table[wk] = nxt
            nxt += 1
            if nxt > (1 << code_size) and code_size < 12:
                code_size += 1
        elif reset_when_full:
            codes.append((clear, code_size))
            table = {(i,): i for i in range(clear)}
            nxt = end + 1
            code_size = min_code_size + 1
        w = (int(k),)
    if w:
        codes.append((table[w], code_size))
    codes.append((end, code_size))
    return pack_codes(codes)


def pack_codes(codes):
    bits = nb = 0
    out = bytearray()
    for c, s in codes:
        bits |= c << nb
        nb += s
        while nb >= 8:
            out.append(bits & 255)
            bits >>= 8
            nb -= 8
    if nb:
        out.append(bits & 255)
    return bytes(out)


def sub_blocks(data, size=255):
    out = bytearray()
    for i in range(0, len(data), size):
        blk = data[i:i + size]
        out.append(len(blk))
        out += blk
    out.append(0)
    return bytes(out)


def colour_table(pal):
    n = len(pal) // 3
    bits = max(1, (n - 1).bit_length())
    return pal + b"\0" * (3 * (1 << bits) - len(pal)), bits - 1


def make_gif(screen, frames, gct=None, background=0, extensions=b""):
    out = bytearray(b"GIF89a")
    flags = 0
    table = b""
    if gct is not None:
        table, size_bits = colour_table(gct)
        flags = 0x80 | 0x70 | size_bits
    out += struct.pack("<HHBBB", screen[0], screen[1], flags, background, 0)
    out += table + extensions
    for f in frames:
        if f.get("transparency") is not None:
            out += b"\x21\xf9\x04" + bytes([1]) + struct.pack("<H", 10) + bytes(
                [f["transparency"]]) + b"\0"
        x, y, w, h = f["box"]
        lflags = 0x40 if f.get("interlace") else 0
        ltable = b""
        if f.get("lct") is not None:
            ltable, size_bits = colour_table(f["lct"])
            lflags |= 0x80 | size_bits
        out += b"," + struct.pack("<HHHHB", x, y, w, h, lflags) + ltable
        mcs = f.get("min_code_size", 8)
        if "lzw" in f:
            lzw = f["lzw"]
        else:
            idx = np.asarray(f["indices"]).reshape(h, w)
            if f.get("interlace"):
                order = (list(range(0, h, 8)) + list(range(4, h, 8)) + list(range(2, h, 4)) +
                         list(range(1, h, 2)))
                idx = idx[order]
            lzw = lzw_encode(idx.reshape(-1), mcs, f.get("reset_when_full", True))
        out.append(mcs)
        out += sub_blocks(lzw, f.get("block_size", 255))
    out += b";"
    return bytes(out)


# --------------------------------------------------------------------------------------------
# WebP RIFF helpers (to build an animation whose first frame is offset inside the canvas)


def riff_chunks(data):
    """Chunks of a WebP file as a list of (fourcc, payload)."""
    assert data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    pos, out = 12, []
    while pos + 8 <= len(data):
        fourcc = data[pos:pos + 4]
        size = struct.unpack("<I", data[pos + 4:pos + 8])[0]
        out.append((fourcc, data[pos + 8:pos + 8 + size]))
        pos += 8 + size + (size & 1)
    return out


def riff_chunk(fourcc, payload):
    return fourcc + struct.pack("<I", len(payload)) + payload + (b"\0" if len(payload) & 1 else b"")


def riff(chunks):
    body = b"WEBP" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def le24(v):
    return struct.pack("<I", v)[:3]


def animated_webp(canvas, frames, alpha):
    """frames: list of (x, y, still_webp_bytes); x and y must be even."""
    vp8x = bytes([0x02 | (0x10 if alpha else 0), 0, 0, 0]) + le24(canvas[0] - 1) + le24(
        canvas[1] - 1)
    chunks = [riff_chunk(b"VP8X", vp8x), riff_chunk(b"ANIM", struct.pack("<IH", 0, 0))]
    for (x, y, still) in frames:
        img = [(c, p) for (c, p) in riff_chunks(still) if c in (b"ALPH", b"VP8 ", b"VP8L")]
        fw, fh = Image.open(io.BytesIO(still)).size
        payload = le24(x // 2) + le24(y // 2) + le24(fw - 1) + le24(fh - 1) + le24(100) + b"\0"
        payload += b"".join(riff_chunk(c, p) for (c, p) in img)
        chunks.append(riff_chunk(b"ANMF", payload))
    return riff(chunks)


# --------------------------------------------------------------------------------------------
# JPEG helpers


def pillow_without_simd(data):
    """convert("RGB") bytes from a Pillow process whose libjpeg-turbo runs its C code only."""
    code = ("import sys, io; from PIL import Image; sys.stdout.buffer.write("
            "Image.open(io.BytesIO(sys.stdin.buffer.read())).convert('RGB').tobytes())")
    env = dict(os.environ, JSIMD_FORCENONE="1")
    return subprocess.run([sys.executable, "-c", code], input=data, capture_output=True,
                          check=True, env=env).stdout


def run_tool(args, data):
    res = subprocess.run(args, input=data, capture_output=True, check=True)
    return res.stdout


def ppm_bytes(arr):
    im = Image.fromarray(arr)
    buf = io.BytesIO()
    im.save(buf, "PPM")
    return buf.getvalue()


def pil_jpeg(im, **kw):
    buf = io.BytesIO()
    im.save(buf, "JPEG", **kw)
    return buf.getvalue()


def pil_save(im, fmt, **kw):
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


# --------------------------------------------------------------------------------------------
# Vector bookkeeping


class Vectors:

    def __init__(self):
        self.images = []
        self.errors = []
        self.truncations = []
        self.names = set()
        self.data = {}
        self.rgb_files = {}

    def _file(self, name, ext, data):
        assert name not in self.names, name
        self.names.add(name)
        fname = f"{name}.{ext}"
        with open(os.path.join(OUT_DIR, fname), "wb") as f:
            f.write(data)
        return fname

    def image(self, name, fmt, data, note, without_simd=False):
        """Store an encoded file that Pillow decodes and its convert("RGB") bytes.

        With `without_simd`, also store the output of Pillow with libjpeg-turbo's SIMD code
        disabled (JSIMD_FORCENONE=1), which differs for out-of-range DCT coefficients."""
        im = Image.open(io.BytesIO(data))
        mode = im.mode
        rgb = im.convert("RGB")
        raw = rgb.tobytes()
        fname = self._file(name, {"jpeg": "jpg"}.get(fmt, fmt), data)
        # Vectors with identical pixels share one reference file.
        rgb_file = self.rgb_files.get(raw)
        if rgb_file is None:
            rgb_file = self.rgb_files[raw] = f"{name}.rgb.gz"
            with open(os.path.join(OUT_DIR, rgb_file), "wb") as f:
                f.write(gzip.compress(raw, 9, mtime=0))
        entry = {"name": name, "file": fname, "format": fmt, "width": rgb.width,
                 "height": rgb.height, "pilMode": mode, "rgb": rgb_file, "note": note}
        if without_simd:
            plain = pillow_without_simd(data)
            assert plain != raw, f"{name}: SIMD makes no difference"
            with open(os.path.join(OUT_DIR, f"{name}.nosimd.rgb.gz"), "wb") as f:
                f.write(gzip.compress(plain, 9, mtime=0))
            entry["rgbWithoutSimd"] = f"{name}.nosimd.rgb.gz"
        self.images.append(entry)
        self.data[name] = (data, raw)

    def error(self, name, fmt, data, note):
        """Store a file Pillow refuses, with Pillow's exception."""
        try:
            Image.open(io.BytesIO(data)).convert("RGB")
        except Exception as e:  # noqa: BLE001 - any Pillow failure is the expected outcome
            pil_error = f"{type(e).__name__}: {e}".replace(hex(id(e)), "")
        else:
            raise AssertionError(f"{name}: Pillow decodes it, expected an error")
        if "BytesIO object at" in pil_error:
            pil_error = pil_error.split(" <_io.BytesIO")[0]
        fname = self._file(name, {"jpeg": "jpg"}.get(fmt, fmt) if fmt != "unknown" else "bin",
                           data)
        self.errors.append({"name": name, "file": fname, "format": fmt, "pilError": pil_error,
                            "note": note})

    def truncations_of(self, name, cuts):
        """Pillow's outcome on the first `cut` bytes of an image vector, for each cut."""
        data, raw = self.data[name]
        results = []
        for cut in sorted(set(c if c >= 0 else len(data) + c for c in cuts)):
            assert 0 < cut < len(data)
            try:
                out = Image.open(io.BytesIO(data[:cut])).convert("RGB").tobytes()
            except Exception as e:  # noqa: BLE001 - recording what Pillow does
                msg = f"{type(e).__name__}: {e}"
                if "BytesIO object at" in msg:
                    msg = msg.split(" <_io.BytesIO")[0]
                results.append({"length": cut, "pil": "error", "pilError": msg})
            else:
                assert out == raw, f"{name} cut {cut}: Pillow decodes different pixels"
                results.append({"length": cut, "pil": "ok"})
        self.truncations.append({"source": name, "cuts": results})


# --------------------------------------------------------------------------------------------
# The vectors


def png_vectors(v):
    # Greyscale at every bit depth, with filters cycling per row.
    for bits, (w, h) in [(1, (13, 7)), (2, (11, 9)), (4, (17, 5)), (8, (23, 19))]:
        levels = 1 << bits
        g = index_content(w, h, levels)[:, :, None]
        v.image(f"png_grey{bits}_{w}x{h}", "png", make_png(g, bits, 0), f"{bits}-bit grey")
    g16 = (hash_noise(29, 11, 3) & np.uint64(0xFFFF)).astype(np.int64)
    g16[:, :8] = g16[:, :8] % 300  # values around 255 where "I" -> RGB clipping shows
    v.image("png_grey16_29x11", "png", make_png(g16[:, :, None], 16, 0),
            "16-bit grey: Pillow mode I, convert clips to 0..255")
    # Greyscale with tRNS (ignored by convert("RGB")).
    g = index_content(9, 6, 4)[:, :, None]
    v.image("png_grey2_trns_9x6", "png", make_png(g, 2, 0, trns=struct.pack(">H", 1)),
            "2-bit grey + tRNS")
    g = rgb_content(15, 8)[:, :, :1].astype(np.int64)
    v.image("png_grey8_trns_15x8", "png", make_png(g, 8, 0, trns=struct.pack(">H", 30)),
            "8-bit grey + tRNS")
    v.image("png_grey16_trns_10x4", "png",
            make_png(g16[:4, :10, None], 16, 0, trns=struct.pack(">H", 5)),
            "16-bit grey + tRNS")
    # Grey + alpha.
    c = rgb_content(19, 12).astype(np.int64)
    a = alpha_content(19, 12).astype(np.int64)
    v.image("png_la8_19x12", "png", make_png(np.stack([c[:, :, 0], a], -1), 8, 4),
            "8-bit grey + alpha")
    la16 = np.stack([(c[:, :, 1] << 8) | c[:, :, 2], (a << 8) | c[:, :, 0]], -1)
    v.image("png_la16_19x12", "png", make_png(la16, 16, 4), "16-bit grey + alpha: high byte")
    # Truecolour.
    c = rgb_content(31, 17).astype(np.int64)
    v.image("png_rgb8_31x17", "png", make_png(c, 8, 2), "8-bit RGB, all five filters")
    shifts = np.array([0, 8, 16], dtype=np.uint64)
    lo = ((hash_noise(31, 17, 9)[:, :, None] >> shifts) & np.uint64(255)).astype(np.int64)
    v.image("png_rgb16_31x17", "png", make_png((c << 8) | lo, 16, 2),
            "16-bit RGB: high byte")
    v.image("png_rgb8_trns_12x9", "png",
            make_png(rgb_content(12, 9).astype(np.int64), 8, 2,
                     trns=struct.pack(">HHH", 30, 40, 50)), "8-bit RGB + tRNS")
    # Truecolour + alpha.
    c = rgb_content(21, 14).astype(np.int64)
    a = alpha_content(21, 14).astype(np.int64)
    v.image("png_rgba8_21x14", "png", make_png(np.concatenate([c, a[:, :, None]], -1), 8, 6),
            "8-bit RGBA: alpha dropped, not composited")
    rgba16 = np.concatenate([(c << 8) | c[:, :, ::-1], ((a << 8) | 77)[:, :, None]], -1)
    v.image("png_rgba16_21x14", "png", make_png(rgba16, 16, 6), "16-bit RGBA: high byte")
    # Palette at every bit depth, with and without tRNS.
    for bits, (w, h), n in [(1, (19, 5), 2), (2, (13, 6), 4), (4, (25, 9), 16), (8, (27, 21), 200)]:
        idx = index_content(w, h, n, seed=bits)[:, :, None]
        v.image(f"png_p{bits}_{w}x{h}", "png", make_png(idx, bits, 3, plte=palette_bytes(n)),
                f"{bits}-bit palette")
    idx = index_content(14, 10, 16)[:, :, None]
    v.image("png_p4_trns_14x10", "png",
            make_png(idx, 4, 3, plte=palette_bytes(16), trns=bytes([0, 128, 255, 7])),
            "4-bit palette + tRNS (alpha per entry)")
    idx = index_content(16, 8, 100)[:, :, None]
    v.image("png_p8_trns1_16x8", "png",
            make_png(idx, 8, 3, plte=palette_bytes(100), trns=b"\xff\xff\x00"),
            "8-bit palette + single transparent entry")
    idx = index_content(12, 6, 256)[:, :, None]
    v.image("png_p8_shortplte_12x6", "png", make_png(idx, 8, 3, plte=palette_bytes(5)),
            "indices beyond a 5-entry PLTE: Pillow's palette is a grey ramp there")
    v.image("png_p8_plte7bytes_12x6", "png",
            make_png(idx, 8, 3, plte=palette_bytes(3)[:7]),
            "PLTE length not a multiple of 3: the partial entry is ignored")
    v.image("png_p8_noplte_12x6", "png", make_png(idx, 8, 3),
            "palette image without PLTE: grey ramp")
    p2 = make_png(index_content(8, 3, 4)[:, :, None], 2, 3)
    v.image("png_p2_plte_before_ihdr_8x3", "png",
            p2[:8] + png_chunk(b"PLTE", palette_bytes(4)) + p2[8:],
            "PLTE before IHDR: Pillow ignores it (grey ramp)")
    # Adam7 interlacing, including images too small for some passes.
    for (w, h) in [(1, 1), (2, 2), (3, 3), (5, 1), (1, 6), (9, 9), (33, 19)]:
        c = rgb_content(w, h, seed=w + h).astype(np.int64)
        v.image(f"png_adam7_rgb8_{w}x{h}", "png", make_png(c, 8, 2, interlace=True,
                                                          filter_seed=w),
                "Adam7 RGB")
    v.image("png_adam7_grey1_13x11", "png",
            make_png(index_content(13, 11, 2)[:, :, None], 1, 0, interlace=True),
            "Adam7 1-bit grey")
    v.image("png_adam7_p4_17x10", "png",
            make_png(index_content(17, 10, 16)[:, :, None], 4, 3, interlace=True,
                     plte=palette_bytes(16)), "Adam7 4-bit palette")
    c = rgb_content(11, 13).astype(np.int64)
    a = alpha_content(11, 13).astype(np.int64)
    v.image("png_adam7_rgba16_11x13", "png",
            make_png(np.concatenate([(c << 8) | 3, ((a << 8) | 1)[:, :, None]], -1), 16, 6,
                     interlace=True), "Adam7 16-bit RGBA")
    v.image("png_adam7_grey16_7x5", "png",
            make_png(g16[:5, :7, None], 16, 0, interlace=True), "Adam7 16-bit grey")
    # Container variants: split / empty IDAT chunks, ancillary chunks before and after IDAT,
    # colour management chunks (ignored by Pillow).
    c = rgb_content(24, 16).astype(np.int64)
    z = zlib.compress(png_raw(c, 8, False, 0), 9)
    icc = b"icc\0\0" + zlib.compress(b"not really an ICC profile" * 4)
    pre = [png_chunk(b"gAMA", struct.pack(">I", 45455)), png_chunk(b"sRGB", b"\0"),
           png_chunk(b"iCCP", icc), png_chunk(b"tEXt", b"Comment\0hello"),
           png_chunk(b"zTXt", b"Title\0\0" + zlib.compress(b"compressed text")),
           png_chunk(b"pHYs", struct.pack(">IIB", 2835, 2835, 1)), png_chunk(b"teSt", b"x")]
    post = [png_chunk(b"tEXt", b"After\0idat"), png_chunk(b"prIv", b"1234")]
    v.image("png_chunks_24x16", "png",
            make_png(c, 8, 2, pre=pre, post=post, idat_split=[1, 1, 30, 31], zdata=z),
            "ancillary chunks, split and empty IDAT chunks")
    bad_idat_crc = bytearray(make_png(c, 8, 2, zdata=z))
    pos = bytes(bad_idat_crc).index(b"IDAT") + 4 + len(z)
    bad_idat_crc[pos] ^= 0x55
    v.image("png_bad_idat_crc_24x16", "png", bytes(bad_idat_crc),
            "IDAT with a wrong CRC: Pillow does not check IDAT CRCs")
    v.image("png_no_iend_24x16", "png", make_png(c, 8, 2, zdata=z)[:-12],
            "no IEND chunk: Pillow does not need it")
    v.image("png_trailing_idat_junk_24x16", "png", make_png(c, 8, 2, zdata=z + b"junk!"),
            "bytes after the end of the zlib stream inside IDAT")
    v.image("png_no_adler_24x16", "png", make_png(c, 8, 2, zdata=z[:-4]),
            "zlib stream without its Adler-32 trailer")
    v.image("png_long_raw_8x4", "png",
            make_png(rgb_content(8, 4).astype(np.int64), 8, 2,
                     zdata=zlib.compress(png_raw(rgb_content(8, 4), 8, False, 0) + bytes(40))),
            "more decompressed bytes than the image needs")
    # Pillow's zlib reading: a stream ending cleanly after a whole row ends the image (the rest
    # stays zero: black, or palette entry 0); corrupt data after the needed bytes is not read.
    rows = rgb_content(12, 6).astype(np.int64)
    raw = png_raw(rows, 8, False, 0)
    v.image("png_stream_ends_after_row_12x6", "png",
            make_png(rows, 8, 2, zdata=zlib.compress(raw[:3 * (1 + 36)])),
            "zlib stream ends cleanly after 3 of 6 rows: the rest is black")
    idx = index_content(12, 6, 7)[:, :, None]
    raw_p = png_raw(idx, 8, False, 0)
    v.image("png_p_stream_ends_after_row_12x6", "png",
            make_png(idx, 8, 3, plte=palette_bytes(7), zdata=zlib.compress(raw_p[:2 * 13])),
            "palette image whose zlib stream ends after 2 rows: the rest is palette entry 0")
    surplus = bytes((hash_noise(64, 32, 5) % np.uint64(256)).astype(np.uint8).reshape(-1))
    tail_bad = bytearray(zlib.compress(raw + surplus, 0))
    tail_bad[-100] ^= 0x5A
    v.image("png_corrupt_after_surplus_12x6", "png", make_png(rows, 8, 2, zdata=bytes(tail_bad)),
            "zlib data corrupt only after the bytes the image needs (Pillow stops reading)")
    # Pillow's own encoder, as found in datasets.
    base = Image.fromarray(rgb_content(64, 48, seed=5))
    v.image("png_pil_rgb_64x48", "png", pil_save(base, "PNG", optimize=True), "Pillow RGB")
    v.image("png_pil_rgba_40x30", "png",
            pil_save(Image.fromarray(np.concatenate(
                [rgb_content(40, 30), alpha_content(40, 30)[:, :, None]], -1), "RGBA"), "PNG"),
            "Pillow RGBA")
    v.image("png_pil_p_64x48", "png", pil_save(base.quantize(50), "PNG"), "Pillow P")
    v.image("png_pil_l_33x21", "png",
            pil_save(Image.fromarray(rgb_content(33, 21)).convert("L"), "PNG"), "Pillow L")
    frames = [Image.fromarray(rgb_content(20, 14, seed=s)) for s in (1, 2)]
    v.image("png_apng_20x14", "png",
            pil_save(frames[0], "PNG", save_all=True, append_images=frames[1:], duration=50),
            "APNG (Pillow writer): the default image is the first frame")
    v.image("png_pil_1_35x9", "png",
            pil_save(Image.fromarray(rgb_content(35, 9)).convert("1"), "PNG"), "Pillow 1-bit")

    # Errors.
    good = make_png(c, 8, 2, zdata=z)
    bad = bytearray(good)
    bad[29] ^= 1  # IHDR CRC
    v.error("png_err_bad_ihdr_crc", "png", bytes(bad), "IHDR CRC mismatch")
    pre_bad = bytearray(make_png(c, 8, 2, zdata=z, pre=[png_chunk(b"tEXt", b"k\0v")]))
    pos = bytes(pre_bad).index(b"tEXt") + 4 + 3
    pre_bad[pos] ^= 1
    v.error("png_err_bad_text_crc", "png", bytes(pre_bad), "CRC mismatch in a chunk before IDAT")
    bad_z = bytearray(z)
    bad_z[len(bad_z) // 2] ^= 0xFF
    bad_z[len(bad_z) // 2 + 1] ^= 0xFF
    v.error("png_err_broken_zlib", "png", make_png(c, 8, 2, zdata=bytes(bad_z)),
            "corrupt deflate data")
    v.error("png_err_bad_zlib_header", "png", make_png(c, 8, 2, zdata=b"\x00" + z[1:]),
            "bad zlib header")
    v.error("png_err_bad_adler", "png",
            make_png(c, 8, 2, zdata=z[:-1] + bytes([z[-1] ^ 1])), "wrong Adler-32")
    raw = bytearray(png_raw(c, 8, False, 0))
    raw[(1 + 24 * 3) * 5] = 9
    v.error("png_err_bad_filter", "png", make_png(c, 8, 2, zdata=zlib.compress(bytes(raw))),
            "filter type 9")
    v.error("png_err_short_raw", "png",
            make_png(c, 8, 2, zdata=zlib.compress(png_raw(c, 8, False, 0)[:-10])),
            "zlib stream ends before the last row")
    v.error("png_err_bits3", "png", bare_png(4, 4, 3, 0, bytes(20)), "bit depth 3")
    v.error("png_err_rgb_bits4", "png", bare_png(4, 4, 4, 2, bytes(40)),
            "colour type 2 with bit depth 4")
    v.error("png_err_zero_width", "png", bare_png(0, 4, 8, 2, bytes(4)), "zero width")
    v.error("png_err_no_idat", "png", bare_png(4, 4, 8, 2, None), "no image data")
    v.error("png_err_too_many_pixels", "png", bare_png(20000, 9000, 1, 0, bytes(100)),
            "180 million pixels: more than twice Image.MAX_IMAGE_PIXELS")
    v.error("png_err_plte_too_long", "png",
            make_png(index_content(4, 2, 4)[:, :, None], 8, 3, plte=palette_bytes(256) + b"abc"),
            "PLTE with 257 entries")
    v.error("png_err_bad_chunk_name", "png",
            make_png(c, 8, 2, zdata=z, pre=[png_chunk(b"t-Xt", b"x")]),
            "chunk type with a non-alphanumeric byte")
    v.error("png_err_truncated_chunk_after_idat", "png",
            make_png(c, 8, 2, zdata=z)[:-12] + struct.pack(">I", 50) + b"tEXtabc",
            "a chunk after IDAT whose data runs past the end of the file")

    v.truncations_of("png_rgb8_31x17", [1, 7, 8, 12, 20, 33, 40, 100, 500, -30, -16, -13, -12,
                                        -8, -1])
    v.truncations_of("png_chunks_24x16", [60, 150, 200, -60, -40, -20, -5])


def jpeg_vectors(v):
    # Sizes x chroma subsampling (4:4:4, 4:2:2, 4:2:0), q90.
    for (w, h) in [(1, 1), (2, 2), (7, 5), (8, 8), (16, 16), (17, 13), (33, 65), (64, 48)]:
        im = Image.fromarray(rgb_content(w, h, seed=w * 3 + h))
        for ss, tag in [(0, "444"), (1, "422"), (2, "420")]:
            v.image(f"jpeg_{tag}_{w}x{h}", "jpeg", pil_jpeg(im, quality=90, subsampling=ss),
                    f"baseline {tag}")
    big = Image.fromarray(rgb_content(200, 150, seed=4))
    v.image("jpeg_420_200x150", "jpeg", pil_jpeg(big, quality=75), "baseline 4:2:0 q75")
    v.image("jpeg_444_q100_127x95", "jpeg",
            pil_jpeg(Image.fromarray(rgb_content(127, 95, seed=8)), quality=100, subsampling=0),
            "quality 100 (IDCT range limits)")
    v.image("jpeg_420_q20_45x37", "jpeg",
            pil_jpeg(Image.fromarray(rgb_content(45, 37, seed=9)), quality=20),
            "quality 20 (strong ringing)")
    # Greyscale.
    for (w, h) in [(1, 1), (17, 13), (64, 48)]:
        v.image(f"jpeg_grey_{w}x{h}", "jpeg",
                pil_jpeg(Image.fromarray(rgb_content(w, h, seed=2)).convert("L"), quality=85),
                "greyscale")
    # Progressive, optimized Huffman tables.
    im = Image.fromarray(rgb_content(61, 43, seed=6))
    v.image("jpeg_progressive_420_61x43", "jpeg", pil_jpeg(im, quality=80, progressive=True),
            "progressive 4:2:0")
    v.image("jpeg_progressive_444_61x43", "jpeg",
            pil_jpeg(im, quality=80, progressive=True, subsampling=0), "progressive 4:4:4")
    v.image("jpeg_progressive_grey_61x43", "jpeg",
            pil_jpeg(im.convert("L"), quality=80, progressive=True), "progressive greyscale")
    v.image("jpeg_optimized_61x43", "jpeg", pil_jpeg(im, quality=80, optimize=True),
            "optimized Huffman tables")
    # libjpeg-turbo tools: other samplings, restart markers, RGB colour space, one scan per
    # component.
    ppm = ppm_bytes(rgb_content(37, 29, seed=7))
    v.image("jpeg_440_37x29", "jpeg", run_tool(["cjpeg", "-sample", "1x2", "-quality", "90"], ppm),
            "4:4:0 (h1v2 fancy upsampling)")
    v.image("jpeg_411_37x29", "jpeg", run_tool(["cjpeg", "-sample", "4x1"], ppm), "4:1:1")
    v.image("jpeg_mixed_sampling_37x29", "jpeg",
            run_tool(["cjpeg", "-sample", "2x2,1x2,2x1"], ppm), "unusual per-component sampling")
    v.image("jpeg_rgb_colorspace_37x29", "jpeg", run_tool(["cjpeg", "-rgb"], ppm),
            "RGB JPEG (no YCbCr transform)")
    v.image("jpeg_restart_rows_33x65", "jpeg",
            run_tool(["jpegtran", "-restart", "1"], v.data["jpeg_420_33x65"][0]),
            "restart marker every MCU row")
    v.image("jpeg_restart_blocks_33x65", "jpeg",
            run_tool(["jpegtran", "-restart", "2B"], v.data["jpeg_422_33x65"][0]),
            "restart marker every 2 MCUs")
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as scans:
        scans.write("0;\n1;\n2;\n")
        scans.flush()
        v.image("jpeg_multiscan_sequential_37x29", "jpeg",
                run_tool(["cjpeg", "-scans", scans.name], ppm),
                "sequential, one scan per component (libjpeg reads to EOI before output)")
    v.image("jpeg_progressive_restart_37x29", "jpeg",
            run_tool(["cjpeg", "-progressive", "-restart", "1"], ppm),
            "progressive with restart markers")
    # CMYK (Pillow writes Adobe APP14, inverted values) -> Pillow's CMYK to RGB formula.
    for (w, h) in [(40, 30), (17, 13)]:
        cmyk = np.concatenate([rgb_content(w, h, seed=3), rgb_content(w, h, seed=11)[:, :, 1:2]],
                              -1)
        v.image(f"jpeg_cmyk_{w}x{h}", "jpeg",
                pil_jpeg(Image.fromarray(cmyk, "CMYK"), quality=90), "CMYK (Adobe, inverted)")
    # Metadata that must not change the pixels.
    exif = Image.Exif()
    exif[0x0112] = 6
    im = Image.fromarray(rgb_content(24, 16, seed=12))
    v.image("jpeg_exif_orientation6_24x16", "jpeg", pil_jpeg(im, quality=90, exif=exif.tobytes()),
            "EXIF Orientation 6 is not applied")
    v.image("jpeg_icc_comment_24x16", "jpeg",
            pil_jpeg(im, quality=90, icc_profile=b"\0" * 300, dpi=(300, 300),
                     comment=b"a comment"), "ICC profile APP2, COM marker, JFIF density")
    good = v.data["jpeg_420_64x48"][0]
    v.image("jpeg_trailing_garbage_64x48", "jpeg", good + b"garbage after EOI" * 3,
            "bytes after EOI")
    v.image("jpeg_extraneous_before_eoi_64x48", "jpeg", good[:-2] + b"\x12\x34\x56\xff\xd9",
            "libjpeg warning: extraneous bytes before EOI")
    corrupt = bytearray(good)
    sos = good.index(b"\xff\xda")
    for k in range(5):
        pos = sos + 40 + k * 97
        corrupt[pos] = (corrupt[pos] + 77) & 0xFF
        if corrupt[pos] == 0xFF:
            corrupt[pos] = 0xFE
    v.image("jpeg_corrupt_entropy_64x48", "jpeg", bytes(corrupt),
            "corrupt entropy-coded data: libjpeg warns and decodes garbage; Pillow keeps it. "
            "Out-of-range coefficients make libjpeg-turbo's x86 SIMD IDCT differ from its C "
            "IDCT in one block", without_simd=True)
    v.image("jpeg_cut_in_segment_after_scan_64x48", "jpeg", good[:-2] + b"\xff\xfe\x00\x40abc",
            "sequential single-scan file cut inside a COM segment after the scan: Pillow has "
            "all scanlines and ignores the missing rest")
    # Errors.
    v.error("jpeg_err_garbage_after_soi", "jpeg", b"\xff\xd8\xff" + bytes(range(7, 200)),
            "SOI followed by garbage")
    v.error("jpeg_err_no_sos", "jpeg", good[:sos] + b"\xff\xd9", "no scan")
    v.error("jpeg_err_missing_dqt", "jpeg", without_segments(good, 0xDB),
            "no quantisation tables (a decoder reused from an earlier image must not fill in)")
    v.truncations_of("jpeg_420_64x48", [3, 20, 100, sos + 2, sos + 20, len(good) // 2, -40, -3,
                                        -2, -1])
    prog = v.data["jpeg_progressive_420_61x43"][0]
    v.truncations_of("jpeg_progressive_420_61x43", [50, len(prog) // 2, -20, -2, -1])
    v.truncations_of("jpeg_restart_rows_33x65", [-60, -2])
    multiscan = v.data["jpeg_multiscan_sequential_37x29"][0]
    v.truncations_of("jpeg_multiscan_sequential_37x29",
                     [multiscan.rindex(b"\xff\xda") - 1, -2])


def without_segments(jpeg, marker):
    """A JPEG file with every marker segment of one type (before the first scan) removed."""
    out, pos = bytearray(jpeg[:2]), 2
    while jpeg[pos + 1] != 0xDA:
        length = struct.unpack(">H", jpeg[pos + 2:pos + 4])[0]
        if jpeg[pos + 1] != marker:
            out += jpeg[pos:pos + 2 + length]
        pos += 2 + length
    return bytes(out + jpeg[pos:])


def jpeg_arithmetic_vector(v):
    """Arithmetic-coded JPEG: Pillow's libjpeg-turbo decodes it (the WASM build cannot)."""
    ppm = ppm_bytes(rgb_content(37, 29, seed=7))
    v.image("jpeg_arithmetic_37x29", "jpeg", run_tool(["cjpeg", "-arithmetic"], ppm),
            "arithmetic coding (known deviation: not supported by the WASM decoder)")


def gif_vectors(v):
    # Pillow-written GIFs.
    base = Image.fromarray(rgb_content(64, 48, seed=13)).quantize(64)
    v.image("gif_pil_64x48", "gif", pil_save(base, "GIF", interlace=False), "Pillow GIF")
    v.image("gif_pil_interlaced_64x48", "gif", pil_save(base, "GIF", interlace=True),
            "Pillow GIF, interlaced")
    v.image("gif_pil_transparency_64x48", "gif", pil_save(base, "GIF", transparency=3),
            "transparency index is not applied by convert('RGB')")
    v.image("gif_pil_grey_30x20", "gif",
            pil_save(Image.fromarray(rgb_content(30, 20)).convert("L"), "GIF"),
            "Pillow greyscale GIF (identity palette: Pillow mode L)")
    frames = [Image.fromarray(rgb_content(32, 24, seed=s)).quantize(32) for s in (1, 2)]
    v.image("gif_pil_animated_32x24", "gif",
            pil_save(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100),
            "animated: first frame only")
    # Hand-written GIFs.
    pal = palette_bytes(16, seed=4)
    idx = index_content(20, 12, 16)
    v.image("gif_frame_offset_30x20", "gif",
            make_gif((30, 20), [dict(box=(5, 4, 20, 12), indices=idx)], gct=pal),
            "first frame smaller than the screen: rest is palette index 0")
    v.image("gif_frame_offset_transparency_30x20", "gif",
            make_gif((30, 20), [dict(box=(5, 4, 20, 12), indices=idx, transparency=7)], gct=pal),
            "first frame smaller than the screen with transparency: rest is the transparent "
            "index's colour")
    v.image("gif_frame_outside_screen_12x8", "gif",
            make_gif((12, 8), [dict(box=(6, 2, 20, 12), indices=idx)], gct=pal),
            "frame extends past the logical screen: image grows")
    v.image("gif_local_table_20x12", "gif",
            make_gif((20, 12), [dict(box=(0, 0, 20, 12), indices=idx,
                                     lct=palette_bytes(16, seed=9))], gct=pal),
            "local colour table")
    v.image("gif_local_grey_table_20x12", "gif",
            make_gif((20, 12), [dict(box=(0, 0, 20, 12), indices=idx,
                                     lct=bytes(i // 3 for i in range(48)))], gct=pal),
            "identity-grey local table: Pillow uses the global palette")
    v.image("gif_no_palette_20x12", "gif",
            make_gif((20, 12), [dict(box=(0, 0, 20, 12), indices=idx * 13)]),
            "no colour table at all: indices are grey levels")
    v.image("gif_beyond_palette_20x12", "gif",
            make_gif((20, 12), [dict(box=(0, 0, 20, 12), indices=idx * 15 + 3)],
                     gct=palette_bytes(4)),
            "indices beyond the 4-entry table: Pillow's grey ramp")
    for mcs, n in [(2, 4), (3, 8), (5, 32), (7, 128)]:
        ind = index_content(23, 9, n, seed=mcs)
        v.image(f"gif_code_size{mcs}_23x9", "gif",
                make_gif((23, 9), [dict(box=(0, 0, 23, 9), indices=ind, min_code_size=mcs)],
                         gct=palette_bytes(n, seed=mcs)), f"LZW minimum code size {mcs}")
    for h in [1, 2, 3, 4, 5, 8, 9, 17]:
        ind = index_content(7, h, 16, seed=h)
        v.image(f"gif_interlaced_7x{h}", "gif",
                make_gif((7, h), [dict(box=(0, 0, 7, h), indices=ind, interlace=True)], gct=pal),
                "interlaced, every pass layout")
    noisy = (hash_noise(96, 80, 5) % np.uint64(256)).astype(np.int64)
    v.image("gif_table_full_reset_96x80", "gif",
            make_gif((96, 80), [dict(box=(0, 0, 96, 80), indices=noisy)],
                     gct=palette_bytes(256)), "LZW table fills: clear codes")
    v.image("gif_table_full_deferred_96x80", "gif",
            make_gif((96, 80), [dict(box=(0, 0, 96, 80), indices=noisy, reset_when_full=False)],
                     gct=palette_bytes(256)), "LZW table fills: deferred clear (12-bit codes)")
    v.image("gif_small_blocks_20x12", "gif",
            make_gif((20, 12), [dict(box=(0, 0, 20, 12), indices=idx, block_size=7)], gct=pal),
            "7-byte data sub-blocks")
    comment = b"\x21\xfe" + sub_blocks(b"a comment" * 40) + b"\x21\xff\x0bNETSCAPE2.0\x03\x01\0\0\0"
    v.image("gif_extensions_20x12", "gif",
            make_gif((20, 12), [dict(box=(0, 0, 20, 12), indices=idx)], gct=pal,
                     extensions=comment), "comment and application extensions")
    two = make_gif((20, 12), [dict(box=(0, 0, 20, 12), indices=idx),
                              dict(box=(2, 2, 5, 5), indices=np.zeros(25, dtype=np.int64))],
                   gct=pal)
    v.image("gif_two_frames_20x12", "gif", two, "second frame ignored")
    v.image("gif_extra_pixels_20x12", "gif",
            make_gif((20, 12), [dict(box=(0, 0, 20, 12),
                                     lzw=lzw_encode(np.concatenate([idx.reshape(-1),
                                                                    np.ones(30, np.int64)]),
                                                    8))], gct=pal),
            "more pixels coded than the frame holds")
    v.image("gif_code_size1_4x1", "gif",
            make_gif((4, 1), [dict(box=(0, 0, 4, 1), indices=np.array([1, 0, 1, 1]),
                                   min_code_size=1)], gct=palette_bytes(2)),
            "LZW minimum code size 1 (Pillow never widens such codes)")
    # Errors.
    v.error("gif_err_code13", "gif",
            make_gif((4, 1), [dict(box=(0, 0, 4, 1), lzw=b"\x00", min_code_size=13)], gct=pal),
            "LZW minimum code size 13")
    bad_code = pack_codes([(256, 9), (1, 9), (300, 9), (257, 9)])
    v.error("gif_err_bad_code", "gif",
            make_gif((4, 1), [dict(box=(0, 0, 4, 1), lzw=bad_code)], gct=pal),
            "LZW code beyond the table")
    first_code = pack_codes([(256, 9), (258, 9), (1, 9), (257, 9)])
    v.error("gif_err_first_code", "gif",
            make_gif((4, 1), [dict(box=(0, 0, 4, 1), lzw=first_code)], gct=pal),
            "first code after clear is a table code")
    v.error("gif_err_early_end", "gif",
            make_gif((4, 1), [dict(box=(0, 0, 4, 1), lzw=lzw_encode([1, 0], 8))], gct=pal),
            "end code before the frame is complete")
    v.error("gif_err_no_frame", "gif", make_gif((4, 1), [], gct=pal), "no image descriptor")
    v.error("gif_err_zero_width_frame", "gif",
            make_gif((4, 1), [dict(box=(0, 0, 0, 1), indices=np.zeros(0, np.int64))], gct=pal),
            "zero-width frame")
    v.error("gif_err_code_size1_8x2", "gif",
            make_gif((8, 2), [dict(box=(0, 0, 8, 2), indices=index_content(8, 2, 2),
                                   min_code_size=1)], gct=palette_bytes(2)),
            "LZW minimum code size 1: Pillow's decoder misreads the widened codes")
    v.error("gif_err_too_many_pixels", "gif",
            make_gif((65535, 65535), [dict(box=(0, 0, 1, 1), indices=np.zeros(1, np.int64))],
                     gct=pal), "65535×65535 logical screen: more than twice MAX_IMAGE_PIXELS")
    v.error("gif_err_short_header", "gif", b"GIF89a\x04\x00", "header cut short")
    v.truncations_of("gif_pil_64x48", [6, 13, 100, 400, 790, -200, -30, -3, -2, -1])
    v.truncations_of("gif_frame_offset_30x20", [40, 70, -10, -3, -2, -1])


def webp_vectors(v):
    for (w, h) in [(1, 1), (2, 3), (17, 13), (33, 65), (120, 90)]:
        c = rgb_content(w, h, seed=w + 2 * h, noise=6)
        a = alpha_content(w, h)
        rgba = Image.fromarray(np.concatenate([c, a[:, :, None]], -1), "RGBA")
        v.image(f"webp_lossy_{w}x{h}", "webp", pil_save(Image.fromarray(c), "WEBP", quality=80),
                "lossy")
        if w * h <= 17 * 13 or w == 120:
            v.image(f"webp_lossy_alpha_{w}x{h}", "webp", pil_save(rgba, "WEBP", quality=80),
                    "lossy + alpha (VP8X, ALPH)")
        if w <= 33:
            v.image(f"webp_lossless_{w}x{h}", "webp",
                    pil_save(Image.fromarray(c), "WEBP", lossless=True), "lossless")
            v.image(f"webp_lossless_alpha_{w}x{h}", "webp",
                    pil_save(rgba, "WEBP", lossless=True, exact=w % 2 == 1),
                    "lossless + alpha")
    v.image("webp_lossy_q10_64x48", "webp",
            pil_save(Image.fromarray(rgb_content(64, 48, seed=3)), "WEBP", quality=10),
            "lossy, strong quantisation")
    frames = [Image.fromarray(rgb_content(40, 30, seed=s, noise=4)) for s in (1, 2)]
    v.image("webp_animated_lossy_40x30", "webp",
            pil_save(frames[0], "WEBP", save_all=True, append_images=frames[1:], quality=80),
            "animated lossy: first frame")
    v.image("webp_animated_lossless_40x30", "webp",
            pil_save(frames[0], "WEBP", save_all=True, append_images=frames[1:], lossless=True),
            "animated lossless: first frame")
    small = pil_save(Image.fromarray(rgb_content(14, 10, seed=5)), "WEBP", quality=90)
    small_a = pil_save(Image.fromarray(np.concatenate(
        [rgb_content(14, 10, seed=6), alpha_content(14, 10)[:, :, None]], -1), "RGBA"), "WEBP",
        quality=90)
    v.image("webp_animated_offset_30x20", "webp", animated_webp((30, 20), [(6, 4, small)], False),
            "animated, first frame offset inside the canvas (rest transparent black)")
    v.image("webp_animated_offset_alpha_30x20", "webp",
            animated_webp((30, 20), [(8, 2, small_a), (0, 0, small)], True),
            "animated, first frame with ALPH offset inside the canvas")
    lossy = v.data["webp_lossy_120x90"][0]
    v.image("webp_trailing_data_120x90", "webp", lossy + b"trailing", "bytes after the RIFF")
    # Errors.
    bad = bytearray(lossy)
    struct.pack_into("<I", bad, 4, len(lossy) - 8 + 10)
    v.error("webp_err_riff_too_long", "webp", bytes(bad), "RIFF size beyond the data")
    struct.pack_into("<I", bad, 4, len(lossy) - 8 - 10)
    v.error("webp_err_riff_too_short", "webp", bytes(bad), "RIFF size cuts the VP8 chunk")
    bits = 16383 | (16383 << 14)
    v.error("webp_err_too_many_pixels", "webp",
            riff([riff_chunk(b"VP8L", b"\x2f" + struct.pack("<I", bits) + bytes(20))]),
            "16384×16384 lossless header: more than twice MAX_IMAGE_PIXELS")
    v.error("webp_err_not_vp8", "webp", riff([riff_chunk(b"VP8 ", b"\x00" * 30)]),
            "VP8 chunk without a valid frame header")
    v.truncations_of("webp_lossy_120x90", [12, 20, 30, 60, len(lossy) // 2, -8, -1])
    ll = v.data["webp_lossless_33x65"][0]
    v.truncations_of("webp_lossless_33x65", [25, len(ll) // 2, -1])


def misc_errors(v):
    v.error("empty", "unknown", b"", "empty buffer")
    garbage = bytes((hash_noise(64, 16, 77) % np.uint64(256)).astype(np.uint8).reshape(-1))
    v.error("garbage", "unknown", garbage, "random bytes")
    v.error("text", "unknown", b"<html>not an image</html>", "text")


def cmyk_table():
    """Pillow's CMYK->RGB for every (C, K): 256x256 red values, C along x, K along y."""
    c = np.tile(np.arange(256, dtype=np.uint8), (256, 1))
    k = c.T.copy()
    z = np.zeros_like(c)
    im = Image.fromarray(np.stack([c, z, z, k], -1), "CMYK").convert("RGB")
    red = np.asarray(im)[:, :, 0].tobytes()
    with open(os.path.join(OUT_DIR, "cmyk_to_rgb.gz"), "wb") as f:
        f.write(gzip.compress(red, 9, mtime=0))


def main():
    # Pillow warns when converting palette images whose tRNS is a byte string; the warning
    # is about transparency, which convert("RGB") drops anyway.
    warnings.filterwarnings("ignore", message="Palette images with Transparency")
    assert PIL.__version__ == "9.4.0", PIL.__version__
    for tool in ("cjpeg", "jpegtran"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} not found: apt-get install libjpeg-turbo-progs")
    if os.path.isdir(OUT_DIR):
        shutil.rmtree(OUT_DIR)
    os.makedirs(OUT_DIR)
    v = Vectors()
    png_vectors(v)
    jpeg_vectors(v)
    jpeg_arithmetic_vector(v)
    gif_vectors(v)
    webp_vectors(v)
    misc_errors(v)
    cmyk_table()
    manifest = {
        "generator": "tools/vectors/make_decode_vectors.py",
        "reference": {
            "pillow": PIL.__version__,
            "libjpeg_turbo": features.version("libjpeg_turbo"),
            "libwebp": features.version("webp"),
            "zlib": features.version("zlib"),
        },
        "cmykTable": "cmyk_to_rgb.gz",
        "images": v.images,
        "errors": v.errors,
        "truncations": v.truncations,
    }
    with open(os.path.join(OUT_DIR, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(OUT_DIR, n)) for n in os.listdir(OUT_DIR))
    print(f"{len(v.images)} images, {len(v.errors)} errors, "
          f"{sum(len(t['cuts']) for t in v.truncations)} truncations, {total} bytes")


if __name__ == "__main__":
    main()
