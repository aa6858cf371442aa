"""Times Pillow (+ torchvision) decode + preprocess on one core, for clipbench's bench.

Reads the first COUNT images (members .jpg/.jpeg/.png/.webp, first of each sample key) of the
given WebDataset shards, in order, into memory, then times, one image after the other:

  decode:      Image.open(BytesIO(bytes)); image.load()
  preprocess:  open_clip's transform as CLIP_benchmark runs it -- Resize(SIZE, bicubic),
               CenterCrop(SIZE), convert("RGB"), ToTensor, Normalize(OpenAI mean, std) --
               with torchvision when it is installed, else the same steps with Pillow + numpy.

torch runs on one thread. Prints one JSON object:
  {"library", "images", "decodeSeconds", "preprocessSeconds", "imagesPerSecond"}.

Usage: python3 bench/pil_preprocess.py COUNT SIZE SHARD.tar [SHARD.tar ...]
"""

import io
import json
import sys
import tarfile
import time

import PIL
from PIL import Image

MEAN = (0.48145466, 0.4578275, 0.40821073)
STD = (0.26862954, 0.26130258, 0.27577711)
IMAGE_EXTENSIONS = ("jpg", "jpeg", "png", "webp")


def read_images(shards, count):
    images, seen = [], set()
    for shard in shards:
        with tarfile.open(shard) as tar:
            for member in tar:
                if not member.isfile():
                    continue
                folder, _, base = member.name.rpartition("/")
                stem, dot, ext = base.partition(".")
                key = (folder, stem)
                if not dot or ext.lower() not in IMAGE_EXTENSIONS or key in seen:
                    continue
                seen.add(key)
                images.append(tar.extractfile(member).read())
                if len(images) == count:
                    return images
    return images


def make_transform(size):
    try:
        import torch
        from torchvision import transforms

        torch.set_num_threads(1)
        transform = transforms.Compose(
            [
                transforms.Resize(size, interpolation=transforms.InterpolationMode.BICUBIC),
                transforms.CenterCrop(size),
                lambda image: image.convert("RGB"),
                transforms.ToTensor(),
                transforms.Normalize(MEAN, STD),
            ]
        )
        import torchvision

        return transform, f"Pillow {PIL.__version__} + torchvision {torchvision.__version__}"
    except ImportError:
        import numpy as np

        mean = np.array(MEAN, dtype=np.float32)
        std = np.array(STD, dtype=np.float32)

        def transform(image):
            width, height = image.size
            scale = size / min(width, height)
            new_size = (max(size, round(width * scale)), max(size, round(height * scale)))
            image = image.resize(new_size, Image.BICUBIC)
            left = int(round((new_size[0] - size) / 2.0))
            top = int(round((new_size[1] - size) / 2.0))
            image = image.crop((left, top, left + size, top + size)).convert("RGB")
            array = np.asarray(image, dtype=np.float32) / 255.0
            return ((array - mean) / std).transpose(2, 0, 1)

        return transform, f"Pillow {PIL.__version__} + numpy {np.__version__} (no torchvision)"


def main():
    count, size, shards = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
    images = read_images(shards, count)
    if not images:
        raise SystemExit("no images found in " + ", ".join(shards))
    transform, library = make_transform(size)
    for data in images[:4]:  # warm-up
        transform(Image.open(io.BytesIO(data)))
    decode = preprocess = 0.0
    for data in images:
        started = time.perf_counter()
        image = Image.open(io.BytesIO(data))
        image.load()
        decoded = time.perf_counter()
        transform(image)
        preprocess += time.perf_counter() - decoded
        decode += decoded - started
    print(
        json.dumps(
            {
                "library": library,
                "images": len(images),
                "decodeSeconds": decode,
                "preprocessSeconds": preprocess,
                "imagesPerSecond": len(images) / (decode + preprocess),
            }
        )
    )


if __name__ == "__main__":
    main()
