"""Training-free proxies: a registry, a shared-pass engine, rank ensembles and a correlation benchmark."""

from . import activation, aznas, costs, gradient, spectral, vkdnw  # noqa: F401  (register the proxies)
from .context import ProxyContext, ProxyError
from .engine import ProxyScores, batch_on, score, score_many, space_batch
from .ensemble import Ensemble, parse_ensemble
from .evaluator import ProxyEvaluator  # registers the `proxy` metric source
from .registry import PROXIES, Proxy, get_proxy, list_proxies, register_proxy

__all__ = ["Ensemble", "PROXIES", "Proxy", "ProxyContext", "ProxyError", "ProxyEvaluator", "ProxyScores", "get_proxy", "list_proxies",
           "parse_ensemble", "register_proxy", "score", "score_many", "batch_on", "space_batch"]
