"""`hybridnas predictor fit`: a ranker fitted on networks the user trained, for the `predictor:FILE` objective."""

from __future__ import annotations

import click

from .util import parse_arch_column, user_errors


@click.group()
def predictor() -> None:
    """Learned rankers: fit one on networks you trained, then search with `predictor:FILE:max`."""


@predictor.command("fit")
@click.argument("space_file")
@click.option("--labels", "labels_file", required=True,
              help="CSV with an 'arch' column and the accuracy column; proxy columns in it are used as given.")
@click.option("--accuracy", "accuracy_column", default="accuracy", show_default=True,
              help="The column holding what each network reached (higher is better).")
@click.option("--proxies", "names", default="jacob_cov,meco,params", show_default=True,
              help="Comma-separated proxies the predictor reads beside the encoding.")
@click.option("--data", default="gaussian", show_default=True,
              help="Where missing proxy scores are computed: gaussian | cifar10:DIR | npz:FILE | imagefolder:DIR")
@click.option("--seed", default=0, show_default=True)
@click.option("--out", required=True, help="The predictor file to write (JSON).")
@user_errors
def fit_cmd(space_file: str, labels_file: str, accuracy_column: str, names: str, data: str, seed: int,
            out: str) -> None:
    """Fit a ranker on the labelled networks of LABELS (kernel ridge on encodings and proxy percentiles)."""
    import pandas as pd

    from ..errors import HybridNASError
    from ..proxies.engine import score_many
    from ..proxies.predictor import fit_rank_predictor
    from ..spaces import load_space

    space = load_space(space_file)
    labels = pd.read_csv(labels_file, dtype={"arch": str})
    for column in ("arch", accuracy_column):
        if column not in labels:
            raise HybridNASError(f"{labels_file} has no column {column!r}; it has {list(labels.columns)}")
    proxies = [p.strip() for p in names.split(",") if p.strip()]
    archs = parse_arch_column(space, labels["arch"].astype(str), labels_file)
    missing = [p for p in proxies if p not in labels]
    if missing:
        scored = score_many(space, archs, missing, data, seed, progress=True)
        labels = labels.assign(**{p: scored[p].to_numpy() for p in missing})
    fitted = fit_rank_predictor(space, archs, pd.to_numeric(labels[accuracy_column], errors="coerce"), labels,
                                proxies, target=accuracy_column, seed=seed)
    fitted.save(out)
    click.echo(f"predictor: {out} ({fitted.labelled} networks; ridge {fitted.ridge:g}; cross-validated Kendall "
               f"tau {fitted.cv_tau:.3f}); search with --objectives 'predictor:{out}:max'")
