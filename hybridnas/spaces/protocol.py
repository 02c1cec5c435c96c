"""Public protocols a space implements to take part in weight sharing and auto-scaling.

A supernet or the scaler accepts any `Space` that implements the protocol it needs, and refuses one that
does not with an error naming the methods it lacks. `MetaFormerSpace` implements both.
"""

from __future__ import annotations

from typing import Callable, Iterable, Protocol, runtime_checkable

from ..errors import HybridNASError
from ..ir import LayerSpec
from .arch import Arch


@runtime_checkable
class WeightSharingSpace(Protocol):
    """A space whose networks share one set of weights: every slot, and which slot a layer reads."""

    def supernet_slots(self) -> Iterable[tuple[str, LayerSpec]]:
        """(slot key, largest layer spec) for every weight slot; smaller layers take leading slices."""

    def slot_of(self, arch: Arch, node: str) -> str:
        """The slot key the layer `node` of `arch`'s plan takes its weights from."""

    def extreme_arch(self, pick: Callable) -> Arch:
        """The architecture with the largest (`pick=max`) or smallest (`pick=min`) MACs."""


@runtime_checkable
class ScalableSpace(Protocol):
    """A space whose `scalable: true` dimensions may grow past their declared values."""

    def scalable_dims(self) -> list[str]:
        """Names of the dimensions that may grow, e.g. ['stages[2].depth']."""

    def grown(self, limit: float) -> "ScalableSpace":
        """A copy whose scalable dimensions reach `limit` times their largest declared value."""

    def heads_for(self, stage: int, width: int) -> tuple[int, ...]:
        """The head counts allowed at `width` in `stage` (empty where the stage has no attention)."""

    def from_genes(self, genes: dict) -> Arch:
        """The canonical, validated architecture of `genes` (a HybridNASError if the space refuses it)."""


def require_protocol(space: object, protocol: type, purpose: str, hint: str = "") -> None:
    """A HybridNASError naming the methods `space` lacks for `purpose` (then `hint`), unless it has them all."""
    missing = [name for name in _methods(protocol) if not callable(getattr(space, name, None))]
    if missing:
        kind = getattr(space, "type_name", type(space).__name__)
        name = getattr(space, "name", "?")
        raise HybridNASError(f"{purpose} needs a space implementing {protocol.__name__}; {name!r} ({kind}) lacks "
                             f"{', '.join(missing)}" + (f": {hint}" if hint else ""))


def _methods(protocol: type) -> list[str]:
    return sorted(n for n, v in vars(protocol).items() if callable(v) and not n.startswith("_"))
