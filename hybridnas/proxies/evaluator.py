"""The proxies' evaluators for a search, registered as the metric sources `proxy` and `predictor`.

`proxy` provides every registered proxy and every `ensemble:...` of them; with a scores table in the search
settings, the scores are looked up there instead of computed. `predictor` provides `predictor:FILE`, the
prediction of a ranker fitted on the user's trained networks (predictor.py), from the proxies it reads.
"""

from __future__ import annotations

import time

from ..evaluation import Evaluation, Evaluator, MetricSource, SourceSettings, TableEvaluator, register_metric_source
from ..spaces import Arch, Space
from ..errors import HybridNASError
from .engine import expand, score_or_failure, space_batch
from .ensemble import Ensemble, is_ensemble, parse_ensemble
from .registry import list_proxies


class ProxySettings(SourceSettings):
    """What the proxy and predictor sources read of a search's settings."""

    data: str = "gaussian"
    seed: int = 0
    proxy_batch_size: int = 64
    device: str = "cpu"
    scores_table: str | None = None


class ProxyEvaluator(Evaluator):
    """Training-free proxies from one shared-pass score per architecture."""

    def __init__(self, space: Space, proxies: list[str], data: str, seed: int, batch_size: int,
                 device: str = "cpu") -> None:
        self.space, self.proxies, self.data, self.seed, self.batch_size = space, proxies, data, seed, batch_size
        self.device = device
        self.metrics = tuple(proxies)
        self.batch = None

    def setup(self) -> None:
        """Build the data batch once per worker, on its device; every evaluation reuses it."""
        self.batch = space_batch(self.space, self.data, self.batch_size, self.seed, self.device)

    def evaluate(self, arch: Arch) -> Evaluation:
        start = time.perf_counter()
        result = score_or_failure(arch, self.proxies, self.data, self.seed, space=self.space,
                                  batch_size=self.batch_size, batch=self.batch, device=self.device)
        return Evaluation(dict(result.values), dict(result.errors), time.perf_counter() - start)


def _is_proxy_metric(name: str) -> bool:
    if is_ensemble(name):
        parse_ensemble(name)  # a malformed ensemble is an error naming its members, not "unknown objective"
        return True
    return name in list_proxies()


def _proxy_ranking(name: str) -> Ensemble:
    """An ensemble's ranking, or one proxy's as a one-member ensemble (the screen ranks by either)."""
    return parse_ensemble(name) if is_ensemble(name) else Ensemble(name, {name: 1.0})


def _proxy_evaluator(space: Space, settings: ProxySettings, metrics: list[str]) -> Evaluator:
    """Scores come from `settings.scores_table` when one is given, else are computed."""
    if settings.scores_table:
        return TableEvaluator(space, settings.scores_table, metrics)
    return ProxyEvaluator(space, metrics, settings.data, settings.seed, settings.proxy_batch_size,
                          settings.device)


register_metric_source(MetricSource("proxy", _is_proxy_metric, _proxy_evaluator,
                                    "a proxy (hybridnas proxies list) or ensemble:a+b",
                                    in_process=lambda settings: bool(settings.scores_table), settings=ProxySettings,
                                    members=lambda name: expand([name])[0], ranking=_proxy_ranking,
                                    ranked=is_ensemble))


PREDICTOR = "predictor:"


class PredictorEvaluator(Evaluator):
    """`predictor:FILE` objectives: the proxies their predictors read (scored once, or looked up in the search's
    scores table), then each prediction."""

    def __init__(self, space: Space, metrics: list[str], settings: ProxySettings) -> None:
        from .predictor import RankPredictor

        self.space = space
        self.predictors = {m: RankPredictor.load(m.removeprefix(PREDICTOR)) for m in metrics}
        for metric, predictor in self.predictors.items():
            if predictor.space != space.name:
                raise HybridNASError(f"{metric} was fitted on space {predictor.space!r}; the search's is "
                                     f"{space.name!r}")
        self.proxy_names = list(dict.fromkeys(p for predictor in self.predictors.values() for p in predictor.proxies))
        self.proxies = _proxy_evaluator(space, settings, self.proxy_names)
        self.metrics = (*metrics, *self.proxy_names)

    def setup(self) -> None:
        self.proxies.setup()

    def evaluate(self, arch: Arch) -> Evaluation:
        import pandas as pd

        result = self.proxies.evaluate(arch)
        row = pd.DataFrame([{p: result.metrics.get(p, float("nan")) for p in self.proxy_names}])
        for metric, predictor in self.predictors.items():
            failed = [p for p in predictor.proxies if p not in result.metrics]
            if failed:  # like an ensemble's member: no prediction from a made-up score
                result.errors[metric] = f"proxies it reads failed: {', '.join(failed)}"
            else:
                result.metrics[metric] = float(predictor.predict_archs(self.space, [arch], row)[0])
        return result


def _predictor_evaluator(space: Space, settings: ProxySettings, metrics: list[str]) -> Evaluator:
    """The proxies it reads come from `settings.scores_table` when one is given, else are computed."""
    return PredictorEvaluator(space, metrics, settings)


def _check_predictor_files(settings: ProxySettings, metrics: list[str]) -> None:
    from .predictor import RankPredictor

    for metric in metrics:
        RankPredictor.load(metric.removeprefix(PREDICTOR))


register_metric_source(MetricSource("predictor", lambda name: name.startswith(PREDICTOR), _predictor_evaluator,
                                    "predictor:FILE (a ranker fitted with `hybridnas predictor fit`)",
                                    _check_predictor_files, in_process=lambda settings: bool(settings.scores_table),
                                    settings=ProxySettings))
