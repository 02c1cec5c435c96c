"""load_space: read a YAML file, a dict or a shipped space name, validate it, and build the Space."""

from __future__ import annotations

import difflib
import typing
from pathlib import Path
from typing import Any, Mapping

import yaml
from pydantic import ValidationError

from ..errors import SpaceError
from .base import SPACE_TYPES, Space

SHIPPED_DIR = Path(__file__).resolve().parent.parent / "configs" / "spaces"


def shipped_spaces() -> list[str]:
    """Names of the spaces shipped with hybridnas (configs/spaces/*.yaml)."""
    return sorted(p.stem for p in SHIPPED_DIR.glob("*.yaml"))


def key_path(loc: tuple) -> str:
    """('stages', 2, 'layout') -> 'stages[2].layout'."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _user_loc(loc: tuple, raw: Any) -> tuple:
    """Drop pydantic's tagged-union tags (e.g. 'conv' in ('stem', 'conv', 'width')) from an error location."""
    out, current = [], raw
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        if isinstance(current, Mapping) and not last and part not in current:
            continue
        out.append(part)
        try:
            current = current[part]
        except (KeyError, IndexError, TypeError):
            current = None
    return tuple(out)


def _format_error(err: Mapping[str, Any], model: type, raw: Any) -> str:
    loc = tuple(err["loc"])
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        allowed = _allowed_keys(model, loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return f"{key_path(_user_loc(loc, raw))}: unknown key {loc[-1]!r}; allowed keys: {', '.join(allowed)}{hint}"
    given = err.get("input")
    quiet = err["type"] == "missing" or isinstance(given, dict) or "got " in msg
    return f"{key_path(_user_loc(loc, raw))}: {msg}{'' if quiet else f' (got {given!r})'}"


def _allowed_keys(model: type, loc: tuple) -> list[str]:
    """Field names of the sub-model at `loc`, following lists, optionals and tagged unions."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        fields = getattr(current, "model_fields", None)
        if fields is None:
            return []
        if part not in fields:  # a tagged-union tag such as 'conv' in ('stem', 'conv', ...)
            members = [a for a in _flatten(current) if getattr(a, "model_fields", None)]
            current = next((m for m in members if part in str(m.model_fields.get("type", ""))), current)
            continue
        current = fields[part].annotation
        current = next((a for a in _flatten(current) if getattr(a, "model_fields", None)), current)
    fields = getattr(current, "model_fields", None)
    return sorted(fields) if fields else []


def _flatten(tp: Any) -> list[Any]:
    args = typing.get_args(tp)
    if not args:
        return [tp]
    return [leaf for a in args for leaf in _flatten(a)] + [tp]


def load_space(source: str | Path | Mapping[str, Any]) -> Space:
    """Load a space from a YAML path, a shipped name (e.g. 'hybrid_cifar') or a dict; SpaceError on bad input."""
    if isinstance(source, Mapping):
        raw, where = dict(source), "<dict>"
    else:
        path = Path(source)
        if not path.exists() and not path.suffix and (SHIPPED_DIR / f"{path}.yaml").exists():
            path = SHIPPED_DIR / f"{path}.yaml"
        where = str(path)
        if not path.is_file():
            raise SpaceError(f"{where}: no such space file; shipped spaces: {', '.join(shipped_spaces())}")
        try:
            raw = yaml.safe_load(path.read_text())
        except yaml.YAMLError as exc:
            raise SpaceError(f"{where}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise SpaceError(f"{where}: a space must be a mapping with keys name, input, num_classes, ...; "
                         f"got {type(raw).__name__}")
    kind = raw.get("type", "metaformer")
    if not isinstance(kind, str) or kind not in SPACE_TYPES:
        raise SpaceError(f"{where}: type: unknown space type {kind!r}; allowed: {', '.join(SPACE_TYPES.list())}")
    space_cls = SPACE_TYPES.get(kind)
    try:
        config = space_cls.config_model.model_validate(raw)
    except ValidationError as exc:
        lines = [_format_error(e, space_cls.config_model, raw) for e in exc.errors()]
        raise SpaceError(f"{where}: invalid space:\n  " + "\n  ".join(lines)) from None
    return space_cls(config, where)
