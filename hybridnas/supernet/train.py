"""Supernet training: one process, or data-parallel Ray Train workers (gloo on CPU, NCCL on GPU).

Each step trains the sampler's subnets on one batch (gradients accumulate; with sandwich sampling the
other subnets distil from the largest's outputs). A checkpoint with the model, optimizer, scheduler,
sampler and RNG state is written atomically after every epoch; `resume` continues from it exactly.
"""

from __future__ import annotations

import math
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import torch
import torch.nn.functional as F

from ..data.loader import make_loader
from ..devices import require_device
from ..errors import HybridNASError
from ..io import atomic_torch_save
from ..rng import seeded
from ..spaces import load_space
from .config import SupernetConfig
from .elastic import Supernet
from .samplers import make_sampler
from ..io import exclusive_lock

CHECKPOINT = "checkpoint.pt"


@dataclass
class TrainResult:
    """A finished supernet training: its checkpoint, epochs trained and per-epoch history."""

    checkpoint: Path
    epochs: int
    history: list[dict[str, float]]


def _schedule(config: SupernetConfig, steps_per_epoch: int):
    total = max(1, config.epochs * steps_per_epoch)
    warmup = int(config.warmup_epochs * steps_per_epoch)

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warmup) / max(1, total - warmup))))

    return factor


def _optimizer(config: SupernetConfig, params) -> torch.optim.Optimizer:
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=config.lr, momentum=0.9, weight_decay=config.weight_decay, nesterov=True)
    return torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)


