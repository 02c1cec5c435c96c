"""`hybridnas latency build|validate|relevel|predict|fit`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import click

from .util import command_options, emit, load_space, parse_arch_column, read_archs, user_errors
from ..io import atomic_write_csv
from ..latency.options import (BACKEND_NAMES, DEFAULT_CALIBRATE, DEFAULT_REPEATS, DEFAULT_STATISTIC, DEFAULT_WARMUP,
                               DTYPES, OPTIMIZATION_LEVELS, STATISTIC_NAMES)

if TYPE_CHECKING:
    from ..spaces import Space


@click.group()
def latency() -> None:
    """Device latency tables: build one for your device, validate it, predict architectures."""


def with_grown(space: Space) -> Space:
    """`space`, extended to the architectures `hybridnas scale` grows from it where it can grow (same name)."""
    from ..scaling import scaled_space
    from ..spaces.protocol import ScalableSpace

    return scaled_space(space) if isinstance(space, ScalableSpace) else space


@latency.command("build")
@click.argument("space_file")
@click.option("--backend", type=click.Choice(BACKEND_NAMES), default="torch", show_default=True,
              help="What runs the layers: eager PyTorch, or ONNX Runtime (CPU execution provider) on the graphs "
                   "`hybridnas export --onnx` writes.")
@click.option("--optimization", type=click.Choice(OPTIMIZATION_LEVELS), default=None,
              help="onnxruntime graph-optimisation level (default all); recorded in the table's conditions.")
@click.option("--statistic", type=click.Choice(STATISTIC_NAMES), default=DEFAULT_STATISTIC, show_default=True,
              help="How a layer's repeats become its time: the fastest (most repeatable) or the median.")
@click.option("--pin-cpu", "pin_cpus", default=None,
              help="Run on these cores while timing (1, 0,2 or 2-3): steadier numbers; validate reuses them.")
@click.option("--device", default="cpu", show_default=True, help="cpu | cuda | cuda:N (torch backend)")
@click.option("--threads", default=1, show_default=True, help="Intra-op threads the table is for.")
@click.option("--batch", default=1, show_default=True)
@click.option("--dtype", type=click.Choice(DTYPES), default="float32", show_default=True)
@click.option("--repeats", default=DEFAULT_REPEATS, show_default=True, help="Timed repeats per layer; --statistic says how they become its time.")
@click.option("--warmup", default=DEFAULT_WARMUP, show_default=True)
@click.option("--calibrate", default=DEFAULT_CALIBRATE, show_default=True,
              help="Random networks measured end to end to fit the calibration (per layer kind, weights, overhead).")
@click.option("--out", required=True, help="Table file (JSON); an existing table is extended.")
@click.option("--archs", "archs_file", type=click.File("r"), default=None,
              help="Also time the layers of these architectures (one per line), e.g. family members grown past "
                   "the space's ranges by `hybridnas scale`.")
@click.option("--no-progress", is_flag=True)
@user_errors
def build_cmd(space_file: str, backend: str, optimization: str | None, statistic: str, pin_cpus: str | None,
              device: str, threads: int, batch: int, dtype: str, repeats: int, warmup: int, calibrate: int, out: str,
              archs_file: TextIO | None, no_progress: bool) -> None:
    """Time every layer SPACE_FILE can contain on this device (only those the table lacks), then calibrate."""
    from ..latency.build import build_table
    from ..latency.config import LatencyBuildConfig
    from ..timing import PhaseClock

    clock = PhaseClock()
    options = command_options(LatencyBuildConfig, {
        "backend": backend, "optimization": optimization, "statistic": statistic, "pin_cpu": pin_cpus,
        "device": device, "threads": threads, "batch": batch, "dtype": dtype, "repeats": repeats, "warmup": warmup,
        "calibrate": calibrate}, "hybridnas latency build", {"pin_cpu": "--pin-cpu"})
    space = load_space(space_file)
    archs = [arch for _, arch in read_archs(with_grown(space), archs_file)] if archs_file else []
    table = build_table(space, out, **options.build_options(), archs=archs, progress=not no_progress, clock=clock)
    click.echo(f"table: {out}: {len(table.entries)} layers, {table.conditions.describe()}")
    click.echo(f"  {table.calibration.describe()}")
    click.echo(f"  check it: hybridnas latency validate {space_file} --table {out} -n 50")
    click.echo(clock.summary())


@latency.command("validate")
@click.argument("space_file")
@click.option("--table", "table_file", required=True)
@click.option("-n", "count", default=50, show_default=True, type=click.IntRange(1, 100_000),
              help="Random architectures to measure.")
@click.option("--seed", default=0, show_default=True)
@click.option("--pin-cpu", "pin_cpus", default=None, help="Cores to run on (default: those the table was built on).")
@click.option("--anchors", default=32, show_default=True,
              help="The table's calibration networks timed beside them (0: none), for the anchored figures.")
@click.option("--plot", "plot_file", default=None, help="PNG of predicted vs measured.")
@click.option("--out", "csv_file", default=None, help="CSV with one row per architecture.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("--no-progress", is_flag=True)
@user_errors
def validate_cmd(space_file: str, table_file: str, count: int, seed: int, pin_cpus: str | None, anchors: int,
                 plot_file: str | None, csv_file: str | None, as_json: bool, no_progress: bool) -> None:
    """Measure N random architectures end to end here and report the table's prediction error."""
    from ..latency.build import plot_validation, validate_table
    from ..latency.table import LatencyTable

    space = load_space(space_file)
    table = LatencyTable.load(table_file)
    if anchors < 0:
        raise click.BadParameter(f"{anchors}; use 0 (none) or more", param_hint="--anchors")
    frame, summary = validate_table(space, table, count, seed=seed, progress=not no_progress, pin_cpus=pin_cpus,
                                    anchors=anchors)
    if csv_file:
        atomic_write_csv(frame, Path(csv_file))
    if plot_file:
        plot_validation(frame, summary, f"{space.name}: {table.conditions.describe()}", plot_file)
    if as_json:
        click.echo(json.dumps(summary, indent=1))
        return
    click.echo(f"{count} {space.name} networks on {table.conditions.describe()}")
    click.echo(f"  MAPE {summary['mape_pct']:.2f}%, within ±10%: {100 * summary['within_10pct']:.0f}%, "
               f"within ±5%: {100 * summary['within_5pct']:.0f}% (median network {summary['median_measured_ms']:.3f} ms)")
    click.echo(f"  machine speed vs build {summary['machine_speed_vs_build']:.3f}; drift-corrected: MAPE "
               f"{summary['mape_pct_drift_corrected']:.2f}%, within ±10%: "
               f"{100 * summary['within_10pct_drift_corrected']:.0f}%")
    if "mape_pct_anchored" in summary:
        click.echo(f"  {summary['anchors']} of the table's calibration networks ran {summary['anchors_vs_build']:.3f} x "
                   f"their time at build; anchored: MAPE {summary['mape_pct_anchored']:.2f}%, within ±10%: "
                   f"{100 * summary['within_10pct_anchored']:.0f}%, within ±5%: {100 * summary['within_5pct_anchored']:.0f}%")
        if abs(summary["anchors_vs_build"] / table.calibration.level - 1) > 0.02:
            click.echo(f"  networks run {summary['anchors_vs_build'] / table.calibration.level:.3f} x what the table "
                       f"predicts for the machine as it is now: hybridnas latency relevel {space_file} --table {table_file}")
    if plot_file:
        click.echo(f"  plot: {plot_file}")


