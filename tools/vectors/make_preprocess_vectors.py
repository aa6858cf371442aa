#!/usr/bin/python3
"""Reference vectors for src/image/preprocess/kernel.ts: CLIPImageProcessor-style preprocessing.

Produces, in tests/data/preprocess/:
  cases.json        one entry per case: a preprocessor_config.json object, the crop rounding
                    ("floor" or "round"), the input (width, height, seed of the synthetic image of
                    tools/vectors/make_resize_vectors.py), the output shape [3, H, W], and either
                    the byte offset/length of the expected float32 values in outputs.f32.gz or,
                    for large outputs, the sha256 of those float32 bytes.
  outputs.f32.gz    gzip of the expected channels-first float32 tensors (little-endian),
                    concatenated.

transformers cannot be installed here, so this script EMULATES transformers' CLIPImageProcessor
(preprocess -> resize -> center_crop -> rescale -> normalize -> channels first), written from
transformers' image_processing_clip.py and image_transforms.py (v4.3x/4.4x):

  * size: get_size_dict(size, default_to_square=False): an int n is {"shortest_edge": n}; a
    dict {"shortest_edge": n} resizes with get_resize_output_image_size(default_to_square=False):
    short side -> n, long side -> int(n * long / short); {"height", "width"} resizes to exactly
    that. crop_size: an int n is {"height": n, "width": n}.
  * resize: the uint8 HWC array -> PIL.Image.fromarray -> .resize((w, h), resample,
    reducing_gap=None) -> np.array (uint8).
  * center_crop: top = (H - h) // 2, left = (W - w) // 2; if the crop leaves the image, zero-pad
    to (max(H, h), max(W, w)) with the image at ceil(pad / 2), then crop as transformers does.
  * rescale: image.astype(np.float64) * rescale_factor, then .astype(np.float32).
  * normalize: float32 input (uint8 is first cast to float32), mean/std as float32 arrays,
    (image - mean) / std in float32.
  * finally channels-last -> channels-first. With both do_rescale and do_normalize false the
    uint8 values are stored as float32.

Assumption: the images are passed as channels-last (input_data_format="channels_last"). Without
that argument transformers *infers* the channel axis and takes an image of height 1 or 3 to be
channels-first (it then fails or produces garbage); the cases with such images (500x1, 7x3) show
the intended channels-last behaviour.

With crop rounding "round" the crop follows torchvision's CenterCrop (as open_clip uses it)
instead: zero padding of (h - H) // 2 before the image when the crop is larger, and
top = int(round((H - h) / 2.0)) with Python's round-half-to-even.

Run from the repository root with Debian's Pillow 9.4 and numpy:

    /usr/bin/python3 tools/vectors/make_preprocess_vectors.py

The script is deterministic; rerunning it rewrites the same files.
"""

import gzip
import hashlib
import json
import math
import os
import sys

import numpy as np
import PIL
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_resize_vectors import synthetic_image  # noqa: E402

OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "data", "preprocess")
OPENAI_CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
OPENAI_CLIP_STD = [0.26862954, 0.26130258, 0.27577711]
# Outputs with more values than this are checked by sha256 only, to keep the data small.
MAX_STORED_VALUES = 3 * 40 * 40


def size_dict(size, default_to_square):
    """transformers' get_size_dict for the forms CLIPImageProcessor accepts."""
    if isinstance(size, dict):
        return size
    if isinstance(size, int):
        return {"height": size, "width": size} if default_to_square else {"shortest_edge": size}
    if isinstance(size, (list, tuple)) and len(size) == 2:
        return {"height": size[0], "width": size[1]}
    raise ValueError(size)


def resize_output_size(height, width, size):
    """CLIPImageProcessor.resize's choice of (height, width)."""
    if "shortest_edge" in size:
        requested = size["shortest_edge"]
        short, long = (width, height) if width <= height else (height, width)
        new_short, new_long = requested, int(requested * long / short)
        return (new_long, new_short) if width <= height else (new_short, new_long)
    return (size["height"], size["width"])


def transformers_resize(image, output_hw, resample):
    """image_transforms.resize for a uint8 channels-last array: through PIL and back."""
    height, width = output_hw
    resized = Image.fromarray(image, "RGB").resize((width, height), resample=resample, reducing_gap=None)
    return np.array(resized)


