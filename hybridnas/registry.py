"""Name -> object registries (mixers, proxies, samplers, spaces), timm-style: one decorator to add an entry."""

from __future__ import annotations

import fnmatch
import warnings
from typing import Callable, Generic, Iterator, TypeVar

from .errors import RegistryError

T = TypeVar("T")


class Registry(Generic[T]):
    """A named collection; `register` is a decorator, `get` takes a name or the object itself."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator that adds an entry under `name`; re-registering a taken name warns and replaces it."""

        def deco(obj: T) -> T:
            if name in self._entries and self._entries[name] is not obj:
                warnings.warn(f"{self.kind} {name!r} was already registered; replacing it", stacklevel=2)
            self._entries[name] = obj
            return obj

        return deco

    def get(self, name_or_obj: str | T) -> T:
        """Resolve a registered name; a non-string is returned unchanged so Python users can pass objects."""
        if not isinstance(name_or_obj, str):
            return name_or_obj
        try:
            return self._entries[name_or_obj]
        except KeyError:
            raise RegistryError(
                f"unknown {self.kind} {name_or_obj!r}; registered: {', '.join(sorted(self._entries))}. "
                f"Check the spelling or register one with @register_{self.kind.replace(' ', '_')}."
            ) from None

    def list(self, pattern: str = "*") -> list[str]:
        """Registered names matching a shell-style pattern, sorted."""
        return sorted(n for n in self._entries if fnmatch.fnmatch(n, pattern))

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.list())
