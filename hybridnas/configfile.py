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

MAX_YAML_BYTES = 1 << 20  # 1 MiB: far past any config or space, far below what would exhaust memory
MAX_YAML_DEPTH = 32  # nesting of mappings and lists; a space's deepest key path is about 6


def read_yaml_mapping(path: str | Path, what: str, error: type[HybridNASError] = HybridNASError) -> dict[str, Any]:
    """The one YAML loader for every file hybridnas reads: bounded in size and depth, safe (no tags that
    build Python objects), and a mapping at the top. Every problem is one line naming the file."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_YAML_BYTES:
            raise error(f"{path}: {size:,} bytes is too large for a {what}; at most {MAX_YAML_BYTES:,}")
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise error(f"{path}: a {what} must be UTF-8 text") from None
    return parse_yaml_mapping(text, str(path), what, error)


def parse_yaml_mapping(text: str, where: str, what: str, error: type[HybridNASError] = HybridNASError) -> dict[str, Any]:
    """`read_yaml_mapping` for text already read."""
    if len(text) > MAX_YAML_BYTES:
        raise error(f"{where}: too large for a {what}; at most {MAX_YAML_BYTES:,} bytes")
    try:
        raw = yaml.safe_load(text)
    except yaml.constructor.ConstructorError as exc:
        raise error(f"{where}: not allowed in a {what}: {exc.problem} (YAML tags that build Python objects are "
                    "refused; write plain values)") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise error(f"{where}: not valid YAML{at}: {problem}") from None
    except RecursionError:
        raise error(f"{where}: nested too deeply for a {what}; at most {MAX_YAML_DEPTH} levels") from None
    except ValueError as exc:  # e.g. an integer of more than 4,300 digits
        raise error(f"{where}: a value of this {what} cannot be read: {str(exc).split(';')[0]}") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise error(f"{where}: a {what} must be a mapping of keys to values at the top, not a "
                    f"{type(raw).__name__}")
    if _depth(raw) > MAX_YAML_DEPTH:
        raise error(f"{where}: nested too deeply for a {what}; at most {MAX_YAML_DEPTH} levels")
    return raw


def _depth(value: Any, limit: int = MAX_YAML_DEPTH + 1) -> int:
    """Nesting depth of mappings and lists, counted up to `limit`."""
    if limit <= 0 or not isinstance(value, (dict, list)):
        return 0
    children = value.values() if isinstance(value, dict) else value
    return 1 + max((_depth(child, limit - 1) for child in children), default=0)


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
    return read_yaml_mapping(path, what, error), where, path


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
