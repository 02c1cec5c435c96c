"""Analytic cost of an architecture graph: MACs, parameters and activation elements, without building it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache

from .layers import LayerSpec, Shape
from .plan import LayerPlan


@dataclass(frozen=True, slots=True)
class Cost:
    """Exact cost at batch size 1.

    macs: multiply-accumulates of convolutions, linear layers and attention matmuls (bias adds, norms,
        activations, softmax, pooling and residual adds are not counted) = FlopCounterMode FLOPs / 2.
    params: learnable parameters (buffers such as BatchNorm running statistics excluded).
    activations: output elements of every graph node (block granularity), a proxy for activation memory.
    """

    macs: int
    params: int
    activations: int

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@lru_cache(maxsize=1 << 16)
def layer_cost(spec: LayerSpec, in_shape: Shape) -> tuple[int, int]:
    """(MACs, params) of one layer; memoised, since a space's archs share most of their layers."""
    return spec.macs(in_shape), spec.params()


def plan_cost(plan: LayerPlan) -> Cost:
    """Sum the per-layer analytic costs over a plan."""
    macs = params = acts = 0
    for node in plan.nodes:
        layer_macs, layer_params = layer_cost(node.spec, node.in_shape)
        macs += layer_macs
        params += layer_params
        c, h, w = node.out_shape
        acts += c * h * w
    return Cost(macs, params, acts)
