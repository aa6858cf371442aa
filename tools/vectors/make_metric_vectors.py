#!/usr/bin/python3
"""Reference vectors for the single-label classification metrics.

Writes tests/data/metrics/classification_vectors.json: cases of (logits, labels) with the metrics
CLIP_benchmark reports for them -- acc1/acc5 as its `accuracy()` counts them (true class among the
k highest logits; ties broken towards the lower class index, which is what a stable descending
sort gives) and mean_per_class_recall from scikit-learn's own balanced_accuracy_score on the argmax
(np.argmax also takes the lowest index among ties).

Needs Debian's python3-numpy and python3-sklearn. Rerun from the project root:
    /usr/bin/python3 tools/vectors/make_metric_vectors.py
"""
import json
import warnings

import numpy as np
from sklearn.metrics import balanced_accuracy_score

rng = np.random.default_rng(20261129)


def topk_correct(logits, labels, k):
    order = np.argsort(-logits, axis=1, kind="stable")[:, :k]
    return float((order == labels[:, None]).any(axis=1).sum()) / len(labels)


def case(name, logits, labels):
    # Logits are stored as integers in thousandths; both sides take float32(milli / 1000).
    milli = np.round(np.asarray(logits, dtype=np.float64) * 1000).astype(np.int64)
    logits = (milli / 1000.0).astype(np.float32)
    labels = labels.astype(np.int64)
    n_classes = logits.shape[1]
    pred = logits.argmax(axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "y_pred contains classes not in y_true"
        balanced = balanced_accuracy_score(labels, pred)
    return {
        "name": name,
        "classes": n_classes,
        "logits_milli": [int(v) for v in milli.reshape(-1)],
        "labels": [int(v) for v in labels],
        "acc1": topk_correct(logits, labels, 1),
        "acc5": topk_correct(logits, labels, 5) if n_classes >= 5 else None,
        "mean_per_class_recall": float(balanced),
    }


cases = []
# Random logits, every class present.
logits = rng.normal(size=(200, 10))
labels = rng.integers(0, 10, 200)
cases.append(case("random_10_classes", logits, labels))
# Many classes, some absent from the labels but predicted.
logits = rng.normal(size=(300, 37))
labels = rng.integers(0, 30, 300)
cases.append(case("absent_classes_predicted", logits, labels))
# Fewer than five classes: acc5 is undefined.
logits = rng.normal(size=(50, 3))
labels = rng.integers(0, 3, 50)
cases.append(case("three_classes", logits, labels))
# Heavy ties: logits quantised to a few values, so argmax and top-k ranks hinge on the tie rule.
logits = np.round(rng.normal(size=(400, 12)) * 1.5) / 2
labels = rng.integers(0, 12, 400)
cases.append(case("quantised_ties", logits, labels))
# All-equal rows: the lowest index wins everywhere.
logits = np.zeros((20, 6))
labels = np.arange(20) % 6
cases.append(case("all_equal_rows", logits, labels))
# Zero-shot-like logits: 100 * cosine of random unit vectors, correlated with the label.
dim = 16
classes = rng.normal(size=(25, dim))
classes /= np.linalg.norm(classes, axis=1, keepdims=True)
labels = rng.integers(0, 25, 500)
images = classes[labels] + rng.normal(scale=1.2, size=(500, dim))
images /= np.linalg.norm(images, axis=1, keepdims=True)
cases.append(case("cosine_logits", 100.0 * images @ classes.T, labels))

with open("tests/data/metrics/classification_vectors.json", "w") as f:
    json.dump({"generator": "tools/vectors/make_metric_vectors.py", "cases": cases}, f)
print("wrote", len(cases), "cases")
