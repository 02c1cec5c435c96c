"""Subnet samplers (a registry): uniform, sandwich (BigNAS), complexity_aware and performance_aware (ElasticViT).

A sampler returns the subnets of one training step, `(arch, teacher)` pairs where `teacher` marks the
subnet whose outputs the others distil from (sandwich only). Every sampler draws from its own seeded
numpy Generator and round-trips its whole state through `state_dict` / `load_state_dict`, so a resumed
training run samples exactly what an uninterrupted one would.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any, Callable

import numpy as np

from ..errors import HybridNASError
from ..registry import Registry
from ..spaces import Arch, Space
from .elastic import largest_and_smallest

SAMPLERS: Registry[Callable[..., "Sampler"]] = Registry("sampler")
register_sampler = SAMPLERS.register


def make_sampler(name: str, space: Space, seed: int = 0, **options: Any) -> "Sampler":
    """A sampler by registered name."""
    return SAMPLERS.get(name)(space, seed=seed, **options)


def list_samplers() -> list[str]:
    """The registered sampler names."""
    return SAMPLERS.list()


class Sampler:
    """Base: a seeded generator, per-step subnets, optional feedback of each subnet's loss."""

    distill = False

    def __init__(self, space: Space, seed: int = 0, subnets: int = 1) -> None:
        self.space, self.subnets = space, subnets
        self.rng = np.random.default_rng(seed)
        self.steps = 0

    def step(self) -> list[Arch]:
        """The subnets to train this step (the first one is the teacher when `distill`)."""
        self.steps += 1
        return self._step()

    def _step(self) -> list[Arch]:
        raise NotImplementedError

    def update(self, arch: Arch, loss: float) -> None:
        """Feedback: the training loss of `arch` this step (used by performance_aware)."""

    def describe(self) -> str:
        """A short status for the progress bar."""
        return ""

    def state_dict(self) -> dict[str, Any]:
        return {"rng": self.rng.bit_generator.state, "steps": self.steps}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.rng.bit_generator.state = state["rng"]
        self.steps = state["steps"]


@register_sampler("uniform")
class UniformSampler(Sampler):
    """Subnets drawn uniformly over the space's choices; with `fixed_genes` (gene path -> value, e.g.
    {'ops.3': 'nor_conv_3x3'}), uniformly over those that have them: a few-shot sub-supernet's share."""

    TRIES = 1000

    def __init__(self, space: Space, seed: int = 0, subnets: int = 1, fixed_genes: dict[str, Any] | None = None) -> None:
        super().__init__(space, seed, subnets)
        self.fixed_genes = dict(fixed_genes or {})
        try:
            has_genes(space.sample(0), self.fixed_genes)
        except KeyError as exc:
            raise HybridNASError(f"uniform sampler: sampler_options.fixed_genes: {exc.args[0]}") from None

    def draw(self) -> Arch:
        """One subnet, with `fixed_genes` if any (rejection sampling over canonical architectures)."""
        for _ in range(self.TRIES):
            arch = self.space.sample(self.rng)
            if has_genes(arch, self.fixed_genes):
                return arch
        raise HybridNASError(f"uniform sampler: no architecture of space {self.space.name!r} with genes "
                             f"{self.fixed_genes} in {self.TRIES} draws; check sampler_options.fixed_genes")

    def _step(self) -> list[Arch]:
        return [self.draw() for _ in range(self.subnets)]


def has_genes(arch: Arch, fixed_genes: dict[str, Any]) -> bool:
    """Whether `arch` has every gene of `fixed_genes` (path -> value)."""
    return all(arch.gene(path) == value for path, value in fixed_genes.items())


@register_sampler("sandwich")
class SandwichSampler(Sampler):
    """Largest, smallest and `subnets` random subnets each step; the others distil from the largest (BigNAS)."""

    distill = True

    def __init__(self, space: Space, seed: int = 0, subnets: int = 2) -> None:
        super().__init__(space, seed, subnets)
        self.largest, self.smallest = largest_and_smallest(space)

    def _step(self) -> list[Arch]:
        return [self.largest, self.smallest] + [self.space.sample(self.rng) for _ in range(self.subnets)]


