"""NAS-Bench-201 (Dong & Yang, 2020): one cell, a 4-node DAG with 6 edges and 5 ops, stacked in a fixed skeleton.

Skeleton: 3x3 conv stem (C=16) + BN; three stages of N=5 cells at C, 2C, 4C separated by ResNet basic
blocks with stride 2; BN + ReLU, global average pooling, linear classifier.

Canonical form. A cell computes node j = sum over i < j of op_ij(node_i). Two cells are the same network
when their output node has the same expression, where `skip_connect` is the identity, `none` is zero,
sums are commutative, and an op applied to a zero input contributes nothing. This collapses cells with
disconnected edges, ops that cannot reach the output, and mirror-image nodes. The canonical cell of a
class is the member with the most `none` edges (so no dead op is ever built), then the smallest op
indices in the benchmark's op order.
"""

from __future__ import annotations

import itertools
import re
from functools import cached_property
from typing import Any

import networkx as nx
import numpy as np

from ..errors import ArchError
from ..ir import layers as L
from .arch import Arch
from .base import Space, register_space_type
from .choice_protocols import ChoiceSlots
from ..ir.plan import LayerPlan
from .schema import NB201Config

# Edge order of the benchmark's cell string |op~0|+|op~0|op~1|+|op~0|op~1|op~2|: (to, from)
EDGES = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))
_CELL = re.compile(r"^\|([a-z0-9_]+)~0\|\+\|([a-z0-9_]+)~0\|([a-z0-9_]+)~1\|\+"
                   r"\|([a-z0-9_]+)~0\|([a-z0-9_]+)~1\|([a-z0-9_]+)~2\|$")
_EDGE_NODE = re.compile(r"^c\d+_\d+_e(\d)(\d)$")  # the layer on cell edge src -> to
_BLOCK_NODE = re.compile(r"^(stem|reduce\d+|c\d+_\d+_n3)$")  # a block output: stem, cell output, reduction
EXAMPLE = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"


def cell_expression(ops: tuple[str, ...]) -> tuple:
    """The output node's expression: a sorted tuple of terms; a term is ('x', ()) or (op, sub-expression)."""
    exprs: dict[int, tuple] = {0: (("x", ()),)}
    for node in (1, 2, 3):
        terms: list[tuple] = []
        for (to, src), op in zip(EDGES, ops):
            if to != node or op == "none" or not exprs[src]:
                continue
            terms.extend(exprs[src] if op == "skip_connect" else [(op, exprs[src])])
        exprs[node] = tuple(sorted(terms))
    return exprs[3]


