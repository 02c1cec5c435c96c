"""Which images of ../shared/data/cifar10_subset.npz do its labels belong to?

The file has 5,085 train images but 5,000 train labels (1,017 / 1,000 in test). A least-squares linear
probe on 8x8-pooled pixels is fitted for each candidate pairing of train images and labels and tested
on each pairing of test images; only the right pairing gives better-than-chance test accuracy.
    python benchmarks/cifar_subset_alignment.py
"""

from __future__ import annotations

import argparse

import numpy as np


def features(images: np.ndarray) -> np.ndarray:
    pooled = images.astype(np.float32).reshape(len(images), 3, 8, 4, 8, 4).mean((3, 5)).reshape(len(images), -1)
    return np.c_[pooled / 255.0, np.ones(len(images))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", default="../shared/data/cifar10_subset.npz")
    args = parser.parse_args()
    data = np.load(args.file)
    x, xt, y, yt = features(data["x_train"]), features(data["x_test"]), data["y_train"], data["y_test"]
    n, nt, blocks = len(y), len(yt), len(data["x_train"]) // len(data["x_test"])
    block, per = len(data["x_test"]), n // blocks
    train = {
        f"first {n}": np.arange(n),
        f"last {n}": np.arange(len(x) - n, len(x)),
        f"leading {per} of each block of {block}": np.concatenate([np.arange(b * block, b * block + per)
                                                                   for b in range(blocks)]),
        f"trailing {per} of each block of {block}": np.concatenate([np.arange(b * block + block - per, (b + 1) * block)
                                                                    for b in range(blocks)]),
    }
    test = {f"first {nt}": np.arange(nt), f"last {nt}": np.arange(len(xt) - nt, len(xt))}
    print(f"{len(x)} train images / {n} labels, {len(xt)} test images / {nt} labels; chance = 0.10")
    print(f"{'train pairing':<40}{'test pairing':<14}{'test accuracy':>14}")
    for train_name, idx in train.items():
        weights = np.linalg.lstsq(x[idx], np.eye(10)[y], rcond=None)[0]
        for test_name, tidx in test.items():
            acc = (np.argmax(xt[tidx] @ weights, 1) == yt).mean()
            print(f"{train_name:<40}{test_name:<14}{acc:>14.3f}")


if __name__ == "__main__":
    main()
