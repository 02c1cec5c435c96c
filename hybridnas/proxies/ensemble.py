"""Rank-aggregation ensembles of proxies, usable by name: `ensemble:naswot+synflow+zico`, `ensemble:naswot*2+zen`.

Within a population, each member's scores are ranked (1 = worst, N = best, respecting each proxy's
orientation) and the ensemble is sum_i w_i * log(rank_i / N), AZ-NAS's aggregation (weights 1 by default).
Scores from different populations are comparable after `fit_reference`: ranks are then replaced by
each value's percentile in a fixed reference population (e.g. a seeded sample of the space), interpolated
so that no two different values tie (`reference_percentile`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import HybridNASError
from .registry import get_proxy

PREFIX = "ensemble:"
# The shipped training-free ranking, chosen across five spaces (NAS-Bench-201, Accel-NASBench, TransNAS scene
# and object, hybrid_cifar) for the best worst-case margin over the better of MACs and params
# (benchmarks/proxies/default_across_spaces.py, docs/evidence/literature-spaces.md)
DEFAULT_OBJECTIVE = "ensemble:naswot+synflow+macs"
_MEMBER = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?:\*([0-9]*\.?[0-9]+))?$")


@dataclass
class Ensemble:
    """Weighted sum of log-ranks (or log-percentiles against a reference) of member proxies."""

    name: str
    weights: dict[str, float]
    reference: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def members(self) -> list[str]:
        return list(self.weights)

    def _oriented(self, member: str, values: pd.Series) -> pd.Series:
        sign = 1.0 if get_proxy(member).higher_is_better else -1.0
        return sign * pd.to_numeric(values, errors="coerce")

    def fit_reference(self, frame: pd.DataFrame) -> "Ensemble":
        """Freeze percentiles on a reference population, so later populations are scored comparably."""
        self.reference = {m: np.sort(self._oriented(m, frame[m]).dropna().to_numpy()) for m in self.members}
        return self

    def score(self, frame: pd.DataFrame) -> pd.Series:
        """Ensemble score of each row; a member that failed for a row counts as that member's worst value."""
        total = pd.Series(0.0, index=frame.index)
        for member, weight in self.weights.items():
            if member not in frame:
                raise HybridNASError(f"{self.name}: member proxy {member!r} was not computed")
            values = self._oriented(member, frame[member]).fillna(-np.inf)  # a failed proxy ranks last
            if self.reference:
                total += weight * np.log(np.clip(reference_percentile(self.reference[member], values.to_numpy()),
                                                 1e-300, 1.0))
            else:
                ranks = values.rank(method="average")
                total += weight * np.log(ranks / len(values))
        return total


def reference_percentile(reference: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Each value's percentile in a sorted reference sample, strictly increasing in the value.

    Between reference points the empirical CDF (plotting positions (i + 0.5) / (n + 1)) is interpolated
    linearly; past either end it decays exponentially with the reference's spread as the scale, so values
    beyond the reference still rank against each other instead of tying (a search's best networks are
    usually better than every member of a small reference sample). -inf (a failed score) maps to 0.
    """
    ref = np.asarray(reference, dtype=float)
    values = np.asarray(values, dtype=float)
    n = len(ref)
    if n == 0:
        return np.full(values.shape, 0.5)
    positions = (np.arange(n) + 0.5) / (n + 1.0)
    spread = float(np.subtract(*np.percentile(ref, [75, 25]))) or float(np.ptp(ref)) or 1.0
    with np.errstate(over="ignore", invalid="ignore"):
        inside = np.interp(values, ref, positions) if n > 1 else np.full(values.shape, positions[0])
        above = 1.0 - (1.0 - positions[-1]) * np.exp(-(values - ref[-1]) / spread)
        below = positions[0] * np.exp((values - ref[0]) / spread)
    frac = np.where(values > ref[-1], above, np.where(values < ref[0], below, inside))
    return np.where(np.isneginf(values), 0.0, np.nan_to_num(frac, nan=0.0))


def parse_ensemble(name: str) -> Ensemble:
    """Parse 'ensemble:a+b*2+c' into an Ensemble; raises HybridNASError naming the bad part."""
    body = name.removeprefix(PREFIX)
    weights: dict[str, float] = {}
    for part in filter(None, body.split("+")):
        match = _MEMBER.match(part.strip())
        if not match:
            raise HybridNASError(f"{name!r}: cannot read member {part!r}; write proxy or proxy*weight, e.g. "
                                 "'ensemble:naswot+synflow*2'")
        get_proxy(match.group(1))  # raises with the registered names if unknown
        weights[match.group(1)] = float(match.group(2) or 1.0)
    if len(weights) < 2:
        raise HybridNASError(f"{name!r}: an ensemble needs at least two member proxies")
    return Ensemble(name, weights)


def is_ensemble(name: str) -> bool:
    """Whether a proxy name is an ensemble spec ('ensemble:a+b*2')."""
    return name.startswith(PREFIX)