@register_space_type("nasbench201")
class NASBench201Space(ChoiceSlots, Space):
    """The NAS-Bench-201 cell space; `parse` reads the benchmark's cell strings. A supernet of it holds one
    slot per cell edge and parametric op (choice_protocols.py)."""

    type_name = "nasbench201"
    config_model = NB201Config

    def __init__(self, config: NB201Config, source: str) -> None:
        super().__init__(config, source)
        self.ops = tuple(config.cell.ops)

    def cell_dag(self, arch: Arch) -> nx.DiGraph:
        """The cell as a 4-node networkx DAG whose edges carry their op (none edges omitted)."""
        dag = nx.DiGraph()
        dag.add_nodes_from(range(4))
        dag.add_edges_from((src, to, {"op": op}) for (to, src), op in zip(EDGES, arch.genes["ops"]) if op != "none")
        return dag

    @cached_property
    def _classes(self) -> dict[tuple, tuple[str, ...]]:
        """Expression -> canonical cell, over all 5^6 cells (computed once, ~0.1 s)."""
        best: dict[tuple, tuple[int, tuple[int, ...]]] = {}
        for idx in itertools.product(range(len(self.ops)), repeat=len(EDGES)):
            ops = tuple(self.ops[k] for k in idx)
            key = cell_expression(ops)
            rank = (-ops.count("none"), idx)
            if key not in best or rank < best[key]:
                best[key] = rank
        return {key: tuple(self.ops[k] for k in idx) for key, (_, idx) in best.items()}

    def _canonical(self, genes: Any) -> dict:
        try:
            ops = tuple(genes["ops"])
        except (KeyError, TypeError):
            raise ArchError(f"space {self.name!r}: genes need key 'ops' (6 edge ops), got {genes!r:.200}") from None
        if len(ops) != len(EDGES) or any(op not in self.ops for op in ops):
            raise ArchError(f"space {self.name!r}: expected 6 ops from {list(self.ops)}, got {list(ops)}")
        return {"ops": list(self._classes[cell_expression(ops)])}

    def _sample_genes(self, rng: np.random.Generator) -> dict:
        return {"ops": [self.ops[int(k)] for k in rng.integers(len(self.ops), size=len(EDGES))]}

    def parse_genes(self, text: str) -> dict:
        match = _CELL.match(text)
        if not match:
            raise ArchError(f"space {self.name!r}: {text!r} is not a NAS-Bench-201 cell string like {EXAMPLE!r}")
        return {"ops": list(match.groups())}

    def format(self, arch: Arch) -> str:
        o = arch.genes["ops"]
        return f"|{o[0]}~0|+|{o[1]}~0|{o[2]}~1|+|{o[3]}~0|{o[4]}~1|{o[5]}~2|"

    def _add_cell(self, plan: LayerPlan, prefix: str, ops: tuple[str, ...], channels: int) -> None:
        nodes = {0: plan.last}
        for node in (1, 2, 3):
            inputs = []
            for (to, src), op in zip(EDGES, ops):
                if to != node or op == "none" or src not in nodes:
                    continue
                name = f"{prefix}_e{src}{to}"
                if op == "skip_connect":
                    plan.add(name, L.Identity(), (nodes[src],))
                elif op == "avg_pool_3x3":
                    plan.add(name, L.AvgPool3x3(), (nodes[src],))
                else:
                    k = int(op[-1])
                    plan.add(name, L.ConvNormAct(channels, channels, k, preact=True), (nodes[src],))
                inputs.append(name)
            if inputs:
                nodes[node] = plan.add(f"{prefix}_n{node}", L.Sum(), tuple(inputs))
        if 3 not in nodes:  # every path is 'none': the cell outputs zeros
            plan.add(f"{prefix}_n3", L.Zero(), (nodes[0],))

    def plan(self, arch: Arch) -> LayerPlan:
        cfg = self.config.skeleton
        plan = LayerPlan(self.input_shape)
        channels = cfg.channels
        plan.add("stem", L.ConvNormAct(self.input_shape[0], channels, 3, act="none"))
        ops = tuple(arch.genes["ops"])
        for stage in range(3):
            if stage:
                plan.add(f"reduce{stage}", L.ResNetBasicBlock(channels, channels * 2, 2))
                channels *= 2
            for cell in range(cfg.cells_per_stage):
                self._add_cell(plan, f"c{stage}_{cell}", ops, channels)
        plan.add("head", L.ClassifierHead(channels, self.num_classes, "batchnorm", "relu"))
        return plan

    def feature_nodes(self, arch: Arch) -> tuple[str, ...]:
        """The benchmark's blocks: the stem, every cell's output node and every reduction block.

        The generic cut rule would also cut inside a cell whose edges form a chain, counting that cell as
        several blocks and its one-input sum as an identity block (AZ-NAS's reference reads cell outputs).
        """
        return tuple(n.name for n in self.plan(arch).nodes if _BLOCK_NODE.match(n.name))

    def _mutate_genes(self, arch: Arch, rng: np.random.Generator) -> dict:
        ops = list(arch.genes["ops"])
        edge = int(rng.integers(len(EDGES)))
        ops[edge] = rng.choice([o for o in self.ops if o != ops[edge]])
        return {"ops": [str(o) for o in ops]}

    def _crossover_genes(self, a: Arch, b: Arch, rng: np.random.Generator) -> dict:
        mask = rng.random(len(EDGES)) < 0.5
        return {"ops": [x if m else y for x, y, m in zip(a.genes["ops"], b.genes["ops"], mask)]}

    def encode(self, arch: Arch) -> np.ndarray:
        """One-hot op per edge (6 x 5 = 30 values)."""
        vec = np.zeros((len(EDGES), len(self.ops)))
        vec[np.arange(len(EDGES)), [self.ops.index(o) for o in arch.genes["ops"]]] = 1.0
        return vec.ravel()

    def suggest(self, trial: Any) -> Arch:
        return self._arch({"ops": [trial.suggest_categorical(f"edge{src}{to}", list(self.ops)) for to, src in EDGES]})

    def to_params(self, arch: Arch) -> dict[str, Any]:
        return {f"edge{src}{to}": op for (to, src), op in zip(EDGES, arch.genes["ops"])}

    def enumerate(self):
        return (self._arch({"ops": list(ops)}) for ops in sorted(set(self._classes.values())))

    def _covering_archs(self) -> list[Arch]:
        return [self._arch({"ops": [op] * len(EDGES)}) for op in self.ops]

    def _choice_of(self, arch: Arch, node: str) -> str | None:
        match = _EDGE_NODE.match(node)
        if match is None:
            return None
        return arch.genes["ops"][EDGES.index((int(match.group(2)), int(match.group(1))))]

    def size(self) -> int:
        return len(self._classes)
