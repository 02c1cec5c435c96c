"""The `hybridnas` command: one click group, a module per command family. Domain packages never import click."""

from .main import main

__all__ = ["main"]
