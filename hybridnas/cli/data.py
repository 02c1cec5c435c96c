"""`hybridnas data download`: the one command that goes online, and only when asked."""

from __future__ import annotations

import click

from .util import user_errors


@click.group()
def data() -> None:
    """Datasets: fetch CIFAR in torchvision's layout for `--data cifar10:DIR` / `cifar100:DIR`."""


@data.command("download")
@click.argument("name", type=click.Choice(["cifar10", "cifar100"]))
@click.argument("root")
@user_errors
def download_cmd(name: str, root: str) -> None:
    """Download NAME into ROOT (needs a network) and print the --data source that reads it."""
    from ..data.download import download_cifar

    click.echo(download_cifar(name, root))
