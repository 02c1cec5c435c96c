"""`hybridnas proxies list|score|bench`."""

from __future__ import annotations

from typing import TextIO

import click

from .util import (emit as _emit, load_space, proxy_device_option, read_archs as _read_archs,
                   user_errors as _user_errors)


@click.group()
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
