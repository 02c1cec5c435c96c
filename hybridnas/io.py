"""Atomic file writes: write a temporary file beside the target, then os.replace (never half-written)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write `text` to `path` atomically and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files; give the usual permissions
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_csv(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a DataFrame as CSV atomically."""
    return atomic_write_text(path, frame.to_csv(index=False))


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
