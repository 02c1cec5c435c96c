"""Naive scaling baselines at a MACs target: compound (EfficientNet), depth-only and width-only."""

from __future__ import annotations

import copy

import numpy as np

from ..errors import HybridNASError
from ..spaces import Arch, Space
from .grow import _valid, _with_width
from .space import scaled_space

EFFICIENTNET_ALPHA, EFFICIENTNET_BETA = 1.2, 1.1  # depth and width bases of compound scaling (Tan & Le, 2019)


def multiply(space: Space, arch: Arch, depth: float, width: float) -> Arch | None:
    """Every stage's depth times `depth` (repeating its first block) and width times `width` (nearest
    allowed value of the scaled space); None if the result is not in the space."""
    grown = scaled_space(space)
    genes = {"stem": dict(arch.genes["stem"]),
             "stages": [{"width": s["width"], "blocks": [dict(b) for b in s["blocks"]]} for s in arch.genes["stages"]]}
    for i, stage in enumerate(genes["stages"]):
        blocks = stage["blocks"]
        extra = max(0, int(round(len(blocks) * depth)) - len(blocks))
        stage["blocks"] = [dict(blocks[0]) for _ in range(extra)] + blocks
        allowed = np.array(grown.stages[i].config.width.values)
        target = stage["width"] * width
        _with_width(grown, genes, i, int(allowed[np.argmin(np.abs(allowed - target))]))
    return grown.from_genes(genes) if _valid(grown, copy.deepcopy(genes)) else None


def scale_to(space: Space, arch: Arch, target_macs: float, mode: str) -> Arch:
    """The baseline of `mode` ('compound', 'depth', 'width') whose MACs are closest to `target_macs`."""
    grown = scaled_space(space)
    best, gap = None, np.inf
    for phi in np.linspace(0, 8, 161):
        depth = {"compound": EFFICIENTNET_ALPHA ** phi, "depth": 1 + phi, "width": 1.0}[mode]
        width = {"compound": EFFICIENTNET_BETA ** phi, "depth": 1.0, "width": 1 + phi / 2}[mode]
        candidate = multiply(space, arch, depth, width)
        if candidate is None:
            continue
        distance = abs(np.log(grown.cost(candidate).macs / target_macs))
        if distance < gap:
            best, gap = candidate, distance
    if best is None:
        raise HybridNASError(f"no {mode} scaling of {space.format(arch)} is in the space")
    return best