def transformers_center_crop(image, crop_hw):
    """image_transforms.center_crop on a channels-last array (worked in channels-first)."""
    chw = image.transpose(2, 0, 1)
    orig_height, orig_width = chw.shape[-2:]
    crop_height, crop_width = int(crop_hw[0]), int(crop_hw[1])
    top = (orig_height - crop_height) // 2
    bottom = top + crop_height
    left = (orig_width - crop_width) // 2
    right = left + crop_width
    if top >= 0 and bottom <= orig_height and left >= 0 and right <= orig_width:
        return chw[..., top:bottom, left:right].transpose(1, 2, 0)
    new_height = max(crop_height, orig_height)
    new_width = max(crop_width, orig_width)
    new_image = np.zeros_like(chw, shape=chw.shape[:-2] + (new_height, new_width))
    top_pad = math.ceil((new_height - orig_height) / 2)
    bottom_pad = top_pad + orig_height
    left_pad = math.ceil((new_width - orig_width) / 2)
    right_pad = left_pad + orig_width
    new_image[..., top_pad:bottom_pad, left_pad:right_pad] = chw
    top += top_pad
    bottom += top_pad
    left += left_pad
    right += left_pad
    new_image = new_image[..., max(0, top) : min(new_height, bottom), max(0, left) : min(new_width, right)]
    return new_image.transpose(1, 2, 0)


def torchvision_center_crop(image, crop_hw):
    """torchvision.transforms.functional.center_crop on a channels-last array."""
    crop_height, crop_width = crop_hw
    height, width = image.shape[:2]
    if crop_width > width or crop_height > height:
        pad_left = (crop_width - width) // 2 if crop_width > width else 0
        pad_top = (crop_height - height) // 2 if crop_height > height else 0
        pad_right = (crop_width - width + 1) // 2 if crop_width > width else 0
        pad_bottom = (crop_height - height + 1) // 2 if crop_height > height else 0
        image = np.pad(image, ((pad_top, pad_bottom), (pad_left, pad_right), (0, 0)))
        height, width = image.shape[:2]
        if crop_width == width and crop_height == height:
            return image
    top = int(round((height - crop_height) / 2.0))
    left = int(round((width - crop_width) / 2.0))
    return image[top : top + crop_height, left : left + crop_width]


def rescale(image, scale):
    return (image.astype(np.float64) * scale).astype(np.float32)


def normalize(image, mean, std):
    if not np.issubdtype(image.dtype, np.floating):
        image = image.astype(np.float32)
    channels = image.shape[-1]
    mean = mean if isinstance(mean, list) else [mean] * channels
    std = std if isinstance(std, list) else [std] * channels
    mean = np.array(mean, dtype=image.dtype)
    std = np.array(std, dtype=image.dtype)
    return (image - mean) / std


def preprocess(image, config, rounding):
    """CLIPImageProcessor.preprocess for one uint8 channels-last RGB image -> float32 CHW."""
    size = size_dict(config.get("size", {"shortest_edge": 224}), default_to_square=False)
    crop_size = size_dict(config.get("crop_size", 224), default_to_square=True)
    if config.get("do_resize", True):
        output_hw = resize_output_size(image.shape[0], image.shape[1], size)
        image = transformers_resize(image, output_hw, config.get("resample", 3))
    if config.get("do_center_crop", True):
        crop_hw = (crop_size["height"], crop_size["width"])
        if rounding == "floor":
            image = transformers_center_crop(image, crop_hw)
        else:
            image = torchvision_center_crop(image, crop_hw)
    if config.get("do_rescale", True):
        image = rescale(image, config.get("rescale_factor", 1 / 255))
    if config.get("do_normalize", True):
        image = normalize(image, config.get("image_mean", OPENAI_CLIP_MEAN), config.get("image_std", OPENAI_CLIP_STD))
    assert image.dtype in (np.float32, np.uint8), image.dtype
    return np.ascontiguousarray(image.transpose(2, 0, 1)).astype(np.float32)


KIT = {
    "crop_size": {"height": 32, "width": 32},
    "do_center_crop": True,
    "do_convert_rgb": True,
    "do_normalize": True,
    "do_rescale": True,
    "do_resize": True,
    "feature_extractor_type": "CLIPFeatureExtractor",
    "image_mean": OPENAI_CLIP_MEAN,
    "image_processor_type": "CLIPImageProcessor",
    "image_std": OPENAI_CLIP_STD,
    "resample": 3,
    "rescale_factor": 0.00392156862745098,
    "size": {"shortest_edge": 32},
}


def with_(base, **changes):
    config = dict(base)
    config.update(changes)
    return config


