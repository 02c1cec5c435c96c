"""`imagefolder:DIR`: a user's own images, one sub-folder per class, for proxy batches.

The layout is torchvision's `ImageFolder` under split folders: `DIR/train/<class>/*` and `DIR/val/<class>/*`
(or `DIR/test/<class>/*`); a label is the index of its class folder in sorted order. Only the images a batch
draws are decoded, resized to the space's input size (bilinear) and converted to the space's channels.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from ..errors import HybridNASError

SPLITS = {"train": ("train",), "test": ("val", "test")}


class ImageFolderError(HybridNASError, ValueError):
    """An image folder is missing, empty, or holds a file that is not a readable image."""


def split_root(source: str, split: str) -> Path:
    """The folder of `split` ('train' or 'test') inside an `imagefolder:DIR` source."""
    root = Path(source.partition(":")[2])
    if not root.is_dir():
        raise ImageFolderError(f"data source {source!r}: no such folder {root}")
    for name in SPLITS[split]:
        if (root / name).is_dir():
            return root / name
    wanted = " or ".join(f"{root / n}/<class>/" for n in SPLITS[split])
    raise ImageFolderError(f"data source {source!r}: no {split} split; put images in {wanted}")


@lru_cache(maxsize=8)
def folder_index(folder: str) -> tuple[tuple[str, ...], tuple[tuple[str, int], ...]]:
    """(class names, (path, label) of every image) of one split folder, via torchvision's ImageFolder."""
    from torchvision.datasets import ImageFolder

    try:
        dataset = ImageFolder(folder, loader=lambda path: path)  # index only; nothing is decoded here
    except (FileNotFoundError, RuntimeError) as exc:  # no class folders, or class folders without images
        raise ImageFolderError(f"image folder {folder}: {exc}") from None
    return tuple(dataset.classes), tuple((str(p), int(y)) for p, y in dataset.samples)


def folder_batch(source: str, split: str, batch_size: int, input_shape: tuple[int, int, int],
                 gen: torch.Generator) -> tuple[np.ndarray, np.ndarray, int]:
    """A seeded draw of `batch_size` images as uint8 NCHW at the space's size, their labels, and the class count."""
    classes, samples = folder_index(str(split_root(source, split)))
    if len(samples) < batch_size:
        raise ImageFolderError(f"data source {source!r} has {len(samples)} {split} images, fewer than batch "
                               f"{batch_size}")
    index = torch.randperm(len(samples), generator=gen)[:batch_size].tolist()
    return (*_decode(samples, index, input_shape), len(classes))


@lru_cache(maxsize=4)
def folder_arrays(source: str, split: str, input_shape: tuple[int, int, int],
                  limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Every image of a split (or `limit` of them, a fixed shuffled draw so all classes appear) as uint8 NCHW at
    the space's size, with their labels: what training reads. Cached like `load_arrays`, so the training loader
    and the BatchNorm-calibration loader of one process decode a split once; callers copy, never write."""
    _, samples = folder_index(str(split_root(source, split)))
    order = np.random.default_rng(0).permutation(len(samples))[:limit] if limit else np.arange(len(samples))
    return _decode(samples, order.tolist(), input_shape)


def _decode(samples: tuple[tuple[str, int], ...], index: list[int],
            input_shape: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """The images at `index` as uint8 NCHW at the space's size, and their labels."""
    images = np.stack([_read(samples[i][0], input_shape) for i in index])
    return images, np.asarray([samples[i][1] for i in index], dtype=np.int64)


def _read(path: str, input_shape: tuple[int, int, int]) -> np.ndarray:
    """One image as uint8 CHW at (channels, size, size)."""
    from PIL import Image

    channels, height, width = input_shape
    mode = {1: "L", 3: "RGB"}.get(channels)
    if mode is None:
        raise ImageFolderError(f"image folders give 1 or 3 channels; the space wants {channels}")
    try:
        with Image.open(path) as image:
            pixels = np.asarray(image.convert(mode).resize((width, height), Image.Resampling.BILINEAR))
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise ImageFolderError(f"image folder file {path} is not a readable image ({exc})") from None
    return pixels[None] if channels == 1 else pixels.transpose(2, 0, 1)
