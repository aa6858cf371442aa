#!/usr/bin/python3
"""Reference vectors for open_clip's conversion order: decode in the native Pillow mode, resize
and centre-crop in that mode, convert to RGB last (src/image/resize_native.ts, the
"after_resize" conversion order of src/image/preprocess/kernel.ts, decodeNativeImage in
src/image/decode/mod.ts).

Produces, in tests/data/openclip/:
  inputs/<name>.<ext>  small encoded files, one per Pillow mode and format variant: palette PNG
                       (8-bit, with a tRNS, 4-bit), GIF ("P" and "L"), RGBA and LA PNG with
                       alpha from 0 to 255, 16-bit grey+alpha PNG (Pillow: "RGBA"), 16-bit grey
                       PNG ("I", values up to 65535), 1-bit and 2-bit grey PNG, 8-bit grey,
                       RGB and 16-bit RGB/RGBA PNG, CMYK, grey and RGB JPEG, WebP with and
                       without alpha.
  cases.json           per input: its Pillow mode and size, where its native samples (and the
                       256-entry palette of "P") are stored; per resize case: the input, the
                       size and filter of Image.resize and where Pillow's result is stored; per
                       preprocessing case: the input, a preprocessor_config.json object, where
                       open_clip's tensor is stored and the sha256 of the tensor made in the
                       other order (convert to RGB first, then the same resize and crop).
  samples.bin.gz       native and resized samples: bytes for 8-bit modes ("1" as 0/255, "P" as
                       indices, bands interleaved), little-endian int32 for "I"; palettes as
                       768 RGB bytes.
  tensors.f32.gz       little-endian float32 [3, H, W] tensors, concatenated.

The open_clip transform (open_clip's image_transform for evaluation, with torchvision 0.14's
functional_pil) is EMULATED on PIL images, as written from those sources:

  * Resize(size, BICUBIC): an int size s scales the shorter side to s and the longer to
    int(s * long / short) (torchvision's _compute_resized_output_size); a (h, w) size resizes to
    exactly that; a result of the image's own size returns the image; otherwise
    img.resize((w, h), filter) on the native-mode image. The filter is the config's "resample".
  * CenterCrop(crop): when the crop is larger than the image, torchvision's pad with fill=0 in
    the native mode (ImageOps.expand; a "P" image keeps its palette), (crop - size) // 2 before;
    then img.crop at top = int(round((H - h) / 2.0)), left likewise.
  * _convert_to_rgb: img.convert("RGB").
  * ToTensor: uint8 -> float32, divided by 255 in float32. Normalize: (x - mean) / std with mean
    and std as float32.

With --torchvision the script also runs the real torchvision.transforms pipeline (Debian's
python3-torchvision, 0.14) on every preprocessing case and fails unless it gives the same bits.

Run from the repository root with Debian's Pillow 9.4 and numpy:

    /usr/bin/python3 tools/vectors/make_openclip_vectors.py [--torchvision]

The script is deterministic; rerunning it rewrites the same files.
"""

import gzip
import hashlib
import io
import json
import os
import struct
import sys
import warnings
import zlib

import numpy as np
import PIL
from PIL import Image, ImageOps

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_resize_vectors import synthetic_image  # noqa: E402

OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "data", "openclip")
OPENAI_CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
OPENAI_CLIP_STD = [0.26862954, 0.26130258, 0.27577711]
NEAREST, LANCZOS, BILINEAR, BICUBIC, BOX, HAMMING = 0, 1, 2, 3, 4, 5


# ---------------------------------------------------------------- inputs


