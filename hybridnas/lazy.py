"""Lazy package exports (PEP 562): a package's `__init__` names what it exports and from which module, and
each is imported on first use, so `import hybridnas` and `hybridnas --help` do not load torch, Optuna or Ray."""

from __future__ import annotations

import importlib
import sys
from typing import Any, Callable


def lazy_exports(package: str, exports: dict[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The `__getattr__` and `__dir__` of a package whose public names load on first access.

    Args:
        package: the package's `__name__`.
        exports: public name -> the relative module that defines it (e.g. ``{"RunStore": ".store"}``).
    """

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module, package), name)
        setattr(sys.modules[package], name, value)  # later lookups are plain attribute reads
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(exports))

    return __getattr__, __dir__
