"""`imagefolder:DIR`: a user's own images, one sub-folder per class, for proxy batches.

The layout is torchvision's `ImageFolder` under split folders: `DIR/train/<class>/*` and `DIR/val/<class>/*`
(or `DIR/test/<class>/*`); a label is the index of its class folder in sorted order. A folder of class folders
without splits (`DIR/<class>/*`) is split by a held-out fraction, `imagefolder:DIR?val=0.2` (0.1 by default):
an image is held out when a hash of its path inside DIR falls under the fraction, so the split is the same on
every machine and an image keeps its side when others are added. Only the images a batch draws are decoded,
resized to the space's input size (bilinear) and converted to the space's channels.
"""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from ..errors import HybridNASError

SPLITS = {"train": ("train",), "test": ("val", "test")}


class ImageFolderError(HybridNASError, ValueError):
    """An image folder is missing, empty, or holds a file that is not a readable image."""


DEFAULT_HELD_OUT = 0.1


def parse_folder_source(source: str) -> tuple[Path, float | None]:
    """(DIR, the held-out fraction given as `?val=F`, or None) of an `imagefolder:DIR[?val=F]` source."""
    where = source.partition(":")[2]
    fraction = None
    if "?" in where:
        where, _, query = where.rpartition("?")
        key, _, value = query.partition("=")
        try:
            fraction = float(value) if key == "val" else None
        except ValueError:
            fraction = None
        if fraction is None or not 0.0 < fraction < 1.0:
            raise ImageFolderError(f"data source {source!r}: after '?' give the held-out fraction as val=F with "
                                   f"0 < F < 1, e.g. 'imagefolder:{where}?val=0.1'")
    root = Path(where)
    if not root.is_dir():
        raise ImageFolderError(f"data source {source!r}: no such folder {root}")
    return root, fraction


def split_root(source: str, split: str) -> Path:
    """The folder of `split` ('train' or 'test') inside an `imagefolder:DIR` source with split folders."""
    root, fraction = parse_folder_source(source)
    for name in SPLITS[split]:
        if (root / name).is_dir():
            if fraction is not None:
                raise ImageFolderError(f"data source {source!r}: {root} has split folders, so it takes no ?val= "
                                       "fraction; drop it, or point at a folder of class folders")
            return root / name
    wanted = " or ".join(f"{root / n}/<class>/" for n in SPLITS[split])
    raise ImageFolderError(f"data source {source!r}: no {split} split; put images in {wanted}, or class folders "
                           f"directly in {root} (a held-out fraction is then the test split)")


def split_samples(source: str, split: str) -> tuple[tuple[str, ...], tuple[tuple[str, int], ...]]:
    """(class names, (path, label) of every image) of `split` of an `imagefolder:` source."""
    root, fraction = parse_folder_source(source)
    if any((root / name).is_dir() for names in SPLITS.values() for name in names) or not _has_subfolders(root):
        return folder_index(str(split_root(source, split)))
    classes, samples = folder_index(str(root))
    held_out = held_out_mask(root, samples, DEFAULT_HELD_OUT if fraction is None else fraction)
    keep = held_out if split == "test" else ~held_out
    return classes, tuple(sample for sample, kept in zip(samples, keep) if kept)


def held_out_mask(root: Path, samples: tuple[tuple[str, int], ...], fraction: float) -> np.ndarray:
    """True for each sample whose path inside `root` hashes under `fraction` (a stable, seed-free split)."""
    def position(path: str) -> float:
        digest = hashlib.blake2b(Path(path).relative_to(root).as_posix().encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big") / 2.0 ** 64

    return np.array([position(path) < fraction for path, _ in samples], dtype=bool)


def _has_subfolders(root: Path) -> bool:
    return any(child.is_dir() for child in root.iterdir())


IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")  # torchvision's


@lru_cache(maxsize=8)
def folder_index(folder: str) -> tuple[tuple[str, ...], tuple[tuple[str, int], ...]]:
    """(class names, (path, label) of every image) of one split folder, in torchvision ImageFolder's order.

    Folder links are never followed (one link to a parent would make the walk endless), and a linked image
    must stay inside the folder; either is a one-line ImageFolderError naming the link.
    """
    root = Path(folder)
    inside = root.resolve()
    classes = sorted(entry.name for entry in os.scandir(root) if entry.is_dir(follow_symlinks=True))
    samples = []
    for label, name in enumerate(classes):
        class_dir = root / name
        if class_dir.is_symlink():
            raise ImageFolderError(f"image folder {folder}: class folder {class_dir} is a link; hybridnas follows no "
                                   "folder links (a link to a parent loops). Copy or move the images in")
        for dirpath, dirnames, filenames in sorted(os.walk(class_dir, followlinks=False)):
            for sub in dirnames:
                if (Path(dirpath) / sub).is_symlink():
                    raise ImageFolderError(f"image folder {folder}: {Path(dirpath) / sub} is a folder link; "
                                           "hybridnas follows no folder links (a link to a parent loops)")
            for filename in sorted(filenames):
                path = Path(dirpath) / filename
                if not filename.lower().endswith(IMAGE_EXTENSIONS):
                    continue
                if path.is_symlink() and not path.resolve().is_relative_to(inside):
                    raise ImageFolderError(f"image folder {folder}: {path} links outside the folder; copy the image "
                                           "in, or point the source at the folder that holds it")
                samples.append((str(path), label))
    if not classes:
        raise ImageFolderError(f"image folder {folder}: Couldn't find any class folder in {folder}.")
    empty = sorted(set(classes) - {classes[label] for _, label in samples})
    if empty:
        raise ImageFolderError(f"image folder {folder}: Found no valid file for the classes {', '.join(empty)}. "
                               f"Supported extensions are: {', '.join(IMAGE_EXTENSIONS)}")
    return tuple(classes), tuple(samples)


def folder_batch(source: str, split: str, batch_size: int, input_shape: tuple[int, int, int],
                 gen: torch.Generator) -> tuple[np.ndarray, np.ndarray, int]:
    """A seeded draw of `batch_size` images as uint8 NCHW at the space's size, their labels, and the class count."""
    classes, samples = split_samples(source, split)
    if len(samples) < batch_size:
        raise ImageFolderError(f"data source {source!r} has {len(samples)} {split} images, fewer than batch "
                               f"{batch_size}")
    index = torch.randperm(len(samples), generator=gen)[:batch_size].tolist()
    return (*decode_samples(samples, index, input_shape), len(classes))


def decode_samples(samples: tuple[tuple[str, int], ...], index: list[int],
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
