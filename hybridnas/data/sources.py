"""Input sources for proxies and training: `gaussian` (data-free), `cifar10:DIR`, `cifar100:DIR`, `npz:FILE`,
`imagefolder:DIR`.

Images are returned as float32 NCHW normalised with per-channel mean/std and resized to the space's
input size when it differs; labels as int64. Nothing is downloaded here; `download.py` fetches CIFAR only
when a user asks for it (`hybridnas data download`).
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import HybridNASError
from .folders import folder_batch

CROP_PAD = 4  # pixels of padding before the random crop of the CIFAR recipe (image folders of small images too)

CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR_STD = (0.2470, 0.2435, 0.2616)
SOURCES_HELP = ("use 'gaussian', 'cifar10:DIR' (a cifar-10-batches-py folder), 'cifar100:DIR' (a cifar-100-python "
                "folder), 'npz:FILE' (x_train, y_train, x_test, y_test) or 'imagefolder:DIR' (DIR/train/<class>/*, "
                "DIR/val/<class>/*; or DIR/<class>/* with a held-out fraction, 'imagefolder:DIR?val=0.1')")
# torchvision's layouts: the folder each archive extracts to, its split files, and the label key
CIFAR_LAYOUTS = {
    "cifar10": ("cifar-10-batches-py", {"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]},
                b"labels"),
    "cifar100": ("cifar-100-python", {"train": ["train"], "test": ["test"]}, b"fine_labels"),
}


class DataSourceError(HybridNASError, ValueError):
    """A data source string or file is invalid."""


@dataclass(frozen=True)
class Batch:
    """One batch of inputs and labels; `random_labels` is True for the data-free source."""

    x: torch.Tensor
    y: torch.Tensor
    source: str
    random_labels: bool


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles CIFAR python batches only: builtins containers and numpy arrays, nothing executable."""

    _ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
                ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "scalar"),
                ("numpy._core.multiarray", "scalar")}

    def find_class(self, module: str, name: str):
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a CIFAR batch file")


