"""Module constructor calls as data: the builder instantiates them, the exporter prints them as source.

Keeping one description of "which module with which arguments" guarantees that an exported model.py
builds exactly what `Space.build` builds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from torch import nn

from . import modules


@dataclass(frozen=True, slots=True)
class Call:
    """`name(*args, **kwargs)` where `name` is a class in `hybridnas.models.modules`; args may be Calls."""

    name: str
    args: tuple[Any, ...] = ()
    kwargs: tuple[tuple[str, Any], ...] = ()

    @classmethod
    def of(cls, name: str, *args: Any, **kwargs: Any) -> "Call":
        """A call with positional and keyword arguments (keyword order kept)."""
        return cls(name, args, tuple(kwargs.items()))

    def instantiate(self) -> nn.Module:
        """Build the module this call describes."""
        resolve = lambda v: v.instantiate() if isinstance(v, Call) else v  # noqa: E731
        return getattr(modules, self.name)(*map(resolve, self.args), **{k: resolve(v) for k, v in self.kwargs})

    def names(self) -> set[str]:
        """Every module class name this call (and its nested calls) uses."""
        found = {self.name}
        for value in (*self.args, *(v for _, v in self.kwargs)):
            if isinstance(value, Call):
                found |= value.names()
        return found