def autocast(config: SupernetConfig, device: torch.device) -> torch.autocast:
    """The forward pass's autocast context: bfloat16 when `config.precision` is bf16, else a no-op."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=config.precision == "bf16")


def training_device(config: SupernetConfig) -> torch.device:
    """The device `config` trains on; 'cuda' on a machine where torch sees none is a HybridNASError."""
    require_device(config.device)
    return torch.device("cuda", torch.cuda.current_device()) if config.device == "cuda" else torch.device("cpu")


# Fields that change how fast training runs, never what it computes: a resume may change them.
SPEED_ONLY = {"data_workers"}


def same_training(saved: Any, config: SupernetConfig) -> bool:
    """Whether a checkpoint's saved config trains what `config` trains: speed-only fields aside, and with as
    many epochs or more (the learning-rate schedule then stretches to the new length from the next step)."""
    try:  # through the model, so fields added since the checkpoint was written take their defaults
        saved = SupernetConfig.model_validate(saved)
    except ValueError:  # pydantic's ValidationError
        return False
    ignored = SPEED_ONLY | {"epochs"}
    return saved.epochs <= config.epochs and (saved.model_dump(mode="json", exclude=ignored)
                                              == config.model_dump(mode="json", exclude=ignored))


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """A supernet checkpoint; a missing or damaged file is a HybridNASError."""
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT
    if not path.is_file():
        raise HybridNASError(f"supernet checkpoint {path}: no such file")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)  # plain data and tensors only
    except Exception as exc:  # torch raises many types for truncated files
        raise HybridNASError(f"supernet checkpoint {path} cannot be read ({type(exc).__name__}: {exc})") from None


@contextmanager
def checkpoint_contents(path: str | Path, holds: str = "a hybridnas supernet",
                        writer: str = "hybridnas supernet train") -> Iterator[None]:
    """Turn a checkpoint that reads but holds the wrong things (keys, shapes, config) into a HybridNASError."""
    try:
        yield
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:  # ValidationError is a ValueError
        detail = f"missing entry {exc}" if isinstance(exc, KeyError) else " ".join(str(exc).split())[:300]
        raise HybridNASError(f"checkpoint {path} does not hold {holds} ({detail}); pass the "
                             f"checkpoint.pt that '{writer}' wrote") from None


def load_supernet(path: str | Path) -> tuple[Supernet, SupernetConfig]:
    """The trained supernet of a checkpoint (eval mode) and its training config."""
    state = load_checkpoint(path)
    with checkpoint_contents(path):
        config = SupernetConfig.model_validate(state["config"])
        net = Supernet(load_space(config.space))
        net.load_state_dict(state["supernet"])
    return net.eval(), config


def train_loop(config: SupernetConfig, out: Path, resume: bool, progress: bool, rank: int = 0, world: int = 1) -> TrainResult:
    """The training loop every worker runs (rank 0 writes checkpoints and shows progress).

    Seeded from `config.seed` on a forked generator: the caller's torch RNG comes back unchanged.
    """
    device = training_device(config)
    with seeded(config.seed, device):
        return _train_loop(config, out, resume, progress, rank, world, device)


def _train_loop(config: SupernetConfig, out: Path, resume: bool, progress: bool, rank: int, world: int,
                device: torch.device) -> TrainResult:
    """train_loop's body, under its seeded generators."""
    space = load_space(config.space)
    net = Supernet(space).to(device)
    loader = make_loader(config.data, "train", config.batch_size, train=True, seed=config.seed,
                         num_classes=space.num_classes, shard=rank, shards=world, limit=config.train_limit,
                         norm=space.input_normalisation, input_shape=space.input_shape,
                         workers=config.data_workers, pin_memory=device.type == "cuda")
    options = dict(config.sampler_options)
    if config.sampler == "performance_aware":
        options.setdefault("total_steps", config.epochs * len(loader))
    sampler = make_sampler(config.sampler, space, seed=config.seed, subnets=config.subnets, **options)
    optimizer = _optimizer(config, net.parameters())
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _schedule(config, len(loader)))
    start, history = 0, []
    path = out / CHECKPOINT
    if config.init_from and not resume:  # a resume carries on from its own weights
        _init_weights(net, config)
    if resume:
        state = load_checkpoint(path)
        if not isinstance(state, dict) or not same_training(state.get("config"), config):
            raise HybridNASError(f"{path} was trained with a different config; resume with the same one "
                                 "(epochs may grow) or train into another --out")
        with checkpoint_contents(path):
            net.load_state_dict(state["supernet"])
            optimizer.load_state_dict(state["optimizer"])
            scheduler.load_state_dict(state["scheduler"])
            sampler.load_state_dict(state["sampler"])
            torch.set_rng_state(state["torch_rng"])
            if device.type == "cuda" and "cuda_rng" in state:  # dropout and drop-path draw on the GPU's generator
                torch.cuda.set_rng_state(state["cuda_rng"], device)
            start, history = state["epoch"], state["history"]
    from tqdm.auto import tqdm

    for epoch in range(start, config.epochs):
        net.train()
        bar = tqdm(total=len(loader), desc=f"epoch {epoch + 1}/{config.epochs}", disable=not progress or rank != 0)
        began, subnets, total_loss = time.perf_counter(), 0, 0.0
        for x, y in loader.epoch(epoch):
            x, y = x.to(device), y.to(device)
            archs = sampler.step()
            optimizer.zero_grad(set_to_none=True)
            losses, teacher = [], None
            for k, arch in enumerate(archs):
                with autocast(config, device):
                    logits = net(x, arch).float()
                if teacher is not None:
                    loss = F.cross_entropy(logits, teacher)  # in-place distillation from the largest subnet
                else:
                    loss = F.cross_entropy(logits, y, label_smoothing=config.label_smoothing)
                if sampler.distill and k == 0:
                    teacher = logits.detach().softmax(-1)
                loss.backward()
                losses.append(loss.detach())
            losses_t = torch.stack(losses)
            if world > 1:
                _average_gradients(net, losses_t, world)
            for arch, loss in zip(archs, losses_t.tolist()):
                sampler.update(arch, loss)
            optimizer.step()
            scheduler.step()
            subnets += len(archs)
            total_loss += float(losses_t.mean())
            bar.update(1)
            bar.set_postfix(loss=f"{float(losses_t.mean()):.3f}",
                            subnets_s=f"{subnets / (time.perf_counter() - began):.1f}", bank=sampler.describe() or "-",
                            refresh=False)
        bar.close()
        history.append({"epoch": epoch + 1, "loss": total_loss / max(1, len(loader)),
                        "seconds": time.perf_counter() - began, "subnets": subnets})
        if rank == 0:
            out.mkdir(parents=True, exist_ok=True)
            atomic_torch_save({"config": config.model_dump(mode="json"), "epoch": epoch + 1, "history": history,
                         "supernet": net.state_dict(), "optimizer": optimizer.state_dict(),
                         "scheduler": scheduler.state_dict(), "sampler": sampler.state_dict(),
                         "torch_rng": torch.get_rng_state(),
                         **({"cuda_rng": torch.cuda.get_rng_state(device)} if device.type == "cuda" else {})}, path)
    return TrainResult(path, config.epochs, history)


