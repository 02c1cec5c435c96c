"""The journal record: one evaluated architecture of a run, as `evaluations.jsonl` stores it (one JSON line).

On disk a record is flat: its fields, and every metric under its own name (`macs`, `naswot`, the objectives),
so a run's table is one row per record with a column per metric. `to_json` and `from_json` convert.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal, get_args

from ..errors import HybridNASError

Status = Literal["ok", "failed", "over_budget", "pruned"]
STATUSES: tuple[str, ...] = get_args(Status)
# keys of a journal line that are the record's own fields; every other key is a metric
FIELDS = ("trial", "arch", "id", "status", "values", "errors", "seconds", "fidelity", "restored")


@dataclass(frozen=True)
class JournalRecord:
    """One architecture's evaluation in a run, and what became of it.

    Args:
        trial: the first Optuna trial that asked for the architecture.
        arch: the architecture string of the run's space; `id` its canonical id.
        status: ok (scored, within budget), failed (an objective failed: see `errors`), over_budget (never
            scored) or pruned (a training stopped by the pruner).
        metrics: costs, single metrics and objectives by name (an ensemble's value under its own name).
        values: the objective vector told to Optuna (None unless status is ok).
        errors: 'metric: reason; ...' of what failed.
        seconds: evaluation time.
        fidelity: a trained score's {kind, epochs, images, recipe, train_seconds, curve}; None if training-free.
        restored: where a record lost from the journal was restored from ('study.db'), else None.
    """

    trial: int
    arch: str
    id: str
    status: Status
    metrics: dict[str, float] = field(default_factory=dict)
    values: list[float] | None = None
    errors: str = ""
    seconds: float = 0.0
    fidelity: dict[str, Any] | None = None
    restored: str | None = None

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise HybridNASError(f"journal record status {self.status!r}; allowed: {', '.join(STATUSES)}")

    @property
    def epochs(self) -> int:
        """Training epochs this evaluation spent (0 for a training-free score)."""
        return int(self.fidelity.get("epochs", 0)) if self.fidelity else 0

    def with_status(self, status: Status, values: list[float] | None = None) -> "JournalRecord":
        """The same evaluation with another status (and objective values)."""
        return replace(self, status=status, values=values)

    def to_json(self) -> dict[str, Any]:
        """The flat journal line: fields and metrics side by side (empty optional fields left out)."""
        line: dict[str, Any] = {"trial": self.trial, "arch": self.arch, "id": self.id, "status": self.status,
                                **self.metrics, "values": self.values, "errors": self.errors, "seconds": self.seconds}
        if self.fidelity:
            line["fidelity"] = dict(self.fidelity)
        if self.restored:
            line["restored"] = self.restored
        return line

    @classmethod
    def from_json(cls, line: dict[str, Any]) -> "JournalRecord":
        """A record from a journal line (lines of older runs lack some optional fields)."""
        metrics = {k: v for k, v in line.items() if k not in FIELDS}
        return cls(trial=int(line.get("trial", -1)), arch=str(line.get("arch", "")), id=str(line["id"]),
                   status=line["status"], metrics=metrics, values=line.get("values"),
                   errors=line.get("errors") or "", seconds=float(line.get("seconds") or 0.0),
                   fidelity=line.get("fidelity") if isinstance(line.get("fidelity"), dict) else None,
                   restored=line.get("restored"))
