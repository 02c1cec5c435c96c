"""`hybridnas space validate|show|sample` and `hybridnas cost`."""

from __future__ import annotations

from typing import TextIO

import click

from .util import (emit as _emit, load_space, read_archs as _read_archs,
                   user_errors as _user_errors)
from ..errors import HybridNASError


@click.group()
def space() -> None:
    """Inspect and sample search spaces (YAML files or shipped names such as hybrid_cifar)."""


@space.command("validate")
@click.argument("space_file")
@_user_errors
def space_validate(space_file: str) -> None:
    """Check SPACE_FILE and print a short summary; exits 2 with the key path of the first problems."""
    from ..spaces import Space

    s = load_space(space_file)
    example = s.sample(0)
    cost = s.cost(example)
    size = s.size() if type(s).size is not Space.size else None
    click.echo(f"ok: {s.name} ({s.type_name}) from {s.source}")
    click.echo(f"  input {s.input_shape}, {s.num_classes} classes" + (f", {size} distinct networks" if size else ""))
    click.echo(f"  example: {s.format(example)}")
    click.echo(f"  example cost: {cost.macs / 1e6:.1f}M MACs, {cost.params / 1e6:.2f}M params")


@space.command("show")
@click.argument("space_file")
@click.option("--input-size", type=int, default=None, help="Set the input's size (pixels), e.g. your images'.")
@click.option("--num-classes", type=int, default=None, help="Set the number of classes, e.g. your data's.")
@click.option("--name", default=None, help="Set the space's name (architectures record it).")
@_user_errors
def space_show(space_file: str, input_size: int | None, num_classes: int | None, name: str | None) -> None:
    """Print SPACE_FILE as YAML, with the input size, classes or name set: the start of a space of your own."""
    import yaml

    from ..configfile import read_config
    from ..spaces.loader import SHIPPED_DIR

    raw, _, _ = read_config(space_file, SHIPPED_DIR, "space")
    if input_size is not None:
        if not isinstance(raw.get("input"), dict):
            raise HybridNASError(f"{space_file}: has no input mapping whose size --input-size could set")
        raw["input"] = {**raw["input"], "size": input_size}
    if num_classes is not None:
        raw["num_classes"] = num_classes
    if name is not None:
        raw["name"] = name
    changed = [f"{k} {v}" for k, v in (("input size", input_size), ("classes", num_classes)) if v is not None]
    if changed:  # the parent's description (its dataset and cost range) no longer describes this space
        parent = load_space(space_file).name
        raw["description"] = f"{parent} with {', '.join(changed)} (derived by hybridnas space show)"
    load_space(raw)  # the changed space must still be valid (e.g. stages that fit the new size)
    click.echo(yaml.safe_dump(raw, sort_keys=False), nl=False)


@space.command("sample")
@click.argument("space_file")
@click.option("-n", "count", default=10, show_default=True, help="How many architectures.")
@click.option("--seed", default=0, show_default=True, help="Seed of the sampler (same seed, same archs).")
@click.option("--unique/--no-unique", default=False, help="Skip canonical duplicates.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line instead of arch strings.")
@_user_errors
def space_sample(space_file: str, count: int, seed: int, unique: bool, as_json: bool) -> None:
    """Print N random architectures of SPACE_FILE, one arch string per line."""
    import numpy as np

    s = load_space(space_file)
    rng = np.random.default_rng(seed)
    seen: set = set()
    attempts = 0
    while len(seen) < count if unique else attempts < count:
        attempts += 1
        arch = s.sample(rng)
        if unique:
            if arch in seen:
                if attempts > 100 * count:
                    raise HybridNASError(f"only {len(seen)} distinct architectures found after {attempts} samples")
                continue
            seen.add(arch)
        click.echo(arch.to_json() if as_json else s.format(arch))


@click.command("cost")
@click.argument("space_file")
@click.option("--archs", "archs_file", type=click.File("r"), default="-", show_default=True,
              help="File of arch strings (one per line), or - for stdin.")
@click.option("--csv", "as_csv", is_flag=True, help="CSV output.")
@click.option("--json", "as_json", is_flag=True, help="JSON output.")
@_user_errors
def cost_cmd(space_file: str, archs_file: TextIO, as_csv: bool, as_json: bool) -> None:
    """Exact analytic MACs, params and activations of each architecture (no model is built)."""
    s = load_space(space_file)
    rows = []
    for text, arch in _read_archs(s, archs_file):
        c = s.cost(arch)
        rows.append({"arch": s.format(arch), "id": arch.id, "macs": c.macs, "params": c.params,
                     "activations": c.activations, "input": text if text != s.format(arch) else ""})
    import pandas as pd

    frame = pd.DataFrame(rows)
    if not frame["input"].any():
        frame = frame.drop(columns="input")
    _emit(frame, as_csv, as_json)
