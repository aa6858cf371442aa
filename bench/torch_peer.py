"""The bench's PyTorch peer (`deno task bench --peer torch`, bench/measure_torch_peer.ts).

CLIP_benchmark's zero-shot classification loop, in its own structure, on the bench's shards: a
torch DataLoader with worker processes reads the WebDataset tar shards, decodes each image with
Pillow and preprocesses it with open_clip's torchvision transform (Resize(SIZE, bicubic),
CenterCrop(SIZE), convert("RGB"), ToTensor, Normalize with OpenAI's mean and std); the main
process runs the vision tower in PyTorch (the OpenAI ViT-B/32 shape of
bench/torch_export_clip_vision.py, seeded random weights: speed does not depend on their values),
L2-normalises the features, multiplies by a classifier (classes x 512) and takes the top-5, as
CLIP_benchmark's `run_classification` does.

Workers split the samples round-robin by index (each reads the shards and decodes only its own),
so any worker count gets the same images. torch uses THREADS intra-op threads (0: torch's
default, one per core), as CLIP_benchmark leaves it.

Prints one JSON object: {"library", "samples", "seconds", "firstBatchSeconds",
"imagesPerSecond"}; the rate counts from the start of the loop (the DataLoader's workers start
then) to the end, as clipbench's end-to-end measure counts from its first sample read (after the
classifier, which this loop does not build).

usage: torch_peer.py COUNT BATCH WORKERS THREADS CLASSES PRESET SHARD.tar [SHARD.tar ...]
"""

import io
import json
import os
import sys
import tarfile
import time

import PIL
import torch
import torchvision
from PIL import Image
from torch.utils.data import DataLoader, IterableDataset, get_worker_info
from torchvision import transforms

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_export_clip_vision import PRESETS, VisionModelWithProjection  # noqa: E402

MEAN = (0.48145466, 0.4578275, 0.40821073)
STD = (0.26862954, 0.26130258, 0.27577711)
IMAGE_EXTENSIONS = ("jpg", "jpeg", "png", "webp")


class TarSamples(IterableDataset):
    """(image tensor, label) of the first `count` samples of the shards, split among workers."""

    def __init__(self, shards, count, transform):
        self.shards = shards
        self.count = count
        self.transform = transform

    def samples(self):
        index = 0
        for shard in self.shards:
            current, fields = None, {}
            with tarfile.open(shard) as tar:
                for member in tar:
                    if not member.isfile():
                        continue
                    folder, _, base = member.name.rpartition("/")
                    stem, _, ext = base.partition(".")
                    key = (folder, stem)
                    if key != current and current is not None:
                        yield index, fields
                        index += 1
                        if index == self.count:
                            return
                        fields = {}
                    current = key
                    fields[ext.lower()] = tar.extractfile(member).read()
            if current is not None:
                yield index, fields
                index += 1
                if index == self.count:
                    return

    def __iter__(self):
        info = get_worker_info()
        worker, workers = (0, 1) if info is None else (info.id, info.num_workers)
        for index, fields in self.samples():
            if index % workers != worker:
                continue
            data = next((fields[e] for e in IMAGE_EXTENSIONS if e in fields), None)
            if data is None:
                continue
            image = Image.open(io.BytesIO(data))
            yield self.transform(image), int(fields.get("cls", b"0").decode().strip() or 0)


def main():
    count, batch, workers, threads, classes = (int(v) for v in sys.argv[1:6])
    preset, shards = sys.argv[6], sys.argv[7:]
    if threads > 0:
        torch.set_num_threads(threads)
    cfg = PRESETS[preset]
    size = cfg["image_size"]
    transform = transforms.Compose([
        transforms.Resize(size, interpolation=transforms.InterpolationMode.BICUBIC),
        transforms.CenterCrop(size),
        lambda image: image.convert("RGB"),
        transforms.ToTensor(),
        transforms.Normalize(MEAN, STD),
    ])
    torch.manual_seed(0)
    model = VisionModelWithProjection(cfg).eval()
    classifier = torch.nn.functional.normalize(torch.randn(cfg["projection_dim"], classes), dim=0)
    loader = DataLoader(TarSamples(shards, count, transform), batch_size=batch,
                        num_workers=workers)
    started = time.perf_counter()
    first = None
    samples = 0
    correct = 0
    with torch.no_grad():
        for images, target in loader:
            if first is None:
                first = time.perf_counter()
            features = torch.nn.functional.normalize(model(images), dim=-1)
            logits = 100.0 * features @ classifier
            top = logits.topk(min(5, classes), 1, True, True)[1]
            correct += int((top[:, 0] == target).sum())
            samples += images.shape[0]
    ended = time.perf_counter()
    print(json.dumps({
        "library": f"PyTorch {torch.__version__} + torchvision {torchvision.__version__} + "
                   f"Pillow {PIL.__version__}, DataLoader with {workers} workers",
        "samples": samples,
        "seconds": ended - started,
        "firstBatchSeconds": (first or ended) - started,
        "imagesPerSecond": samples / (ended - started) if samples else 0.0,
    }))


if __name__ == "__main__":
    main()
