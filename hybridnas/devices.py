"""The one place that checks whether a device a user names exists on this machine."""

from __future__ import annotations

import re
from contextlib import contextmanager
from typing import Iterator

import torch

from .errors import HybridNASError


DEVICE_PATTERN = r"^(cpu|cuda(:[0-9]+)?)$"  # what a config's device field may hold
DEVICE_HELP = "use 'cpu' or 'cuda' (or 'cuda:N')"


def device_name(value: str) -> str:
    """`value` if it names a device kind (cpu, cuda, cuda:N); a ValueError saying what is allowed otherwise (for
    config models; whether this machine has it is `require_device`'s check)."""
    if not isinstance(value, str) or not re.match(DEVICE_PATTERN, value):
        raise ValueError(DEVICE_HELP)
    return value


def require_device(device: str, error: type[HybridNASError] = HybridNASError) -> torch.device:
    """`device` as a torch.device; `error` if it is not 'cpu' or 'cuda[:N]', or names a GPU torch cannot see."""
    if not re.match(DEVICE_PATTERN, device):
        raise error(f"device {device!r}: {DEVICE_HELP}")
    if device == "cpu":
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise error(f"device {device!r} asked for, but torch sees no CUDA device here; use 'cpu'")
    parsed = torch.device(device)
    if parsed.index is not None and parsed.index >= torch.cuda.device_count():
        raise error(f"device {device!r}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    return parsed


@contextmanager
def full_float32() -> Iterator[None]:
    """CUDA convolutions and matmuls in IEEE float32 (no TF32) inside the block; the settings come back after.

    cuDNN convolutions default to TF32 (10-bit mantissa) on Ampere and later; sign patterns and small
    eigenvalues that proxies read would move with it.
    """
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved
