"""Analytic cost of an architecture graph: MACs, parameters and activation elements, without building it."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from .graph import LayerPlan


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


def plan_cost(plan: LayerPlan) -> Cost:
    """Sum the per-layer analytic costs over a plan."""
    macs = params = acts = 0
    for node in plan.nodes:
        spec = node.spec
        macs += spec.macs(node.in_shape)
        params += spec.params()
        c, h, w = node.out_shape
        acts += c * h * w
    return Cost(macs, params, acts)