@register_sampler("complexity_aware")
class ComplexityAwareSampler(Sampler):
    """ElasticViT: MACs banks over the space's range; the target bank random-walks by -1, 0 or +1 per step.

    The step's subnets are sampled inside the bank's MACs window with the analytic cost model (rejection
    sampling, then mutations of the closest draw towards the window for banks uniform sampling rarely
    reaches), plus the smallest subnet seen in that bank.
    """

    TRIES = 300

    def __init__(self, space: Space, seed: int = 0, subnets: int = 2, banks: int = 8) -> None:
        super().__init__(space, seed, subnets)
        largest, smallest = largest_and_smallest(space)
        lo, hi = space.cost(smallest).macs, space.cost(largest).macs
        self.edges = np.geomspace(lo, hi * (1 + 1e-9), banks + 1)  # MACs span decades: banks in log space
        self.bank = int(self.rng.integers(banks))
        self.smallest: dict[int, str] = {0: space.format(smallest)}

    @property
    def banks(self) -> int:
        return len(self.edges) - 1

    def bank_of(self, macs: float) -> int:
        return int(np.clip(np.searchsorted(self.edges, macs, side="right") - 1, 0, self.banks - 1))

    def _walk(self) -> int:
        self.bank = int(np.clip(self.bank + int(self.rng.integers(-1, 2)), 0, self.banks - 1))
        return self.bank

    def sample_in_bank(self, bank: int) -> Arch:
        lo, hi = self.edges[bank], self.edges[bank + 1]
        best, best_gap = None, math.inf
        for _ in range(self.TRIES):
            arch = self.space.sample(self.rng)
            macs = self.space.cost(arch).macs
            gap = 0.0 if lo <= macs < hi else min(abs(math.log(macs / lo)), abs(math.log(macs / hi)))
            if gap < best_gap:
                best, best_gap = arch, gap
            if gap == 0.0:
                break
        for _ in range(self.TRIES if best_gap > 0 else 0):  # none landed inside: walk mutations towards the window
            child = self.space.mutate(best, self.rng)
            macs = self.space.cost(child).macs
            gap = 0.0 if lo <= macs < hi else min(abs(math.log(macs / lo)), abs(math.log(macs / hi)))
            if gap <= best_gap:
                best, best_gap = child, gap
            if gap == 0.0:
                break
        self._remember_smallest(best)
        return best

    def _remember_smallest(self, arch: Arch) -> None:
        macs = self.space.cost(arch).macs
        bank = self.bank_of(macs)
        known = self.smallest.get(bank)
        if known is None or macs < self.space.cost(self.space.parse(known)).macs:
            self.smallest[bank] = self.space.format(arch)

    def _step(self) -> list[Arch]:
        bank = self._walk()
        archs = [self.sample_in_bank(bank) for _ in range(self.subnets)]
        if bank in self.smallest:
            archs.append(self.space.parse(self.smallest[bank]))
        return archs

    def describe(self) -> str:
        return f"bank {self.bank}/{self.banks - 1}"

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "bank": self.bank, "smallest": {str(k): v for k, v in self.smallest.items()}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.bank = state["bank"]
        self.smallest = {int(k): v for k, v in state["smallest"].items()}


@register_sampler("performance_aware")
class PerformanceAwareSampler(ComplexityAwareSampler):
    """ElasticViT: per-bank memory of recent (arch, loss); with a probability that grows linearly over
    training (0 -> `max_prob` at `total_steps`), draw from the bank's memory by softmax(-loss / temperature),
    otherwise sample as complexity_aware."""

    def __init__(self, space: Space, seed: int = 0, subnets: int = 2, banks: int = 8, memory: int = 32,
                 max_prob: float = 0.8, total_steps: int = 1000, temperature: float = 0.1) -> None:
        super().__init__(space, seed, subnets, banks)
        self.memory: dict[int, deque] = {b: deque(maxlen=memory) for b in range(banks)}
        self.max_prob, self.total_steps, self.temperature = max_prob, total_steps, temperature

    def probability(self) -> float:
        return self.max_prob * min(1.0, self.steps / max(1, self.total_steps))

    def _from_memory(self, bank: int) -> Arch | None:
        entries = self.memory[bank]
        if not entries or self.rng.random() >= self.probability():
            return None
        losses = np.array([loss for _, loss in entries])
        weights = np.exp(-(losses - losses.min()) / self.temperature)
        pick = int(self.rng.choice(len(entries), p=weights / weights.sum()))
        return self.space.parse(entries[pick][0])

    def _step(self) -> list[Arch]:
        bank = self._walk()
        archs = [self._from_memory(bank) or self.sample_in_bank(bank) for _ in range(self.subnets)]
        if bank in self.smallest:
            archs.append(self.space.parse(self.smallest[bank]))
        return archs

    def update(self, arch: Arch, loss: float) -> None:
        self.memory[self.bank_of(self.space.cost(arch).macs)].append((self.space.format(arch), float(loss)))

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "memory": {str(b): list(m) for b, m in self.memory.items()}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        for b, entries in state["memory"].items():
            self.memory[int(b)].clear()
            self.memory[int(b)].extend((a, float(loss)) for a, loss in entries)
