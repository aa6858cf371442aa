#!/usr/bin/python3
"""Test vectors for src/stats/ (Wilson intervals, the exact binomial / McNemar test, NumPy's
percentile, the percentile and paired bootstraps, the seeded generator).

Run from the project root: ``/usr/bin/python3 tools/vectors/make_stats_vectors.py`` (needs Debian's
python3-numpy and python3-scipy; written with NumPy 1.24 and scipy 1.10).

What it produces (tests/data/stats/stats_vectors.json):
  * ``wilson``: ``{k, n, low, high}`` from ``scipy.stats.binomtest(k, n).proportion_ci(0.95,
    method="wilson")``, and ``formula_low/formula_high`` from the textbook formula
    (p + z^2/2n -+ z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n), z = ndtri(0.975).
  * ``binomtest``: ``{k, n, p, pvalue}`` = ``scipy.stats.binomtest(k, n, p).pvalue`` (two-sided)
    for every b + c <= 40 with p = 0.5 (the exact McNemar test of b and c discordant pairs), large
    n (up to 2 * 10^6, p-values from 1 down to underflow), and other p (ties of masses within
    scipy's relative tolerance included: n = 2, p = 0.5 + 1e-9).
  * ``percentile``: fixed arrays (ties, one value, negative values, random normals) and
    ``numpy.percentile(values, q)`` for several q.
  * ``bootstrap``: per-sample values of two models ``a`` and ``b`` (0/1 correctness, and
    continuous scores), resample index arrays drawn by NumPy, and NumPy's results with the SAME
    indices: the percentile bootstrap of mean(a) and the paired bootstrap of mean(a) - mean(b)
    (2.5th and 97.5th percentiles).
  * ``prng``: xoshiro128** seeded by SplitMix64 (the generator of src/stats/prng.ts, written here
    independently): the first 8 32-bit outputs and draws below n (rejection sampling) for some
    seeds.
"""

import json
import math
import os

import numpy as np
from scipy.special import ndtri
from scipy.stats import binomtest

OUT = os.path.join("tests", "data", "stats", "stats_vectors.json")
Z = float(ndtri(0.975))


def wilson_vectors():
    cases = [(0, 1), (1, 1), (0, 10), (10, 10), (3, 10), (75, 100), (750, 1000), (1, 1000),
             (999, 1000), (5, 7), (123456, 200000), (4999, 5000), (1, 2), (0, 1000000)]
    out = []
    for k, n in cases:
        ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
        p = k / n
        center = (p + Z * Z / (2 * n)) / (1 + Z * Z / n)
        half = Z * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n)) / (1 + Z * Z / n)
        out.append({"k": k, "n": n, "low": float(ci.low), "high": float(ci.high),
                    "formula_low": center - half, "formula_high": center + half})
    return out


def binomtest_vectors():
    cases = []
    for n in range(1, 41):
        for b in range(0, n + 1):
            cases.append((b, n, 0.5))
    cases += [(4950, 10000, 0.5), (5050, 10000, 0.5), (500, 1100, 0.5), (100000, 200700, 0.5),
              (1000000, 2000000, 0.5), (999000, 2000000, 0.5), (0, 2000, 0.5), (1, 1075, 0.5),
              (30, 1000, 0.5), (49999, 100001, 0.5), (50002, 100001, 0.5), (7, 1000000, 0.5)]
    for p in (0.1, 0.3, 1 / 3, 0.7, 0.9, 0.5 + 1e-9):
        for n in (1, 2, 3, 7, 10, 25, 60):
            for k in sorted({0, 1, n // 3, n // 2, (2 * n) // 3, n - 1, n}):
                if 0 <= k <= n:
                    cases.append((k, n, p))
    cases += [(30, 1000, 0.03), (45, 1000, 0.03), (300, 5000, 0.07), (5, 100000, 0.0001)]
    return [{"k": k, "n": n, "p": p, "pvalue": float(binomtest(k, n, p).pvalue)}
            for k, n, p in cases]


def percentile_vectors(rng):
    arrays = [
        [5.0],
        [1.0, 2.0, 3.0, 4.0],
        [3.0, 1.0, 2.0],
        [0.75, 0.75, 0.75, 0.8, 0.7, 0.75],
        [-1.5, 2.25, 0.0, -0.0, 7.125, 3.5, -2.0],
        [float(x) for x in rng.normal(0.5, 0.1, 1000)],
        [float(x) for x in rng.integers(0, 40, 37) / 40],
    ]
    qs = [0, 2.5, 5, 25, 33.3, 50, 97.5, 99.9, 100]
    return [{"values": a, "q": qs, "expected": [float(np.percentile(np.array(a), q)) for q in qs]}
            for a in arrays]


def bootstrap_vectors(rng):
    out = []
    for name, n, resamples, kind in (("binary", 40, 60, "binary"), ("scores", 25, 40, "scores")):
        if kind == "binary":
            a = (rng.random(n) < 0.7).astype(np.float64)
            b = (rng.random(n) < 0.6).astype(np.float64)
        else:
            a = rng.normal(0.6, 0.2, n)
            b = a - rng.normal(0.05, 0.1, n)
        indices = rng.integers(0, n, size=(resamples, n))
        means_a = np.array([a[i].mean() for i in indices])
        differences = np.array([a[i].mean() - b[i].mean() for i in indices])
        out.append({
            "name": name,
            "a": a.tolist(),
            "b": b.tolist(),
            "indices": indices.tolist(),
            "mean_a": float(a.mean()),
            "mean_a_low": float(np.percentile(means_a, 2.5)),
            "mean_a_high": float(np.percentile(means_a, 97.5)),
            "difference": float(a.mean() - b.mean()),
            "difference_low": float(np.percentile(differences, 2.5)),
            "difference_high": float(np.percentile(differences, 97.5)),
        })
    return out


MASK64 = (1 << 64) - 1
MASK32 = (1 << 32) - 1


def splitmix64(state):
    state = (state + 0x9E3779B97F4A7C15) & MASK64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return state, z ^ (z >> 31)


class Xoshiro128:
    def __init__(self, seed):
        state, first = splitmix64(seed)
        _, second = splitmix64(state)
        self.s = [first & MASK32, first >> 32, second & MASK32, second >> 32]

    def next(self):
        s = self.s

        def rotl(x, k):
            return ((x << k) | (x >> (32 - k))) & MASK32

        result = (rotl((s[1] * 5) & MASK32, 7) * 9) & MASK32
        t = (s[1] << 9) & MASK32
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 11)
        return result

    def below(self, n):
        limit = (1 << 32) - ((1 << 32) % n)
        while True:
            word = self.next()
            if word < limit:
                return word % n


def prng_vectors():
    out = []
    for seed in (0, 1, 42, 2**53 - 1):
        g = Xoshiro128(seed)
        words = [g.next() for _ in range(8)]
        draws = {}
        for n in (1, 10, 1000, 3000000000):
            g = Xoshiro128(seed)
            draws[str(n)] = [g.below(n) for _ in range(12)]
        out.append({"seed": seed, "uint32": words, "below": draws})
    return out


def main():
    rng = np.random.default_rng(20240611)
    vectors = {
        "z": Z,
        "wilson": wilson_vectors(),
        "binomtest": binomtest_vectors(),
        "percentile": percentile_vectors(rng),
        "bootstrap": bootstrap_vectors(rng),
        "prng": prng_vectors(),
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(vectors, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {OUT}: {len(vectors['binomtest'])} binomtest cases")


if __name__ == "__main__":
    main()
