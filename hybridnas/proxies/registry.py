"""Proxy registry: each training-free proxy is one decorated function of a ProxyContext."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from ..registry import Registry

if TYPE_CHECKING:
    from .context import ProxyContext


@dataclass(frozen=True)
class Proxy:
    """A registered proxy and what it needs. Scores are oriented so that higher predicts better,
    except where `higher_is_better` is False (then rankings flip the sign)."""

    name: str
    fn: Callable[["ProxyContext"], float]
    paper: str
    needs_data: bool = True
    needs_labels: bool = False
    needs_grad: bool = False
    higher_is_better: bool = True
    init: str = "initial"  # the weights it reads: 'initial', 'kaiming_fanin' or 'gaussian'
    shared: str = ""  # the shared pass it reads ('main_pass', 'az_features'), if any
    late: bool = False  # run after the other users of its shared pass (it grows the graph, e.g. 2nd order)

    @property
    def doc(self) -> str:
        return (self.fn.__doc__ or "").strip().splitlines()[0]


PROXIES: Registry[Proxy] = Registry("proxy")


def register_proxy(name: str, *, paper: str, needs_data: bool = True, needs_labels: bool = False,
                   needs_grad: bool = False, higher_is_better: bool = True, init: str = "initial",
                   shared: str = "", late: bool = False
                   ) -> Callable[[Callable[["ProxyContext"], float]], Callable[["ProxyContext"], float]]:
    """Decorator: register `fn(ctx) -> float` as proxy `name`."""

    def deco(fn: Callable[["ProxyContext"], float]) -> Callable[["ProxyContext"], float]:
        PROXIES.register(name)(Proxy(name, fn, paper, needs_data, needs_labels, needs_grad, higher_is_better, init,
                                     shared, late))
        return fn

    return deco


def get_proxy(name: str) -> Proxy:
    """A registered proxy by name."""
    return PROXIES.get(name)


def list_proxies(pattern: str = "*") -> list[str]:
    """Registered proxy names matching a shell-style pattern (e.g. 'az_*')."""
    return PROXIES.list(pattern)
