"""Build the static network of a layer plan: one module per graph node, run by `modules.GraphNet`."""

from __future__ import annotations

from ..spaces.graph import LayerPlan
from .modules import GraphNet


def build_plan(plan: LayerPlan) -> GraphNet:
    """A freshly initialised GraphNet that runs `plan` (parameter names `layers.<node>.<...>`)."""
    return GraphNet([(node.name, node.inputs, node.spec.build()) for node in plan.nodes], plan.last)
