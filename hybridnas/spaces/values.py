"""Searchable values in a space file: a fixed value, `{choices: [...]}` or `{range: [lo, hi], step: s}`."""

from __future__ import annotations

import math

import re
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

MAX_RANGE_VALUES = 10_000  # a range is enumerated when a space loads; more values than this is a mistake
_SUFFIX = {"": 1, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}
_QUANTITY = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([KMGT]?)\s*$")


MAX_QUANTITY = 1e18  # a billion GMACs: past any network, and far below float overflow


def parse_quantity(value: Any) -> float:
    """'100M' -> 1e8, '1.5G' -> 1.5e9, 3e8 -> 3e8; raises ValueError naming the accepted forms.

    The result is finite, not negative and at most 1e18; anything else (NaN, infinity, a 5,000-digit
    integer) is refused here, where the number enters.
    """
    if isinstance(value, bool):
        raise ValueError(f"expected a number such as 100M or 1.5G, got {value!r}")
    if isinstance(value, (int, float)):
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
    else:
        match = _QUANTITY.match(str(value).upper()) if isinstance(value, str) else None
        if not match:
            raise ValueError(f"expected a number such as 300000, 100M or 1.5G (suffixes K, M, G, T), got {value!r}")
        number = float(match.group(1)) * _SUFFIX[match.group(2)]
    if not math.isfinite(number) or not 0 <= number <= MAX_QUANTITY:
        shown = value if not isinstance(value, int) or abs(value) < 10**30 else "a huge integer"
        raise ValueError(f"expected a finite number from 0 to 1e18 such as 100M or 1.5G, got {shown!r}")
    return number


@dataclass(frozen=True)
class Param:
    """A finite set of allowed values; fixed values are a one-element set."""

    values: tuple[Any, ...]
    scalable: bool = False  # auto-scaling may grow past the declared values

    @property
    def searchable(self) -> bool:
        return len(self.values) > 1

    @property
    def fixed(self) -> Any:
        return self.values[0]

    def sample(self, rng: np.random.Generator) -> Any:
        return self.values[int(rng.integers(len(self.values)))]

    def __contains__(self, value: object) -> bool:
        return value in self.values


MAX_DIMENSION = 10**15  # finite and exact as a float; the schema bounds each dimension far tighter


def _check_scalar(value: Any, kind: type, what: str) -> Any:
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        if abs(value) > MAX_DIMENSION:
            raise ValueError(f"expected a finite number of at most {MAX_DIMENSION:,}, got a huge integer")
        value = float(value)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ValueError(f"expected {what}, got {value!r}")
    if kind in (int, float) and not (math.isfinite(value) and abs(value) <= MAX_DIMENSION):
        shown = value if isinstance(value, float) or abs(value) < 10**30 else "a huge integer"
        raise ValueError(f"expected a finite {what[3:] if what.startswith('an ') else what[2:]} of at most "
                         f"{MAX_DIMENSION:,}, got {shown!r}")
    return value


def to_param(raw: Any, kind: type = int) -> Param:
    """Turn a raw YAML value into a Param of `kind` (int, float or str); ValueError explains the three forms."""
    what = {int: "an integer", float: "a number", str: "a string"}[kind]
    forms = f"{what}, {{choices: [...]}} or {{range: [lo, hi], step: s}}"
    if isinstance(raw, Param):
        return raw
    if not isinstance(raw, dict):
        try:
            return Param((_check_scalar(raw, kind, what),))
        except ValueError:
            raise ValueError(f"expected {forms}; got {raw!r}") from None
    raw = dict(raw)
    scalable = raw.pop("scalable", False)
    if not isinstance(scalable, bool):
        raise ValueError(f"'scalable' must be true or false, got {scalable!r}")
    keys = set(raw)
    if keys == {"choices"}:
        choices = raw["choices"]
        if not isinstance(choices, Sequence) or isinstance(choices, str) or not choices:
            raise ValueError(f"'choices' must be a non-empty list, got {choices!r}")
        values = tuple(_check_scalar(c, kind, what) for c in choices)
        if len(set(values)) != len(values):
            raise ValueError(f"'choices' has duplicates: {list(choices)!r}")
        return Param(values, scalable)
    if keys in ({"range"}, {"range", "step"}):
        if kind is str:
            raise ValueError(f"a range needs numbers; use {{choices: [...]}} for strings, got {raw!r}")
        bounds, step = raw["range"], raw.get("step", 1)
        if not (isinstance(bounds, Sequence) and len(bounds) == 2):
            raise ValueError(f"'range' must be [lo, hi], got {bounds!r}")
        lo, hi = (_check_scalar(b, kind, what) for b in bounds)
        step = _check_scalar(step, kind, what)
        if step <= 0 or hi < lo:
            raise ValueError(f"'range' needs lo <= hi and step > 0, got range {list(bounds)!r} step {step!r}")
        count = int(round((hi - lo) / step)) + 1
        if count > MAX_RANGE_VALUES:
            raise ValueError(f"'range' {list(bounds)!r} with step {step!r} has {count} values; a searchable value "
                             f"may have at most {MAX_RANGE_VALUES} (raise the step or narrow the range)")
        values = tuple(kind(lo + i * step) for i in range(count) if lo + i * step <= hi + 1e-9)
        return Param(values, scalable)
    raise ValueError(f"expected {forms}; got keys {sorted(keys)}")
