"""The space auto-scaling grows in: the declared space, with `scalable: true` depths and widths extended."""

from __future__ import annotations

import math
from functools import reduce

from ..errors import HybridNASError
from ..spaces import Space
from ..spaces.values import Param

GROWTH_LIMIT = 4  # a scalable dimension may grow to this many times its largest declared value


def _extend(param: Param, limit: float) -> Param:
    """Continue a scalable integer Param's values up to `limit` with its own step (the gcd of its values)."""
    values = sorted(param.values)
    step = reduce(math.gcd, [int(v) for v in values]) if len(values) == 1 else reduce(
        math.gcd, [int(b - a) for a, b in zip(values, values[1:])])
    step = max(step, 1)
    more = range(values[-1] + step, int(limit) + 1, step)
    return Param(tuple(values) + tuple(more), True)


def scaled_space(space: Space) -> Space:
    """A copy of a metaformer space whose scalable depths and widths may grow GROWTH_LIMIT times further.

    The copy keeps the space's name, so its architectures are those of the space plus larger ones;
    the declared space (what search samples) is unchanged. Widths no heads choice divides are dropped
    when the space requires heads to divide widths.
    """
    from ..spaces.metaformer import MetaFormerSpace

    if not isinstance(space, MetaFormerSpace):
        raise HybridNASError(f"auto-scaling grows metaformer spaces; {space.name!r} is a {space.type_name} space "
                             "with a fixed skeleton")
    stages = []
    for stage in space.config.stages:
        update = {}
        if stage.depth.scalable:
            update["depth"] = _extend(stage.depth, GROWTH_LIMIT * max(stage.depth.values))
        if stage.width.scalable:
            width = _extend(stage.width, GROWTH_LIMIT * max(stage.width.values))
            if space.config.constraints.heads_divide_width:
                width = Param(tuple(w for w in width.values if w in stage.width.values
                                    or any(w % h == 0 for h in stage.heads.values)), True)
            update["width"] = width
        stages.append(stage.model_copy(update=update))
    config = space.config.model_copy(update={"stages": stages})
    return MetaFormerSpace(config, space.source)


def scalable_dims(space: Space) -> list[str]:
    """Names of the dimensions that may grow past their declared values, e.g. ['stages[2].depth']."""
    out = []
    for i, stage in enumerate(getattr(space.config, "stages", [])):
        out += [f"stages[{i}].{dim}" for dim in ("depth", "width") if getattr(stage, dim).scalable]
    return out
