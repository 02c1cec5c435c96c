"""`hybridnas scale SPACE --seed-arch STR --targets 2x,4x,8x --out DIR`."""

from __future__ import annotations

import click

from .util import command_options, proxy_device_option, user_errors
from ..scaling.defaults import DEFAULT_RULE


@click.command("scale")
@click.argument("space_file")
@click.option("--seed-arch", required=True, help="The architecture to grow (string or JSON).")
@click.option("--targets", required=True,
              help="Multiples of the seed's MACs (2x,4x,8x), MACs (50M,100M,200M), or predicted latency in ms (4ms,8ms; "
                   "the first --latency-table predicts it).")
@click.option("--rule", default=DEFAULT_RULE, show_default=True,
              help="Objectives (proxy:max|min, comma-separated) whose rank sum picks each growth step.")
@click.option("--data", default="gaussian", show_default=True,
              help="gaussian | cifar10:DIR | cifar100:DIR | npz:FILE | imagefolder:DIR")
@click.option("--seed", default=0, show_default=True)
@click.option("--batch-size", default=32, show_default=True, help="Proxy batch size.")
@click.option("--latency-table", "tables", multiple=True,
              help="Latency table(s) for the family's latency; layers a table never timed are predicted (and marked).")
@click.option("--no-export", is_flag=True, help="Skip exporting each member.")
@click.option("--onnx", is_flag=True, help="Also export each member as model.onnx.")
@click.option("--seed-weights", default=None,
              help="The trained seed's weights (.safetensors or torch checkpoint, e.g. from `hybridnas train`): each "
                   "member is exported with them carried in, a warm start to fine-tune.")
@click.option("--resume", is_flag=True, help="Continue the growth path saved in --out.")
@click.option("--out", required=True)
@click.option("--no-progress", is_flag=True)
@proxy_device_option()
@user_errors
def scale_cmd(space_file: str, seed_arch: str, targets: str, rule: str, data: str, seed: int, batch_size: int,
              tables: tuple[str, ...], no_export: bool, onnx: bool, seed_weights: str | None, resume: bool, out: str,
              no_progress: bool, device: str) -> None:
    """Grow SEED_ARCH step by step (training-free) and export one family member per target."""
    from ..latency import load_latency
    from ..spaces import load_space
    from ..scaling.family import write_family
    from ..scaling.grow import scale
    import pandas as pd

    from ..scaling.config import ScaleConfig
    from ..timing import PhaseClock

    clock = PhaseClock()
    config = command_options(ScaleConfig, {
        "targets": targets, "rule": rule, "data": data, "seed": seed, "batch_size": batch_size, "device": device,
        "latency_tables": list(tables), "export": not no_export, "onnx": onnx, "seed_weights": seed_weights},
        "hybridnas scale", {"latency_tables": "--latency-table", "export": "--no-export"})
    space = load_space(space_file)
    loaded = [load_latency(t) for t in config.latency_tables]
    weights = None
    if config.seed_weights is not None:
        from ..export import check_weights, load_weights
        from ..scaling import scaled_space

        grown = scaled_space(space)  # read and checked before growing: a bad file fails in seconds, not after it
        weights = check_weights(grown, grown.parse(seed_arch), load_weights(config.seed_weights))
    with clock.phase("growth"):
        family = scale(space, seed_arch, config.targets, rule=config.rule, data=config.data, seed=config.seed,
                       batch_size=config.batch_size, out=out, resume=resume, progress=not no_progress,
                       device=config.device, latency_table=loaded[0] if loaded else None)
    with clock.phase("export and latency"):
        files = write_family(space, family, out, latency_tables=loaded, export=config.export, rule=config.rule,
                             seed_arch=seed_arch, onnx=config.onnx, seed_weights=weights)
    frame = pd.read_csv(files["family.csv"])
    columns = [c for c in frame.columns if c in ("target", "macs", "params", "step", "arch", "target_latency_ms")
               or c.startswith(("latency_ms", "latency_source"))]
    click.echo(frame[columns].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    click.echo(f"\n{len(family.path) - 1} growth steps; family: {files['family.csv']}; plot: {files['growth.png']}")
    if config.export:
        click.echo(f"members exported under {out}/members/")
    click.echo(clock.summary())
