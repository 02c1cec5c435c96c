"""`hybridnas supernet train|eval`."""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

import click

from .train import DEVICES, PRECISIONS
from .util import RUNS_DIR, emit, read_archs, user_errors


@click.group()
def supernet() -> None:
    """Weight-sharing supernet: train one, evaluate subnets with inherited weights."""


@supernet.command("train")
@click.argument("config_file")
@click.option("--out", default=None, help="Checkpoint folder (default: runs/supernet_<config name>).")
@click.option("--epochs", type=int, default=None)
@click.option("--batch-size", type=int, default=None,
              help="Images per training step (the config's by default); a small image folder needs a small one.")
@click.option("--sampler", default=None, help="uniform | sandwich | complexity_aware | performance_aware")
@click.option("--workers", type=int, default=None, help="Data-parallel workers (Ray Train when > 1).")
@click.option("--device", type=click.Choice(DEVICES), default=None)
@click.option("--data", default=None, help="cifar10:DIR | cifar100:DIR | npz:FILE | imagefolder:DIR")
@click.option("--space", "space_file", default=None,
              help="Train this space's supernet with CONFIG_FILE's recipe (e.g. your space at your images' size).")
@click.option("--precision", type=click.Choice(PRECISIONS), default=None)
@click.option("--resume", is_flag=True, help="Continue from the checkpoint in --out.")
@click.option("--no-progress", is_flag=True)
@user_errors
def train_cmd(config_file: str, out: str | None, epochs: int | None, batch_size: int | None, sampler: str | None,
              workers: int | None, device: str | None, data: str | None, space_file: str | None,
              precision: str | None, resume: bool, no_progress: bool) -> None:
    """Train the supernet of CONFIG_FILE's space; a checkpoint is written atomically every epoch."""
    from ..supernet.config import load_supernet_config
    from ..supernet.train import train_supernet
    from ..timing import PhaseClock

    clock = PhaseClock()
    config = load_supernet_config(config_file, {"epochs": epochs, "batch_size": batch_size, "sampler": sampler,
                                                "workers": workers,
                                                "device": device, "data": data, "space": space_file,
                                                "precision": precision})
    out = out or str(Path(RUNS_DIR) / f"supernet_{Path(config_file).stem}")
    with clock.phase("training"):
        result = train_supernet(config, out, resume=resume, progress=not no_progress)
    last = result.history[-1] if result.history else {}
    click.echo(f"checkpoint: {result.checkpoint} ({result.epochs} epochs; last epoch loss {last.get('loss', float('nan')):.4f})")
    click.echo(clock.summary())


@supernet.command("split")
@click.argument("checkpoint")
@click.option("--gene", required=True, help="The gene to split on, a dotted path (NAS-Bench-201's edge 0->3: ops.3).")
@click.option("--epochs", type=click.IntRange(min=1), required=True,
              help="Epochs each sub-supernet trains from the parent's weights.")
@click.option("--out", required=True, help="Folder of the sub-supernets (<gene>=<value>/checkpoint.pt).")
@click.option("--resume", is_flag=True, help="Keep finished sub-supernets and continue an interrupted one.")
@click.option("--no-progress", is_flag=True)
@user_errors
def split_cmd(checkpoint: str, gene: str, epochs: int, out: str, resume: bool, no_progress: bool) -> None:
    """Few-shot: one sub-supernet per value of GENE, each from CHECKPOINT's weights; score with `eval OUT`."""
    from ..supernet.few_shot import train_few_shot

    for result in train_few_shot(checkpoint, gene, out, epochs, resume=resume, progress=not no_progress):
        last = result.history[-1] if result.history else {}
        click.echo(f"checkpoint: {result.checkpoint} (last epoch loss {last.get('loss', float('nan')):.4f})")


@supernet.command("eval")
@click.argument("checkpoint")
@click.option("--archs", "archs_file", type=click.File("r"), default="-", show_default=True)
@click.option("--test-limit", type=int, default=None, help="Evaluate on the first N test images.")
@click.option("--csv", "as_csv", is_flag=True)
@click.option("--json", "as_json", is_flag=True)
@user_errors
def eval_cmd(checkpoint: str, archs_file: TextIO, test_limit: int | None, as_csv: bool, as_json: bool) -> None:
    """Test accuracy (%) of each architecture with inherited weights (BatchNorm recalibrated); CHECKPOINT is a
    supernet's checkpoint, or a few-shot split's folder (`supernet split`)."""
    import pandas as pd

    from ..supernet.few_shot import load_scorer

    scorer = load_scorer(checkpoint, test_limit)
    rows = [{"arch": text, "macs": scorer.space.cost(arch).macs, "supernet_accuracy": scorer(arch)}
            for text, arch in read_archs(scorer.space, archs_file)]
    emit(pd.DataFrame(rows), as_csv, as_json)