def cases():
    """(description, config, crop rounding, (width, height, seed))."""
    small = {"size": {"shortest_edge": 32}, "crop_size": {"height": 29, "width": 29}}
    tie = {"size": {"shortest_edge": 32}, "crop_size": {"height": 27, "width": 27}}
    squash_crop = {"size": {"height": 20, "width": 20}, "crop_size": {"height": 15, "width": 13}}
    pad = {"do_resize": False, "crop_size": {"height": 40, "width": 36}}
    mixed = {"do_resize": False, "crop_size": {"height": 33, "width": 30}}
    out = [
        ("kit config, 28x28 -> 32", KIT, "floor", (28, 28, 7)),
        ("kit config, 1x1", KIT, "floor", (1, 1, 1)),
        ("kit config, 1x500 -> 32x16000 -> crop", KIT, "floor", (1, 500, 24)),
        ("kit config, 500x1 -> 16000x32 -> crop", KIT, "floor", (500, 1, 25)),
        ("kit config, 7x3", KIT, "floor", (7, 3, 5)),
        ("kit config, 3x7", KIT, "floor", (3, 7, 6)),
        ("kit config, 7x3, round", KIT, "round", (7, 3, 5)),
        ("odd margins 27 and 3, floor", small, "floor", (35, 20, 30)),
        ("odd margins 27 and 3, round", small, "round", (35, 20, 30)),
        ("odd margins, portrait, round", small, "round", (20, 35, 31)),
        ("half-even ties 29 and 5, floor", tie, "floor", (35, 20, 32)),
        ("half-even ties 29 and 5, round", tie, "round", (35, 20, 32)),
        ("squash to 24x40, no crop", {"size": {"height": 24, "width": 40}, "do_center_crop": False}, "floor", (640, 480, 22)),
        ("squash to [30, 20] list, no crop", {"size": [30, 20], "do_center_crop": False}, "floor", (45, 37, 33)),
        ("squash then crop, odd margins, floor", squash_crop, "floor", (33, 47, 34)),
        ("squash then crop, odd margins, round", squash_crop, "round", (33, 47, 34)),
        ("crop larger than image, floor", pad, "floor", (31, 20, 35)),
        ("crop larger than image, round", pad, "round", (31, 20, 35)),
        ("crop taller but narrower, floor", mixed, "floor", (50, 20, 36)),
        ("crop taller but narrower, round", mixed, "round", (50, 20, 36)),
        ("resized smaller than crop", {"size": {"shortest_edge": 16}, "crop_size": 24}, "floor", (30, 20, 37)),
        ("no resize, crop 20", {"do_resize": False, "crop_size": 20}, "floor", (45, 37, 38)),
        ("legacy int size and crop_size", {"size": 24, "crop_size": 24}, "floor", (45, 61, 39)),
        ("do_rescale false", with_(KIT, do_rescale=False), "floor", (28, 28, 40)),
        ("do_normalize false", with_(KIT, do_normalize=False), "floor", (28, 28, 41)),
        ("rescale and normalize false", with_(KIT, do_rescale=False, do_normalize=False), "floor", (28, 28, 42)),
        (
            "rescale 1/127.5, scalar mean/std 0.5 (SigLIP style)",
            with_(KIT, rescale_factor=1 / 127.5, image_mean=0.5, image_std=0.5),
            "floor",
            (28, 28, 43),
        ),
        ("28x28 -> shortest 32, defaults otherwise", {"size": {"shortest_edge": 32}, "crop_size": 32}, "floor", (28, 28, 44)),
        ("CLIP defaults, 640x480", {}, "floor", (640, 480, 22)),
        ("CLIP defaults, 640x480, round", {}, "round", (640, 480, 22)),
        ("CLIP defaults, 1200x900", {}, "floor", (1200, 900, 20)),
        ("CLIP defaults, 1x500", {}, "floor", (1, 500, 24)),
        ("CLIP defaults, 500x1", {}, "floor", (500, 1, 25)),
        ("CLIP defaults, 1x1", {}, "floor", (1, 1, 2)),
        ("336: 333x222 -> 504x336 -> crop 336", {"size": {"shortest_edge": 336}, "crop_size": 336}, "floor", (333, 222, 23)),
    ]
    for f in range(6):
        out.append(
            (f"resample {f}", {"size": {"shortest_edge": 24}, "crop_size": 24, "resample": f}, "floor", (45, 37, 50 + f))
        )
    return out


def main():
    if not PIL.__version__.startswith("9.4."):
        sys.exit(f"needs Pillow 9.4 (found {PIL.__version__}); run /usr/bin/python3")
    entries = []
    blob = bytearray()
    for description, config, rounding, (width, height, seed) in cases():
        result = preprocess(synthetic_image(width, height, seed), config, rounding)
        data = result.astype("<f4").tobytes()
        entry = {
            "description": description,
            "config": config,
            "cropRounding": rounding,
            "input": {"width": width, "height": height, "seed": seed},
            "shape": list(result.shape),
        }
        if result.size <= MAX_STORED_VALUES:
            entry["offset"] = len(blob)
            entry["length"] = len(data)
            blob += data
        else:
            entry["sha256"] = hashlib.sha256(data).hexdigest()
        entries.append(entry)
    os.makedirs(OUT_DIR, exist_ok=True)
    with open(os.path.join(OUT_DIR, "cases.json"), "w") as f:
        f.write('{"pillow": %s, "cases": [\n' % json.dumps(PIL.__version__))
        f.write(",\n".join(json.dumps(e, separators=(",", ":")) for e in entries))
        f.write("\n]}\n")
    with gzip.GzipFile(os.path.join(OUT_DIR, "outputs.f32.gz"), "wb", compresslevel=9, mtime=0) as f:
        f.write(bytes(blob))
    print(f"{len(entries)} cases, {len(blob)} bytes of stored outputs")


if __name__ == "__main__":
    main()