@latency.command("relevel")
@click.argument("space_file")
@click.option("--table", "table_file", required=True)
@click.option("--anchors", default=32, show_default=True, type=click.IntRange(min=1),
              help="How many of the table's calibration networks to time again.")
@click.option("--pin-cpu", "pin_cpus", default=None, help="Cores to run on (default: those the table was built on).")
@click.option("--no-progress", is_flag=True)
@user_errors
def relevel_cmd(space_file: str, table_file: str, anchors: int, pin_cpus: str | None, no_progress: bool) -> None:
    """Time a few of the table's calibration networks again and rescale its predictions to this machine as it
    runs now (a shared machine's speed drifts by a few percent over hours, or minutes; a rebuild takes far longer)."""
    from ..latency.build import relevel_table
    from ..latency.table import LatencyTable

    space = load_space(space_file)
    table = LatencyTable.load(table_file)
    record = relevel_table(space, table, anchors, progress=not no_progress, pin_cpus=pin_cpus)
    click.echo(f"{table_file}: {record['anchors']} calibration networks run {record['level']:.3f} x their time at "
               f"build (quartiles {record['ratio_q25']:.3f}-{record['ratio_q75']:.3f}); predictions now scale by "
               f"{record['level']:.3f} (were {record['previous_level']:.3f})")


