"""Latency on a device you cannot run the tool on: a network-level model fitted on k measured networks.

A per-layer table needs the device at hand. When only end-to-end measurements are available (a vendor's
accelerator, a phone, a colleague's board), `fit_network_model` fits a network's time as a non-negative
combination of its analytic sizes: a constant (stem, head, launch overhead), dense MACs, depthwise MACs (which
accelerators run at far lower utilisation), parameters, activation elements written, layers and global pools
(squeeze-excite: each waits for its whole input). Least squares on relative error, as MAPE measures; non-negative, so more work never
predicts less time. The model answers `predict` and `breakdown` like a `LatencyTable`, so a search budget,
`latency predict`, scaling and export take either file.
"""

from __future__ import annotations

import datetime as _dt
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy import optimize, stats

from ..io import atomic_write_text
from ..ir.cost import plan_cost
from ..spaces import Arch, Space
from .signature import LatencyError
from .table import Conditions, Prediction, checksum

FORMAT = "hybridnas-latency-model"
VERSION = 1
FEATURES = ("constant", "dense_macs", "depthwise_macs", "params", "activations", "layers", "global_pools")
MIN_NETWORKS = len(FEATURES)


def network_features(space: Space, arch: Arch) -> np.ndarray:
    """The model's inputs for one network, in `FEATURES` order (analytic: nothing is built or run)."""
    plan = space.plan(arch)
    cost, nodes = plan_cost(plan), plan.nodes
    depthwise = sum(node.spec.depthwise_macs(node.in_shape) for node in nodes)
    pools = sum(node.spec.global_pools() for node in nodes)
    return np.array([1.0, cost.macs - depthwise, depthwise, cost.params, cost.activations, len(nodes), pools],
                    dtype=float)


def fit_coefficients(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Non-negative coefficients of `x`'s columns minimising the relative error of `y`; columns scaled for
    conditioning."""
    scale = np.maximum(np.abs(x).max(axis=0), 1e-12)
    coef, _ = optimize.nnls((x / scale) / y[:, None], np.ones_like(y))
    return coef / scale


@dataclass
class NetworkLatencyModel:
    """A network-level latency model of one space on one device, fitted on measured networks."""

    space: str
    conditions: Conditions
    coef: list[float]
    networks: int
    loo: dict[str, float] = field(default_factory=dict)  # leave-one-out MAPE (%) and Spearman on the fit's networks
    meta: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    def predict(self, space: Space, arch: Arch, unseen: str = "error", **conditions: Any) -> float:
        """Predicted latency of `arch` in ms; `unseen` is accepted for a table's signature (a model has no
        unseen layers)."""
        self.check(space, **conditions)
        return float(network_features(space, arch) @ np.asarray(self.coef))

    def breakdown(self, space: Space, arch: Arch, unseen: str = "error", **conditions: Any) -> Prediction:
        """The prediction as one row, its source `model`: a network-level model has no per-layer times, and none
        of its layers is `predicted` by a table's layer predictor."""
        ms = self.predict(space, arch, **conditions)
        c, h, w = space.input_shape
        frame = pd.DataFrame([{"node": "network (fitted model)", "kind": "network", "in_shape": f"{c}x{h}x{w}",
                               "inputs": 1, "ms": ms, "source": "model"}])
        return Prediction(ms, frame)

    def check(self, space: Space | None = None, **conditions: Any) -> None:
        """Raise LatencyError if `space` is not the one the model was fitted on, or a given condition differs."""
        if space is not None and space.name != self.space:
            raise LatencyError(f"latency model {self.path or '(unsaved)'} was fitted on space {self.space!r}, not "
                               f"{space.name!r}; fit one on measurements of this space with `hybridnas latency fit`")
        wrong = {k: v for k, v in conditions.items() if v is not None and v != getattr(self.conditions, k, v)}
        if wrong:
            raise LatencyError(f"latency model {self.path or '(unsaved)'} was fitted for "
                               f"{self.conditions.describe()}, not {wrong}")

    def describe(self) -> str:
        """One line: the device, the networks it was fitted on and its leave-one-out error."""
        loo = (f"; leave-one-out MAPE {self.loo['mape_pct']:.1f}%, Spearman {self.loo['spearman']:.3f}"
               if self.loo else "")
        return f"fitted on {self.networks} {self.space} networks measured on {self.conditions.device_name}{loo}"

    def _content(self) -> dict[str, Any]:
        return {"space": self.space, "conditions": asdict(self.conditions), "features": list(FEATURES),
                "coef": [float(c) for c in self.coef], "networks": self.networks, "loo": self.loo, "meta": self.meta}

    def save(self, path: str | Path) -> Path:
        """Write the model atomically with its checksum."""
        path = Path(path)
        self.meta["saved"] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
        content = self._content()
        atomic_write_text(path, json.dumps({"format": FORMAT, "version": VERSION, **content,
                                            "checksum": checksum(content)}, indent=1))
        self.path = path
        return path

    @classmethod
    def from_document(cls, doc: dict[str, Any], path: Path) -> "NetworkLatencyModel":
        """The model of a parsed file; an edited, foreign or malformed one raises LatencyError."""
        if doc.get("version") != VERSION:
            raise LatencyError(f"latency model {path} has format version {doc.get('version')}, this hybridnas reads "
                               f"version {VERSION}; fit it again with `hybridnas latency fit`")
        content = {k: doc.get(k) for k in ("space", "conditions", "features", "coef", "networks", "loo", "meta")}
        if doc.get("checksum") != checksum(content):
            raise LatencyError(f"latency model {path}: checksum mismatch, the file was modified or damaged; fit it "
                               "again with `hybridnas latency fit`")
        if content["features"] != list(FEATURES):
            raise LatencyError(f"latency model {path} uses features {content['features']}, this hybridnas computes "
                               f"{list(FEATURES)}; fit it again")
        try:
            coef = [float(c) for c in content["coef"]]
            model = cls(str(content["space"]), Conditions(**content["conditions"]), coef, int(content["networks"]),
                        dict(content["loo"] or {}), dict(content["meta"] or {}), path)
        except (TypeError, ValueError) as exc:
            raise LatencyError(f"latency model {path}: malformed content ({exc})") from None
        if len(coef) != len(FEATURES) or not all(np.isfinite(coef)) or min(coef) < 0:
            raise LatencyError(f"latency model {path}: coefficients must be {len(FEATURES)} finite non-negative "
                               "numbers")
        return model


