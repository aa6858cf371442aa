#!/usr/bin/python3
"""Reference vectors for the multi-label mean average precision.

Writes tests/data/multilabel/average_precision_vectors.json: cases of (scores, targets) with the
per-class average precision and the mean that CLIP_benchmark's `average_precision_per_class` and
`evaluate` (clip_benchmark/metrics/zeroshot_classification.py; evalscope's copy is the same)
compute for them, with real PyTorch on the CPU in float32:

    per class k: sort the scores descending, truth = targets in that order,
    tp = truth.float().cumsum(0), precision = tp / arange(1, N + 1).float(),
    ap[k] = precision[truth.bool()].sum() / max(float(truth.sum()), 1)
    mean_average_precision = ap.mean().item()

One deliberate choice: the sort is torch.sort(..., stable=True), so that samples with equal scores
keep their order (the lower index ranks first). CLIP_benchmark calls torch.sort without `stable`,
whose order among equal scores is unspecified (torch 1.13's CPU sort reorders tied groups of more
than 16 elements).

torch's float32 `sum` depends on the width of its SIMD vectors (8 floats with the AVX2 and default
kernels, 16 with the AVX-512 ones), so every case is computed twice, in child processes run with
ATEN_CPU_CAPABILITY=avx2 and =avx512 (this needs a CPU with AVX-512), and stored per width.

Inputs are either listed (small cases) or drawn from a 32-bit LCG that the test reproduces exactly:
state = (1664525 * state + 1013904223) mod 2**32, draw = state >> 8 (24 bits). For each sample in
order and each class in order: one draw for the score, float32(floor(draw / 2**(24 - bits)) / 2**bits)
(fewer bits, more ties), then one draw for the target, 1 when draw < rate * 2**24 (rates per class,
cycled).

Needs Debian's python3-torch (apt-get install python3-torch). Rerun from the project root:
    /usr/bin/python3 tools/vectors/make_multilabel_vectors.py
"""
import json
import os
import subprocess
import sys

OUT = "tests/data/multilabel/average_precision_vectors.json"
CAPABILITIES = {"avx2": 8, "avx512": 16}


def lcg_case(name, n, classes, seed, bits, rates):
    """A case whose inputs the test regenerates from the parameters."""
    return {"name": name, "n": n, "classes": classes,
            "lcg": {"seed": seed, "bits": bits, "rates_24": [round(r * 2**24) for r in rates]}}


def listed_case(name, scores, targets):
    return {"name": name, "n": len(scores), "classes": len(scores[0]),
            "scores": scores, "targets": targets}


CASES = [
    # Hand-checkable: ties between a positive and a negative in both orders, one class with no
    # positives, one with positives only.
    listed_case("small_ties", [[0.5, 0.25, 1.0, 0.0],
                               [0.5, 0.75, 1.0, 0.0],
                               [0.25, 0.75, 0.5, 0.0],
                               [1.0, 0.0, 0.5, 0.0],
                               [0.25, 0.5, 0.25, 0.0]],
                [[0, 1, 0, 1], [1, 0, 0, 1], [1, 1, 0, 1], [0, 0, 0, 1], [1, 0, 0, 1]]),
    listed_case("single_sample", [[0.1, 0.9, 0.3]], [[1, 0, 1]]),
    # Fewer values than one SIMD vector everywhere (scalar sums).
    lcg_case("scalar_sums", 7, 5, 11, 24, [0.5, 0.3, 0.9, 0.0, 1.0]),
    # VOC-like: 20 classes, a few thousand samples, sparse positives.
    lcg_case("voc_like", 3000, 20, 2007, 24, [0.02, 0.05, 0.1, 0.3, 0.45, 0.01, 0.2]),
    # Heavy ties (16 score levels).
    lcg_case("heavy_ties", 2000, 3, 5, 4, [0.5, 0.1, 0.9]),
    # More than 8192 positives: torch's cascade sum reaches its third level.
    lcg_case("cascade_levels", 20000, 2, 77, 24, [0.6, 0.45]),
    # Many classes (the class mean is a vectorised sum too), including empty and full classes.
    lcg_case("many_classes", 9, 41, 3, 24, [0.3, 0.0, 1.0, 0.6]),
]


def lcg_inputs(n, classes, seed, bits, rates_24):
    state = seed
    scores = [[0.0] * classes for _ in range(n)]
    targets = [[0] * classes for _ in range(n)]

    def draw():
        nonlocal state
        state = (1664525 * state + 1013904223) % 2**32
        return state >> 8

    for i in range(n):
        for k in range(classes):
            scores[i][k] = (draw() >> (24 - bits)) / 2**bits
            targets[i][k] = 1 if draw() < rates_24[k % len(rates_24)] else 0
    return scores, targets


def child():
    """Computes every case with the torch of this process; prints JSON."""
    import torch

    config = torch.__config__.show()
    results = []
    for case in CASES:
        if "lcg" in case:
            scores, targets = lcg_inputs(case["n"], case["classes"], **case["lcg"])
        else:
            scores, targets = case["scores"], case["targets"]
        scores = torch.tensor(scores, dtype=torch.float32)
        targets = torch.tensor(targets, dtype=torch.float32)
        n, classes = scores.shape
        ap = torch.zeros(classes)
        ranks = torch.arange(1, n + 1).float()
        for k in range(classes):
            _, order = torch.sort(scores[:, k], dim=0, descending=True, stable=True)
            truth = targets[:, k][order]
            precision = truth.float().cumsum(0).div(ranks)
            ap[k] = precision[truth.bool()].sum() / max(float(truth.sum()), 1)
        results.append({"ap": [float(v) for v in ap.tolist()],
                        "mean_average_precision": ap.mean().item()})
    print(json.dumps({"torch": torch.__version__, "config": config, "results": results}))


def main():
    expected = {}
    torch_version = None
    for capability, lanes in CAPABILITIES.items():
        env = dict(os.environ, ATEN_CPU_CAPABILITY=capability, OMP_NUM_THREADS="1")
        out = subprocess.run([sys.executable, __file__, "--child"], env=env, check=True,
                             capture_output=True, text=True).stdout
        report = json.loads(out)
        if f"CPU capability usage: {capability.upper()}" not in report["config"]:
            sys.exit(f"torch did not run with ATEN_CPU_CAPABILITY={capability}; needs a CPU with it")
        torch_version = report["torch"]
        expected[str(lanes)] = report["results"]
    cases = []
    for index, case in enumerate(CASES):
        case = dict(case)
        case["expected"] = {lanes: results[index] for lanes, results in expected.items()}
        cases.append(case)
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump({"generator": "tools/vectors/make_multilabel_vectors.py", "torch": torch_version,
                   "cases": cases}, f, indent=1)
        f.write("\n")
    print(f"wrote {OUT}: {len(cases)} cases")


if __name__ == "__main__":
    child() if sys.argv[1:] == ["--child"] else main()
