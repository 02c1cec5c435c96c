"""The one place that checks whether a device a user names exists on this machine."""

from __future__ import annotations

import torch

from .errors import HybridNASError


def require_device(device: str, error: type[HybridNASError] = HybridNASError) -> torch.device:
    """`device` as a torch.device; `error` if it is not 'cpu' or 'cuda[:N]', or names a GPU torch cannot see."""
    if device != "cpu" and not device.startswith("cuda"):
        raise error(f"device {device!r}: use 'cpu' or 'cuda' (or 'cuda:N')")
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise error(f"device {device!r} asked for, but torch sees no CUDA device here; use 'cpu'")
        try:
            parsed = torch.device(device)
        except RuntimeError:
            raise error(f"device {device!r}: use 'cuda' or 'cuda:N'") from None
        if parsed.index is not None and parsed.index >= torch.cuda.device_count():
            raise error(f"device {device!r}: this machine has {torch.cuda.device_count()} CUDA device(s)")
        return parsed
    return torch.device("cpu")