def _init_weights(net: Supernet, config: SupernetConfig) -> None:
    """Start from `config.init_from`'s supernet weights; a checkpoint of another space is a HybridNASError."""
    parent = load_checkpoint(config.init_from)
    with checkpoint_contents(config.init_from):
        parent_space = SupernetConfig.model_validate(parent["config"]).space
        if load_space(parent_space).name != net.space.name:
            raise HybridNASError(f"init_from {config.init_from}: a supernet of space {load_space(parent_space).name!r}, "
                                 f"this training's is {net.space.name!r}")
        net.load_state_dict(parent["supernet"])


def _average_gradients(net: torch.nn.Module, losses: torch.Tensor, world: int) -> None:
    import torch.distributed as dist

    for p in net.parameters():
        if p.grad is not None:
            dist.all_reduce(p.grad)
            p.grad /= world
    dist.all_reduce(losses)  # every worker's sampler must see the same losses to stay in step
    losses /= world


def train_supernet(config: SupernetConfig, out: str | Path, *, resume: bool = False, progress: bool = True) -> TrainResult:
    """Train (or resume) a supernet into `out`; `config.workers > 1` runs data-parallel on Ray Train."""
    with exclusive_lock(out, "supernet training"):
        return _train_supernet_locked(config, out, resume=resume, progress=progress)


def _train_supernet_locked(config: SupernetConfig, out: str | Path, *, resume: bool = False, progress: bool = True) -> TrainResult:
    """The body of `train_supernet`, under its lock."""
    out = Path(out).resolve()
    if (out / CHECKPOINT).is_file() and not resume:
        raise HybridNASError(f"{out} already holds a supernet checkpoint; pass --resume to continue it, or another --out")
    if resume and not (out / CHECKPOINT).is_file():
        raise HybridNASError(f"{out} holds no checkpoint to resume")
    training_device(config)  # fails before any work on a machine without the asked-for device
    if config.workers == 1:
        return train_loop(config, out, resume, progress)
    return _train_on_ray(config, out, resume, progress)


def _ray_worker(loop_config: dict[str, Any]) -> None:
    import ray.train
    import torch.distributed as dist

    config = SupernetConfig.model_validate(loop_config["config"])
    context = ray.train.get_context()
    torch.set_num_threads(max(1, loop_config["threads"]))
    result = train_loop(config, Path(loop_config["out"]), loop_config["resume"], loop_config["progress"],
                        rank=context.get_world_rank(), world=context.get_world_size())
    dist.barrier()
    ray.train.report({"epochs": result.epochs, "loss": result.history[-1]["loss"] if result.history else float("nan")})


def _train_on_ray(config: SupernetConfig, out: Path, resume: bool, progress: bool) -> TrainResult:
    import os

    import ray
    from ray.train import RunConfig, ScalingConfig
    from ray.train.torch import TorchConfig, TorchTrainer

    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=max(config.workers, os.cpu_count() or 1), include_dashboard=False, log_to_driver=progress)
    try:
        threads = max(1, (os.cpu_count() or 1) // config.workers)
        trainer = TorchTrainer(
            _ray_worker,
            train_loop_config={"config": config.model_dump(mode="json"), "out": str(out), "resume": resume,
                               "progress": progress, "threads": threads},
            torch_config=TorchConfig(backend="nccl" if config.device == "cuda" else "gloo"),
            scaling_config=ScalingConfig(num_workers=config.workers, use_gpu=config.device == "cuda",
                                         resources_per_worker={"CPU": 1}),
            run_config=RunConfig(storage_path=str(out / "ray"), name="train"),
        )
        trainer.fit()
    finally:
        if started:
            ray.shutdown()
    state = load_checkpoint(out / CHECKPOINT)
    return TrainResult(out / CHECKPOINT, state["epoch"], state["history"])
