"""The proxy engine: score architectures with several proxies from shared passes, one build per network."""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import pandas as pd
import torch
from torch import nn

from ..data import Batch, get_batch
from ..devices import full_float32, require_device
from ..errors import HybridNASError
from ..evaluation import format_errors
from ..io import atomic_write_csv
from ..rng import seeded
from ..spaces import Arch, Space
from .context import ProxyContext
from .ensemble import is_ensemble, parse_ensemble
from .registry import get_proxy, list_proxies
from contextlib import nullcontext

from ..io import exclusive_lock

DEFAULT_BATCH = 64
INIT_ORDER = {"initial": 0, "kaiming_fanin": 1, "gaussian": 2}


@dataclass
class ProxyScores:
    """Scores of one network: values, failures with their reason, and seconds spent per proxy."""

    values: dict[str, float] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    build_seconds: float = 0.0
    random_labels: bool = False  # label-using proxies saw random labels (data-free source)

    @property
    def total_seconds(self) -> float:
        return self.build_seconds + sum(self.seconds.values())


def expand(proxies: Sequence[str]) -> tuple[list[str], list[str]]:
    """Split a request into single proxies to compute (ensemble members included) and ensemble names."""
    singles: list[str] = []
    ensembles: list[str] = []
    for name in proxies:
        if is_ensemble(name):
            ensembles.append(name)
            members = parse_ensemble(name).members
        else:
            get_proxy(name)
            members = [name]
        singles += [m for m in members if m not in singles]
    return singles, ensembles


def random_label_note(proxies: Sequence[str], data: str) -> str | None:
    """A sentence to show users when label-using proxies will see random labels, else None."""
    users = [n for n in expand(proxies)[0] if get_proxy(n).needs_labels]
    if data == "gaussian" and users:
        return f"note: {', '.join(users)} use labels; with data 'gaussian' they use random labels"
    return None


def _order(names: Iterable[str]) -> list[str]:
    """Grouped by the weights they need (at most two re-initialisations), shared-pass users first."""
    return sorted(names, key=lambda n: (INIT_ORDER[get_proxy(n).init], get_proxy(n).shared == "", get_proxy(n).late, n))


def score(target: Arch | nn.Module, proxies: Sequence[str] | None = None, data: str = "gaussian", seed: int = 0,
          *, space: Space | None = None, batch_size: int = DEFAULT_BATCH,
          input_shape: tuple[int, int, int] | None = None, num_classes: int | None = None,
          batch: Batch | None = None, channels_last: bool = True, device: str = "cpu") -> ProxyScores:
    """Score one architecture (with its `space`) or a bare module (with input_shape and num_classes).

    Deterministic for a seed on the CPU. On `device='cuda'` the network (a bare module too) and the batch
    move to the GPU; random draws (initialisations, probes) stay the CPU generator's, and scores agree
    with the CPU's to rounding (GPU kernels sum in other orders). A proxy that fails or returns NaN/inf
    is recorded in `errors` with its reason; the others go on. With `data='gaussian'` label-using proxies use random labels. A ready
    `batch` (e.g. built once per worker) replaces loading `data`. A network built from an Arch runs in
    channels-last memory format (`channels_last=False`: NCHW), which CPU convolutions run faster in;
    a bare module keeps its own format.
    """
    names = list(proxies or list_proxies())
    singles, ensembles = expand(names)
    if ensembles:
        raise HybridNASError(f"{ensembles[0]!r} ranks a population of architectures; use score_many() or "
                             "'hybridnas proxies score' on several archs")
    where = require_device(device)
    with seeded(seed), full_float32():  # the caller's torch RNG and float32 settings come back unchanged
        return _score(target, singles, data, seed, space, batch_size, input_shape, num_classes, batch, channels_last,
                      where)


def _score(target: Arch | nn.Module, singles: list[str], data: str, seed: int, space: Space | None, batch_size: int,
           input_shape: tuple[int, int, int] | None, num_classes: int | None, batch: Batch | None,
           channels_last: bool, device: torch.device) -> ProxyScores:
    """score()'s body, under its seeded generator."""
    result = ProxyScores()
    start = time.perf_counter()
    if isinstance(target, Arch):
        if space is None:
            raise HybridNASError("scoring an Arch needs its space: score(arch, ..., space=space)")
        model, cost = space.build(target), space.cost(target)
        shape, classes, features = space.input_shape, space.num_classes, space.feature_nodes(target)
    else:
        if input_shape is None or num_classes is None:
            raise HybridNASError("scoring a bare module needs input_shape=(C, H, W) and num_classes")
        model, cost, shape, classes, features = target, None, input_shape, num_classes, ()
    norm = space.input_normalisation if space is not None else None
    batch = batch_on(batch or get_batch(data, batch_size, shape, classes, seed, norm=norm), device)
    model = model.to(device)
    if channels_last and isinstance(target, Arch) and batch.x.dim() == 4:
        model = model.to(memory_format=torch.channels_last)
        batch = dataclasses.replace(batch, x=batch.x.contiguous(memory_format=torch.channels_last))
    result.random_labels = batch.random_labels and any(get_proxy(n).needs_labels for n in singles)
    main_grad = any(get_proxy(n).shared == "main_pass" and get_proxy(n).needs_grad for n in singles)
    ctx = ProxyContext(model, batch, seed, feature_nodes=features, cost=cost, main_pass_grad=main_grad)
    result.build_seconds = time.perf_counter() - start
    order = _order(singles)
    last_user = {get_proxy(n).shared: n for n in order if get_proxy(n).shared}
    try:
        for name in order:
            t0 = time.perf_counter()
            try:
                value = float(get_proxy(name).fn(ctx))
                if math.isfinite(value):
                    result.values[name] = value
                else:
                    result.errors[name] = f"non-finite value {value}"
            except (RuntimeError, ValueError, ArithmeticError, HybridNASError, torch.linalg.LinAlgError) as exc:
                result.errors[name] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}"
            for key, last in last_user.items():
                if last == name:
                    ctx.drop(key)
            result.seconds[name] = time.perf_counter() - t0
    finally:
        ctx.release()
    return result


