"""Reading the YAML configs of searches, supernets and pipelines: one place for files, shipped names and errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from .errors import HybridNASError
from .spaces.loader import _format_error

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
        lines = [_format_error(e, model, raw) for e in exc.errors()]
        raise error(f"{where}: invalid {what}:\n  " + "\n  ".join(lines)) from None
