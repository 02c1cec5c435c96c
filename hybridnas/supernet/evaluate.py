"""Accuracy of subnets with inherited supernet weights, and the search evaluator built on it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from ..data.loader import EpochLoader, make_loader
from ..devices import require_device
from ..spaces import Arch, Space
from .config import SupernetConfig
from .elastic import Supernet

if TYPE_CHECKING:
    from ..data.stream import FolderLoader


def accuracy(model: torch.nn.Module, loader: EpochLoader | FolderLoader, device: str | torch.device = "cpu",
             progress: bool = False) -> float:
    """Top-1 accuracy (%) of a model over every batch of an epoch loader's epoch 0 (with a bar if `progress`)."""
    from tqdm.auto import tqdm

    model.eval()
    correct = total = 0
    with torch.no_grad():
        for x, y in tqdm(loader.epoch(0), total=len(loader), desc="testing", disable=not progress, leave=False):
            correct += int((model(x.to(device)).argmax(1).cpu() == y).sum())
            total += len(y)
    return 100.0 * correct / max(1, total)


def scoring_device(config: SupernetConfig, device: str | None = None) -> torch.device:
    """`device` if given; else the device the supernet was trained on when this process can use it, else CPU.

    A supernet trained on a GPU is still scored on a machine without one (or in a Ray worker that was
    given no GPU): accuracy does not depend on the device, only the speed does.
    """
    if device is not None:
        return require_device(device)
    return torch.device("cuda" if config.device == "cuda" and torch.cuda.is_available() else "cpu")


class SubnetScorer:
    """Inherited-weight accuracy of any subnet: materialize, recalibrate BatchNorm, evaluate on the test split.

    The supernet is moved to `scoring_device(config, device)`; materialized subnets live there too.
    """

    def __init__(self, supernet: Supernet, config: SupernetConfig, test_limit: int | None = None,
                 device: str | None = None) -> None:
        self.device = scoring_device(config, device)
        self.supernet, self.config = supernet.to(self.device), config
        classes, norm = supernet.space.num_classes, supernet.space.input_normalisation
        shape = supernet.space.input_shape
        self.test = make_loader(config.data, "test", config.eval_batch_size, train=False, num_classes=classes,
                                limit=test_limit, norm=norm, input_shape=shape, workers=config.data_workers,
                                pin_memory=self.device.type == "cuda")
        train = make_loader(config.data, "train", config.batch_size, train=True, seed=config.seed + 1,
                            num_classes=classes, limit=config.train_limit, norm=norm, input_shape=shape)
        self.calibration = [x for x, _ in zip((b[0] for b in train.epoch(0)), range(config.calibration_batches))]

    @property
    def space(self) -> Space:
        return self.supernet.space

    def materialize(self, arch: Arch) -> torch.nn.Module:
        """The subnet as a static model with inherited weights and recalibrated BatchNorm, on `self.device`."""
        return self.supernet.materialize(arch, self.calibration if self.calibration else None)

    def accuracy(self, model: torch.nn.Module) -> float:
        """Test accuracy (%) of a model on `self.device`."""
        return accuracy(model, self.test, self.device)

    def __call__(self, arch: Arch) -> float:
        return self.accuracy(self.materialize(arch))
