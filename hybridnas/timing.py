"""Where a long command's time went: wall seconds per named phase, for the one line it ends with."""

from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Iterable, Iterator, TypeVar

T = TypeVar("T")
_DONE = object()


class PhaseClock:
    """Wall seconds per phase since the clock started; what no phase claimed is reported as `other`."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.seconds: dict[str, float] = {}

    def add(self, name: str, seconds: float) -> None:
        """Count `seconds` more against phase `name`."""
        self.seconds[name] = self.seconds.get(name, 0.0) + seconds

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Time the block as phase `name`."""
        begin = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - begin)

    def timed(self, name: str, items: Iterable[T]) -> Iterator[T]:
        """`items`, counting the wait for each one against phase `name` (not the caller's work between them)."""
        iterator = iter(items)
        while True:
            with self.phase(name):
                item = next(iterator, _DONE)
            if item is _DONE:
                return
            yield item

    def summary(self) -> str:
        """'time: 51.2 s (reference sample 9.1 s, evaluation 38.0 s, other 4.1 s)'; phases under 0.05 s left out."""
        total = time.perf_counter() - self.start
        parts = [(name, s) for name, s in self.seconds.items() if s >= 0.05]
        other = total - sum(self.seconds.values())
        if other >= 0.05:
            parts.append(("other", other))
        return f"time: {total:.1f} s (" + ", ".join(f"{name} {s:.1f} s" for name, s in parts) + ")"
