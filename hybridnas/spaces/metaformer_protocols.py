"""MetaFormer's implementation of the public space protocols (protocol.py): weight sharing and scaling.

Here, in the space's package, so nothing outside `spaces/` reads the space's private layout methods or
parses its node names: a supernet asks for slots, the scaler for a grown copy.
"""

from __future__ import annotations

import itertools
import math
from functools import reduce
from typing import TYPE_CHECKING, Callable, Iterable

from ..errors import HybridNASError
from ..ir import LayerSpec
from .arch import Arch
from .schema import PatchStem
from .values import Param

if TYPE_CHECKING:
    from .metaformer import MetaFormerSpace


def supernet_slots(sp: "MetaFormerSpace") -> Iterable[tuple[str, LayerSpec]]:
    """(slot key, largest layer spec) for every weight slot a supernet of `sp` holds."""
    cfg = sp.config
    widths = [max(s.config.width.values) for s in sp.stages]
    if isinstance(cfg.stem, PatchStem):
        stem_widths = (max(cfg.stem.width.values),) if cfg.stem.width else (widths[0],)
        for patch in cfg.stem.patch_size.values:
            (_, spec), = sp._stem_layers({"width": stem_widths[0], "patch": patch}, widths[0])
            yield f"stem__p{patch}", spec
        channels = stem_widths[0]
    else:
        stem_width = max(cfg.stem.width.values)
        for name, spec in sp._stem_layers({"width": stem_width, "patch": None}, widths[0]):
            yield name, spec
        channels = stem_width
    for i, rules in enumerate(sp.stages):
        down = sp._down_layer(i, channels, widths[i])
        if down is not None:
            yield f"s{i}_down", down
        depth = max(len(slots) for _, _, slots in rules.options)
        biggest = {"mlp_ratio": max(rules.config.mlp_ratio.values), "kernel": max(rules.config.kernel.values)}
        heads = sp._dim_values(i, "heads", widths[i])
        for j, mixer in itertools.product(range(depth), rules.mixers):
            if mixer == "identity":
                continue
            block = {"mixer": mixer, "heads": heads[0] if heads else None, **biggest}
            if not rules.uses(mixer, "kernel"):
                block["kernel"] = None
            if not rules.uses(mixer, "heads"):
                block["heads"] = None
            if not rules.uses(mixer, "mlp_ratio"):
                block["mlp_ratio"] = None
            yield f"s{i}_b{j}__{mixer}", sp._block_layer(widths[i], block)
        channels = widths[i]
    yield "head", sp._head_layer(channels)


def slot_of(arch: Arch, node: str) -> str:
    """The slot a subnet's layer `node` takes its weights from (blocks: one slot per position and mixer)."""
    if node == "stem" and arch.genes["stem"]["patch"] is not None:
        return f"stem__p{arch.genes['stem']['patch']}"
    if "_b" in node and node.startswith("s"):
        i, j = (int(v) for v in node[1:].split("_b"))
        return f"{node}__{arch.genes['stages'][i]['blocks'][j]['mixer']}"
    return node


def extreme_arch(space: "MetaFormerSpace", pick: Callable) -> Arch:
    """The architecture with the `pick` (max or min) MACs, built stage by stage."""
    cfg = space.config
    stem = {"width": pick(cfg.stem.width.values) if cfg.stem.width is not None else None,
            "patch": pick(cfg.stem.patch_size.values, key=lambda p: -p) if isinstance(cfg.stem, PatchStem) else None}
    base = space.sample(0)
    genes = {"stem": stem, "stages": [dict(s) for s in base.genes["stages"]]}
    for i, rules in enumerate(space.stages):
        width = pick(rules.config.width.values)
        options = []
        for _, _, slots in rules.options:
            for mixers in itertools.product(*[sorted(s) for s in slots]):
                if len(options) > 512:
                    break
                options.append([m for m in mixers if m != "identity"])
        candidates = []
        for mixers in options:
            for values in itertools.product(*[(pick(space._dim_values(i, d, width)),) for d in
                                              ("mlp_ratio", "heads", "kernel")]):
                blocks = [{"mixer": m, **{d: (v if rules.uses(m, d) else None)
                                          for d, v in zip(("mlp_ratio", "heads", "kernel"), values)}} for m in mixers]
                trial = {"stem": genes["stem"], "stages": [*genes["stages"][:i], {"width": width, "blocks": blocks},
                                                          *genes["stages"][i + 1:]]}
                try:
                    arch = space._arch(trial)
                except HybridNASError:
                    continue
                candidates.append((space.cost(arch).macs, arch))
        genes["stages"][i] = dict(pick(candidates, key=lambda c: c[0])[1].genes["stages"][i])
    return space._arch(genes)


def _extend(param: Param, limit: float) -> Param:
    """Continue a scalable integer Param's values up to `limit` with its own step (the gcd of its values)."""
    values = sorted(param.values)
    step = reduce(math.gcd, [int(v) for v in values]) if len(values) == 1 else reduce(
        math.gcd, [int(b - a) for a, b in zip(values, values[1:])])
    step = max(step, 1)
    more = range(values[-1] + step, int(limit) + 1, step)
    return Param(tuple(values) + tuple(more), True)


class MetaFormerProtocols:
    """WeightSharingSpace and ScalableSpace for MetaFormerSpace (a mixin; see protocol.py)."""

    def supernet_slots(self) -> Iterable[tuple[str, LayerSpec]]:
        """(slot key, largest layer spec) for every weight slot a supernet of this space holds."""
        return supernet_slots(self)

    def slot_of(self, arch: Arch, node: str) -> str:
        """The slot key the layer `node` of `arch`'s plan takes its weights from."""
        return slot_of(arch, node)

    def extreme_arch(self, pick: Callable) -> Arch:
        """The architecture with the largest (`pick=max`) or smallest (`pick=min`) MACs."""
        return extreme_arch(self, pick)

    def scalable_dims(self) -> list[str]:
        """Names of the dimensions that may grow past their declared values, e.g. ['stages[2].depth']."""
        return [f"stages[{i}].{dim}" for i, stage in enumerate(self.config.stages) for dim in ("depth", "width")
                if getattr(stage, dim).scalable]

    def grown(self, limit: float) -> "MetaFormerSpace":
        """A copy whose scalable depths and widths reach `limit` times their largest declared value.

        The copy keeps the space's name, so its architectures are those of the space plus larger ones.
        Widths no heads choice divides are dropped when the space requires heads to divide widths.
        """
        stages = []
        for stage in self.config.stages:
            update = {}
            if stage.depth.scalable:
                update["depth"] = _extend(stage.depth, limit * max(stage.depth.values))
            if stage.width.scalable:
                width = _extend(stage.width, limit * max(stage.width.values))
                if self.config.constraints.heads_divide_width:
                    width = Param(tuple(w for w in width.values if w in stage.width.values
                                        or any(w % h == 0 for h in stage.heads.values)), True)
                update["width"] = width
            stages.append(stage.model_copy(update=update))
        return type(self)(self.config.model_copy(update={"stages": stages}), self.source)
