"""load_space: read a YAML file, a dict or a shipped space name, validate it, and build the Space."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from pydantic import ValidationError

from ..configfile import format_error, read_yaml_mapping
from ..errors import SpaceError
from .base import SPACE_TYPES, Space

SHIPPED_DIR = Path(__file__).resolve().parent.parent / "configs" / "spaces"


def shipped_spaces() -> list[str]:
    """Names of the spaces shipped with hybridnas (configs/spaces/*.yaml)."""
    return sorted(p.stem for p in SHIPPED_DIR.glob("*.yaml"))


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
        raw = read_yaml_mapping(path, "space", SpaceError)
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
        lines = [format_error(e, space_cls.config_model, raw) for e in exc.errors()]
        raise SpaceError(f"{where}: invalid space:\n  " + "\n  ".join(lines)) from None
    return space_cls(config, where)
