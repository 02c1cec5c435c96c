"""`hybridnas data`: `download` (the one command that goes online, and only when asked) and `pack`."""

from __future__ import annotations

import click

from .util import user_errors


@click.group()
def data() -> None:
    """Datasets: fetch CIFAR for `--data cifar10:DIR`, or pack an image folder into one `--data npz:FILE`."""


@data.command("download")
@click.argument("name", type=click.Choice(["cifar10", "cifar100"]))
@click.argument("root")
@user_errors
def download_cmd(name: str, root: str) -> None:
    """Download NAME into ROOT (needs a network) and print the --data source that reads it."""
    from ..data.download import download_cifar

    click.echo(download_cifar(name, root))


@data.command("pack")
@click.argument("source")
@click.argument("out")
@click.option("--size", type=click.IntRange(min=1), default=32, show_default=True,
              help="Side in pixels every image is resized to (the space's input size).")
@click.option("--channels", type=click.Choice(["1", "3"]), default="3", show_default=True,
              help="1 for grey, 3 for RGB.")
@user_errors
def pack_cmd(source: str, out: str, size: int, channels: str) -> None:
    """Decode the train and test splits of SOURCE (imagefolder:DIR) into OUT, an npz file, once.

    Training then holds the images in memory instead of decoding every image every epoch; print the --data
    source that reads it.
    """
    from ..data.pack import pack_folder

    counts = pack_folder(source, out, (int(channels), size, size))
    click.echo(f"packed {counts['train']} training and {counts['test']} test images at {size} px", err=True)
    click.echo(f"npz:{out}")
