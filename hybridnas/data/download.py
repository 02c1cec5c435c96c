"""Fetch CIFAR-10 or CIFAR-100 in torchvision's layout, only when a user asks (`hybridnas data download`).

No other code path downloads anything; tests never call this with a network.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import HybridNASError
from .sources import CIFAR_LAYOUTS


def download_cifar(name: str, root: str | Path) -> str:
    """Download and extract `name` ('cifar10' or 'cifar100') under `root`; return the source string to use."""
    if name not in CIFAR_LAYOUTS:
        raise HybridNASError(f"cannot download {name!r}; choose one of {', '.join(CIFAR_LAYOUTS)}")
    from torchvision import datasets

    dataset = {"cifar10": datasets.CIFAR10, "cifar100": datasets.CIFAR100}[name]
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    try:
        for train in (True, False):
            dataset(str(root), train=train, download=True)
    except (OSError, RuntimeError) as exc:  # URLError is an OSError; a bad checksum is a RuntimeError
        raise HybridNASError(f"downloading {name} into {root} failed ({type(exc).__name__}: {exc}); without a "
                             f"network, copy the extracted {CIFAR_LAYOUTS[name][0]} folder there instead") from None
    return f"{name}:{root / CIFAR_LAYOUTS[name][0]}"
