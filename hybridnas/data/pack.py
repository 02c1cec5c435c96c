"""`imagefolder:DIR` packed into one `.npz` file (`npz:FILE`): decoded once, held in memory when training.

An image folder streams through a DataLoader (stream.py) that decodes every image each epoch. A folder of small
images, such as CIFAR-10 at 32 px, trains many times faster once packed (`benchmarks/speed/data_loader_speed.py
--packed`), with the same recipe: padded random crops and flips (loader.py). The npz source holds uint8 NCHW
arrays `x_train`, `y_train`, `x_test`, `y_test` and the class names in `classes`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..io import atomic_write
from .folders import ImageFolderError, decode_samples, split_samples


def pack_folder(source: str, out: str | Path, input_shape: tuple[int, int, int]) -> dict[str, int]:
    """Decode both splits of an `imagefolder:` source at `input_shape` (C, H, W) and write them to `out`.

    Returns:
        The image count of each split ({"train": n, "test": m}); `out` is written atomically.
    """
    if not source.startswith("imagefolder:"):
        raise ImageFolderError(f"data pack reads an image folder, got {source!r}; give imagefolder:DIR "
                               "(DIR/train/<class>/* and DIR/val/<class>/* or DIR/test/<class>/*)")
    arrays: dict[str, np.ndarray] = {}
    classes: tuple[str, ...] | None = None
    for split in ("train", "test"):
        names, samples = split_samples(source, split)
        # labels are class-folder indices: a class missing from one split would shift every label after it
        if classes is not None and names != classes:
            raise ImageFolderError(f"data source {source!r}: the train and test splits have different class "
                                   f"folders ({', '.join(sorted(set(names) ^ set(classes)))} in only one); "
                                   "give both splits the same classes")
        classes = names
        arrays[f"x_{split}"], arrays[f"y_{split}"] = decode_samples(samples, list(range(len(samples))), input_shape)
    arrays["classes"] = np.asarray(classes)
    atomic_write(out, lambda handle: np.savez(handle, **arrays))
    return {split: len(arrays[f"y_{split}"]) for split in ("train", "test")}
