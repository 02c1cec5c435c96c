"""Training-aware search on NAS-Bench-201: the 200-epoch accuracy of what a search returns, against epochs spent.

Every search is a real `run_search` whose `val_accuracy` objective is the table fidelity: the benchmark's
12-epoch validation accuracy (`<dataset>-val` in the 12-epoch file), charged 12 training epochs per distinct
network queried. The search returns the network with the best validation accuracy among those it queried;
its quality is the 200-epoch *test* accuracy of that network (mean over its cells), which no search reads.
Proxy scores come from a precomputed table (`--scores`; every distinct network scored once on CIFAR-10
images), so screening costs CPU seconds, not training epochs.

Strategies (each run queries up to the largest budget; smaller budgets are the prefix of the same run):
- random, evolution: Optuna random sampling / regularized evolution over the table fidelity;
- screened: the best `--keep` of `--candidates` networks by the training-free default, queried best first;
- predictor: the same screen, then a random-forest surrogate over encoding + proxy scores (UCB) picks;
- predictor-unscreened: the surrogate over the encoding alone, candidates sampled and mutated afresh;
- training-free: the default objective's best of the screened candidates, trained once (1 query).

`--dataset cifar100` is where settings are chosen (`--grid` tries predictor settings there);
`--dataset cifar10` and `ImageNet16-120` (`imagenet`) report them.

    python -m benchmarks.search.multifidelity_nb201 --dataset cifar10 --seeds 10 --out results/search/multifidelity_nb201
"""

from __future__ import annotations

import itertools
import multiprocessing
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.common import benchmark_parser, command_line, header
from hybridnas import load_space
from hybridnas.io import atomic_write_text
from hybridnas.search import RunStore, load_search_config, run_search

SHARED = Path("../shared/benchmarks")
TRUTH = {"cifar10": "cifar10-test", "cifar100": "cifar100-test", "imagenet": "imagenet16-120-test"}
ORACLE = {"cifar10": "cifar10-val", "cifar100": "cifar100-val", "imagenet": "imagenet-val"}
SCORES = "results/benchmarks/nb201_scores_default.csv.gz"
DEFAULT = "ensemble:jacob_cov+meco+params"
STRATEGIES = ("random", "evolution", "screened", "predictor", "predictor-unscreened", "training-free")


def truth_per_network(space, dataset: str) -> pd.Series:
    """The 200-epoch test accuracy of every distinct network (mean over its cells)."""
    table = pd.read_csv(SHARED / "nasbench201_200epoch.csv.gz")
    table["id"] = [space.parse(a).id for a in table["arch"]]
    return table.groupby("id")[TRUTH[dataset]].mean()


def search_config(args, strategy: str, seed: int, settings: dict) -> dict:
    """The run_search config of one strategy and seed."""
    raw = {"space": "nasbench201", "objectives": "val_accuracy:max", "seed": seed, "workers": 0,
           "batch_size": 1, "scores_table": args.scores, "storage": "memory", "population_size": 20,
           "tournament_size": 5, "trials": args.max_budget * 3, "epoch_budget": 12 * args.max_budget,
           "fidelity": {"kind": "table", "table": str(SHARED / "nasbench201_12epoch.csv.gz"),
                        "column": ORACLE[args.dataset], "epochs_per_query": 12}}
    screen = {"candidates": settings.get("candidates", args.candidates), "keep": settings.get("keep", args.keep),
              "objective": DEFAULT}
    if strategy in ("random", "evolution"):
        raw["strategy"] = strategy
    elif strategy in ("screened", "training-free"):
        raw.update(strategy="screened", screen=screen, trials=1 if strategy == "training-free" else raw["trials"])
        if strategy == "screened":
            raw["trials"] = min(raw["trials"], max(1, int(round(screen["candidates"] * screen["keep"]))))
    elif strategy == "predictor":
        raw.update(strategy="predictor", screen=screen, predictor=settings.get("predictor", {}))
    elif strategy == "predictor-unscreened":
        raw.update(strategy="predictor", predictor=settings.get("predictor", {}))
    return raw


