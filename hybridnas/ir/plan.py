"""The architecture graph: concrete layers with input/output shapes, the one source of shapes.

`LayerPlan` is the graph in topological order (fast to walk); `to_networkx` gives the same graph as a
`networkx.DiGraph` for users, export and analysis. The cost model and the builder read the plan.
"""

from __future__ import annotations

from typing import NamedTuple

import networkx as nx

from .layers import LayerSpec, Shape

INPUT = "input"


class Node(NamedTuple):
    """One layer: its spec, the names of the nodes it reads (summed if several), and its shapes."""

    name: str
    spec: LayerSpec
    inputs: tuple[str, ...]
    in_shape: Shape
    out_shape: Shape


class LayerPlan:
    """Append-only builder of a topologically ordered layer graph that tracks shapes."""

    __slots__ = ("nodes", "_shapes", "last")

    def __init__(self, input_shape: Shape) -> None:
        self.nodes: list[Node] = []
        self._shapes: dict[str, Shape] = {INPUT: input_shape}
        self.last = INPUT

    def add(self, name: str, spec: LayerSpec, inputs: tuple[str, ...] | None = None) -> str:
        """Add a node reading `inputs` (default: the last node added) and return its name."""
        inputs = inputs or (self.last,)
        in_shape = self._shapes[inputs[0]]
        out_shape = spec.out_shape(in_shape)
        self.nodes.append(Node(name, spec, inputs, in_shape, out_shape))
        self._shapes[name] = out_shape
        self.last = name
        return name

    def shape(self, name: str) -> Shape:
        return self._shapes[name]


def to_networkx(plan: LayerPlan, input_shape: Shape) -> nx.DiGraph:
    """The plan as a DiGraph; node attributes: spec, kind, in_shape, out_shape."""
    graph = nx.DiGraph()
    graph.add_node(INPUT, spec=None, kind="input", in_shape=input_shape, out_shape=input_shape)
    for node in plan.nodes:
        graph.add_node(node.name, spec=node.spec, kind=node.spec.kind, in_shape=node.in_shape,
                       out_shape=node.out_shape)
        graph.add_edges_from((src, node.name) for src in node.inputs)
    graph.graph["output"] = plan.last
    return graph
