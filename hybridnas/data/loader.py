"""Epoch iteration over an array source for training: seeded shuffling and 32x32-style augmentation.

The order and the augmentation of epoch e depend only on (seed, e), so a run resumed at an epoch
boundary sees exactly the batches an uninterrupted run would. `shard`/`shards` split every batch
between data-parallel workers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterator

import numpy as np
import torch
import torch.nn.functional as F

from .sources import CROP_PAD, DataSourceError, Normalisation, _normalise, check_labels_fit, load_arrays

if TYPE_CHECKING:
    from .stream import FolderLoader


def augment(x: torch.Tensor, gen: torch.Generator, pad: int = CROP_PAD) -> torch.Tensor:
    """Random crop after zero padding by `pad` pixels, and random horizontal flips (CIFAR recipe)."""
    n, c, h, w = x.shape
    padded = F.pad(x, (pad, pad, pad, pad))
    dy = torch.randint(0, 2 * pad + 1, (n,), generator=gen)
    dx = torch.randint(0, 2 * pad + 1, (n,), generator=gen)
    rows = (dy.view(n, 1) + torch.arange(h)).view(n, 1, h, 1).expand(n, c, h, w + 2 * pad)
    out = padded.gather(2, rows)
    cols = (dx.view(n, 1) + torch.arange(w)).view(n, 1, 1, w).expand(n, c, h, w)
    out = out.gather(3, cols)
    flip = torch.rand(n, generator=gen) < 0.5
    out[flip] = out[flip].flip(3)
    return out


def holdout_indices(count: int, holdout: float, part: str, fraction: float = 1.0) -> np.ndarray:
    """Indices of one part of a training split held out for validation, drawn by a fixed permutation.

    `part` 'holdout' gives round(count * holdout) images; 'fit' the rest, of which the first `fraction`
    (a train fraction for short, low-fidelity trainings). Both are fixed draws, so every class appears in
    each even where the split is stored class by class (a packed image folder), and a search's validation
    images are never trained on.
    """
    if part not in ("fit", "holdout"):
        raise DataSourceError(f"part {part!r}: use 'fit' or 'holdout'")
    order = np.random.default_rng(0).permutation(count)
    cut = int(round(count * holdout))
    if part == "holdout":
        return np.sort(order[:cut])
    fit = order[cut:]
    return np.sort(fit[:max(1, int(round(len(fit) * fraction)))])


class EpochLoader:
    """Batches of (normalised images, labels) of an array source held in memory (`cifar10:DIR`, `cifar100:DIR`,
    `npz:FILE`); augmented when training. `make_loader` picks it, or FolderLoader for `imagefolder:DIR`."""

    def __init__(self, source: str, split: str, batch_size: int, *, train: bool, seed: int = 0,
                 num_classes: int = 10, shard: int = 0, shards: int = 1, limit: int | None = None,
                 norm: Normalisation | None = None, input_shape: tuple[int, int, int] | None = None,
                 indices: np.ndarray | None = None) -> None:
        if source == "gaussian":
            raise DataSourceError("training needs real data: use cifar10:DIR, cifar100:DIR, npz:FILE or "
                                  "imagefolder:DIR, "
                                  "not 'gaussian'")
        if source.startswith("imagefolder:"):
            raise DataSourceError("image folders stream through make_loader (FolderLoader), not EpochLoader")
        images, labels = load_arrays(source, split)
        if indices is not None:
            images, labels = images[indices], labels[indices]
        if limit:
            images, labels = images[:limit], labels[:limit]
        self.x = _normalise(torch.from_numpy(images).float(), norm)
        check_labels_fit(source, labels, num_classes)
        self.y = torch.from_numpy(labels)
        self.batch_size, self.train, self.seed = batch_size, train, seed
        self.shard, self.shards = shard, shards

    def __len__(self) -> int:
        full = len(self.y) // self.batch_size if self.train else -(-len(self.y) // self.batch_size)
        return full

    def epoch(self, epoch: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """The batches of one epoch (training: shuffled and augmented, drop_last; eval: in order)."""
        gen = torch.Generator().manual_seed(int(np.random.SeedSequence([self.seed, epoch]).generate_state(1)[0]))
        order = torch.randperm(len(self.y), generator=gen) if self.train else torch.arange(len(self.y))
        for b in range(len(self)):
            index = order[b * self.batch_size:(b + 1) * self.batch_size]
            x, y = self.x[index], self.y[index]
            if self.train:
                x = augment(x, gen)
            if self.shards > 1:
                x, y = x[self.shard::self.shards], y[self.shard::self.shards]
            yield x, y


def make_loader(source: str, split: str, batch_size: int, *, train: bool, seed: int = 0, num_classes: int = 10,
                shard: int = 0, shards: int = 1, limit: int | None = None, norm: Normalisation | None = None,
                input_shape: tuple[int, int, int] | None = None, workers: int = 0,
                pin_memory: bool = False, indices: np.ndarray | None = None) -> EpochLoader | FolderLoader:
    """The epoch loader of a source: image folders stream through `workers` DataLoader processes (stream.py);
    array sources (CIFAR, npz) are held in memory by `EpochLoader`, where workers would add nothing.
    `indices` keeps only those images of the split (see `holdout_indices`)."""
    if source.startswith("imagefolder:"):
        from .stream import FolderLoader

        if input_shape is None:
            raise DataSourceError("an imagefolder: source needs the space's input shape to resize its images to")
        loader = FolderLoader(source, split, batch_size, train=train, seed=seed, num_classes=num_classes, shard=shard,
                              shards=shards, limit=limit, norm=norm, input_shape=input_shape, workers=workers,
                              pin_memory=pin_memory, indices=indices)
    else:
        loader = EpochLoader(source, split, batch_size, train=train, seed=seed, num_classes=num_classes, shard=shard,
                             shards=shards, limit=limit, norm=norm, input_shape=input_shape, indices=indices)
    if train and len(loader) == 0:  # training drops a last partial batch: it would run no step and report nothing
        raise DataSourceError(f"data source {source!r}: its {split} images{' (after train_limit)' if limit else ''} "
                              f"make no full batch of {batch_size}{f' per shard of {shards}' if shards > 1 else ''}; "
                              "lower batch_size or use more images")
    return loader


def split_size(source: str, split: str) -> int:
    """How many images a split of a source holds (array sources are read once and cached)."""
    if source.startswith("imagefolder:"):
        from .folders import split_samples

        return len(split_samples(source, split)[1])
    return len(load_arrays(source, split)[1])
