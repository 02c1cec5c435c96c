"""The space auto-scaling grows in: the declared space, with `scalable: true` depths and widths extended."""

from __future__ import annotations

from ..spaces import Space
from ..spaces.protocol import ScalableSpace, require_protocol

GROWTH_LIMIT = 4  # a scalable dimension may grow to this many times its largest declared value


def scaled_space(space: Space) -> Space:
    """A copy of `space` whose scalable depths and widths may grow GROWTH_LIMIT times further.

    The copy keeps the space's name, so its architectures are those of the space plus larger ones; the
    declared space (what search samples) is unchanged. The space must implement `ScalableSpace`.
    """
    require_protocol(space, ScalableSpace, "auto-scaling", "a space with a fixed skeleton has nothing to grow")
    return space.grown(GROWTH_LIMIT)


def scalable_dims(space: Space) -> list[str]:
    """Names of the dimensions that may grow past their declared values, e.g. ['stages[2].depth']."""
    return space.scalable_dims() if isinstance(space, ScalableSpace) else []
