"""`hybridnas config-keys`: every key the search, supernet and pipeline configs (and the option models of latency
build, scale and export) accept, generated from their models (docs/guide/config-reference.md is this command's output; a test keeps the two equal)."""

from __future__ import annotations

import types
import typing
from typing import Any

import click

HEADER = """# Config reference

Every key each config file accepts, generated from the config models by `hybridnas config-keys` (a test
keeps this page equal to its output, so it cannot drift). Unknown keys are errors. Sizes accept K/M/G
suffixes (`100M`); a CLI flag overrides the file's value.
"""


def _type_name(annotation: Any) -> str:
    """A short readable form of a field's type."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _type_name(typing.get_args(annotation)[0])
    if origin is typing.Literal:
        return " | ".join(repr(v) for v in typing.get_args(annotation))
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_type_name(a) for a in typing.get_args(annotation))
    if origin in (list, tuple, dict):
        inner = ", ".join(_type_name(a) for a in typing.get_args(annotation) if a is not Ellipsis)
        return f"{origin.__name__}[{inner}]"
    if annotation is type(None):
        return "null"
    return getattr(annotation, "__name__", str(annotation))


def _bounds(field: Any) -> str:
    parts = []
    for item in field.metadata:
        for key, symbol in (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<="), ("min_length", "min length"),
                            ("max_length", "max length"), ("pattern", "pattern")):
            value = getattr(item, key, None)
            if value is not None:
                parts.append(f"{symbol} {value}")
    return ", ".join(parts)


def _default(field: Any) -> str:
    if field.is_required():
        return "required"
    value = field.default_factory() if field.default_factory is not None else field.default
    if hasattr(value, "model_dump"):
        return "(section defaults)"
    return "`null`" if value is None else f"`{value!r}`"


def _nested(annotation: Any) -> list[type]:
    """The config sections (pydantic models) a field's type holds."""
    from pydantic import BaseModel

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [model for arg in typing.get_args(annotation) for model in _nested(arg)]


def model_table(model: type, title: str, seen: set[type]) -> list[str]:
    """Markdown for one model and (once each) the sections it nests."""
    seen.add(model)
    doc = " ".join((model.__doc__ or "").split())
    lines = [f"## {title}", "", doc, "", "| key | type | default | allowed | meaning |", "|---|---|---|---|---|"]
    nested: list[tuple[str, type]] = []
    for name, field in model.model_fields.items():
        meaning = " ".join((field.description or "").split())
        lines.append(f"| `{name}` | {_type_name(field.annotation).replace('|', '&#124;')} | {_default(field)} | "
                     f"{_bounds(field).replace('|', '&#124;')} | {meaning} |")
        nested += [(f"{title}.{name}", sub) for sub in _nested(field.annotation) if sub not in seen]
    lines.append("")
    for sub_title, sub in nested:
        if sub not in seen:
            lines += model_table(sub, sub_title, seen)
    return lines


def config_reference() -> str:
    """The whole reference, as Markdown."""
    from ..export.config import ExportConfig
    from ..latency.config import LatencyBuildConfig
    from ..pipeline import PipelineConfig
    from ..scaling.config import ScaleConfig
    from ..search.config import SearchConfig
    from ..supernet.config import SupernetConfig

    seen: set[type] = set()
    lines = [HEADER]
    for model, title, used in ((SearchConfig, "search", "hybridnas search CONFIG"),
                               (SupernetConfig, "supernet", "hybridnas supernet train CONFIG, hybridnas train "
                                                            "(its --recipe; the flags override it)"),
                               (LatencyBuildConfig, "latency build", "hybridnas latency build (its flags)"),
                               (ScaleConfig, "scale", "hybridnas scale (its flags)"),
                               (ExportConfig, "export", "hybridnas export (its flags)"),
                               (PipelineConfig, "pipeline", "hybridnas run CONFIG")):
        table = model_table(model, title, seen)
        lines += table[:2] + [f"Read by `{used}`.", ""] + table[2:]
    return "\n".join(lines).rstrip() + "\n"


@click.command("config-keys")
def config_keys_cmd() -> None:
    """Print every key the configs and the commands' option models accept (Markdown), from the models."""
    click.echo(config_reference(), nl=False)
