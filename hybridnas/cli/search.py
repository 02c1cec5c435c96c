"""`hybridnas search`, `hybridnas pareto` and `hybridnas run` (the pipeline)."""

from __future__ import annotations


import click

from .util import (RUNS_DIR, emit as _emit, proxy_device_option, user_errors as _user_errors)
from ..errors import HybridNASError
from ..search.strategy_catalog import BUILTIN_STRATEGIES, DEFAULT_STRATEGY


def _quiet_optuna() -> None:
    """Optuna's per-trial INFO lines drown the progress bar; the command line shows warnings only."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)


@click.command("search")
@click.argument("config_file", required=False)
@click.option("--out", default=None, help="Run folder (default: runs/<config name>).")
@click.option("--resume", "resume", default=None, is_flag=False, flag_value="",
              help="Continue an interrupted run: --resume RUN, or --resume with --out RUN.")
@click.option("--trials", type=int, default=None, help="Total trials (a resumed run can be extended).")
@click.option("--epoch-budget", type=int, default=None,
              help="Training epochs a search with a training fidelity may spend (a resumed run can be extended).")
@click.option("--workers", type=int, default=None, help="Ray workers (0: evaluate in this process).")
@click.option("--strategy", default=None,
              help=f"How the next networks are picked (default: the config's, {DEFAULT_STRATEGY}): "
                   + "; ".join(f"{n}: {about}" for n, about in BUILTIN_STRATEGIES.items())
                   + "; or a strategy you registered.")
@click.option("--max-macs", default=None, help="MACs budget, e.g. 100M.")
@click.option("--max-params", default=None, help="Parameter budget, e.g. 2M.")
@click.option("--max-latency", default=None, help="Latency budget in ms (needs --latency-table).")
@click.option("--latency-table", default=None, help="Device latency table for --max-latency.")
@click.option("--seed", type=int, default=None)
@click.option("--data", default=None, help="gaussian | cifar10:DIR | cifar100:DIR | npz:FILE | imagefolder:DIR")
@click.option("--ray-address", default=None, help="Join an existing Ray cluster instead of starting one.")
@click.option("--storage", default=None, help="An Optuna storage URL (default: sqlite in the run folder).")
@click.option("--change-budget", is_flag=True,
              help="With --resume: accept a new budget and re-check every recorded architecture against it.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@proxy_device_option(default=None)
@click.option("--gpus-per-worker", type=float, default=None,
              help="GPUs each Ray worker owns with --device cuda (0.5: two workers share a GPU).")
@_user_errors
def search_cmd(config_file: str | None, out: str | None, resume: str | None, trials: int | None,
               epoch_budget: int | None, workers: int | None,
               strategy: str | None, max_macs: str | None, max_params: str | None, max_latency: str | None,
               latency_table: str | None, seed: int | None, data: str | None, ray_address: str | None,
               storage: str | None, change_budget: bool, no_progress: bool, device: str | None,
               gpus_per_worker: float | None) -> None:
    """Search SPACE under a budget; prints the Pareto front and where the run, plot and dashboard are."""
    from pathlib import Path

    from ..search import load_search_config, run_search
    from ..search.config import latency_cost_axis
    from ..search.store import RunStore

    if resume is not None:
        out = resume or out
        if not out:
            raise HybridNASError("--resume needs the run folder: --resume RUN (or --resume --out RUN)")
        source = config_file or RunStore(out).read_config()
    elif config_file is None:
        raise HybridNASError("give a search config (e.g. configs/search/quickstart.yaml), or --resume RUN")
    else:
        source = config_file
    latency = _milliseconds(max_latency) if max_latency else None
    overrides = {"trials": trials, "epoch_budget": epoch_budget, "workers": workers, "strategy": strategy,
                 "max_macs": max_macs, "max_params": max_params, "max_latency_ms": latency,
                 "latency_table": latency_table, "seed": seed, "data": data, "ray_address": ray_address,
                 "storage": storage, "device": device, "gpus_per_worker": gpus_per_worker}
    config = load_search_config(source, overrides)
    if latency is not None and resume is None:  # the flag adds a latency budget: latency becomes the cost axis
        swapped = latency_cost_axis(config)
        if swapped is not config:
            click.echo("note: --max-latency makes latency_ms the front's cost axis instead of macs (a budget "
                       "written in the config, budget: {max_latency_ms, latency_table}, keeps its objectives)",
                       err=True)
            config = swapped
    if out is None:
        out = str(Path(RUNS_DIR) / (Path(config_file).stem if config_file else "search"))
    _quiet_optuna()
    if change_budget and resume is None:
        raise HybridNASError("--change-budget changes the budget of a run being resumed: use it with --resume RUN")
    result = run_search(config, out, resume=resume is not None, progress=not no_progress, change_budget=change_budget)
    for note in result.notes:
        click.echo(f"note: {note.removeprefix('note: ')}", err=True)
    _print_front(out, None, None)
    click.echo(f"\nrun: {result.run} ({result.evaluated} networks evaluated, {result.seconds:.0f} s)")
    click.echo(result.time)
    click.echo(f"front: hybridnas pareto {result.run} --plot {result.run}/front.png")
    if not config.storage:
        click.echo(f"dashboard: optuna-dashboard sqlite:///{Path(result.run).resolve()}/study.db "
                   "(pip install 'hybridnas[dashboard]')")


def _milliseconds(text: str) -> float:
    try:
        return float(str(text).strip().removesuffix("ms"))
    except ValueError:
        raise HybridNASError(f"--max-latency {text!r}: give milliseconds, e.g. 5 or 5ms") from None


def _print_front(run: str, objectives: str | None, where: str | None, as_csv: bool = False,
                 as_json: bool = False) -> None:
    import numpy as np

    from ..search.pareto import PERCENTILE, front as run_front, hypervolume, with_percentiles

    taken = run_front(run, objectives, where)
    objs, frame = taken.objectives, taken.evaluated
    if taken.note:
        click.echo(taken.note, err=True)
    if frame.empty:
        raise HybridNASError(f"{run}: no feasible evaluated architectures" + (f" match {where!r}" if where else ""))
    front = with_percentiles(run, taken.rows, objs)
    extra = ["macs", "params"] + (["latency_ms"] if "latency_ms" in front else [])
    named = [c for o in objs for c in (o.name, o.name + PERCENTILE) if c in front]
    columns = ["arch", "id", *dict.fromkeys(named + extra)]
    if as_csv or as_json:
        _emit(front[columns], as_csv, as_json)
        return
    hv, ref = hypervolume(frame, objs)
    click.echo(f"Pareto front of {run}: {len(front)} of {len(frame)} feasible networks "
               f"({', '.join(f'{o.name}:{o.direction}' for o in objs)})")
    click.echo(front[columns].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    if any(c.endswith(PERCENTILE) for c in columns):
        click.echo("(percentile): share of the run's reference sample (random networks within the budget) that "
                   "the network scores at least as well as; 100 beats them all")
    click.echo(f"hypervolume {hv:.4g} (reference point {np.array2string(ref, precision=4)} in minimisation units)")


@click.command("pareto")
@click.argument("run")
@click.option("--objectives", default=None, help="e.g. naswot:max,macs:min (default: the run's objectives).")
@click.option("--where", default=None, help="A filter over the run's columns, e.g. 'macs < 50M and naswot > 0' (and/or/not, parentheses).")
@click.option("--csv", "as_csv", is_flag=True, help="CSV output.")
@click.option("--json", "as_json", is_flag=True, help="JSON output.")
@click.option("--plot", "plot_file", default=None, help="Write a PNG of every point and the front.")
@_user_errors
def pareto_cmd(run: str, objectives: str | None, where: str | None, as_csv: bool, as_json: bool,
               plot_file: str | None) -> None:
    """The non-dominated architectures of a run, with its hypervolume."""
    from ..search.pareto import parse_objectives, plot, run_objectives

    _print_front(run, objectives, where, as_csv, as_json)
    if plot_file:
        objs = parse_objectives(objectives) if objectives else run_objectives(run)
        click.echo(f"plot: {plot(run, objs, plot_file, where)}", err=as_csv or as_json)


@click.command("run")
@click.argument("pipeline_file")
@click.option("--out", default=None, help="Output folder (default: runs/<pipeline name>).")
@click.option("--resume", is_flag=True, help="Continue an interrupted run; finished stages are skipped.")
@click.option("--no-progress", is_flag=True)
@_user_errors
def run_cmd(pipeline_file: str, out: str | None, resume: bool, no_progress: bool) -> None:
    """Search -> scale the winner -> latency table -> export the family, in one resumable command."""
    from pathlib import Path

    import pandas as pd

    from ..pipeline import load_pipeline_config, run_pipeline
    from ..timing import PhaseClock

    clock = PhaseClock()
    config = load_pipeline_config(pipeline_file)
    out = out or str(Path(RUNS_DIR) / config.name)
    _quiet_optuna()
    summary = run_pipeline(config, out, resume=resume, progress=not no_progress, echo=click.echo, clock=clock)
    click.echo(f"\n== summary of {out} ==")
    click.echo(f"search run: {summary['search_run']} (front of {summary['front_size']}; "
               f"hybridnas pareto {summary['search_run']})")
    click.echo(f"seed (front row {config.scale.pick}): {summary['seed_arch']} -> {summary.get('seed_export', '-')}")
    if "family" in summary:
        family = pd.DataFrame(summary["family"])
        columns = [c for c in ("target", "macs", "params", "latency_ms", "arch") if c in family]
        click.echo(family[columns].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
        click.echo(f"family table: {summary['family_csv']}\ngrowth plot: {summary['growth_plot']}")
    click.echo(f"summary: {Path(out) / 'summary.json'}")
    click.echo(clock.summary())
