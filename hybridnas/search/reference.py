"""The networks a search compares against: random networks drawn within its budget (nothing built), and the
reference sample they give, scored once per run so that ensemble objectives are percentiles of one population."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pandas as pd

from ..errors import HybridNASError
from ..evaluation import Ranking, objective_ranking
from ..io import atomic_write_csv
from ..spaces import Arch, Space
from .config import SearchConfig
from .store import RunStore

FEASIBLE_TRIES_PER_ARCH = 200  # rejection sampling gives up after this many draws per network wanted


def feasible_sample(space: Space, rng: np.random.Generator, count: int, feasible: Callable[[Arch], bool],
                    cost_of: Callable[[Arch], dict]) -> list[Arch]:
    """`count` random archs within the search's budget (rejection sampling on the analytic cost or the latency
    table, so nothing is built); a budget that no sample meets is a one-line error before any scoring.

    Args:
        feasible: whether an arch is within the budget and the space's window.
        cost_of: the arch's cost metrics, for the error (the smallest seen).
    """
    found: list[Arch] = []
    tries, smallest = 0, None
    while len(found) < count and tries < FEASIBLE_TRIES_PER_ARCH * count:
        arch = space.sample(rng)
        tries += 1
        if feasible(arch):
            found.append(arch)
        elif not found:
            cost = cost_of(arch)
            if smallest is None or cost["macs"] < smallest["macs"]:
                smallest = cost
    if not found:
        shown = ", ".join(f"{k} {v:.4g}" for k, v in smallest.items() if k in ("macs", "params", "latency_ms"))
        raise HybridNASError(f"none of {tries} random networks of {space.name!r} fits the budget (the smallest "
                             f"had {shown}); raise the budget, or search a space of smaller networks")
    return found


def reference_ensembles(store: RunStore, space: Space, config: SearchConfig, pool, proxies: list[str],
               names: list[str], feasible: Callable[[Arch], bool], cost_of: Callable[[Arch], dict],
               progress: bool = False) -> dict[str, Ranking]:
    """Rankings (ensembles) fitted on `reference_size` seeded random archs within the budget (the networks the search
    compares), scored once and kept in the run folder."""
    if not names:
        return {}
    path = store.root / "reference.csv"
    if path.is_file():
        frame = pd.read_csv(path)
    else:
        rng = np.random.default_rng(config.seed + 7919)
        archs = feasible_sample(space, rng, config.reference_size, feasible, cost_of)
        scored = scoring_progress(pool.imap(archs, epochs=0), len(archs), "reference sample", progress)
        rows = [dict(evaluation.metrics) for _, evaluation in sorted(scored, key=lambda r: r[0])]
        frame = pd.DataFrame(rows)
        atomic_write_csv(frame, path)
    ensembles = {}
    for name in names:
        ensemble = objective_ranking(name)
        if not all(m in frame for m in ensemble.members):
            raise HybridNASError(f"reference scores in {path} lack members of {name}; delete the file to rescore")
        ensembles[name] = ensemble.fit_reference(frame)
    return ensembles


def scoring_progress(results: Any, total: int, what: str, enabled: bool) -> Any:
    """`results` (pool.imap pairs) behind a progress bar naming what is being scored, so no step is silent."""
    from tqdm.auto import tqdm

    return tqdm(results, total=total, desc=f"scoring the {what}", unit="net", disable=not enabled)
