"""The `hybridnas` command line. Every command has --help; user errors print one message and exit 2."""

from __future__ import annotations

from typing import TextIO

import click

from .util import (RUNS_DIR, emit as _emit, load_space, proxy_device_option, read_archs as _read_archs,
                   user_errors as _user_errors)
from ..errors import HybridNASError
from ..search.strategy_catalog import BUILTIN_STRATEGIES, DEFAULT_STRATEGY


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="hybridnas")
def main() -> None:
    """Neural architecture search and auto-scaling for hybrid conv/attention vision backbones."""
    from ..allocator import keep_freed_memory

    keep_freed_memory()  # the command line owns its process; a library import changes nothing (allocator.py)


def _quiet_optuna() -> None:
    """Optuna's per-trial INFO lines drown the progress bar; the command line shows warnings only."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)


@main.group()
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


@main.command("cost")
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


@main.group()
def proxies() -> None:
    """Training-free proxies: list them, score architectures, benchmark against ground truth."""


def _proxy_names(text: str | None) -> list[str]:
    from ..proxies import list_proxies

    return [p.strip() for p in text.split(",") if p.strip()] if text else list_proxies()


@proxies.command("list")
@_user_errors
def proxies_list() -> None:
    """Registered proxies, what they need, and their papers."""
    from ..proxies import PROXIES, get_proxy

    rows = []
    for name in PROXIES.list():
        p = get_proxy(name)
        needs = [w for w, flag in (("data", p.needs_data), ("labels", p.needs_labels), ("grad", p.needs_grad)) if flag]
        rows.append({"proxy": name, "needs": ",".join(needs) or "-", "better": "higher" if p.higher_is_better
                     else "lower", "paper": p.paper})
    import pandas as pd

    click.echo(pd.DataFrame(rows).to_string(index=False))


@proxies.command("score")
@click.argument("space_file")
@click.option("--archs", "archs_file", type=click.File("r"), default="-", show_default=True,
              help="File of arch strings (one per line), or - for stdin.")
@click.option("--proxies", "names", default=None, help="Comma-separated proxies or ensembles (default: all).")
@click.option("--data", default="gaussian", show_default=True,
              help="gaussian | cifar10:DIR | cifar100:DIR | npz:FILE | imagefolder:DIR")
@click.option("--seed", default=0, show_default=True)
@click.option("--batch-size", default=64, show_default=True)
@click.option("--csv", "as_csv", is_flag=True, help="CSV output.")
@click.option("--json", "as_json", is_flag=True, help="JSON output.")
@click.option("--out", "checkpoint", default=None,
              help="Also save rows to this CSV as they are scored; rerunning skips archs already in it.")
@proxy_device_option()
@_user_errors
def proxies_score(space_file: str, archs_file: TextIO, names: str | None, data: str, seed: int, batch_size: int,
                  as_csv: bool, as_json: bool, checkpoint: str | None, device: str) -> None:
    """Score architectures with proxies; failures are listed in the 'errors' column with their reason."""
    from ..proxies import score_many

    from ..proxies.engine import random_label_note

    s = load_space(space_file)
    archs = [arch for _, arch in _read_archs(s, archs_file)]
    note = random_label_note(_proxy_names(names), data)
    if note:
        click.echo(note, err=True)
    frame = score_many(s, archs, _proxy_names(names), data, seed, batch_size=batch_size,
                       progress=not (as_csv or as_json), checkpoint=checkpoint, device=device)
    _emit(frame, as_csv, as_json)


@proxies.command("bench")
@click.argument("space_file")
@click.option("--ground-truth", required=True, help="CSV (or .csv.gz) with an 'arch' column and target columns.")
@click.option("--target", required=True, help="Target column(s), comma-separated, e.g. cifar10-test.")
@click.option("--n", "count", default=100, show_default=True, help="Architectures to sample from the table.")
@click.option("--proxies", "names", default=None, help="Comma-separated proxies and ensembles (default: all).")
@click.option("--data", default="gaussian", show_default=True,
              help="gaussian | cifar10:DIR | cifar100:DIR | npz:FILE | imagefolder:DIR")
@click.option("--seed", default=0, show_default=True)
@click.option("--batch-size", default=64, show_default=True)
@click.option("--distinct", is_flag=True, help="One row per distinct network (isomorphic cells score alike).")
@click.option("--split", default="", help="K/N: only networks in fold K of N, so two samples can be disjoint.")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Output folder (resumable).")
@proxy_device_option()
@_user_errors
def proxies_bench(space_file: str, ground_truth: str, target: str, count: int, names: str | None, data: str,
                  seed: int, batch_size: int, distinct: bool, split: str, out: str, device: str) -> None:
    """Rank correlation of proxies with ground truth: Kendall, Spearman, top-10% precision, nDCG@10, s/arch."""
    from ..proxies.bench import BenchConfig, run_bench

    from ..proxies.engine import random_label_note

    s = load_space(space_file)
    note = random_label_note(_proxy_names(names), data)
    if note:
        click.echo(note, err=True)
    config = BenchConfig(s.name, ground_truth, [t.strip() for t in target.split(",")], count, _proxy_names(names),
                         data, seed, batch_size, distinct, split, device)
    table = run_bench(s, config, out)
    click.echo(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    click.echo(f"written: {out}/correlation.csv, {out}/scored.csv")


@main.command("search")
@click.argument("config_file", required=False)
@click.option("--out", default=None, help="Run folder (default: runs/<config name>).")
@click.option("--resume", "resume", default=None, is_flag=False, flag_value="",
              help="Continue an interrupted run: --resume RUN, or --resume with --out RUN.")
@click.option("--trials", type=int, default=None, help="Total trials (a resumed run can be extended).")
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
def search_cmd(config_file: str | None, out: str | None, resume: str | None, trials: int | None, workers: int | None,
               strategy: str | None, max_macs: str | None, max_params: str | None, max_latency: str | None,
               latency_table: str | None, seed: int | None, data: str | None, ray_address: str | None,
               storage: str | None, change_budget: bool, no_progress: bool, device: str | None,
               gpus_per_worker: float | None) -> None:
    """Search SPACE under a budget; prints the Pareto front and where the run, plot and dashboard are."""
    from pathlib import Path

    from ..search import load_search_config, run_search
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
    overrides = {"trials": trials, "workers": workers, "strategy": strategy, "max_macs": max_macs,
                 "max_params": max_params, "max_latency_ms": latency, "latency_table": latency_table, "seed": seed,
                 "data": data, "ray_address": ray_address, "storage": storage, "device": device,
                 "gpus_per_worker": gpus_per_worker}
    config = load_search_config(source, overrides)
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

    from ..search.pareto import evaluated, filtered, hypervolume, parse_objectives, pareto_front, run_objectives

    from ..search.store import RunStore

    objs = parse_objectives(objectives) if objectives else run_objectives(run)
    store = RunStore(run)
    frame = filtered(evaluated(store), where)
    if store.damaged_note():  # from the read evaluated() just made
        click.echo(store.damaged_note(), err=True)
    if frame.empty:
        raise HybridNASError(f"{run}: no feasible evaluated architectures" + (f" match {where!r}" if where else ""))
    front = pareto_front(frame, objs)
    extra = ["macs", "params"] + (["latency_ms"] if "latency_ms" in front else [])
    columns = ["arch", "id", *dict.fromkeys([o.name for o in objs] + extra)]
    if as_csv or as_json:
        _emit(front[columns], as_csv, as_json)
        return
    hv, ref = hypervolume(frame, objs)
    click.echo(f"Pareto front of {run}: {len(front)} of {len(frame)} feasible networks "
               f"({', '.join(f'{o.name}:{o.direction}' for o in objs)})")
    click.echo(front[columns].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    click.echo(f"hypervolume {hv:.4g} (reference point {np.array2string(ref, precision=4)} in minimisation units)")


@main.command("pareto")
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


@main.command("run")
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

    config = load_pipeline_config(pipeline_file)
    out = out or str(Path(RUNS_DIR) / config.name)
    _quiet_optuna()
    summary = run_pipeline(config, out, resume=resume, progress=not no_progress, echo=click.echo)
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


def _add_groups() -> None:
    from .data import data
    from .export import export_cmd
    from .latency import latency
    from .predictor import predictor
    from .scale import scale_cmd
    from .supernet import supernet
    from .train import train_cmd

    main.add_command(latency)
    main.add_command(export_cmd)
    main.add_command(scale_cmd)
    main.add_command(supernet)
    main.add_command(data)
    main.add_command(predictor)
    main.add_command(train_cmd)


_add_groups()

