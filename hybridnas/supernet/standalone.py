"""Train a static network with the supernet's schedule (the reference that inherited accuracy is judged by)."""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F

from ..data.loader import make_loader
from ..rng import seeded
from ..spaces import load_space
from .config import SupernetConfig
from .train import _optimizer, _schedule, autocast, training_device


def train_standalone(model: torch.nn.Module, config: SupernetConfig, *, progress: bool = False) -> dict[str, float]:
    """Train `model` from scratch on `config.data` for `config.epochs` (same optimizer, schedule, data order
    and augmentation as the supernet) and return its test accuracy (%) and training seconds."""
    from tqdm.auto import tqdm

    from .evaluate import accuracy

    device = training_device(config)
    model = model.to(device)
    space = load_space(config.space)
    norm = space.input_normalisation
    train = make_loader(config.data, "train", config.batch_size, train=True, seed=config.seed,
                        limit=config.train_limit, num_classes=space.num_classes, norm=norm,
                        input_shape=space.input_shape, workers=config.data_workers, pin_memory=device.type == "cuda")
    test = make_loader(config.data, "test", config.eval_batch_size, train=False, num_classes=space.num_classes,
                       norm=norm, input_shape=space.input_shape, workers=config.data_workers,
                       pin_memory=device.type == "cuda")
    optimizer = _optimizer(config, model.parameters())
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _schedule(config, len(train)))
    start = time.perf_counter()
    with seeded(config.seed, device):  # dropout and drop-path draws; the caller's RNG comes back unchanged
        for epoch in range(config.epochs):
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
    seconds = time.perf_counter() - start
    return {"accuracy": accuracy(model, test, device), "seconds": seconds}
