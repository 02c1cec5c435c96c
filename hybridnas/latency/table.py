"""A device latency table: per-layer medians, the conditions they were measured under, and a calibration.

The file is JSON with a SHA-256 checksum over its content, so a truncated or edited table is an error,
never a silently wrong number. Predictions refuse conditions (device, dtype, batch, threads) other than
the table's own.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ..io import atomic_write_text
from ..spaces import Arch, Space
from .predictor import LayerPredictor
from .signature import LatencyError, Signature, arch_signatures
from .timing import Timing

FORMAT = "hybridnas-latency-table"
VERSION = 5  # 2: entries carry "ms" (the conditions' statistic) instead of "median_ms"; 3: per-kind calibration;
# 4: calibration points keep each layer's time, and the calibration takes a fitted offset off each layer;
# 5: the calibration's `level` (set by `latency relevel`)
READABLE = (1, 2, 3, 4, 5)


@dataclass(frozen=True)
class Conditions:
    """What a measurement depends on besides the layer itself."""

    device: str  # 'cpu' or 'cuda'
    device_name: str  # CPU model or GPU name
    threads: int
    batch: int
    dtype: str
    backend: str = "torch"  # what ran the layers: 'torch' (eager) or 'onnxruntime'; older tables are torch
    optimization: str = ""  # the runtime's graph-optimisation level ('' where the backend has none)
    statistic: str = "median"  # how repeats become one time ('min' since format 2; format 1 tables used the median)

    def describe(self) -> str:
        runtime = "" if self.backend == "torch" else f", {self.backend} (graph optimisation {self.optimization})"
        return (f"{self.device} ({self.device_name}), {self.threads} thread(s), batch {self.batch}, {self.dtype}"
                f"{runtime}, {self.statistic} of repeats")


@dataclass
class LayerTotals:
    """What a calibration reads of one network: its layers' table times per kind, count and weights."""

    kind_ms: dict[str, float] = field(default_factory=dict)  # `Signature.calibration_kind` -> summed ms
    layers: int = 0
    mparams: float = 0.0  # the timed layers' weights, in millions
    kind_layer_ms: dict[str, list[float]] = field(default_factory=dict)  # each layer's ms, per kind

    def add(self, sig: Signature, ms: float) -> None:
        kind = sig.calibration_kind()
        self.kind_ms[kind] = self.kind_ms.get(kind, 0.0) + ms
        self.kind_layer_ms.setdefault(kind, []).append(ms)
        self.layers += 1
        self.mparams += sig.spec.params() / 1e6

    @property
    def layer_sum_ms(self) -> float:
        return float(sum(self.kind_ms.values()))

    def kind_ms_less(self, offset_ms: float) -> dict[str, float]:
        """Per kind, the summed layer times less `offset_ms` a layer (no layer's time goes below 0)."""
        if not offset_ms:
            return self.kind_ms
        if not self.kind_layer_ms:
            raise LatencyError("these layer totals keep no per-layer times; a per-layer offset needs them")
        return {k: float(np.maximum(np.asarray(v) - offset_ms, 0.0).sum()) for k, v in self.kind_layer_ms.items()}

    def record(self) -> dict[str, Any]:
        """The fields a calibration point keeps."""
        return {"layer_sum_ms": self.layer_sum_ms, "layers": self.layers, "mparams": self.mparams,
                "kind_ms": dict(self.kind_ms), "kind_layer_ms": {k: list(v) for k, v in self.kind_layer_ms.items()}}

    @classmethod
    def from_record(cls, point: dict[str, Any]) -> "LayerTotals":
        """Inverse of `record` (points of older tables lack per-kind or per-layer times)."""
        return cls(dict(point.get("kind_ms", {})), int(point["layers"]), float(point.get("mparams", 0.0)),
                   {k: list(v) for k, v in point.get("kind_layer_ms", {}).items()})


