"""Cost proxies: the analytic parameter and MAC counts (bigger networks tend to train to higher accuracy)."""

from __future__ import annotations

from .context import ProxyContext, ProxyError
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