def png_bytes(width, height, bit_depth, color_type, rows):
    """A minimal PNG (filter 0 on every row) for layouts Pillow cannot write (16-bit LA/RGB(A))."""

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    raw = b"".join(b"\0" + row for row in rows)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def alpha_plane(width, height, seed):
    """Alpha with fully transparent and fully opaque areas and every level between."""
    a = synthetic_image(width, height, seed)[:, :, 1].astype(np.int32)
    x = np.arange(width)[None, :]
    a = np.where(x < width // 5, 0, a)
    a = np.where(x >= width - width // 5, 255, a)
    return a.astype(np.uint8)


def save(image, fmt, **options):
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def make_inputs():
    """(name, extension, encoded bytes) for every mode variant."""
    inputs = []
    w, h = 27, 19  # landscape
    tw, th = 17, 29  # portrait
    rgb = Image.fromarray(synthetic_image(w, h, 11), "RGB")
    rgb_tall = Image.fromarray(synthetic_image(tw, th, 12), "RGB")
    grey = Image.fromarray(synthetic_image(w, h, 13)[:, :, 0], "L")

    inputs.append(("png_p8", "png", save(rgb.quantize(60), "PNG")))
    pal_trns = rgb_tall.quantize(40)
    inputs.append(("png_p8_trns", "png", save(pal_trns, "PNG", transparency=bytes((i * 7) % 256 for i in range(40)))))
    inputs.append(("png_p4", "png", save(rgb.quantize(16), "PNG", bits=4)))
    inputs.append(("gif_p", "gif", save(rgb_tall.quantize(100), "GIF")))
    # Saved with its identity grey palette, which Pillow's reader treats as no palette: "L".
    inputs.append(("gif_l", "gif", save(grey, "GIF", optimize=False)))

    rgba = np.dstack([synthetic_image(w, h, 14), alpha_plane(w, h, 15)])
    inputs.append(("png_rgba8", "png", save(Image.fromarray(rgba, "RGBA"), "PNG")))
    la = np.dstack([synthetic_image(tw, th, 16)[:, :, 0], alpha_plane(tw, th, 17)])
    inputs.append(("png_la8", "png", save(Image.fromarray(la, "LA"), "PNG")))
    # 16-bit samples: a high byte from one synthetic image, a low byte from another.
    low = synthetic_image(w, h, 18).astype(np.uint16)
    la16 = np.dstack([synthetic_image(w, h, 19)[:, :, 0] * 256 + low[:, :, 0], alpha_plane(w, h, 20) * 256 + low[:, :, 1]])
    inputs.append(("png_la16", "png", png_bytes(w, h, 16, 4, [r.astype(">u2").tobytes() for r in la16])))
    low = synthetic_image(tw, th, 21).astype(np.uint16)
    rgba16 = np.dstack([synthetic_image(tw, th, 22) * 256 + low, alpha_plane(tw, th, 23) * 256 + low[:, :, 2]])
    inputs.append(("png_rgba16", "png", png_bytes(tw, th, 16, 6, [r.astype(">u2").tobytes() for r in rgba16])))
    rgb16 = synthetic_image(w, h, 22).astype(np.uint16) * 256 + synthetic_image(w, h, 23)
    inputs.append(("png_rgb16", "png", png_bytes(w, h, 16, 2, [r.astype(">u2").tobytes() for r in rgb16])))

    # 16-bit grey: low values (the 0..255 range RGB keeps), mid and full-range values.
    g = synthetic_image(w, h, 24).astype(np.int64)
    i16 = np.where(g[:, :, 1] < 96, g[:, :, 0], np.where(g[:, :, 1] < 160, g[:, :, 0] * 3, g[:, :, 0] * 257))
    inputs.append(("png_i16", "png", png_bytes(w, h, 16, 0, [r.astype(">u2").tobytes() for r in i16.astype(np.uint16)])))
    inputs.append(("png_1bit", "png", save(grey.point(lambda v: 255 if v > 127 else 0).convert("1"), "PNG")))
    l2 = (synthetic_image(tw, th, 25)[:, :, 0] >> 6).astype(np.uint8)
    inputs.append(("png_l2", "png", png_bytes(tw, th, 2, 0, [np.packbits(np.unpackbits(r[:, None], axis=1)[:, 6:].reshape(-1)).tobytes() for r in l2])))
    inputs.append(("png_l8", "png", save(grey, "PNG")))
    inputs.append(("png_rgb8", "png", save(rgb, "PNG")))

    cmyk = Image.fromarray(np.dstack([synthetic_image(w, h, 26), synthetic_image(w, h, 27)[:, :, 0]]), "CMYK")
    inputs.append(("jpeg_cmyk", "jpg", save(cmyk, "JPEG", quality=92)))
    inputs.append(("jpeg_l", "jpg", save(grey, "JPEG", quality=90)))
    inputs.append(("jpeg_rgb", "jpg", save(rgb_tall, "JPEG", quality=90)))

    webp_rgba = np.dstack([synthetic_image(w, h, 28), alpha_plane(w, h, 29)])
    inputs.append(("webp_rgba_lossless", "webp", save(Image.fromarray(webp_rgba, "RGBA"), "WEBP", lossless=True)))
    inputs.append(("webp_rgba_lossy", "webp", save(Image.fromarray(webp_rgba, "RGBA"), "WEBP", quality=90)))
    inputs.append(("webp_rgb_lossy", "webp", save(rgb_tall, "WEBP", quality=90)))
    return inputs


# ---------------------------------------------------------------- Pillow / open_clip


def native_samples(image):
    """The image's samples as TypeScript's NativeImage holds them, as bytes."""
    if image.mode == "I":
        return np.asarray(image, dtype="<i4").tobytes()
    if image.mode == "1":
        return np.asarray(image.convert("L"), dtype=np.uint8).tobytes()
    return np.asarray(image, dtype=np.uint8).tobytes()


def palette_table(image):
    """The RGB colour of each of the 256 indices of a "P" image, as Pillow converts them."""
    probe = image.copy()
    indices = np.zeros(image.size[0] * image.size[1], dtype=np.uint8)
    indices[:256] = np.arange(256)
    probe.putdata(indices.tolist())
    return np.asarray(probe.convert("RGB")).reshape(-1, 3)[:256].tobytes()


def resized_size(image, size):
    width, height = image.size
    if isinstance(size, int):
        short, long = (width, height) if width <= height else (height, width)
        new_short, new_long = size, int(size * long / short)
        return (new_short, new_long) if width <= height else (new_long, new_short)
    return size[1], size[0]


def torchvision_pad(image, ltrb):
    """functional_pil.pad(img, ltrb, fill=0, padding_mode="constant")."""
    ltrb = tuple(ltrb)
    bands = len(image.getbands())
    fill = 0 if bands == 1 else tuple([0] * bands)
    if image.mode == "P":
        palette = image.getpalette()
        out = ImageOps.expand(image, border=ltrb, fill=fill)
        out.putpalette(palette)
        return out
    return ImageOps.expand(image, border=ltrb, fill=fill)


def torchvision_center_crop(image, crop):
    crop_height, crop_width = crop
    width, height = image.size
    if crop_width > width or crop_height > height:
        ltrb = [
            (crop_width - width) // 2 if crop_width > width else 0,
            (crop_height - height) // 2 if crop_height > height else 0,
            (crop_width - width + 1) // 2 if crop_width > width else 0,
            (crop_height - height + 1) // 2 if crop_height > height else 0,
        ]
        image = torchvision_pad(image, ltrb)
        width, height = image.size
        if crop_width == width and crop_height == height:
            return image
    top = int(round((height - crop_height) / 2.0))
    left = int(round((width - crop_width) / 2.0))
    return image.crop((left, top, left + crop_width, top + crop_height))


def to_tensor_normalized(image, mean, std):
    array = np.asarray(image, dtype=np.uint8).astype(np.float32) / np.float32(255)
    array = (array - np.array(mean, dtype=np.float32)) / np.array(std, dtype=np.float32)
    return np.ascontiguousarray(array.transpose(2, 0, 1), dtype=np.float32)


def transform(image, config, convert_first):
    """open_clip's eval transform (convert_first=False) or the same steps converting first."""
    if convert_first:
        image = image.convert("RGB")
    size = config["size"]
    size = size if isinstance(size, int) else (size["height"], size["width"])
    width, height = resized_size(image, size)
    if (width, height) != image.size:
        image = image.resize((width, height), config["resample"])
    image = torchvision_center_crop(image, (config["crop_size"], config["crop_size"]))
    image = image.convert("RGB")
    return to_tensor_normalized(image, config["image_mean"], config["image_std"])


def torchvision_transform(image, config):
    """The real open_clip-style pipeline with torchvision.transforms."""
    from torchvision.transforms import CenterCrop, Compose, InterpolationMode, Normalize, Resize, ToTensor

    modes = {
        NEAREST: InterpolationMode.NEAREST,
        LANCZOS: InterpolationMode.LANCZOS,
        BILINEAR: InterpolationMode.BILINEAR,
        BICUBIC: InterpolationMode.BICUBIC,
        BOX: InterpolationMode.BOX,
        HAMMING: InterpolationMode.HAMMING,
    }
    size = config["size"]
    size = size if isinstance(size, int) else (size["height"], size["width"])
    pipeline = Compose(
        [
            Resize(size, interpolation=modes[config["resample"]]),
            CenterCrop(config["crop_size"]),
            lambda im: im.convert("RGB"),
            ToTensor(),
            Normalize(mean=config["image_mean"], std=config["image_std"]),
        ]
    )
    return pipeline(image).numpy()


RESIZES = [
    # (width or None for the input's, height or None, filter)
    (11, 8, BICUBIC),
    (29, 21, BICUBIC),
    (None, 12, BILINEAR),
    (13, None, LANCZOS),
    (9, 7, NEAREST),
    (14, 9, BOX),
    (8, 13, HAMMING),
    (None, None, BICUBIC),
]


def config(size, crop, resample=BICUBIC, mean=OPENAI_CLIP_MEAN, std=OPENAI_CLIP_STD):
    return {"size": size, "crop_size": crop, "resample": resample, "image_mean": mean, "image_std": std}


PREPROCESS = [
    config(12, 12),  # the open_clip shape: shortest edge = crop
    config(9, 8),  # odd margins: torchvision's round-half-to-even placement
    config(31, 10),  # upscaling
    config({"height": 7, "width": 9}, 11, BILINEAR, [0.5, 0.5, 0.5], [0.5, 0.5, 0.5]),  # padding
    config(10, 10, LANCZOS),
]


def main():
    # Pillow warns when converting a "P" image whose tRNS holds several alpha values; the
    # conversion itself ignores the transparency, which is what is being recorded.
    warnings.filterwarnings("ignore", "Palette images with Transparency")
    verify_torchvision = "--torchvision" in sys.argv[1:]
    assert PIL.__version__.startswith("9.4"), PIL.__version__
    os.makedirs(os.path.join(OUT_DIR, "inputs"), exist_ok=True)
    samples = bytearray()
    tensors = bytearray()

    def store(blob, data):
        offset = len(blob)
        blob.extend(data)
        return {"offset": offset, "length": len(data)}

    manifest = {"inputs": [], "resizes": [], "preprocess": []}
    differing_modes = {}
    for name, ext, encoded in make_inputs():
        file = f"inputs/{name}.{ext}"
        with open(os.path.join(OUT_DIR, file), "wb") as f:
            f.write(encoded)
        image = Image.open(io.BytesIO(encoded))
        image.load()
        entry = {
            "name": name,
            "file": file,
            "mode": image.mode,
            "width": image.size[0],
            "height": image.size[1],
            "samples": store(samples, native_samples(image)),
        }
        if image.mode == "P":
            entry["palette"] = store(samples, palette_table(image))
        manifest["inputs"].append(entry)

        for width, height, resample in RESIZES:
            size = (width or image.size[0], height or image.size[1])
            resized = image.resize(size, resample)
            assert resized.mode == image.mode
            case = {"input": name, "width": size[0], "height": size[1], "filter": resample}
            if size == image.size:
                assert native_samples(resized) == native_samples(image)
                case["sameAsInput"] = True
            else:
                case["samples"] = store(samples, native_samples(resized))
            manifest["resizes"].append(case)

        for cfg in PREPROCESS:
            tensor = transform(image, cfg, convert_first=False)
            other = transform(image, cfg, convert_first=True)
            if verify_torchvision:
                real = torchvision_transform(image, cfg)
                assert real.dtype == np.float32 and real.tobytes() == tensor.tobytes(), (name, cfg)
            differs = tensor.tobytes() != other.tobytes()
            differing_modes.setdefault(image.mode, set()).add(name if differs else None)
            manifest["preprocess"].append(
                {
                    "input": name,
                    "config": cfg,
                    "shape": list(tensor.shape),
                    "tensor": store(tensors, tensor.astype("<f4").tobytes()),
                    "convertFirstSha256": hashlib.sha256(other.astype("<f4").tobytes()).hexdigest(),
                    "ordersDiffer": differs,
                }
            )

    with open(os.path.join(OUT_DIR, "cases.json"), "w") as f:
        # One line per entry keeps the file small and diffable.
        f.write("{\n")
        for k, key in enumerate(manifest):
            f.write(f' "{key}": [\n')
            lines = [json.dumps(entry, separators=(",", ":")) for entry in manifest[key]]
            f.write(",\n".join("  " + line for line in lines))
            f.write("\n ]" + ("," if k + 1 < len(manifest) else "") + "\n")
        f.write("}\n")
    for file, blob in (("samples.bin.gz", samples), ("tensors.f32.gz", tensors)):
        with open(os.path.join(OUT_DIR, file), "wb") as f:
            f.write(gzip.compress(bytes(blob), 9, mtime=0))
    print(f"{len(manifest['inputs'])} inputs, {len(manifest['resizes'])} resizes, {len(manifest['preprocess'])} preprocessing cases")
    for mode, names in sorted(differing_modes.items()):
        print(f"  {mode}: orders differ for {sorted(n for n in names if n) or 'none'}")
    if verify_torchvision:
        print("torchvision.transforms gives the same bits on every preprocessing case")


if __name__ == "__main__":
    main()
