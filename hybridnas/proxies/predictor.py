"""A learned ranker users fit on architectures they trained: kernel ridge on encodings and proxy scores.

Features of a network: its space encoding e (`Space.encode`) and, per proxy, the score's percentile q
in the training networks' scores (`reference_percentile`, so new networks are scored on the same scale
whatever population they come in). The kernel is lin + lin^2 + q.q' with lin = e.e' / dim(e): for one-hot
encodings the square term holds every pair of choices (which op on one edge goes with which on another),
the interactions a linear model misses. The target is the training accuracy's rank percentile, so a few
networks that never learned (10% on CIFAR-10) do not dominate the fit. The ridge is chosen by k-fold
cross-validation on the training networks alone (Kendall tau).

A predictor is a JSON file of numbers (no code): `RankPredictor.save` / `load`. The search objective
`predictor:FILE` computes the proxies it needs and ranks by its prediction.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import HybridNASError
from ..io import atomic_write_text
from ..spaces import Arch, Space
from .ensemble import reference_percentile
from .registry import get_proxy

RIDGES = (0.003, 0.01, 0.03, 0.1, 0.3, 1.0)
FORMAT = 1


@dataclass
class RankPredictor:
    """A fitted ranker (higher prediction = better network) for one space."""

    space: str
    proxies: list[str]
    target: str
    reference: dict[str, list[float]]  # per proxy: the training networks' oriented scores, sorted
    encodings: list[list[float]]  # training networks' encodings
    features: list[list[float]]  # training networks' proxy percentiles, centred
    alpha: list[float]
    ridge: float
    cv_tau: float  # mean Kendall tau of the chosen ridge across the cross-validation folds
    format: int = FORMAT

    @property
    def labelled(self) -> int:
        return len(self.alpha)

    def percentiles(self, scores: pd.DataFrame) -> np.ndarray:
        """Centred percentile features of `scores` (one column per proxy; NaN = failed = worst)."""
        columns = []
        for proxy in self.proxies:
            sign = 1.0 if get_proxy(proxy).higher_is_better else -1.0
            values = (sign * pd.to_numeric(scores[proxy], errors="coerce")).fillna(-np.inf).to_numpy()
            columns.append(reference_percentile(np.asarray(self.reference[proxy]), values) - 0.5)
        return np.stack(columns, 1) if columns else np.zeros((len(scores), 0))

    def predict(self, encodings: np.ndarray, scores: pd.DataFrame) -> np.ndarray:
        """Predicted rank score of each network (encodings: one row per network; scores: its proxy values)."""
        kernel = _kernel(np.asarray(encodings, float), self.percentiles(scores), np.asarray(self.encodings),
                         np.asarray(self.features))
        return kernel @ np.asarray(self.alpha)

    def predict_archs(self, space: Space, archs: Sequence[Arch], scores: pd.DataFrame) -> np.ndarray:
        return self.predict(np.stack([space.encode(a) for a in archs]), scores)

    def save(self, path: str | Path) -> Path:
        """Write the predictor as JSON (atomically)."""
        return atomic_write_text(path, json.dumps(asdict(self)))

    @classmethod
    def load(cls, path: str | Path) -> "RankPredictor":
        """Read a predictor file; anything but a well-formed one is a HybridNASError naming the problem."""
        path = Path(path)
        if not path.is_file():
            raise HybridNASError(f"predictor {path}: no such file (fit one with `hybridnas predictor fit`)")
        try:
            raw = json.loads(path.read_text())
            predictor = cls(**raw)
            n, dims = len(predictor.alpha), {len(e) for e in predictor.encodings}
            shapes_ok = (len(predictor.encodings) == len(predictor.features) == n and len(dims) == 1
                         and all(len(f) == len(predictor.proxies) for f in predictor.features)
                         and set(predictor.reference) == set(predictor.proxies))
            numbers = [predictor.ridge, *predictor.alpha, *(v for e in predictor.encodings for v in e),
                       *(v for f in predictor.features for v in f),
                       *(v for values in predictor.reference.values() for v in values)]
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, TypeError) as exc:
            raise HybridNASError(f"predictor {path} is not a hybridnas predictor file ({exc})") from None
        if predictor.format != FORMAT or not shapes_ok or n == 0:
            raise HybridNASError(f"predictor {path}: inconsistent contents (format {predictor.format}, {n} networks)")
        if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in numbers):
            raise HybridNASError(f"predictor {path} holds values that are not finite numbers")
        for proxy in predictor.proxies:
            get_proxy(proxy)  # an unknown proxy names the registered ones
        return predictor


def _kernel(e1: np.ndarray, q1: np.ndarray, e2: np.ndarray, q2: np.ndarray) -> np.ndarray:
    lin = e1 @ e2.T / max(1, e1.shape[1])
    return lin + lin ** 2 + q1 @ q2.T


def _solve(kernel: np.ndarray, target: np.ndarray, ridge: float) -> np.ndarray:
    return np.linalg.solve(kernel + ridge * np.eye(len(target)), target)


def _rank_target(accuracy: np.ndarray) -> np.ndarray:
    ranks = stats.rankdata(accuracy) / len(accuracy)
    return ranks - ranks.mean()


def fit_rank_predictor(space: Space, archs: Sequence[Arch], accuracy: Sequence[float], scores: pd.DataFrame,
                       proxies: Sequence[str], *, target: str = "accuracy", folds: int = 5, seed: int = 0,
                       ridges: Sequence[float] = RIDGES) -> RankPredictor:
    """Fit a ranker on labelled networks.

    Args:
        archs: the trained networks; accuracy: what they reached (any higher-is-better measure).
        scores: one row per network with a column per proxy in `proxies` (NaN where a proxy failed).
        folds: cross-validation folds that choose the ridge among `ridges`.
    Returns:
        The predictor fitted on every network with the chosen ridge.
    """
    accuracy = np.asarray(accuracy, float)
    if len(archs) != len(accuracy) or len(scores) != len(archs):
        raise HybridNASError(f"{len(archs)} networks, {len(accuracy)} accuracies and {len(scores)} score rows; "
                             "a predictor needs one of each per network")
    if len(archs) < 2 * folds or not np.all(np.isfinite(accuracy)):
        raise HybridNASError(f"a predictor needs at least {2 * folds} networks with finite accuracies; "
                             f"got {len(archs)}")
    missing = [p for p in proxies if p not in scores]
    if missing:
        raise HybridNASError(f"no scores for proxies {missing}")
    encodings = np.stack([space.encode(a) for a in archs]).astype(float)
    order = np.random.default_rng(seed).permutation(len(archs))
    taus = {ridge: [] for ridge in ridges}
    for k in range(folds):
        held = order[k::folds]
        kept = np.setdiff1d(order, held)
        part = _unfitted(space, proxies, target, scores.iloc[kept], encodings[kept])
        kept_features = part.percentiles(scores.iloc[kept])
        train_kernel = _kernel(encodings[kept], kept_features, encodings[kept], kept_features)
        cross = _kernel(encodings[held], part.percentiles(scores.iloc[held]), encodings[kept], kept_features)
        for ridge in ridges:
            prediction = cross @ _solve(train_kernel, _rank_target(accuracy[kept]), ridge)
            taus[ridge].append(float(stats.kendalltau(prediction, accuracy[held]).statistic))
    means = {ridge: float(np.nanmean(v)) for ridge, v in taus.items()}
    ridge = max(means, key=lambda r: (means[r], r))
    predictor = _unfitted(space, proxies, target, scores, encodings)
    features = predictor.percentiles(scores)
    predictor.features = features.tolist()
    predictor.alpha = _solve(_kernel(encodings, features, encodings, features), _rank_target(accuracy), ridge).tolist()
    predictor.ridge, predictor.cv_tau = ridge, means[ridge]
    return predictor


def _unfitted(space: Space, proxies: Sequence[str], target: str, scores: pd.DataFrame,
              encodings: np.ndarray) -> RankPredictor:
    """A predictor holding the reference scale of `scores` (alpha and features filled in by the caller)."""
    reference = {}
    for proxy in proxies:
        sign = 1.0 if get_proxy(proxy).higher_is_better else -1.0
        values = (sign * pd.to_numeric(scores[proxy], errors="coerce")).dropna().to_numpy()
        reference[proxy] = np.sort(values).tolist()
    return RankPredictor(space.name, list(proxies), target, reference, encodings.tolist(), [], [], 0.0, float("nan"))