@latency.command("predict")
@click.argument("space_file")
@click.option("--table", "table_file", required=True,
              help="A latency table (`latency build`) or a fitted latency model (`latency fit`).")
@click.option("--archs", "archs_file", type=click.File("r"), default="-", show_default=True,
              help="File with one arch string per line, or - for stdin.")
@click.option("--breakdown", is_flag=True, help="Per-layer latencies instead of totals.")
@click.option("--unseen", type=click.Choice(["error", "predict"]), default="error", show_default=True,
              help="A layer the table lacks: an error, or predicted from the layers it has (marked in the output).")
@click.option("--csv", "as_csv", is_flag=True)
@click.option("--json", "as_json", is_flag=True)
@user_errors
def predict_cmd(space_file: str, table_file: str, archs_file: TextIO, breakdown: bool, unseen: str, as_csv: bool,
                as_json: bool) -> None:
    """Predicted latency (ms) of each architecture, from the table alone (nothing is run)."""
    import pandas as pd

    from ..latency import load_latency

    space = with_grown(load_space(space_file))
    table = load_latency(table_file)
    frames = []
    for text, arch in read_archs(space, archs_file):
        if breakdown:
            pred = table.breakdown(space, arch, unseen=unseen)
            frames.append(pred.layers.assign(arch=text))
        else:
            pred = table.breakdown(space, arch, unseen=unseen)
            untimed = int((pred.layers["source"] == "predicted").sum())
            frames.append(pd.DataFrame([{"arch": text, "latency_ms": pred.total_ms, "layers_predicted": untimed}]))
    emit(pd.concat(frames, ignore_index=True), as_csv, as_json)


@latency.command("fit")
@click.argument("space_file")
@click.argument("measured_csv", type=click.Path(dir_okay=False))
@click.option("--out", required=True, help="The model file (JSON) to write.")
@click.option("--device", "device_name", required=True,
              help="The device the networks were measured on, as the model will name it (e.g. 'ZCU102').")
@click.option("--column", default="latency_ms", show_default=True, help="The CSV column of latencies in ms.")
@click.option("--batch", default=1, show_default=True, type=click.IntRange(min=1),
              help="The batch size the networks were measured at.")
@click.option("--dtype", default="float32", show_default=True, help="The precision they ran in.")
@user_errors
def fit_cmd(space_file: str, measured_csv: str, out: str, device_name: str, column: str, batch: int,
            dtype: str) -> None:
    """Fit a latency model from networks measured end to end on a device you cannot run on here.

    MEASURED_CSV has an `arch` column (arch strings of SPACE_FILE) and a latency column in ms. The model
    predicts a network's time from its MACs, parameters, activations and layers; use it wherever a latency
    table goes (a search's budget.latency_table, `latency predict --table`, scale and export).
    """
    import pandas as pd

    from ..errors import HybridNASError
    from ..latency import Conditions, fit_network_model

    space = load_space(space_file)
    try:
        frame = pd.read_csv(measured_csv)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise HybridNASError(f"{measured_csv}: not a readable CSV ({exc})") from None
    lacking = [c for c in ("arch", column) if c not in frame.columns]
    if lacking:
        raise HybridNASError(f"{measured_csv} lacks column(s) {', '.join(lacking)}; it needs 'arch' and "
                             f"{column!r} (latency in ms; --column names another)")
    archs = parse_arch_column(space, frame["arch"].astype(str), measured_csv)
    ms = pd.to_numeric(frame[column], errors="coerce").to_numpy()
    conditions = Conditions(device="external", device_name=device_name, threads=0, batch=batch, dtype=dtype,
                            backend="measured", statistic="as measured")
    model = fit_network_model(space, archs, ms, conditions, meta={"measurements": str(measured_csv)})
    model.save(out)
    click.echo(f"model: {out}: {model.describe()}")
    click.echo(f"  use it as a latency table: hybridnas latency predict {space_file} --table {out}")
