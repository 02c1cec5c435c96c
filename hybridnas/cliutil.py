"""Helpers shared by the `hybridnas` command groups: error handling, table output, reading arch lists."""

from __future__ import annotations

import functools
import sys
from typing import Callable, TextIO

import click
import pandas as pd

from .errors import HybridNASError
from .spaces import Space


def user_errors(fn: Callable) -> Callable:
    """Print HybridNASError messages without a traceback and exit with status 2."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except HybridNASError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)

    return wrapper


def emit(frame: pd.DataFrame, as_csv: bool, as_json: bool) -> None:
    if as_csv:
        click.echo(frame.to_csv(index=False), nl=False)
    elif as_json:
        click.echo(frame.to_json(orient="records", indent=1))
    else:
        click.echo(frame.to_string(index=False))


def read_archs(space: Space, stream: TextIO) -> list:
    lines = [(n, line.strip()) for n, line in enumerate(stream, 1)]
    archs = []
    for n, text in lines:
        if not text or text.startswith("#"):
            continue
        try:
            archs.append((text, space.parse(text)))
        except HybridNASError as exc:
            raise HybridNASError(f"line {n}: {exc}") from None
    if not archs:
        raise HybridNASError("no architectures given: pass a file with one arch string per line, or '-' for stdin")
    return archs
