"""Weight sharing for spaces that pick one op per position (NAS-Bench-201's edges, NAS-Bench-Macro's layers).

Every position that holds a parametric op gets one slot per op ("one-shot" weight sharing, as in SPOS and
the NAS-Bench-201 paper's weight-sharing baselines): a subnet's layer at that position reads the slot of
the op it picked, whole (no slicing). Layers outside the choices (stem, reductions, head) have one slot.

A space mixes in `ChoiceSlots` and says, per layer name, which op the layer runs (`_choice_of`), and which
architectures together contain every (position, op) layer (`_covering_archs`: one per op, every position
set to that op).
"""

from __future__ import annotations

from typing import Callable, Iterable

from ..errors import HybridNASError
from ..ir import LayerSpec
from .arch import Arch


class ChoiceSlots:
    """WeightSharingSpace (protocol.py) for a space whose architecture is one op choice per position."""

    def _covering_archs(self) -> list[Arch]:
        """Architectures that together hold a layer for every (position, op) pair of the space."""
        raise NotImplementedError

    def _choice_of(self, arch: Arch, node: str) -> str | None:
        """The op name the layer `node` of `arch` runs, or None for a layer outside the choices."""
        raise NotImplementedError

    def supernet_slots(self) -> Iterable[tuple[str, LayerSpec]]:
        """(slot key, layer spec) for every parametric layer of every (position, op) pair, and the fixed layers."""
        seen: dict[str, LayerSpec] = {}
        for arch in self._covering_archs():
            for node in self.plan(arch).nodes:
                if node.spec.params() == 0:
                    continue
                key = self.slot_of(arch, node.name)
                if seen.setdefault(key, node.spec) != node.spec:
                    raise HybridNASError(f"space {self.name!r}: slot {key} holds two layer specs: {seen[key]} and "
                                         f"{node.spec}")
        return list(seen.items())

    def slot_of(self, arch: Arch, node: str) -> str:
        """`node__op` for a layer at a choice position, else the layer's own name."""
        op = self._choice_of(arch, node)
        return node if op is None else f"{node}__{op}"

    def extreme_arch(self, pick: Callable) -> Arch:
        """The architecture with the `pick` (max or min) MACs.

        Exact among the covering architectures: at every position the ops rank the same by MACs (the
        position's shapes do not depend on the choice) and MACs add, so setting every position to the
        most (least) costly op gives the extreme. A 'none' op, which also cuts what it feeds, only
        lowers MACs further, and the all-'none' cell is among the covering architectures.
        """
        return pick(self._covering_archs(), key=lambda a: self.cost(a).macs)
