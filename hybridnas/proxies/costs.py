"""Cost proxies: the analytic parameter and MAC counts (bigger networks tend to train to higher accuracy)."""

from __future__ import annotations

from .context import ProxyContext, ProxyError, prunable_layers
from .registry import register_proxy


@register_proxy("params", paper="baseline (Abdelfattah et al., ICLR 2021)", needs_data=False)
def params(ctx: ProxyContext) -> float:
    """Learnable parameters (analytic cost model; counted on the module for a bare network)."""
    if ctx.cost is not None:
        return float(ctx.cost.params)
    return float(sum(p.numel() for p in ctx.model.parameters()))


@register_proxy("macs", paper="baseline (Abdelfattah et al., ICLR 2021)", needs_data=False)
def macs(ctx: ProxyContext) -> float:
    """Multiply-accumulates (analytic cost model)."""
    if ctx.cost is None:
        raise ProxyError("macs needs an architecture of a space (the analytic cost model)")
    return float(ctx.cost.macs)


@register_proxy("trainable_layers", needs_data=False, paper="baseline (Týbl & Neumann, CVPR 2025: the count of layers)")
def trainable_layers(ctx: ProxyContext) -> float:
    """Number of conv and linear layers in the built network."""
    return float(len(prunable_layers(ctx.model)))
