"""Timing on one device: warm-up, then repeated runs in interleaved rounds; one statistic per call, and its spread."""

from __future__ import annotations

import math
import os
import platform
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from ..devices import require_device
from ..models import build_layer
from .options import DEFAULT_STATISTIC
from .signature import LatencyError, Signature

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
MIN_REPEAT_S = 0.002  # each repeat runs the layer enough times to last this long, so timer noise stays small


# How a layer's or a network's repeats become one number. Interference on a shared machine only adds
# time, so the fastest repeat is the one that recurs: measured on 100 hybrid_cifar layers timed twice,
# the minimum differed by 2.4-3.3% between passes, the median by 14-16%
# (benchmarks/latency/latency_repeatability.py, results/benchmarks/latency_repeatability/).
STATISTICS = {"min": np.min, "median": np.median}  # keyed as options.STATISTIC_NAMES


@dataclass(frozen=True)
class Timing:
    """One layer's measured time and how noisy its repeats were."""

    ms: float  # the table's statistic (`Conditions.statistic`) of the per-call times of the repeats
    spread: float  # interquartile range / median of the repeats: how noisy the measurement was


def device_name(device: str) -> str:
    """The CPU model or GPU name of `device` on this machine."""
    if device.startswith("cuda"):
        return torch.cuda.get_device_name(require_device(device, LatencyError))
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def check_device(device: str, dtype: str) -> None:
    """Raise LatencyError for a device or dtype this machine cannot time."""
    require_device(device, LatencyError)
    if dtype not in DTYPES:
        raise LatencyError(f"dtype {dtype!r}: use one of {', '.join(DTYPES)}")


def measure_many(fns: list[Callable[[], object]], device: str, warmup: int, repeats: int,
                 rounds: int = 3, statistic: str = DEFAULT_STATISTIC) -> list[Timing]:
    """Milliseconds per call of each function (`statistic` over its repeats), measured in interleaved rounds.

    Each round times every function for about `repeats / rounds` repeats; a repeat runs the function
    enough times to last MIN_REPEAT_S. Interleaving spreads a slow spell of a shared machine over all
    functions instead of skewing the one that happened to run during it.
    """
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    numbers = []
    for fn in fns:
        for _ in range(warmup):
            fn()
        sync()
        start = time.perf_counter()
        fn()
        sync()
        numbers.append(max(1, math.ceil(MIN_REPEAT_S / max(time.perf_counter() - start, 1e-7))))
    per_round = max(1, math.ceil(repeats / rounds))
    samples: list[list[float]] = [[] for _ in fns]
    for _ in range(rounds):
        for fn, number, times in zip(fns, numbers, samples):
            fn()  # re-warm caches after the other functions ran
            for _ in range(per_round):
                start = time.perf_counter()
                for _ in range(number):
                    fn()
                sync()
                times.append((time.perf_counter() - start) / number)
    out = []
    for times in samples:
        q1, median, q3 = np.percentile(times, [25, 50, 75]) * 1e3
        out.append(Timing(float(STATISTICS[statistic](times)) * 1e3, float((q3 - q1) / median) if median > 0 else 0.0))
    return out


def _inputs(shape: tuple[int, ...], count: int, device: str, dtype: torch.dtype) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    return [torch.randn(shape, generator=gen).to(device=device, dtype=dtype) for _ in range(count)]


def layer_runner(sig: Signature, batch: int, device: str, dtype: str) -> Callable[[], object]:
    """A function that runs one layer alone: its summed inputs, then its module (eval mode)."""
    torch_dtype = DTYPES[dtype]
    module = build_layer(sig.spec)
    if module is not None:
        module = module.to(device=device, dtype=torch_dtype).eval()
    xs = _inputs((batch, *sig.in_shape), sig.inputs, device, torch_dtype)

    def run():
        h = xs[0]
        for x in xs[1:]:
            h = h + x
        return module(h) if module is not None else h

    return run


def network_runner(model: torch.nn.Module, input_shape: tuple[int, int, int], batch: int, device: str,
                   dtype: str) -> Callable[[], object]:
    """A function that runs a built network end to end (eval mode)."""
    torch_dtype = DTYPES[dtype]
    model = model.to(device=device, dtype=torch_dtype).eval()
    (x,) = _inputs((batch, *input_shape), 1, device, torch_dtype)
    return lambda: model(x)


def time_all(runners: list[Callable[[], object]], device: str, warmup: int, repeats: int,
             rounds: int = 3, statistic: str = DEFAULT_STATISTIC) -> list[Timing]:
    """`measure_many` without autograd."""
    with torch.inference_mode():
        return measure_many(runners, device, warmup, repeats, rounds, statistic)


class threads_set:
    """Context manager: torch intra-op threads set to `n` (None: unchanged), restored on exit."""

    def __init__(self, n: int | None) -> None:
        self.n, self.old = n, torch.get_num_threads()

    def __enter__(self) -> int:
        if self.n is not None:
            torch.set_num_threads(self.n)
        return torch.get_num_threads()

    def __exit__(self, *exc: object) -> None:
        torch.set_num_threads(self.old)



def parse_cpus(text: str) -> frozenset[int]:
    """CPU cores from '1', '0,2' or '2-3'; raises LatencyError naming the cores this process may use."""
    allowed = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    try:
        cpus: set[int] = set()
        for part in str(text).split(","):
            low, _, high = part.strip().partition("-")
            cpus.update(range(int(low), int(high or low) + 1))
    except ValueError:
        raise LatencyError(f"--pin-cpu {text!r}: give cores such as 1, 0,2 or 2-3") from None
    if not allowed:
        raise LatencyError("--pin-cpu needs CPU affinity, which this platform does not offer (Linux does)")
    if not cpus or not cpus <= set(allowed):
        raise LatencyError(f"--pin-cpu {text!r}: this process may run on cores {allowed}")
    return frozenset(cpus)


class pinned:
    """Context manager: this process runs only on `cpus` (None: unchanged), restored on exit.

    Pinning keeps the timed code on one core's caches and off the cores other work is scheduled on. On the
    shared 2-core machine here, a torch table built and validated pinned to one core (6 rounds) predicted
    within 3.2% MAPE, unpinned (3 rounds) within 6.3% (results/benchmarks/latency_backends/).
    """

    def __init__(self, cpus: frozenset[int] | None) -> None:
        self.cpus = cpus
        self.old: set[int] | None = None

    def __enter__(self) -> None:
        if self.cpus is not None:
            self.old = os.sched_getaffinity(0)
            os.sched_setaffinity(0, self.cpus)

    def __exit__(self, *exc: object) -> None:
        if self.old is not None:
            os.sched_setaffinity(0, self.old)