def one_run(args, strategy: str, seed: int, settings: dict) -> list[dict]:
    """One search; for each budget, the network it returns (best validation among its first queries)."""
    with tempfile.TemporaryDirectory() as tmp:
        raw = search_config(args, strategy, seed, settings)
        start = time.process_time()
        run_search(load_search_config(raw), Path(tmp) / "run", progress=False)
        seconds = time.process_time() - start
        table = RunStore(Path(tmp) / "run").table()
    ok = table[table["status"] == "ok"].drop_duplicates("id")
    rows = []
    for budget in args.budgets:
        part = ok.head(budget)
        best = part.loc[part["val_accuracy"].idxmax()]
        rows.append({"strategy": strategy, "settings": str(settings), "seed": seed, "budget": budget,
                     "queries": len(part), "epochs": 12 * len(part), "id": best["id"],
                     "val12": best["val_accuracy"], "search_cpu_s": seconds})
    return rows


def settings_grid(args) -> list[tuple[str, dict]]:
    """(strategy, settings) pairs to run: the grid of predictor settings, or the chosen ones for every strategy."""
    if args.grid == "predictor":
        grid = itertools.product([0.5, 1.0, 2.0], [0.0, 0.1])
        return [("predictor", {"predictor": {"kappa": k, "explore": e, "initial": args.initial}}) for k, e in grid]
    if args.grid == "screen":
        chosen = {"kappa": args.kappa, "explore": args.explore, "initial": args.initial}
        return [(s, {"candidates": c, "keep": k, "predictor": chosen}) for c in (1000, 4000) for k in (0.05, 0.2)
                for s in ("screened", "predictor")]
    chosen = {"predictor": {"kappa": args.kappa, "explore": args.explore, "initial": args.initial}}
    return [(s, chosen if s.startswith("predictor") else {}) for s in args.strategies]


def main() -> None:
    parser = benchmark_parser(__doc__, out=None, out_type=Path, out_help="folder for the summary and the runs CSV")
    parser.add_argument("--dataset", choices=sorted(TRUTH), default="cifar10")
    parser.add_argument("--scores", default=SCORES, help="precomputed proxy scores of every distinct network")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--budgets", type=lambda s: [int(v) for v in s.split(",")], default=[25, 50, 100, 200],
                        help="distinct networks queried (12 epochs each)")
    parser.add_argument("--strategies", type=lambda s: s.split(","), default=list(STRATEGIES))
    parser.add_argument("--candidates", type=int, default=1000, help="networks the screen scores")
    parser.add_argument("--keep", type=float, default=0.2, help="fraction of the screened networks kept")
    parser.add_argument("--kappa", type=float, default=1.0)
    parser.add_argument("--explore", type=float, default=0.1)
    parser.add_argument("--initial", type=int, default=10)
    parser.add_argument("--grid", choices=["predictor", "screen"], default=None,
                        help="try predictor or screen settings (choose them on cifar100)")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--name", default=None, help="file stem of the outputs (default: the dataset and grid)")
    args = parser.parse_args()
    args.max_budget = max(args.budgets)
    space = load_space("nasbench201")
    truth = truth_per_network(space, args.dataset)
    jobs = [(args, s, seed, settings) for s, settings in settings_grid(args) for seed in range(args.seeds)]
    with multiprocessing.get_context("fork").Pool(args.jobs) as pool:
        runs = [row for rows in pool.starmap(one_run, jobs, chunksize=1) for row in rows]
    frame = pd.DataFrame(runs)
    frame["test200"] = truth.loc[frame["id"]].to_numpy()
    summary = frame.groupby(["strategy", "settings", "budget"], sort=False).agg(
        epochs=("epochs", "mean"), test200_mean=("test200", "mean"), test200_std=("test200", "std"),
        val12_mean=("val12", "mean"), search_cpu_s=("search_cpu_s", "mean")).reset_index()
    lines = [header(), f"NAS-Bench-201 {args.dataset}: 200-epoch test accuracy ({TRUTH[args.dataset]}) of the network "
             f"each search returns, {args.seeds} seeds; oracle {ORACLE[args.dataset]} at 12 epochs, 12 epochs per "
             f"distinct network; screen: {args.candidates} candidates, keep {args.keep}, {DEFAULT}",
             f"best network: {truth.max():.2f}; top 0.1% starts at {truth.quantile(0.999):.2f}", "",
             summary.to_string(index=False, float_format=lambda v: f"{v:.2f}"), "", command_line()]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        name = args.name or f"{args.dataset}{'_grid_' + args.grid if args.grid else ''}"
        atomic_write_text(args.out / f"{name}.txt", text)
        frame.to_csv(args.out / f"{name}_runs.csv", index=False)


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