def _read_cifar_batch(path: Path, label_key: bytes = b"labels") -> tuple[np.ndarray, np.ndarray]:
    with path.open("rb") as handle:
        data = _ArrayUnpickler(handle, encoding="bytes").load()
    images = np.asarray(data[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
    return images, np.asarray(data[label_key])


def load_arrays(source: str, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """uint8 NCHW images and int64 labels of a file-backed source ('cifar10:DIR', 'cifar100:DIR' or 'npz:FILE').

    Cached per process while the files it reads keep their size and modification time, so a file rewritten
    at the same path (`hybridnas data pack` again) is read again, not served from the cache.
    """
    return _load_arrays(source, split, _files_stamp(source))


def _files_stamp(source: str) -> tuple[tuple[str, int, int], ...]:
    """(path, size, mtime in ns) of the file, or of the files in the folder and its sub-folders one level down."""
    kind, _, where = source.partition(":")
    path = Path(where)
    if kind not in ("npz", *CIFAR_LAYOUTS):
        return ()
    if path.is_dir():
        files = [f for d in (path, *(c for c in path.iterdir() if c.is_dir())) for f in d.iterdir() if f.is_file()]
    else:
        files = [path] if path.is_file() else []
    return tuple((str(f), (st := f.stat()).st_size, st.st_mtime_ns) for f in sorted(files))


@lru_cache(maxsize=4)
def _load_arrays(source: str, split: str, stamp: tuple[tuple[str, int, int], ...]) -> tuple[np.ndarray, np.ndarray]:
    kind, _, where = source.partition(":")
    path = Path(where)
    if kind == "npz":
        if not path.is_file():
            raise DataSourceError(f"data source {source!r}: no such file {path}")
        try:
            with np.load(path, allow_pickle=False) as arrays:
                missing = {f"x_{split}", f"y_{split}"} - set(arrays.files)
                if missing:
                    raise DataSourceError(f"data source {source!r}: missing arrays {sorted(missing)}; it has "
                                          f"{sorted(arrays.files)}; {SOURCES_HELP}")
                x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        except DataSourceError:
            raise
        except ValueError as exc:  # object arrays (pickles) are refused: an npz of data never runs code
            if "allow_pickle" in str(exc) or "Object arrays" in str(exc):
                raise DataSourceError(f"data source {source!r}: holds object arrays, which are pickles and are never "
                                      "loaded; save plain uint8 images and integer labels") from None
            raise DataSourceError(f"data source {source!r}: not a readable npz file ({exc})") from None
        except (OSError, EOFError) as exc:
            raise DataSourceError(f"data source {source!r}: not a readable npz file ({exc})") from None
        if x.ndim != 4 or x.dtype != np.uint8:
            raise DataSourceError(f"data source {source!r}: x_{split} must be uint8 NCHW, got {x.dtype} {x.shape}")
        if len(x) != len(y):
            raise DataSourceError(f"data source {source!r}: x_{split} has {len(x)} images but y_{split} has "
                                  f"{len(y)} labels; an npz source needs one label per image")
        return x, _integer_labels(source, split, y)
    if kind in CIFAR_LAYOUTS:
        extracted, splits, label_key = CIFAR_LAYOUTS[kind]
        if (path / extracted).is_dir():  # torchvision's root, which holds the extracted folder
            path = path / extracted
        names = splits[split]
        files = [path / n for n in names if (path / n).is_file()]
        if not files:
            raise DataSourceError(f"data source {source!r}: no {', '.join(names)} in {path}; point {kind}: at the "
                                  f"extracted {extracted} folder (or fetch it: hybridnas data download {kind} DIR)")
        try:
            parts = [_read_cifar_batch(f, label_key) for f in files]
        except (pickle.UnpicklingError, KeyError, ValueError, EOFError) as exc:
            raise DataSourceError(f"data source {source!r}: not a {kind} python batch ({exc})") from None
        images, labels = np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
        if len(images) != len(labels):
            raise DataSourceError(f"data source {source!r}: {len(images)} images but {len(labels)} labels in "
                                  f"{', '.join(f.name for f in files)}; the batch files are damaged")
        return images, _integer_labels(source, split, labels)
    raise DataSourceError(f"unknown data source {source!r}; {SOURCES_HELP}")


def _integer_labels(source: str, split: str, y: np.ndarray) -> np.ndarray:
    """Labels as int64; refuses non-integer, negative or non-finite values instead of folding them."""
    if y.ndim != 1:
        raise DataSourceError(f"data source {source!r}: y_{split} must be one label per image, got shape {y.shape}")
    if y.dtype.kind == "f":
        if not np.all(np.isfinite(y)) or not np.all(y == np.round(y)):
            raise DataSourceError(f"data source {source!r}: y_{split} holds labels that are not whole numbers")
    elif y.dtype.kind not in "iu":
        raise DataSourceError(f"data source {source!r}: y_{split} must hold integer labels, got {y.dtype}")
    if len(y) and y.min() < 0:
        raise DataSourceError(f"data source {source!r}: y_{split} has a negative label ({int(y.min())})")
    return y.astype(np.int64)


def check_labels_fit(source: str, labels: np.ndarray, num_classes: int) -> None:
    """Refuse labels past the space's classes (they would otherwise be folded into range and train nonsense)."""
    if len(labels) and int(labels.max()) >= num_classes:
        raise DataSourceError(f"data source {source!r} has label {int(labels.max())}, but the space has "
                              f"{num_classes} classes (labels 0..{num_classes - 1})")


Normalisation = tuple[tuple[float, ...], tuple[float, ...]]


def normalisation(channels: int, declared: Normalisation | None = None) -> Normalisation:
    """The (mean, std) images are normalised with: the space's declared values, else CIFAR-10's statistics
    for 3 channels and (0.5, 0.25) per channel otherwise. The one place that default lives."""
    if declared is not None:
        return tuple(declared[0]), tuple(declared[1])
    return (CIFAR_MEAN, CIFAR_STD) if channels == 3 else ((0.5,) * channels, (0.25,) * channels)


def _normalise(x: torch.Tensor, declared: Normalisation | None = None) -> torch.Tensor:
    mean, std = normalisation(x.shape[1], declared)
    return (x / 255.0 - torch.tensor(mean).view(1, -1, 1, 1)) / torch.tensor(std).view(1, -1, 1, 1)


def get_batch(source: str, batch_size: int, input_shape: tuple[int, int, int], num_classes: int,
              seed: int = 0, split: str = "train", norm: Normalisation | None = None) -> Batch:
    """A seeded batch from `source` shaped for a space; `gaussian` draws N(0, 1) images and random labels.

    `norm` is the space's declared (mean, std) (`Space.input_normalisation`); None: the default.
    """
    if batch_size <= 0:
        raise DataSourceError(f"batch size must be positive, got {batch_size}")
    gen = torch.Generator().manual_seed(seed)
    if source == "gaussian":
        x = torch.randn(batch_size, *input_shape, generator=gen)
        y = torch.randint(0, num_classes, (batch_size,), generator=gen)
        return Batch(x, y, source, random_labels=True)
    if source.startswith("imagefolder:"):
        images, y_batch, n_classes = folder_batch(source, split, batch_size, input_shape, gen)
        if n_classes > num_classes:
            raise DataSourceError(f"data source {source!r} has {n_classes} class folders, but the space has "
                                  f"{num_classes} classes")
        x = _normalise(torch.from_numpy(images).float(), norm)
        return Batch(x, torch.from_numpy(y_batch), source, random_labels=False)
    images, labels = load_arrays(source, split)
    if images.shape[1] != input_shape[0]:
        raise DataSourceError(f"data source {source!r} has {images.shape[1]} channels; the space expects "
                              f"{input_shape[0]}")
    index = torch.randperm(len(images), generator=gen)[:batch_size].numpy()
    if len(index) < batch_size:
        raise DataSourceError(f"data source {source!r} has {len(images)} images, fewer than batch {batch_size}")
    x = _normalise(torch.from_numpy(images[index]).float(), norm)
    if tuple(x.shape[2:]) != tuple(input_shape[1:]):
        x = F.interpolate(x, size=input_shape[1:], mode="bilinear", align_corners=False)
    check_labels_fit(source, labels, num_classes)
    y = torch.from_numpy(labels[index])
    return Batch(x, y, source, random_labels=False)
