"""`hybridnas train`: train one architecture from scratch and save its weights for `hybridnas export --weights`."""

from __future__ import annotations

import json
import math
from pathlib import Path

import click

from .util import user_errors


# fields of a training config that only a supernet reads; a standalone record leaves them out
SUPERNET_ONLY = {"sampler", "subnets", "sampler_options", "init_from", "calibration_batches", "workers"}
# the choices of SupernetConfig's `device` and `precision` (the training config model the flags override), mirrored
# here so that --help needs no pydantic model; tests/test_startup.py keeps them equal
DEVICES = ("cpu", "cuda")
PRECISIONS = ("fp32", "bf16")


@click.command("train")
@click.argument("space_file")
@click.option("--arch", "arch_text", required=True, help="The architecture string (or JSON) to train.")
@click.option("--data", required=True, help="cifar10:DIR | cifar100:DIR | npz:FILE | imagefolder:DIR")
@click.option("--recipe", default=None,
              help="A supernet config (file or shipped name) whose optimizer, schedule and batch to use.")
@click.option("--epochs", type=int, default=None)
@click.option("--batch-size", type=int, default=None)
@click.option("--lr", type=float, default=None)
@click.option("--train-limit", type=int, default=None, help="Use only N training images.")
@click.option("--device", type=click.Choice(DEVICES), default=None)
@click.option("--precision", type=click.Choice(PRECISIONS), default=None)
@click.option("--seed", type=int, default=None, help="Sets the initial weights, the data order, augmentation "
              "and dropout (the recipe's seed, 0, by default): on the CPU one seed reproduces a run.")
@click.option("--out", required=True, help="Folder for model.safetensors and train.json (and checkpoint.pt, "
              "written after every epoch).")
@click.option("--resume", is_flag=True, help="Continue the training whose checkpoint.pt is in --out.")
@click.option("--curve", is_flag=True, help="Test after every epoch too; train.json gets the accuracies as "
              "`curve` (null for epochs a resumed run did not test).")
@click.option("--no-progress", is_flag=True)
@user_errors
def train_cmd(space_file: str, arch_text: str, data: str, recipe: str | None, epochs: int | None,
              batch_size: int | None, lr: float | None, train_limit: int | None, device: str | None,
              precision: str | None, seed: int | None, out: str, resume: bool, curve: bool,
              no_progress: bool) -> None:
    """Train ARCH of SPACE_FILE on DATA's training split; report its accuracy on the test (or val/) split."""
    from safetensors.torch import save

    from ..errors import HybridNASError
    from ..io import exclusive_lock, atomic_write, atomic_write_text
    from ..spaces import load_space
    from ..configfile import validate_config
    from ..supernet.config import SupernetConfig, load_supernet_config
    from ..rng import seeded
    from ..supernet.standalone import train_standalone
    from ..timing import PhaseClock

    clock = PhaseClock()

    space = load_space(space_file)
    arch = space.parse(arch_text)
    overrides = {"space": space_file, "data": data, "epochs": epochs, "batch_size": batch_size, "lr": lr,
                 "train_limit": train_limit, "device": device, "precision": precision, "seed": seed}
    if recipe is None and epochs is not None:  # a short run warms up for a tenth of it, so its schedule decays
        overrides["warmup_epochs"] = _resumed_warmup(Path(out), resume) or min(1.0, 0.1 * epochs)
    config = (load_supernet_config(recipe, overrides) if recipe else validate_config(
        SupernetConfig, {k: v for k, v in overrides.items() if v is not None}, "hybridnas train", "training options"))
    folder = Path(out)
    with exclusive_lock(folder, "training"):
        checkpoint = folder / "checkpoint.pt"
        if checkpoint.is_file() and not resume:
            raise HybridNASError(f"{folder} already holds a training checkpoint; pass --resume to continue it, or "
                                 "another --out")
        if resume and not checkpoint.is_file():
            raise HybridNASError(f"{folder} holds no checkpoint.pt to resume")
        with seeded(config.seed):  # the seed sets the initial weights too, not only the data order
            model = space.build(arch)
        result = train_standalone(model, config, progress=not no_progress, checkpoint=checkpoint, resume=resume,
                                  curve=curve, clock=clock)
        state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
        atomic_write(folder / "model.safetensors", lambda handle: handle.write(save(state)))
        record = {"arch": space.format(arch), "space": space.name, "accuracy": result["accuracy"],
                  "seconds": result["seconds"], "recipe": config.model_dump(mode="json", exclude=SUPERNET_ONLY),
                  **({"curve": [None if math.isnan(a) else a for a in result["curve"]]} if curve else {})}
        atomic_write_text(folder / "train.json", json.dumps(record, indent=1))
    split = "val/" if data.startswith("imagefolder:") and (Path(data.split(":", 1)[1]) / "val").is_dir() else "test"
    click.echo(f"{space.format(arch)}: accuracy on the {split} split {result['accuracy']:.2f}% after {config.epochs} epochs "
               f"({result['seconds']:.0f} s); weights: {folder / 'model.safetensors'} "
               f"(hybridnas export {space_file} --arch ... --weights {folder / 'model.safetensors'})")
    click.echo(clock.summary())


def _resumed_warmup(folder: Path, resume: bool) -> float | None:
    """The warm-up a resumed training started with (a resume may add epochs; its warm-up stays)."""
    checkpoint = folder / "checkpoint.pt"
    if not resume or not checkpoint.is_file():
        return None
    from ..supernet import load_checkpoint

    state = load_checkpoint(checkpoint)
    config = state.get("config") if isinstance(state, dict) else None
    value = config.get("warmup_epochs") if isinstance(config, dict) else None
    return float(value) if isinstance(value, (int, float)) else None