def batch_on(batch: Batch, device: torch.device | str) -> Batch:
    """`batch` with its tensors on `device` (the same object when they already are)."""
    if batch.x.device == torch.device(device):
        return batch
    return dataclasses.replace(batch, x=batch.x.to(device), y=batch.y.to(device))


def space_batch(space: Space, data: str, batch_size: int, seed: int, device: str = "cpu") -> Batch:
    """The proxy batch for `space` (its input size, classes and normalisation) from `data`, on `device`;
    a device this machine lacks is a HybridNASError."""
    batch = get_batch(data, batch_size, space.input_shape, space.num_classes, seed, norm=space.input_normalisation)
    return batch_on(batch, require_device(device))


def score_or_failure(arch: Arch, proxies: Sequence[str], data: str, seed: int, *, space: Space,
                     batch: Batch | None = None, batch_size: int = DEFAULT_BATCH, device: str = "cpu") -> ProxyScores:
    """`score`, except that a network that cannot be built or run (too large, out of memory) comes back as
    one `build` error with its reason instead of raising: one bad network must not stop a population."""
    start = time.perf_counter()
    try:
        return score(arch, proxies, data, seed, space=space, batch=batch, batch_size=batch_size, device=device)
    except (MemoryError, RuntimeError, HybridNASError) as exc:  # torch.cuda.OutOfMemoryError is a RuntimeError
        reason = f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:300]}"
        if torch.cuda.is_available():
            torch.cuda.empty_cache()  # what the failed network held must not starve the next one
        return ProxyScores(errors={"build": reason}, build_seconds=time.perf_counter() - start)


def score_many(space: Space, archs: Sequence[Arch], proxies: Sequence[str], data: str = "gaussian", seed: int = 0,
               *, batch_size: int = DEFAULT_BATCH, progress: bool = False, checkpoint: str | Path | None = None,
               every: int = 25, device: str = "cpu") -> pd.DataFrame:
    """A table with one row per architecture: each proxy, each ensemble, errors and seconds.

    With `checkpoint` (a CSV path) the rows are saved atomically every `every` architectures and
    architectures already in the file are not scored again, so a long scoring run can be resumed.
    """
    with (exclusive_lock(checkpoint, "score table", beside=True) if checkpoint else nullcontext()):
        return _score_many_locked(space, archs, proxies, data, seed, batch_size=batch_size, progress=progress,
                                  checkpoint=checkpoint, every=every, device=device)


def _score_many_locked(space: Space, archs: Sequence[Arch], proxies: Sequence[str], data: str = "gaussian", seed: int = 0,
               *, batch_size: int = DEFAULT_BATCH, progress: bool = False, checkpoint: str | Path | None = None,
               every: int = 25, device: str = "cpu") -> pd.DataFrame:
    """The body of `score_many`, under its lock."""
    singles, ensembles = expand(proxies)
    batch = space_batch(space, data, batch_size, seed, device)  # one batch for all archs
    done: dict[str, dict] = {}
    if checkpoint is not None and Path(checkpoint).is_file():
        previous = pd.read_csv(checkpoint, dtype={"arch": str, "id": str})
        missing = [p for p in singles if p not in previous]
        if missing:
            raise HybridNASError(f"{checkpoint} has no column(s) {missing}; score into another file")
        done = {row["id"]: row for row in previous.drop(columns=list(ensembles), errors="ignore").to_dict("records")}
    todo = [a for a in dict.fromkeys(archs) if a.id not in done]
    iterator = todo
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(todo, desc="scoring", unit="arch")
    for k, arch in enumerate(iterator, 1):
        result = score_or_failure(arch, singles, data, seed, space=space, batch=batch, device=device)
        done[arch.id] = {"arch": space.format(arch), "id": arch.id, **result.values, "seconds": result.total_seconds,
                         "labels": "random" if result.random_labels else "data",
                         "errors": format_errors(result.errors)}
        if checkpoint is not None and (k % every == 0 or k == len(todo)):
            atomic_write_csv(pd.DataFrame(done.values()), checkpoint)
    rows = [done[a.id] for a in archs]
    frame = pd.DataFrame(rows)
    for name in singles:
        if name not in frame:
            frame[name] = float("nan")
    for name in ensembles:
        frame[name] = parse_ensemble(name).score(frame)
    return frame
