"""Module constructor calls as data: `models.instantiate` builds them, the exporter prints them as source.

Keeping one description of "which module with which arguments" guarantees that an exported model.py
builds exactly what `Space.build` builds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


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

    def names(self) -> set[str]:
        """Every module class name this call (and its nested calls) uses."""
        found = {self.name}
        for value in (*self.args, *(v for _, v in self.kwargs)):
            if isinstance(value, Call):
                found |= value.names()
        return found
