"""The `hybridnas` command line: one click group, a module per command family. Every command has --help; user
errors print one message and exit 2."""

from __future__ import annotations

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="hybridnas")
def main() -> None:
    """Neural architecture search and auto-scaling for hybrid conv/attention vision backbones."""
    from ..allocator import keep_freed_memory

    keep_freed_memory()  # the command line owns its process; a library import changes nothing (allocator.py)


def _add_groups() -> None:
    from .config_reference import config_keys_cmd
    from .data import data
    from .export import export_cmd
    from .latency import latency
    from .predictor import predictor
    from .proxies import proxies
    from .scale import scale_cmd
    from .search import pareto_cmd, run_cmd, search_cmd
    from .space import cost_cmd, space
    from .supernet import supernet
    from .train import train_cmd

    for command in (space, cost_cmd, proxies, search_cmd, pareto_cmd, run_cmd, latency, export_cmd, scale_cmd,
                    supernet, data, predictor, train_cmd, config_keys_cmd):
        main.add_command(command)


_add_groups()