@dataclass
class Calibration:
    """measured ≈ Σ_kind scale_kind * Σ_(the kind's layers) max(layer time - layer_offset_ms, 0) + base_ms
    + per_layer_ms * layers + per_mparam_ms * (millions of weights), all times `level`.

    A layer timed alone runs with its weights hot in cache; inside a network the other layers evict them, so
    the weights term charges what reloading them costs. A layer timed alone also hands its input and output
    across the runtime's boundary, which inside a network it does not: `layer_offset_ms` takes that off each
    layer, chosen among quantiles of the points' layer times (`OFFSET_QUANTILES`) by the error on the points.
    `scale` is the shared scale; `kind_scale` refines it per layer kind (with its mixer), pulled toward
    `scale` (`SHRINK`) so a kind that few calibration networks contain keeps the shared scale rather than an
    arbitrary one. A kind without its own scale uses `scale`.
    Fitted (non-negative least squares on relative error) on whole networks measured end to end, put on the
    layers' time base by the reference workload timed beside them; `points` keeps them. Points from tables
    before format 3 carry no per-kind times or weights, and fit the shared scale, base and per-layer terms only;
    points before format 4 carry no per-layer times, and fit no offset.
    Chosen by benchmarks/latency/latency_calibration.py (results/benchmarks/latency_calibration/).
    `level` is how much slower (> 1) or faster the machine runs networks now than when the points were measured:
    1 at build, set by `relevel_table` from the points' networks timed again. A fit leaves it as it is.
    """

    scale: float = 1.0
    base_ms: float = 0.0
    per_layer_ms: float = 0.0
    per_mparam_ms: float = 0.0
    kind_scale: dict[str, float] = field(default_factory=dict)
    layer_offset_ms: float = 0.0
    points: list[dict[str, Any]] = field(default_factory=list)
    level: float = 1.0

    SHRINK: ClassVar[float] = 0.1  # weight of the pull toward the shared scale (chosen on the choice half)
    # of the points' layer times; up to the 10th percentile: on the calibration benchmark's choice half, wider grids
    # (to the 20th, 30th, 50th) fitted no better (results/benchmarks/latency_calibration/onnxruntime/offset_grid.txt)
    OFFSET_QUANTILES: ClassVar[tuple[float, ...]] = tuple(np.linspace(0.0, 0.1, 11))

    def apply(self, totals: LayerTotals) -> float:
        """The calibrated end-to-end time (ms) of a network with these layer totals."""
        kind_ms = totals.kind_ms_less(self.layer_offset_ms)
        summed = sum(self.kind_scale.get(kind, self.scale) * ms for kind, ms in kind_ms.items())
        return self.level * (summed + self.base_ms + self.per_layer_ms * totals.layers
                             + self.per_mparam_ms * totals.mparams)

    def fit(self) -> None:
        """Refit the coefficients on `points` (each: kind_ms, kind_layer_ms, layers, mparams, measured_ms)."""
        if len(self.points) < 3:
            raise LatencyError(f"calibration needs at least 3 measured networks, has {len(self.points)}")
        totals = [LayerTotals.from_record(p) for p in self.points]
        y = np.array([p["measured_ms"] for p in self.points])
        offsets = [0.0]
        if all(t.kind_layer_ms for t in totals) and all("mparams" in p for p in self.points):
            times = np.concatenate([v for t in totals for v in t.kind_layer_ms.values()])
            offsets += sorted({float(q) for q in np.quantile(times, self.OFFSET_QUANTILES) if q > 0})
        best = None
        for offset in offsets:
            fitted = self._fitted(offset, totals, y)  # at level 1: on the points' own time base
            error = float(np.mean(np.abs(np.array([fitted.apply(t) for t in totals]) / y - 1)))
            if best is None or error < best[0]:
                best = (error, fitted)
        for name in ("scale", "base_ms", "per_layer_ms", "per_mparam_ms", "kind_scale", "layer_offset_ms"):
            setattr(self, name, getattr(best[1], name))

    def _fitted(self, offset: float, totals: list[LayerTotals], y: np.ndarray) -> "Calibration":
        """The coefficients fitted on these points with `offset` ms taken off each layer's time."""
        from scipy.optimize import nnls

        fitted = Calibration(layer_offset_ms=offset)
        full = all("kind_ms" in p and "mparams" in p for p in self.points)
        kind_ms = [t.kind_ms_less(offset) for t in totals]
        summed = [sum(ms.values()) if full else p["layer_sum_ms"] for ms, p in zip(kind_ms, self.points)]
        rest = np.array([[1.0, t.layers] + ([t.mparams] if full else []) for t in totals])
        # relative error matters, so weight each network by 1 / its measured time
        coef, _ = nnls(np.column_stack([summed, rest]) / y[:, None], np.ones_like(y))
        fitted.scale, fitted.base_ms, fitted.per_layer_ms = (float(c) for c in coef[:3])
        fitted.per_mparam_ms = float(coef[3]) if full else 0.0
        if not full:
            return fitted
        kinds = sorted({k for ms in kind_ms for k in ms})
        per_kind = np.array([[ms.get(k, 0.0) for k in kinds] for ms in kind_ms])
        pull = np.hstack([np.sqrt(self.SHRINK) * np.eye(len(kinds)), np.zeros((len(kinds), rest.shape[1]))])
        a = np.vstack([np.column_stack([per_kind, rest]) / y[:, None], pull])
        b = np.concatenate([np.ones_like(y), np.full(len(kinds), np.sqrt(self.SHRINK) * fitted.scale)])
        coef, _ = nnls(a, b)
        fitted.kind_scale = {k: float(c) for k, c in zip(kinds, coef)}
        fitted.base_ms, fitted.per_layer_ms, fitted.per_mparam_ms = (float(c) for c in coef[len(kinds):])
        return fitted

    def describe(self) -> str:
        """One line: the coefficients and how many networks they were fitted on."""
        kinds = ", ".join(f"{k} {v:.3f}" for k, v in self.kind_scale.items())
        return (f"calibration on {len(self.points)} networks: total = {self.scale:.3f} x sum(layers)"
                + (f" (per kind: {kinds})" if kinds else "")
                + f" + {self.base_ms:.3f} ms + {self.per_layer_ms:.4f} ms x layers"
                + f" + {self.per_mparam_ms:.4f} ms x Mparams"
                + (f"; {self.layer_offset_ms:.4f} ms off each layer's time" if self.layer_offset_ms else "")
                + (f"; all times {self.level:.3f} (relevelled)" if self.level != 1.0 else ""))


