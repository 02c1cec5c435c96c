"""Space: the abstract search space. Subclasses define genes; graph, cost and build are shared."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from typing import Any, ClassVar, Iterator

import networkx as nx
import numpy as np
from torch import nn

from ..errors import ArchError, HybridNASError
from ..registry import Registry
from .arch import Arch, freeze
from ..ir.cost import Cost, plan_cost
from ..models.builder import build_plan
from ..ir.plan import INPUT, LayerPlan, to_networkx

SPACE_TYPES: Registry[type["Space"]] = Registry("space type")
register_space_type = SPACE_TYPES.register

MAX_SAMPLE_TRIES = 2000


def as_rng(seed_or_rng: int | np.random.Generator | None) -> np.random.Generator:
    """A numpy Generator from a seed (or the Generator itself)."""
    if isinstance(seed_or_rng, np.random.Generator):
        return seed_or_rng
    return np.random.default_rng(seed_or_rng)


class Space(ABC):
    """A search space loaded from YAML. Subclasses implement the gene-level methods below."""

    type_name: ClassVar[str] = ""

    def __init__(self, config: Any, source: str) -> None:
        self.config = config
        self.source = source
        self.name: str = config.name
        self.input_shape: tuple[int, int, int] = (config.input.channels, config.input.size, config.input.size)
        # (mean, std) the space declares for its inputs, or None for the data sources' defaults
        self.input_normalisation: tuple[tuple[float, ...], tuple[float, ...]] | None = (
            (tuple(config.input.mean), tuple(config.input.std)) if config.input.mean is not None else None)
        self.num_classes: int = config.num_classes
        window = getattr(config, "constraints", None)
        self._macs_window = (window.macs.bounds() if window and window.macs else None)
        self._params_window = (window.params.bounds() if window and window.params else None)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, source={self.source!r})"

    # ---- gene-level operations each space type implements -------------------------------------------
    @abstractmethod
    def _sample_genes(self, rng: np.random.Generator) -> dict:
        """One random canonical gene dict, ignoring cost windows."""

    @abstractmethod
    def _canonical(self, genes: Any) -> dict:
        """Validate raw genes (raise ArchError naming what is wrong) and return their canonical form."""

    @abstractmethod
    def parse_genes(self, text: str) -> dict:
        """Parse the space's string form into (not yet canonical) genes."""

    @abstractmethod
    def format(self, arch: Arch) -> str:
        """The space's string form of an architecture (inverse of `parse`)."""

    @abstractmethod
    def plan(self, arch: Arch) -> LayerPlan:
        """The layer graph of an architecture, in topological order, with shapes."""

    @abstractmethod
    def _mutate_genes(self, arch: Arch, rng: np.random.Generator) -> dict:
        """Genes that differ from `arch` in one dimension."""

    @abstractmethod
    def _crossover_genes(self, a: Arch, b: Arch, rng: np.random.Generator) -> dict:
        """Genes that mix parts of two parents."""

    @abstractmethod
    def encode(self, arch: Arch) -> np.ndarray:
        """A fixed-length float vector (same length for every arch of the space)."""

    @abstractmethod
    def suggest(self, trial: Any) -> Arch:
        """Define-by-run: ask an Optuna trial for each dimension; cost windows are checked by the caller."""

    @abstractmethod
    def to_params(self, arch: Arch) -> dict[str, Any]:
        """The Optuna parameters `suggest` would ask for to produce `arch` (inverse of `suggest`)."""

    # ---- shared behaviour ----------------------------------------------------------------------------
    def _arch(self, genes: Any) -> Arch:
        return Arch(self.name, freeze(self._canonical(genes)))

    def from_genes(self, genes: Any) -> Arch:
        """The canonical architecture of `genes` (a dict like `arch.genes`); an ArchError if the space refuses it."""
        return self._arch(genes)

    def sample(self, seed_or_rng: int | np.random.Generator | None = None) -> Arch:
        """A random valid architecture (inside the space's cost windows), from a seed or a Generator."""
        rng = as_rng(seed_or_rng)
        for _ in range(MAX_SAMPLE_TRIES):
            arch = self._arch(self._sample_genes(rng))
            if self.within_constraints(arch):
                return arch
        raise HybridNASError(
            f"space {self.name!r}: no architecture inside the cost window (macs {self._macs_window}, "
            f"params {self._params_window}) after {MAX_SAMPLE_TRIES} samples; widen 'constraints' in {self.source}"
        )

    def parse(self, text: str) -> Arch:
        """An Arch from its string form or its JSON form; raises ArchError if it is not in this space."""
        text = text.strip()
        if text.startswith("{"):
            try:
                data = json.loads(text)
                genes = data["genes"] if "genes" in data else data
            except (ValueError, KeyError, TypeError) as exc:
                raise ArchError(f"space {self.name!r}: invalid architecture JSON ({exc}): {text[:200]}") from None
            if data.get("space", self.name) != self.name:
                raise ArchError(f"architecture is of space {data['space']!r}, not {self.name!r}")
        else:
            genes = self.parse_genes(text)
        arch = self._arch(genes)
        self.check_constraints(arch)
        return arch

    def validate(self, arch: Arch) -> Arch:
        """Check an Arch (e.g. rebuilt from JSON) belongs to this space and return its canonical form."""
        if arch.space != self.name:
            raise ArchError(f"architecture is of space {arch.space!r}, not {self.name!r}")
        canon = self._arch(arch.genes)
        self.check_constraints(canon)
        return canon

    def within_constraints(self, arch: Arch) -> bool:
        """Whether the arch's cost lies inside the space's declared MACs/params windows."""
        if self._macs_window is None and self._params_window is None:
            return True
        cost = self.cost(arch)
        for (lo, hi), value in ((self._macs_window or (0, np.inf), cost.macs),
                                (self._params_window or (0, np.inf), cost.params)):
            if not lo <= value <= hi:
                return False
        return True

    def check_constraints(self, arch: Arch) -> None:
        """Raise ArchError if the arch violates the space's cost windows."""
        if not self.within_constraints(arch):
            cost = self.cost(arch)
            raise ArchError(
                f"space {self.name!r}: {self.format(arch)} has {cost.macs} MACs and {cost.params} params, outside "
                f"the space's constraints (macs {self._macs_window}, params {self._params_window})")

    def mutate(self, arch: Arch, seed_or_rng: int | np.random.Generator | None = None) -> Arch:
        """A valid neighbour that differs from `arch` (returns `arch` if none is found, e.g. a 1-point space)."""
        rng = as_rng(seed_or_rng)
        for _ in range(MAX_SAMPLE_TRIES // 10):
            child = self._arch(self._mutate_genes(arch, rng))
            if child != arch and self.within_constraints(child):
                return child
        return arch

    def crossover(self, a: Arch, b: Arch, seed_or_rng: int | np.random.Generator | None = None) -> Arch:
        """A valid child mixing parts of `a` and `b` (falls back to a copy of `a` if no mix is valid)."""
        rng = as_rng(seed_or_rng)
        for _ in range(MAX_SAMPLE_TRIES // 10):
            child = self._arch(self._crossover_genes(a, b, rng))
            if self.within_constraints(child):
                return child
        return a

    def graph(self, arch: Arch) -> nx.DiGraph:
        """The architecture as a networkx DiGraph of concrete layers with input/output shapes."""
        return to_networkx(self.plan(arch), self.input_shape)

    def cost(self, arch: Arch) -> Cost:
        """Exact analytic MACs, params and activations (never builds the model)."""
        return plan_cost(self.plan(arch))

    def build(self, arch: Arch) -> nn.Module:
        """The static PyTorch network; build under `torch.device('meta')` to skip allocation."""
        return build_plan(self.plan(arch))

    def feature_nodes(self, arch: Arch) -> tuple[str, ...]:
        """Backbone nodes every input-to-output path passes through (block outputs), head excluded.

        AZ-NAS reads these nodes; a space whose blocks are coarser than these cuts overrides this.
        """
        nodes = self.plan(arch).nodes
        furthest = {INPUT: -1, **{n.name: -1 for n in nodes}}  # furthest consumer index of each node
        for i, node in enumerate(nodes):
            for src in node.inputs:
                furthest[src] = max(furthest[src], i)
        reach = furthest[INPUT]  # furthest node any edge from an earlier node reaches
        cuts = []
        for i, node in enumerate(nodes[:-1]):
            if reach <= i:
                cuts.append(node.name)
            reach = max(reach, furthest[node.name])
        return tuple(cuts)

    def layer_options(self) -> Iterator[tuple[Any, tuple[int, int, int], int]]:
        """Every (layer spec, input shape, number of summed inputs) some architecture contains, with repeats.

        Latency tables time each distinct one. The default walks every architecture of an enumerable
        space; large spaces override it with a walk over their stages.
        """
        for arch in self.enumerate():
            for node in self.plan(arch).nodes:
                yield node.spec, node.in_shape, len(node.inputs)

    def enumerate(self) -> Iterator[Arch]:
        """Every distinct (canonical) architecture, for spaces small enough; others raise."""
        raise HybridNASError(f"space {self.name!r} ({type(self).__name__}) is too large to enumerate; sample it")

    def size(self) -> int | None:
        """Number of distinct networks if the space can count them, else None."""
        return None
