"""Latency for layers a table never timed: a per-layer-type linear model fitted on the layers it did time.

A layer's time is modelled as c0 + c1 * MACs + c2 * parameters + c3 * input elements + c4 * output elements,
with non-negative coefficients fitted for each layer type (the layer kind, and the mixer for MetaFormer
blocks) by least squares on relative error. A linear model in work and bytes extrapolates to the wider and
deeper layers auto-scaling grows, where a tree or nearest-neighbour model would return the largest layer it
has seen. A type with too few timed layers falls back to one model pooled over all types.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

import numpy as np
from scipy.optimize import nnls

from .signature import LatencyError, Signature
from .timing import Timing

FEATURES = ("const", "macs", "params", "in_elems", "out_elems")
MIN_POINTS = 8  # fewer timed layers of a type than this and the pooled model answers for it
POOLED = "*"


def layer_type(sig: Signature) -> str:
    """The group a layer's model is fitted in: its kind, and its mixer for MetaFormer blocks."""
    mixer = getattr(sig.spec, "mixer", None)
    return f"{sig.spec.kind}:{mixer}" if mixer else sig.spec.kind


def layer_features(sig: Signature) -> np.ndarray:
    """The model's inputs for one layer, in `FEATURES` order."""
    in_elems = math.prod(sig.in_shape) * sig.inputs
    out_elems = math.prod(sig.spec.out_shape(sig.in_shape))
    return np.array([1.0, sig.spec.macs(sig.in_shape), sig.spec.params(), in_elems, out_elems], dtype=float)


def _fit(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Non-negative coefficients minimising the relative error; columns are scaled for conditioning."""
    scale = np.maximum(np.abs(x).max(axis=0), 1e-12)
    coef, _ = nnls((x / scale) / y[:, None], np.ones_like(y))
    return coef / scale


@dataclass
class LayerPredictor:
    """Coefficients per layer type (and the pooled model), fitted on a table's timed layers."""

    coefficients: dict[str, np.ndarray]
    points: dict[str, int]

    @classmethod
    def fit(cls, entries: Mapping[Signature, Timing], min_points: int = MIN_POINTS) -> "LayerPredictor":
        """Fit on every timed layer with a positive median; raises LatencyError on a table too small to fit."""
        usable = [(sig, t.ms) for sig, t in entries.items() if t.ms > 0]
        if len(usable) < min_points:
            raise LatencyError(f"the table has {len(usable)} timed layers; predicting untimed ones needs at least "
                               f"{min_points}")
        x = np.stack([layer_features(sig) for sig, _ in usable])
        y = np.array([ms for _, ms in usable])
        types = np.array([layer_type(sig) for sig, _ in usable])
        coefficients = {POOLED: _fit(x, y)}
        points = {POOLED: len(y)}
        for name in sorted(set(types)):
            chosen = types == name
            if chosen.sum() >= min_points:
                coefficients[name] = _fit(x[chosen], y[chosen])
                points[name] = int(chosen.sum())
        return cls(coefficients, points)

    def predict(self, sig: Signature) -> float:
        """Predicted median milliseconds of one layer (the pooled model for a type fitted on too few layers)."""
        coef = self.coefficients.get(layer_type(sig), self.coefficients[POOLED])
        return float(layer_features(sig) @ coef)

    def model_of(self, sig: Signature) -> str:
        """Which model answers for `sig`: its own type's, or the pooled one."""
        return layer_type(sig) if layer_type(sig) in self.coefficients else POOLED
