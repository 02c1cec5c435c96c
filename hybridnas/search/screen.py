"""Proxy-warmed candidates: many networks scored training-free, only the best fraction trained.

`screen_candidates` samples `screen.candidates` distinct networks within the budget, scores them with the
screen's training-free objective on the search's workers (no training: fidelity 0), ranks them, and keeps
the best `screen.keep` fraction. The table is written to RUN/screened.csv once; a resumed run reads it.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pandas as pd
from optuna.study import Study

from ..errors import HybridNASError
from ..evaluation import objective_ranking
from ..io import atomic_write_csv
from ..spaces import Arch, Space
from .store import RunStore

SCREENED = "screened.csv"


def sample_within(space: Space, count: int, seed: int, feasible: Callable[[Arch], bool]) -> list[Arch]:
    """Up to `count` distinct seeded networks that `feasible` accepts (rejection sampling, 50 draws each)."""
    rng = np.random.default_rng(seed)
    found: dict[str, Arch] = {}
    for _ in range(count * 50):
        if len(found) >= count:
            break
        arch = space.sample(rng)
        if arch.id not in found and feasible(arch):
            found[arch.id] = arch
    if not found:
        raise HybridNASError(f"no network of {space.name!r} within the budget in {count * 50} draws; loosen the "
                             "budget or check the space's constraints")
    return list(found.values())


def screen_candidates(store: RunStore, space: Space, config: Any, pool: Any,
                      feasible: Callable[[Arch], bool], progress: bool = False) -> pd.DataFrame:
    """The screened table (arch, id, proxy scores, screen_score, kept), best first; scored once per run."""
    path = store.root / SCREENED
    if path.is_file():
        return pd.read_csv(path, dtype={"arch": str, "id": str})
    screen = config.screen
    archs = sample_within(space, screen.candidates, config.seed + 104729, feasible)
    rows = []
    from tqdm.auto import tqdm

    scored = tqdm(pool.imap(archs, epochs=0), total=len(archs), desc="screening", unit="net", disable=not progress)
    for i, evaluation in sorted(scored, key=lambda r: r[0]):
        rows.append({"arch": space.format(archs[i]), "id": archs[i].id, **evaluation.metrics})
    frame = pd.DataFrame(rows)
    ensemble = objective_ranking(screen.objective)
    missing = [m for m in ensemble.members if m not in frame]
    if missing:
        raise HybridNASError(f"screen objective {screen.objective}: every candidate failed {', '.join(missing)}")
    frame["screen_score"] = ensemble.fit_reference(frame).score(frame).to_numpy()
    frame = frame.sort_values("screen_score", ascending=False, kind="stable").reset_index(drop=True)
    keep = max(1, int(round(len(frame) * screen.keep)))
    frame["kept"] = np.arange(len(frame)) < keep
    atomic_write_csv(frame, path)
    return frame


def enqueue_screened(study: Study, space: Space, screened: pd.DataFrame, limit: int) -> int:
    """Strategy `screened`: enqueue the kept networks best first (up to `limit`); returns how many."""
    kept = screened[screened["kept"]].head(limit)
    for text in kept["arch"]:
        study.enqueue_trial(space.to_params(space.parse(text)), skip_if_exists=True)
    return len(kept)
