"""Build a static nn.Module from a layer plan: one submodule per graph node, executed in topological order."""

from __future__ import annotations

import torch
from torch import nn

from ..spaces.graph import INPUT, LayerPlan


class GraphNet(nn.Module):
    """A network that runs a fixed DAG; node outputs are freed after their last use to save memory.

    Parameter names are `layers.<node name>.<...>`, the same names exported model files use.
    """

    def __init__(self, plan: LayerPlan) -> None:
        super().__init__()
        self.layers = nn.ModuleDict()
        steps = []
        for node in plan.nodes:
            module = node.spec.build()
            if module is not None:
                self.layers[node.name] = module
            steps.append((node.name, node.inputs, module is not None))
        last_use: dict[str, int] = {}
        for i, (_, inputs, _) in enumerate(steps):
            for src in inputs:
                last_use[src] = i
        self._steps = [(name, inputs, has_module, tuple(s for s in inputs if last_use[s] == i))
                       for i, (name, inputs, has_module) in enumerate(steps)]
        self._output = plan.last

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._run(x, ())[0]

    def forward_features(self, x: torch.Tensor, names: tuple[str, ...]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Logits and the outputs of the named graph nodes (e.g. block outputs for proxies)."""
        return self._run(x, names)

    def _run(self, x: torch.Tensor, keep: tuple[str, ...]) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        values = {INPUT: x}
        kept = {}
        for name, inputs, has_module, free in self._steps:
            h = values[inputs[0]]
            for src in inputs[1:]:
                h = h + values[src]
            values[name] = self.layers[name](h) if has_module else h
            if name in keep:
                kept[name] = values[name]
            for src in free:
                del values[src]
        return values[self._output].flatten(1), kept
