"""Train a static network with the supernet's schedule (the reference that inherited accuracy is judged by)."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from ..data.loader import make_loader
from ..errors import HybridNASError
from ..io import atomic_torch_save
from ..timing import PhaseClock
from ..rng import seeded
from ..spaces import load_space
from .config import SupernetConfig
from .train import _optimizer, _schedule, autocast, checkpoint_contents, load_checkpoint, same_training, \
    training_device


def train_standalone(model: torch.nn.Module, config: SupernetConfig, *, progress: bool = False,
                     checkpoint: str | Path | None = None, resume: bool = False,
                     curve: bool = False, holdout: float = 0.0, train_fraction: float = 1.0,
                     stop_after: int | None = None, clock: PhaseClock | None = None) -> dict[str, Any]:
    """Train `model` from scratch on `config.data` for `config.epochs` (same optimizer, schedule, data order
    and augmentation as the supernet) and return its test accuracy (%) and training seconds.

    `config.seed` sets the data order, augmentation and dropout; the initial weights are the caller's, so build
    `model` under `rng.seeded(config.seed)` for a run that one seed reproduces (`hybridnas train` does).

    Args:
        checkpoint: a file written atomically after every epoch (model, optimizer, schedule, RNG, seconds).
        resume: continue from `checkpoint` exactly where it stopped (the result equals an uninterrupted run's);
            a checkpoint of another config or another network is a HybridNASError.
        curve: also test after every epoch and return the accuracies as `curve` (kept in the checkpoint; NaN
            for epochs a resumed checkpoint did not test). Testing does not change the training.
        holdout: a fraction of the training split held out (`data.loader.holdout_indices`); the accuracy is
            then measured on it instead of the test split, so a search that selects by it never sees test data.
        train_fraction: train on this fraction of the (remaining) training images.
        stop_after: stop after this many epochs, keeping `config.epochs`' schedule (a rung of successive
            halving); a later call with `resume` continues the same schedule.
        clock: counts this call's seconds of training and of testing (for the command's 'time:' line).
    """
    from tqdm.auto import tqdm

    from .evaluate import accuracy

    clock = clock or PhaseClock()
    device = training_device(config)
    model = model.to(device)
    train, test = _loaders(config, device, holdout, train_fraction)
    last = config.epochs if stop_after is None else min(stop_after, config.epochs)
    optimizer = _optimizer(config, model.parameters())
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _schedule(config, len(train)))
    first, seconds, accuracies = 0, 0.0, []
    with seeded(config.seed, device):  # dropout and drop-path draws; the caller's RNG comes back unchanged
        if resume:
            if checkpoint is None:
                raise HybridNASError("resume needs the checkpoint to continue from")
            first, seconds, accuracies = _restore(Path(checkpoint), config, model, optimizer, scheduler, device)
        for epoch in range(first, last):
            start = time.perf_counter()
            model.train()
            for x, y in tqdm(train.epoch(epoch), total=len(train), disable=not progress, desc=f"epoch {epoch + 1}"):
                optimizer.zero_grad(set_to_none=True)
                x, y = x.to(device), y.to(device)
                with autocast(config, device):
                    logits = model(x).float()
                F.cross_entropy(logits, y, label_smoothing=config.label_smoothing).backward()
                optimizer.step()
                scheduler.step()
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            elapsed = time.perf_counter() - start
            seconds += elapsed
            clock.add("training", elapsed)
            if curve:
                with clock.phase("testing"):
                    accuracies = _at_epoch(accuracies, epoch, accuracy(model, test, device, progress))
            if checkpoint is not None:
                atomic_torch_save({"config": config.model_dump(mode="json"), "epoch": epoch + 1, "seconds": seconds,
                                   "curve": accuracies,
                                   "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                                   "scheduler": scheduler.state_dict(), "torch_rng": torch.get_rng_state(),
                                   **({"cuda_rng": torch.cuda.get_rng_state(device)} if device.type == "cuda" else {})},
                                  checkpoint)
    if not curve:
        with clock.phase("testing"):
            return {"accuracy": accuracy(model, test, device, progress), "seconds": seconds}
    done = max(first, last)  # a checkpoint may already be past `stop_after`
    if len(accuracies) < done:  # resumed from a finished checkpoint that was not tested every epoch
        with clock.phase("testing"):
            accuracies = _at_epoch(accuracies, done - 1, accuracy(model, test, device, progress))
    return {"accuracy": accuracies[-1], "seconds": seconds, "curve": accuracies, "epochs": done,
            "images": len(train) * config.batch_size * done}


def _loaders(config: SupernetConfig, device: torch.device, holdout: float, train_fraction: float):
    """The training loader and the loader accuracy is measured on (the held-out part of the training split
    when `holdout`, else the test split)."""
    from ..data.loader import holdout_indices, split_size

    space = load_space(config.space)
    common = {"num_classes": space.num_classes, "norm": space.input_normalisation, "input_shape": space.input_shape,
              "workers": config.data_workers, "pin_memory": device.type == "cuda"}
    fit = None
    if holdout or train_fraction < 1:
        fit = holdout_indices(split_size(config.data, "train"), holdout, "fit", train_fraction)
    train = make_loader(config.data, "train", config.batch_size, train=True, seed=config.seed,
                        limit=config.train_limit, indices=fit, **common)
    if holdout:
        held = holdout_indices(split_size(config.data, "train"), holdout, "holdout")
        test = make_loader(config.data, "train", config.eval_batch_size, train=False, indices=held, **common)
    else:
        test = make_loader(config.data, "test", config.eval_batch_size, train=False, **common)
    return train, test


def _at_epoch(curve: list[float], epoch: int, value: float) -> list[float]:
    """`curve` with `value` as epoch `epoch`'s entry (0-based), NaN for any untested epochs in between."""
    return [*curve, *[math.nan] * (epoch - len(curve)), value]


def _restore(path: Path, config: SupernetConfig, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
             scheduler: torch.optim.lr_scheduler.LRScheduler, device: torch.device) -> tuple[int, float, list[float]]:
    """Load a standalone checkpoint into the training's state; returns (epochs done, seconds spent, the
    per-epoch test accuracies it holds)."""
    state = load_checkpoint(path)
    if not isinstance(state, dict) or "model" not in state:
        raise HybridNASError(f"{path} is not a standalone training checkpoint (one `hybridnas train` writes)")
    if not same_training(state.get("config"), config):
        raise HybridNASError(f"{path} was trained with a different config; resume with the same one "
                             "(epochs may grow) or train into another folder")
    with checkpoint_contents(path, "this network's standalone training", "hybridnas train"):
        model.load_state_dict(state["model"])  # strict: another network's weights do not fit
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["torch_rng"])
        if device.type == "cuda" and "cuda_rng" in state:
            torch.cuda.set_rng_state(state["cuda_rng"], device)
        return int(state["epoch"]), float(state["seconds"]), [float(a) for a in state.get("curve", [])]