def fit_network_model(space: Space, archs: Sequence[Arch], ms: Sequence[float], conditions: Conditions,
                      meta: dict[str, Any] | None = None) -> NetworkLatencyModel:
    """Fit the model on measured networks of `space`.

    Args:
        archs, ms: the measured networks and their latencies in milliseconds (at least `MIN_NETWORKS`).
        conditions: what the measurements were taken under (device, batch, dtype...), kept in the file.

    Returns:
        The model, with its leave-one-out MAPE and Spearman over the given networks.
    """
    y = np.asarray(ms, dtype=float)
    if len(archs) != len(y):
        raise LatencyError(f"{len(archs)} networks but {len(y)} latencies")
    if len(y) < MIN_NETWORKS:
        raise LatencyError(f"{len(y)} measured networks; fitting needs at least {MIN_NETWORKS}")
    if not np.all(np.isfinite(y)) or np.any(y <= 0):
        raise LatencyError("every measured latency must be a positive number of milliseconds")
    x = np.stack([network_features(space, a) for a in archs])
    held_out = np.array([x[i] @ fit_coefficients(np.delete(x, i, 0), np.delete(y, i)) for i in range(len(y))])
    loo = {"mape_pct": float(100 * np.mean(np.abs(held_out / y - 1))),
           "spearman": float(stats.spearmanr(held_out, y).statistic) if np.ptp(held_out) > 0 else float("nan")}
    return NetworkLatencyModel(space.name, conditions, [float(c) for c in fit_coefficients(x, y)], len(y), loo, dict(meta or {}))


def load_latency(path: str | Path):
    """A latency file, either kind: a per-layer `LatencyTable` (`latency build`) or a `NetworkLatencyModel`
    (`latency fit`); a missing, damaged or foreign file raises LatencyError."""
    from .table import LatencyTable

    path = Path(path)
    if path.is_file():
        try:
            head = json.loads(path.read_text())
        except (ValueError, UnicodeDecodeError, RecursionError):
            head = None
        if isinstance(head, dict) and head.get("format") == FORMAT:
            return NetworkLatencyModel.from_document(head, path)
    return LatencyTable.load(path)