@dataclass
class Prediction:
    """A predicted network latency: the total and each layer's part of it."""

    total_ms: float
    layers: pd.DataFrame  # node, kind, in_shape, inputs, ms


class LatencyTable:
    """Layer latencies of one device under fixed conditions; predicts whole networks by summing them."""

    def __init__(self, conditions: Conditions, meta: dict[str, Any] | None = None,
                 entries: dict[Signature, Timing] | None = None, calibration: Calibration | None = None,
                 path: str | Path | None = None) -> None:
        self.conditions = conditions
        self.meta = dict(meta or {})
        self.entries: dict[Signature, Timing] = dict(entries or {})
        self.calibration = calibration or Calibration()
        self.path = Path(path) if path else None
        self._predictor: tuple[int, LayerPredictor] | None = None

    def __repr__(self) -> str:
        return f"LatencyTable({self.conditions.describe()}, {len(self.entries)} layers, path={str(self.path)!r})"

    # ---- conditions ----------------------------------------------------------------------------------
    def check(self, device: str | None = None, device_name: str | None = None, threads: int | None = None,
              batch: int | None = None, dtype: str | None = None, backend: str | None = None,
              optimization: str | None = None, statistic: str | None = None) -> None:
        """Raise LatencyError if any given condition differs from the table's."""
        asked = {"device": device, "device_name": device_name, "threads": threads, "batch": batch, "dtype": dtype,
                 "backend": backend, "optimization": optimization, "statistic": statistic}
        wrong = {k: v for k, v in asked.items() if v is not None and v != getattr(self.conditions, k)}
        if wrong:
            have = ", ".join(f"{k}={getattr(self.conditions, k)!r}" for k in wrong)
            want = ", ".join(f"{k}={v!r}" for k, v in wrong.items())
            raise LatencyError(f"latency table {self.path or '(unsaved)'} was built for {have}, not {want}; "
                               "build a table for these conditions with `hybridnas latency build`")

    # ---- prediction ----------------------------------------------------------------------------------
    def missing(self, space: Space, arch: Arch) -> list[Signature]:
        """Signatures of `arch` this table has no entry for."""
        return list(dict.fromkeys(sig for _, sig in arch_signatures(space, arch) if sig not in self.entries))

    @property
    def predictor(self) -> LayerPredictor:
        """The model that answers for layers this table has not timed, fitted on those it has (cached)."""
        if self._predictor is None or self._predictor[0] != len(self.entries):
            self._predictor = (len(self.entries), LayerPredictor.fit(self.entries))
        return self._predictor[1]

    def layer_ms(self, sig: Signature, unseen: str = "error") -> tuple[float, bool]:
        """(milliseconds, whether predicted) of one layer; `unseen` 'predict' lets the predictor answer for a
        layer the table lacks, 'error' returns NaN for it (callers raise)."""
        timing = self.entries.get(sig)
        if timing is not None:
            return timing.ms, False
        if unseen == "predict":
            return self.predictor.predict(sig), True
        if unseen != "error":
            raise LatencyError(f"unseen={unseen!r}: use 'error' or 'predict'")
        return math.nan, True

    def breakdown(self, space: Space, arch: Arch, unseen: str = "error", **conditions: Any) -> Prediction:
        """Per-layer latencies of `arch` and the calibrated total (ms).

        Args:
            unseen: 'error' (default) raises for a layer the table lacks; 'predict' fills it in from the
                layer predictor, marked 'predicted' in the `source` column.
        """
        self.check(**conditions)
        rows, totals = [], LayerTotals()
        for name, sig in arch_signatures(space, arch):
            ms, predicted = self.layer_ms(sig, unseen)
            if math.isnan(ms):
                self._raise_missing(space, arch)
            totals.add(sig, ms)
            rows.append({"node": name, "kind": sig.spec.kind, "in_shape": "x".join(map(str, sig.in_shape)),
                         "inputs": sig.inputs, "ms": ms, "source": "predicted" if predicted else "measured"})
        frame = pd.DataFrame(rows, columns=["node", "kind", "in_shape", "inputs", "ms", "source"])
        return Prediction(self.calibration.apply(totals), frame)

    def predict(self, space: Space, arch: Arch, unseen: str = "error", **conditions: Any) -> float:
        """Predicted end-to-end latency of `arch` in milliseconds (no measurement); `unseen` as in `breakdown`."""
        self.check(**conditions)
        return self.calibration.apply(self.totals(space, arch, unseen))

    def totals(self, space: Space, arch: Arch, unseen: str = "error") -> LayerTotals:
        """The layer totals of `arch` the calibration reads (table times; `unseen` as in `breakdown`)."""
        totals = LayerTotals()
        for _, sig in arch_signatures(space, arch):
            ms, _ = self.layer_ms(sig, unseen)
            if math.isnan(ms):
                self._raise_missing(space, arch)
            totals.add(sig, ms)
        return totals

    def _raise_missing(self, space: Space, arch: Arch) -> None:
        missing = self.missing(space, arch)
        shown = "\n  ".join(s.describe() for s in missing[:3])
        raise LatencyError(f"latency table {self.path or '(unsaved)'} has no entry for {len(missing)} layer(s) of "
                           f"{space.format(arch)}:\n  {shown}\nextend it (only missing layers are measured): "
                           f"hybridnas latency build {space.source} --out {self.path or 'TABLE'} "
                           f"--device {self.conditions.device} --backend {self.conditions.backend}")

    # ---- file format ---------------------------------------------------------------------------------
    def _content(self) -> dict[str, Any]:
        entries = [{"layer": sig.to_record(), "ms": t.ms, "spread": t.spread}
                   for sig, t in self.entries.items()]
        return {"conditions": asdict(self.conditions), "meta": self.meta, "calibration": asdict(self.calibration),
                "entries": entries}

    def save(self, path: str | Path | None = None) -> Path:
        """Write the table atomically with its checksum."""
        path = Path(path or self.path)
        content = self._content()
        content["meta"]["saved"] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
        doc = {"format": FORMAT, "version": VERSION, **content, "checksum": checksum(content)}
        atomic_write_text(path, json.dumps(doc, indent=1))
        self.path = path
        return path

    @classmethod
    def load(cls, path: str | Path) -> "LatencyTable":
        """Read a table; a missing, truncated, edited or foreign file raises LatencyError."""
        path = Path(path)
        if not path.is_file():
            raise LatencyError(f"latency table {path}: no such file; build one with `hybridnas latency build`")
        try:
            doc = json.loads(path.read_text())
        except RecursionError:
            raise LatencyError(f"latency table {path} is nested too deeply to be a latency table") from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise LatencyError(f"latency table {path} is not valid JSON (truncated or damaged?): {exc}") from None
        if isinstance(doc, dict) and doc.get("format") == "hybridnas-latency-model":
            raise LatencyError(f"{path} is a latency model (hybridnas latency fit), not a per-layer table; this "
                               "needs a table built on the device (hybridnas latency build)")
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise LatencyError(f"{path} is not a hybridnas latency table")
        if doc.get("version") not in READABLE:
            raise LatencyError(f"latency table {path} has format version {doc.get('version')}, this hybridnas "
                               f"reads versions {', '.join(map(str, READABLE))}; rebuild it")
        key = "ms" if doc["version"] >= 2 else "median_ms"
        content = {k: doc.get(k) for k in ("conditions", "meta", "calibration", "entries")}
        if doc.get("checksum") != checksum(content):
            raise LatencyError(f"latency table {path}: checksum mismatch, the file was modified or damaged; "
                               "rebuild it with `hybridnas latency build`")
        try:
            conditions = Conditions(**content["conditions"])
            calibration = Calibration(**content["calibration"])
            if not isinstance(calibration.kind_scale, dict) or not isinstance(calibration.points, list):
                raise TypeError("calibration kind_scale must be a mapping and points a list")
            entries = {Signature.from_record(e["layer"]): Timing(float(e[key]), float(e["spread"]))
                       for e in content["entries"]}
        except (TypeError, KeyError, ValueError, AttributeError, RecursionError, OverflowError) as exc:
            raise LatencyError(f"latency table {path}: malformed content ({exc})") from None
        if not isinstance(content["meta"], dict):
            raise LatencyError(f"latency table {path}: malformed content (meta must be a mapping)")
        _check_values(path, entries, calibration)
        return cls(conditions, content["meta"], entries, calibration, path)


