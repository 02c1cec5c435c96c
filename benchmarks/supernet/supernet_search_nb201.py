"""Search with a supernet on NAS-Bench-201: the 200-epoch accuracy of what a `supernet_accuracy` search returns.

Per seed, three searches with the same strategy, budget and seed, each a real `run_search`:

- `supernet`: the objective is inherited accuracy (`supernet_accuracy:max`, `--supernet` a checkpoint or a
  few-shot split folder, on the space it was trained on); it returns its best network by inherited accuracy;
- `default`: the shipped training-free default, looked up in a table of precomputed scores
  (`--scores`, as in search_quality_nb201.py);
- `default -> supernet`: the default search's `--shortlist` best networks re-ranked by inherited accuracy
  (a proxy pre-filter; `--shortlist` supernet evaluations per seed).

The quality of a returned network is the mean 200-epoch accuracy of its cells (CIFAR-10, CIFAR-100,
ImageNet16-120). Cost: the supernet's evaluations (seconds measured here, one thread) and the default's
table seconds per network.

    python -m benchmarks.supernet.supernet_search_nb201 --supernet DIR/supernet_uniform --out results/benchmarks/X.csv
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

import optuna

from hybridnas import load_space
from hybridnas.latency.timing import threads_set
from hybridnas.proxies.ensemble import DEFAULT_OBJECTIVE
from hybridnas.search import RunStore, load_search_config, run_search
from hybridnas.supernet import load_scorer

from benchmarks.search.search_quality_nb201 import TARGETS, ground_truth
from benchmarks.common import benchmark_parser

COMMON = {"workers": 0, "batch_size": 10, "population_size": 20, "tournament_size": 5, "storage": "memory"}


def evaluated(run: Path, objective: str) -> pd.DataFrame:
    """The run's successful evaluations, best first by `objective`."""
    table = RunStore(run).table()
    return table[table["status"] == "ok"].sort_values(objective, ascending=False)


def one_seed(args: argparse.Namespace, scorer, seed: int) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        start = time.process_time()
        run_search(load_search_config({**COMMON, "space": args.space_source, "objectives": "supernet_accuracy:max",
                                       "strategy": args.strategy, "trials": args.budget, "seed": seed,
                                       "supernet": args.supernet, "supernet_test_limit": args.test_limit}),
                   Path(tmp) / "supernet", progress=False)
        found = evaluated(Path(tmp) / "supernet", "supernet_accuracy")
        rows.append({"method": "supernet", "seed": seed, "arch": found["arch"].iloc[0],
                     "supernet_evaluations": found["id"].nunique(), "default_evaluations": 0,
                     "cpu_s": time.process_time() - start})
        objective = args.objective
        run_search(load_search_config({**COMMON, "space": "nasbench201", "objectives": f"{objective}:max",
                                       "strategy": args.strategy, "trials": args.budget, "seed": seed,
                                       "scores_table": args.scores, "reference_size": 32}),
                   Path(tmp) / "default", progress=False)
        found = evaluated(Path(tmp) / "default", objective)
        rows.append({"method": "default", "seed": seed, "arch": found["arch"].iloc[0], "supernet_evaluations": 0,
                     "default_evaluations": found["id"].nunique(), "cpu_s": 0.0})
        start = time.process_time()
        short = found["arch"].head(args.shortlist).tolist()
        inherited = [scorer(scorer.space.parse(arch)) for arch in short]
        rows.append({"method": f"default -> supernet top-{args.shortlist}", "seed": seed,
                     "arch": short[int(np.argmax(inherited))], "supernet_evaluations": len(short),
                     "default_evaluations": found["id"].nunique(), "cpu_s": time.process_time() - start})
    return rows


def main() -> None:
    ap = benchmark_parser(__doc__, out_type=Path, out_help="every returned network, one row per method and seed (CSV)")
    ap.add_argument("--supernet", required=True, help="a supernet checkpoint (or its folder), or a few-shot split folder")
    ap.add_argument("--scores", default="results/benchmarks/nb201_scores_default.csv.gz")
    ap.add_argument("--objective", default=DEFAULT_OBJECTIVE)
    ap.add_argument("--ground-truth", default="../shared/benchmarks/nasbench201_200epoch.csv.gz")
    ap.add_argument("--strategy", default="evolution")
    ap.add_argument("--budget", type=int, default=100)
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--shortlist", type=int, default=10)
    ap.add_argument("--test-limit", type=int, default=None, help="test images per supernet evaluation (all: None)")
    args = ap.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    for path in (args.scores, args.ground_truth):
        if not Path(path).is_file():
            ap.error(f"{path} is missing")
    with threads_set(1):
        scorer = load_scorer(args.supernet, args.test_limit)
        args.space_source = scorer.space.source  # the skeleton it was trained on; cell strings are the benchmark's
        rows = [row for seed in range(args.seeds) for row in one_seed(args, scorer, seed)]
    space = load_space("nasbench201")
    gt = ground_truth(space, args.ground_truth)
    frame = pd.DataFrame(rows)
    ids = [space.parse(arch).id for arch in frame["arch"]]
    for target in TARGETS:
        frame[target] = gt.loc[ids, target].to_numpy()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(args.out, index=False)
    print(f"NAS-Bench-201, {args.strategy} with {args.budget} trials, {args.seeds} seeds; supernet {args.supernet} "
          f"({args.test_limit or 'all'} test images per evaluation); 200-epoch accuracy of the returned network "
          f"(mean of its cells), mean ± std; best network: CIFAR-10 {gt['cifar10-test'].max():.2f}")
    summary = frame.groupby("method", sort=False).agg(
        **{f"{t.split('-')[0]}": (t, lambda v: f"{v.mean():.2f} ± {v.std():.2f}") for t in TARGETS},
        supernet_evaluations=("supernet_evaluations", "mean"), default_evaluations=("default_evaluations", "mean"),
        supernet_cpu_s=("cpu_s", "mean"))
    print(summary.to_string(float_format=lambda v: f"{v:.1f}"))
    print(f"\ncommand: python -m benchmarks.supernet.supernet_search_nb201 --supernet {args.supernet} --strategy {args.strategy} "
          f"--budget {args.budget} --seeds {args.seeds} --shortlist {args.shortlist} --test-limit {args.test_limit} "
          f"--out {args.out}")


if __name__ == "__main__":
    main()
