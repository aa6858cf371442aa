#!/usr/bin/python3
"""Reference vectors for the zero-shot retrieval metrics (src/metrics/retrieval.ts).

Writes tests/data/retrieval/retrieval_vectors.json:

  * ``cases``: image and caption embeddings, the image index of every caption, a recall@k list
    and the metrics CLIP_benchmark's ``zeroshot_retrieval.evaluate`` computes from them after the
    encoders, with real PyTorch: scores = captions @ images.T in float32; per row of a block of
    rows, ``torch.topk`` of the scores, the number of positives among the top k divided by the
    number of positives; ``(that > 0).float().mean().item()``; for each k image retrieval (rows =
    captions) then text retrieval (rows = images, the transposed matrices). A case whose k is
    larger than a dimension records the error torch raises instead of metrics.
  * ``means``: ``(hits, count, value)`` with value = ``torch.tensor([1.0] * hits + [0.0] *
    (count - hits)).float().mean().item()``, the reference's rounding of a mean of 0/1 values.

Embeddings are integers in [-1023, 1023] (stored as such) divided by 1024, with at most 16
dimensions, so every score is an exact float32 and float64 value (|sum| < 2^24 / 2^20) whatever
the order of the sums, and the cases are drawn so that no row or column of the score matrix has
two equal scores: torch.topk does not define the order of equal values, and a tie-free matrix
makes its top k unique. (Ties are tested separately, against hand-worked cases.)

Needs Debian's python3-torch (1.13) and python3-numpy. Rerun from the project root:
    /usr/bin/python3 tools/vectors/make_retrieval_vectors.py
"""
import json
import os

import numpy as np
import torch

OUT = os.path.join("tests", "data", "retrieval", "retrieval_vectors.json")
SCALE = 1024
rng = np.random.default_rng(20260514)


def recall_rows(scores, positives, k, block):
    """Per row: positives among the row's top k, over the row's positives (0/0 -> nan)."""
    out = []
    for start in range(0, scores.shape[0], block):
        rows = scores[start:start + block]
        pos = positives[start:start + block]
        top = torch.topk(rows, k, dim=1).indices
        found = torch.gather(pos, 1, top).sum(dim=1)
        out.append(found / pos.sum(dim=1))
    return torch.cat(out)


def reference_metrics(images, captions, caption_images, recall_k, block):
    image_t = torch.tensor(images, dtype=torch.float32) / SCALE
    caption_t = torch.tensor(captions, dtype=torch.float32) / SCALE
    scores = caption_t @ image_t.t()
    positives = torch.zeros_like(scores, dtype=torch.bool)
    positives[torch.arange(len(caption_images)), torch.tensor(caption_images, dtype=torch.long)] = True
    positives = positives.to(torch.int64)
    metrics = {}
    for k in recall_k:
        by_caption = recall_rows(scores, positives, k, block)
        by_image = recall_rows(scores.t(), positives.t(), k, block)
        metrics[f"image_retrieval_recall@{k}"] = (by_caption > 0).float().mean().item()
        metrics[f"text_retrieval_recall@{k}"] = (by_image > 0).float().mean().item()
    return metrics, scores.numpy().astype(np.float64)


def tie_free(scores):
    for matrix in (scores, scores.T):
        ordered = np.sort(matrix, axis=1)
        if (np.diff(ordered, axis=1) == 0).any():
            return False
    return True


def draw_case(name, captions_per_image, dim, recall_k):
    captions_per_image = list(captions_per_image)
    caption_images = [i for i, n in enumerate(captions_per_image) for _ in range(n)]
    assert dim * 1023 * 1023 < 2**24
    for _ in range(5000):
        images = rng.integers(-1023, 1024, size=(len(captions_per_image), dim))
        # Captions near their image, so that recall is neither 0 nor 1.
        noise = rng.integers(-600, 601, size=(len(caption_images), dim))
        captions = np.clip(images[caption_images] // 2 + noise, -1023, 1023)
        scores = captions.astype(np.float64) @ images.T.astype(np.float64)
        if tie_free(scores):
            break
    else:
        raise RuntimeError(f"{name}: could not draw a tie-free case")
    case = {
        "name": name,
        "dim": dim,
        "scale": SCALE,
        "images": images.tolist(),
        "captions": captions.tolist(),
        "caption_images": caption_images,
        "recall_k": recall_k,
    }
    try:
        metrics, float_scores = reference_metrics(images, captions, caption_images, recall_k, 64)
        assert tie_free(float_scores)
        # The row-block size of the reference's batchify does not matter.
        assert reference_metrics(images, captions, caption_images, recall_k, 7)[0] == metrics
        case["metrics"] = metrics
    except RuntimeError as error:
        case["error"] = str(error)
    return case


def main():
    cases = [
        draw_case("one pair", [1], 4, [1]),
        draw_case("seven images, 1 to 6 captions each", [1, 3, 2, 6, 1, 4, 2], 8, [1, 2, 5, 7]),
        draw_case("one caption per image, k = N", [1] * 40, 6, [1, 3, 40]),
        draw_case(
            "60 images, 1 to 12 captions each",
            [1, 12] + rng.integers(1, 13, size=58).tolist(),
            16,
            [1, 5, 10, 60],
        ),
        draw_case(
            "258 images, 1 or 2 captions each (several score tiles, odd dimension)",
            rng.integers(1, 3, size=258).tolist(),
            15,
            [1, 5, 10, 258],
        ),
        draw_case("images without captions", [2, 0, 1, 3, 0, 1, 1, 2, 1, 1], 6, [1, 3, 10]),
        draw_case("k larger than the number of images", [2, 1, 2], 4, [4]),
    ]
    assert "error" in cases[-1] and "metrics" not in cases[-1]
    means = []
    for count in list(range(1, 41)) + [97, 100, 255, 1000, 4999, 5000, 25010, 100003, 1234567]:
        for hits in sorted({0, 1, count // 3, count // 2, (2 * count) // 3, count - 1, count}):
            if 0 <= hits <= count:
                values = torch.cat([torch.ones(hits), torch.zeros(count - hits)])
                means.append([hits, count, values.float().mean().item()])
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump({"torch": torch.__version__, "cases": cases, "means": means}, f)
        f.write("\n")
    print(f"wrote {OUT}: {len(cases)} cases, {len(means)} means")


if __name__ == "__main__":
    main()
