"""Training batches streamed from an image folder: timm transforms in DataLoader worker processes.

An image folder may not fit in memory once decoded (Imagenette at 224 px is 6 GB as floats), so its
images are decoded per batch by `workers` processes (persistent across epochs, pinned memory for a GPU).
The batches stay reproducible like `EpochLoader`'s: epoch e's order comes from (seed, e) alone, and each
image's random augmentation from (seed, e, image index), whatever the worker count, so a run resumed at an
epoch boundary sees exactly the batches of an uninterrupted one.

Transforms depend on the space's input size. Above 64 px they are timm's `create_transform` at that size and
normalisation: RandomResizedCrop and flips for training, resize and centre crop for evaluation. At 64 px or
less (CIFAR-, Tiny-ImageNet-sized spaces) ImageNet crops that keep 8-100% of a small image would be another,
harsher recipe than the one an array source of the same images gets, so they get that recipe instead: resize to
the input size, then a random crop of the image padded by 4 pixels of the mean colour, and flips; evaluation
resizes only.
"""

from __future__ import annotations

import random
from typing import Callable, Iterator

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from .folders import ImageFolderError, split_samples
from .sources import CROP_PAD, Normalisation, check_labels_fit, normalisation


def item_seed(seed: int, epoch: int, index: int) -> int:
    """The augmentation seed of image `index` in `epoch` (independent of worker and batch)."""
    return int(np.random.SeedSequence([seed, epoch, index]).generate_state(1)[0])


SMALL_IMAGE = 64  # px: spaces this size or smaller train folders with the array sources' pad-and-crop recipe


def folder_transform(input_shape: tuple[int, int, int], norm: Normalisation | None,
                     train: bool) -> Callable[[object], torch.Tensor]:
    """The transform of one image to a normalised tensor at the space's input size: timm's ImageNet one
    above `SMALL_IMAGE` px, the array sources' recipe at or below it (see the module docstring)."""
    channels, height, width = input_shape
    mean, std = normalisation(channels, norm)
    if max(height, width) > SMALL_IMAGE:
        from timm.data import create_transform

        return create_transform(input_size=(channels, height, width), is_training=train, mean=mean, std=std,
                                interpolation="bilinear", color_jitter=None)
    from torchvision import transforms

    steps = [transforms.Resize((height, width), interpolation=transforms.InterpolationMode.BILINEAR)]
    if train:  # the mean colour is what zero padding after normalisation (`loader.augment`) amounts to
        fill = tuple(round(255 * m) for m in mean)
        steps += [transforms.RandomCrop((height, width), padding=CROP_PAD, fill=fill[0] if channels == 1 else fill),
                  transforms.RandomHorizontalFlip()]
    return transforms.Compose([*steps, transforms.ToTensor(), transforms.Normalize(mean, std)])


class FolderDataset(Dataset):
    """(image tensor, label) for keys (index, epoch); the key seeds the image's augmentation."""

    def __init__(self, samples: tuple[tuple[str, int], ...], input_shape: tuple[int, int, int],
                 norm: Normalisation | None, train: bool, seed: int) -> None:
        self.samples, self.train, self.seed = samples, train, seed
        self.mode = {1: "L", 3: "RGB"}.get(input_shape[0])
        if self.mode is None:
            raise ImageFolderError(f"image folders give 1 or 3 channels; the space wants {input_shape[0]}")
        self.transform = folder_transform(input_shape, norm, train)

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, key: tuple[int, int]) -> tuple[torch.Tensor, int]:
        from PIL import Image

        index, epoch = key
        path, label = self.samples[index]
        try:
            with Image.open(path) as image:
                image = image.convert(self.mode)
        except (OSError, ValueError, Image.DecompressionBombError) as exc:
            raise ImageFolderError(f"image folder file {path} is not a readable image ({exc})") from None
        if not self.train:
            return self.transform(image), label
        # timm's random transforms draw from torch's and python's global generators: seed them for this image,
        # and give the caller's states back (with 0 workers this runs in the training process itself)
        seed, saved = item_seed(self.seed, epoch, index), random.getstate()
        try:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                random.seed(seed)
                return self.transform(image), label
        finally:
            random.setstate(saved)


class FolderLoader:
    """`EpochLoader`'s interface (`len`, `epoch(e)`) over an `imagefolder:` split, decoded in worker processes."""

    def __init__(self, source: str, split: str, batch_size: int, *, train: bool, seed: int = 0,
                 num_classes: int = 10, shard: int = 0, shards: int = 1, limit: int | None = None,
                 norm: Normalisation | None = None, input_shape: tuple[int, int, int] = (3, 32, 32),
                 workers: int = 0, pin_memory: bool = False, indices: np.ndarray | None = None) -> None:
        _, samples = split_samples(source, split)
        if indices is not None:
            samples = tuple(samples[i] for i in indices)
        if limit:  # a fixed shuffled draw, so every class appears
            samples = tuple(samples[i] for i in np.random.default_rng(0).permutation(len(samples))[:limit])
        labels = np.asarray([label for _, label in samples], dtype=np.int64)
        check_labels_fit(source, labels, num_classes)
        self.dataset = FolderDataset(samples, input_shape, norm, train, seed)
        self.batch_size, self.train, self.seed = batch_size, train, seed
        self.shard, self.shards = shard, shards
        self.batches = EpochBatches(len(self))
        self.loader = DataLoader(self.dataset, batch_sampler=self.batches, num_workers=workers,
                                 pin_memory=pin_memory, persistent_workers=workers > 0,
                                 generator=torch.Generator().manual_seed(seed))  # its own: never the global one

    def __len__(self) -> int:
        n = len(self.dataset)
        return n // self.batch_size if self.train else -(-n // self.batch_size)

    def batch_keys(self, epoch: int) -> list[list[tuple[int, int]]]:
        """The (index, epoch) keys of each of the epoch's batches, this shard's part only."""
        n = len(self.dataset)
        gen = torch.Generator().manual_seed(int(np.random.SeedSequence([self.seed, epoch]).generate_state(1)[0]))
        order = torch.randperm(n, generator=gen).tolist() if self.train else list(range(n))
        batches = [order[b * self.batch_size:(b + 1) * self.batch_size] for b in range(len(self))]
        return [[(i, epoch) for i in batch[self.shard::self.shards]] for batch in batches]

    def epoch(self, epoch: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """The batches of one epoch (training: shuffled and augmented, drop_last; eval: in order)."""
        self.batches.keys = self.batch_keys(epoch)
        yield from self.loader


class EpochBatches:
    """The DataLoader's batch sampler: the keys of the current epoch's batches, set by its FolderLoader."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.keys: list[list[tuple[int, int]]] = []

    def __iter__(self):
        return iter(list(self.keys))

    def __len__(self) -> int:
        return self.count
