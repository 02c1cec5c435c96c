"""Arch: an immutable, hashable point of a search space, with a stable id and a JSON form."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Mapping


class FrozenDict(dict):
    """A read-only, hashable dict (values are themselves frozen); a dict subclass so lookups stay fast."""

    __slots__ = ("_hash",)

    def __hash__(self) -> int:  # type: ignore[override]
        try:
            return self._hash
        except AttributeError:
            self._hash = hash(tuple(sorted(self.items())))
            return self._hash

    def _readonly(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError("FrozenDict is read-only; build a new dict instead")

    __setitem__ = __delitem__ = update = pop = popitem = clear = setdefault = __ior__ = _readonly  # type: ignore

    def __repr__(self) -> str:
        return f"FrozenDict({dict.__repr__(self)})"


def freeze(value: Any) -> Any:
    """Recursively turn dicts into FrozenDicts and lists into tuples."""
    if isinstance(value, Mapping):
        return FrozenDict({k: freeze(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(freeze(v) for v in value)
    return value


def thaw(value: Any) -> Any:
    """Inverse of `freeze`: plain dicts and lists, ready for JSON."""
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return [thaw(v) for v in value]
    return value


@dataclass(frozen=True)
class Arch:
    """A canonical architecture of the space named `space`; `genes` is the space-specific frozen structure.

    Spaces only hand out canonical Archs, so structural equality is network equality and `id` is stable.
    """

    space: str
    genes: FrozenDict = field(compare=True)

    @property
    def id(self) -> str:
        """12 hex digits of a SHA-1 over the space name and canonical genes."""
        cached = self.__dict__.get("_id")
        if cached is None:
            text = json.dumps({"space": self.space, "genes": thaw(self.genes)}, sort_keys=True)
            cached = hashlib.sha1(text.encode()).hexdigest()[:12]
            object.__setattr__(self, "_id", cached)
        return cached

    def gene(self, path: str) -> Any:
        """The gene at a dotted path of keys and list indices, e.g. 'ops.3' (NAS-Bench-201's edge 0->3);
        KeyError naming the path when the genes have no such entry."""
        value: Any = self.genes
        for part in path.split("."):
            try:
                value = value[int(part)] if isinstance(value, tuple) else value[part]
            except (KeyError, IndexError, ValueError, TypeError):
                raise KeyError(f"{self.space} genes have no entry {path!r}") from None
        return value

    def to_dict(self) -> dict[str, Any]:
        return {"space": self.space, "genes": thaw(self.genes)}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Arch":
        """Rebuild from `to_dict` output (use `Space.parse` to also validate and canonicalise)."""
        return cls(str(data["space"]), freeze(data["genes"]))

    @classmethod
    def from_json(cls, text: str) -> "Arch":
        return cls.from_dict(json.loads(text))