def _check_values(path: Path, entries: dict, calibration: Calibration) -> None:
    """Latencies are finite and non-negative, and the calibration can only add time: a negative or NaN value
    would pass every latency budget or crash a search, checksum or not."""
    bad = [(str(sig), t.ms) for sig, t in entries.items()
           if not (math.isfinite(t.ms) and 0 <= t.ms <= MAX_LAYER_MS and math.isfinite(t.spread) and t.spread >= 0)]
    if bad:
        raise LatencyError(f"latency table {path}: {len(bad)} layer time(s) are negative, not finite or past a day, "
                           f"e.g. {bad[0][1]!r} ms; times must be finite, >= 0 and at most {MAX_LAYER_MS:.0f} ms; "
                           "rebuild the table")
    low, high = LEVEL_RANGE
    if not (_non_negative(calibration.level) and low <= calibration.level <= high):
        raise LatencyError(f"latency table {path}: calibration level {calibration.level!r} must be finite and from "
                           f"{low:g} to {high:g}; relevel the table (hybridnas latency relevel) or rebuild it")
    coefficients = {"scale": calibration.scale, "base_ms": calibration.base_ms, "per_layer_ms": calibration.per_layer_ms,
                    "per_mparam_ms": calibration.per_mparam_ms, "layer_offset_ms": calibration.layer_offset_ms,
                    **{f"kind_scale[{k}]": v for k, v in calibration.kind_scale.items()}}
    wrong = {k: v for k, v in coefficients.items() if not _non_negative(v)}
    if wrong:
        raise LatencyError(f"latency table {path}: calibration {wrong} must be finite and >= 0; rebuild the table")
    bad_points = [i for i, p in enumerate(calibration.points) if not _refittable(p)]
    if bad_points:  # a build that extends the table refits on them
        raise LatencyError(f"latency table {path}: calibration point(s) {bad_points[:5]} are malformed (each needs "
                           "finite layer_sum_ms, layers, mparams, kind_ms and kind_layer_ms times >= 0, and "
                           "measured_ms > 0); rebuild the table")


# Bounds past which a number in a table can only be damage or a forgery: a layer slower than a day, or a
# calibration that divides or multiplies every prediction by more than a thousand
MAX_LAYER_MS = 86_400_000.0
LEVEL_RANGE = (1e-3, 1e3)


def _non_negative(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value) and 0 <= value <= 1e12  # a 5,000-digit integer is not finite here
    except OverflowError:
        return False


def _refittable(point: Any) -> bool:
    """Whether `Calibration.fit` can read this point: a mapping of finite, non-negative numbers."""
    if not isinstance(point, dict) or not isinstance(point.get("kind_ms", {}), dict):
        return False
    per_layer = point.get("kind_layer_ms", {})
    if not isinstance(per_layer, dict) or not all(isinstance(v, list) for v in per_layer.values()):
        return False
    numbers = [point.get("layer_sum_ms"), point.get("layers"), point.get("mparams", 0.0),
               *point.get("kind_ms", {}).values(), *(ms for v in per_layer.values() for ms in v)]
    measured = point.get("measured_ms")
    return all(map(_non_negative, numbers)) and _non_negative(measured) and measured > 0


def checksum(content: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()
