"""What a search optimises: objective vectors from metrics, budget excess, and the journal record of a score."""

from __future__ import annotations

import math
import pandas as pd

from ..evaluation import Evaluation, Ranking, format_errors
from .config import SearchConfig
from .record import JournalRecord


def budget_violations(cost: dict[str, float], config: SearchConfig) -> dict[str, float]:
    """Relative excess over each budget (<= 0 when within it)."""
    out = {}
    budget = config.budget
    for metric, limit in (("macs", budget.max_macs), ("params", budget.max_params),
                          ("latency_ms", budget.max_latency_ms)):
        if limit is not None:
            out[metric] = (cost[metric] - limit) / limit
    return out


class Objectives:
    """Turns an evaluation into the objective vector; ensembles are normalised on a reference sample."""

    def __init__(self, config: SearchConfig, ensembles: dict[str, Ranking]) -> None:
        self.objectives = config.objectives
        self.ensembles = ensembles
        self.directions = ["maximize" if o.direction == "max" else "minimize" for o in self.objectives]

    def values(self, metrics: dict[str, float]) -> tuple[list[float] | None, str]:
        out = []
        for obj in self.objectives:
            if obj.name in self.ensembles:
                members = self.ensembles[obj.name].members
                missing = [m for m in members if m not in metrics]
                if missing:
                    return None, f"ensemble member(s) failed: {', '.join(missing)}"
                value = float(self.ensembles[obj.name].score(pd.DataFrame([metrics]))[0])
            elif obj.name in metrics:
                value = float(metrics[obj.name])
            else:
                return None, f"objective {obj.name} failed"
            if not math.isfinite(value):
                return None, f"objective {obj.name} is {value}"
            out.append(value)
        return out, ""

    def worst(self) -> list[float]:
        return [-math.inf if d == "maximize" else math.inf for d in self.directions]


def evaluation_record(trial: int, text: str, arch_id: str, cost: dict[str, float], evaluation: Evaluation,
                      objectives: Objectives) -> JournalRecord:
    """The journal record of one scored architecture (status ok, or failed with the reason)."""
    metrics = {**cost, **evaluation.metrics}
    values, reason = objectives.values(metrics)
    named = {o.name: v for o, v in zip(objectives.objectives, values or [])}
    return JournalRecord(trial, text, arch_id, "ok" if values else "failed", {**metrics, **named}, values,
                         format_errors(evaluation.errors) or reason, evaluation.seconds,
                         dict(evaluation.fidelity) or None)  # a trained score: its epochs, images and recipe


def over_budget_record(trial: int, text: str, arch_id: str, cost: dict[str, float]) -> JournalRecord:
    """The journal record of an architecture over the budget (never built or scored)."""
    return JournalRecord(trial, text, arch_id, "over_budget", dict(cost))
