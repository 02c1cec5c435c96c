"""Reading the YAML configs of searches, supernets and pipelines: one place for files, shipped names and errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, TypeVar

import difflib
import typing

import yaml
from pydantic import BaseModel, ValidationError

from .errors import HybridNASError

Model = TypeVar("Model", bound=BaseModel)


def read_config(source: str | Path | Mapping[str, Any], shipped: Path, what: str,
                error: type[HybridNASError] = HybridNASError) -> tuple[dict[str, Any], str, Path | None]:
    """(raw mapping, where it came from, its path) for a YAML path, a shipped name in `shipped`, or a dict."""
    if isinstance(source, Mapping):
        return dict(source), "<dict>", None
    path = Path(source)
    if not path.exists() and (shipped / f"{path}.yaml").exists():
        path = shipped / f"{path}.yaml"
    where = str(path)
    if not path.is_file():
        names = ", ".join(sorted(p.stem for p in shipped.glob("*.yaml")))
        raise error(f"{where}: no such {what}" + (f"; shipped: {names}" if names else ""))
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise error(f"{where}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise error(f"{where}: a {what} must be a mapping")
    return raw, where, path


def local_path(value: Any, base: Path | None) -> Any:
    """A relative path in a config resolved against the config's folder when a file is there."""
    if base is None or not isinstance(value, str) or Path(value).is_absolute():
        return value
    local = base.parent / value
    return str(local) if local.exists() else value


def validate_config(model: type[Model], raw: Mapping[str, Any], where: str, what: str,
                    error: type[HybridNASError] = HybridNASError) -> Model:
    """`model` from `raw`; every problem is reported with its key path, the bad value and what is allowed."""
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        lines = [format_error(e, model, raw) for e in exc.errors()]
        raise error(f"{where}: invalid {what}:\n  " + "\n  ".join(lines)) from None


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


def format_error(err: Mapping[str, Any], model: type, raw: Any) -> str:
    """One line for one pydantic error: the user's key path, the message, the bad value or the allowed keys."""
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
