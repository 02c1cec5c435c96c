"""Pareto queries over a run: the non-dominated set, its hypervolume, and a plot of every point.

Hypervolume uses Optuna's implementation on minimisation values (max objectives are negated). The
reference point is, per objective, the worst value among the feasible evaluated points plus 10% of
that objective's range (plus 1 where the range is 0), so every feasible point counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from ..errors import HybridNASError
from ..evaluation import metric_source, objective_ranking
from .config import Objective
from .store import RunStore
from .where import apply_where


def parse_objectives(text: str | Sequence[str | Objective]) -> list[Objective]:
    """'naswot:max,macs:min' (or a list) -> Objectives."""
    items = text.split(",") if isinstance(text, str) else text
    objectives = [o if isinstance(o, Objective) else Objective.parse(o.strip()) for o in items
                  if isinstance(o, Objective) or o.strip()]
    if not objectives:
        raise HybridNASError(f"--objectives {text!r} names no objective; write NAME:max or NAME:min, comma-separated, "
                             "e.g. 'ensemble:jacob_cov+meco+params:max,macs:min'")
    return objectives


def evaluated(run: str | Path | RunStore) -> pd.DataFrame:
    """Every feasible, successfully evaluated architecture of a run (one row per distinct network)."""
    table = (run if isinstance(run, RunStore) else RunStore(run)).table()
    if table.empty:
        return table
    latest = table.drop_duplicates("id", keep="last")  # a budget change can supersede an architecture's status
    return latest[latest["status"] == "ok"].reset_index(drop=True)


def _losses(frame: pd.DataFrame, objectives: Sequence[Objective]) -> np.ndarray:
    missing = [o.name for o in objectives if o.name not in frame]
    if missing:
        raise HybridNASError(f"objective(s) {missing} were not measured in this run; measured: "
                             f"{[c for c in frame.columns if c not in ('trial', 'arch', 'id', 'status', 'values', 'errors', 'seconds')]}")
    cols = [frame[o.name].to_numpy(dtype=float) * (-1.0 if o.direction == "max" else 1.0) for o in objectives]
    return np.stack(cols, axis=1)


def non_dominated(losses: np.ndarray) -> np.ndarray:
    """Boolean mask of rows no other row dominates (all <=, one <), minimisation."""
    keep = np.ones(len(losses), dtype=bool)
    for i in range(len(losses)):
        if keep[i]:
            dominated = np.all(losses[i] <= losses, axis=1) & np.any(losses[i] < losses, axis=1)
            keep[dominated] = False
    return keep


def pareto_front(frame: pd.DataFrame, objectives: Sequence[Objective]) -> pd.DataFrame:
    """Rows of `frame` on the Pareto front, sorted by the first objective (best first)."""
    if frame.empty:
        return frame
    losses = _losses(frame, objectives)
    front = frame[non_dominated(losses)]
    first = objectives[0]
    return front.sort_values(first.name, ascending=first.direction == "min").reset_index(drop=True)


def hypervolume(frame: pd.DataFrame, objectives: Sequence[Objective]) -> tuple[float, np.ndarray]:
    """(hypervolume of the front, reference point in minimisation units) over all feasible points."""
    from .optuna_compat import hypervolume as _hypervolume

    losses = _losses(frame, objectives)
    span = losses.max(axis=0) - losses.min(axis=0)
    reference = losses.max(axis=0) + np.where(span > 0, 0.1 * span, 1.0)
    front = losses[non_dominated(losses)]
    return _hypervolume(front, reference), reference


@dataclass(frozen=True)
class RunFront:
    """A run's Pareto front and the networks it was taken from.

    Args:
        rows: the non-dominated networks, best first by the first objective.
        evaluated: every feasible evaluated network (matching the filter, if any).
        objectives: the objectives the front is taken on.
        note: a sentence naming journal lines the read skipped, or None.
    """

    rows: pd.DataFrame
    evaluated: pd.DataFrame
    objectives: list[Objective]
    note: str | None = None


def front(run: str | Path | RunStore, objectives: str | Sequence[str | Objective] | None = None,
          where: str | None = None) -> RunFront:
    """The Pareto front of a run, as `hybridnas pareto`, `export --rank` and the pipeline all see it.

    Args:
        objectives: 'naswot:max,macs:min' or a list; None: the run's own objectives.
        where: a filter over the run's columns (`--where`).
    """
    store = run if isinstance(run, RunStore) else RunStore(run)
    objs = parse_objectives(objectives) if objectives else run_objectives(store.root)
    frame = filtered(evaluated(store), where)
    return RunFront(pareto_front(frame, objs), frame, objs, store.damaged_note())


def query(run: str | Path, objectives: str | Sequence[str | Objective] | None = None,
          where: str | None = None) -> pd.DataFrame:
    """The rows of a run's Pareto front (objectives default to the run's own); `front(...).rows`."""
    return front(run, objectives, where).rows


def run_objectives(run: str | Path) -> list[Objective]:
    """The objectives a run optimised."""
    return [Objective(**o) for o in RunStore(run).read_config()["objectives"]]


PERCENTILE = " (percentile)"


def with_percentiles(run: str | Path, frame: pd.DataFrame, objectives: Sequence[Objective]) -> pd.DataFrame:
    """`frame` plus, for each ensemble objective, `<name> (percentile)`: the share (%) of the run's reference
    sample that the network scores at least as well as; a sum of log-ranks means little on its own."""
    path = Path(run) / "reference.csv"
    names = [o.name for o in objectives if o.name in frame and metric_source(o.name).ranked(o.name)]
    if not names or not path.is_file():
        return frame
    reference = pd.read_csv(path)
    out = frame.copy()
    for name in names:
        ensemble = objective_ranking(name)
        if not all(m in reference for m in ensemble.members):
            continue
        scores = np.sort(ensemble.fit_reference(reference).score(reference).to_numpy())
        out[name + PERCENTILE] = 100.0 * np.searchsorted(scores, out[name].to_numpy(), side="right") / len(scores)
    return out


def filtered(frame: pd.DataFrame, where: str | None) -> pd.DataFrame:
    """Rows matching a `--where` filter such as 'macs < 50M and naswot > 0' (see `where.py`; never eval'd)."""
    return apply_where(frame, where)


MAX_LABELS = 40  # front points labelled on a plot (more would overlap)


def plot(run: str | Path, objectives: Sequence[Objective], path: str | Path, where: str | None = None) -> Path:
    """Scatter of every evaluated point and the front, on the first two objectives."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if len(objectives) < 2:
        raise HybridNASError("a plot needs two objectives, e.g. --objectives naswot:max,macs:min")
    taken = front(run, objectives, where)
    frame, front_rows = taken.evaluated, taken.rows
    x, y = objectives[1], objectives[0]
    fig, ax = plt.subplots(figsize=(6.4, 4.8), dpi=120)
    ax.scatter(frame[x.name], frame[y.name], s=12, c="0.7", label=f"evaluated ({len(frame)})")
    ordered = front_rows.sort_values(x.name)
    ax.plot(ordered[x.name], ordered[y.name], "o-", c="tab:red", ms=4, label=f"Pareto front ({len(front_rows)})")
    for _, point in ordered.head(MAX_LABELS).iterrows():  # the id finds the network: `pareto RUN --csv`
        ax.annotate(str(point["id"])[:6], (point[x.name], point[y.name]), textcoords="offset points",
                    xytext=(3, 3), fontsize=6, color="tab:red")
    ax.set_xlabel(f"{x.name} ({x.direction})")
    ax.set_ylabel(f"{y.name} ({y.direction})")
    ax.set_title(f"{Path(run).name}: labels are arch ids (hybridnas pareto --csv)", fontsize=9, wrap=True)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path)
    plt.close(fig)
    return path
