"""Search quality on NAS-Bench-201: the 200-epoch accuracy of the network a training-free search returns.

Each run is a real `run_search` whose objective is looked up in a table of precomputed proxy scores
(every distinct network scored once, on one seeded batch), so strategies, budgets and seeds are
affordable. The search returns the best network by its objective among those it evaluated; its quality
is the mean 200-epoch test accuracy of that network's cells, on CIFAR-10, CIFAR-100 and ImageNet16-120.
The capped variant adds a MACs budget at the space's median and compares with the best network under it.
Cost: CPU-seconds = distinct networks evaluated x the objective's seconds per network (the table's own
mean, one thread) + the search's own process time.
First score every network (long; --out saves as it goes, so rerun the command to resume):
    python -c "from hybridnas import load_space as l; s = l('nasbench201'); print(*map(s.format, s.enumerate()), sep='\n')" > all.txt
    hybridnas proxies score nasbench201 --archs all.txt --proxies jacob_cov,meco,params --data npz:../shared/data/cifar10_subset.npz --out scores.csv --csv > /dev/null
    python -m benchmarks.search.search_quality_nb201 --scores scores.csv --objective ensemble:jacob_cov+meco+params
"""

from __future__ import annotations

import multiprocessing
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from hybridnas import load_space
from hybridnas.search import RunStore, load_search_config, run_search
from benchmarks.common import benchmark_parser

TARGETS = ("cifar10-test", "cifar100-test", "imagenet16-120-test")


def ground_truth(space, path: str) -> pd.DataFrame:
    """Per distinct network: the mean accuracy of its cells on every target, and its MACs."""
    table = pd.read_csv(path)
    table["id"] = [space.parse(a).id for a in table["arch"]]
    per_net = table.groupby("id")[list(TARGETS)].mean()
    first = table.groupby("id")["arch"].first()
    per_net["macs"] = [space.cost(space.parse(first[i])).macs for i in per_net.index]
    return per_net


def returned(run: Path, objective: str) -> tuple[str, int]:
    """The id of the network the search returns (best objective among its evaluations) and how many it evaluated."""
    table = RunStore(run).table()
    ok = table[table["status"] == "ok"]
    return str(ok.loc[ok[objective].idxmax(), "id"]), int(table["id"].nunique())


def one_search(args, strategy: str, budget: int, seed: int, cap: float | None) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        raw = {"space": "nasbench201", "objectives": f"{args.objective}:max", "strategy": strategy,
               "trials": budget, "seed": seed, "workers": 0, "batch_size": 10, "scores_table": args.scores,
               "population_size": 20, "tournament_size": 5, "storage": "memory", "reference_size": 32}
        if cap is not None:
            raw["budget"] = {"max_macs": cap}
        start = time.process_time()
        run_search(load_search_config(raw), Path(tmp) / "run", progress=False)
        seconds = time.process_time() - start
        best, evaluated = returned(Path(tmp) / "run", args.objective)
    return {"strategy": strategy, "budget": budget, "seed": seed, "variant": "capped" if cap else "uncapped",
            "id": best, "evaluated": evaluated, "search_cpu_s": seconds}


def main() -> None:
    parser = benchmark_parser(__doc__, out=None, out_help="also write every run's row to this CSV")
    parser.add_argument("--scores", required=True)
    parser.add_argument("--objective", default="ensemble:jacob_cov+meco+params")
    parser.add_argument("--ground-truth", default="../shared/benchmarks/nasbench201_200epoch.csv.gz")
    parser.add_argument("--budgets", default="10,100,1000")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--strategies", default="random,evolution,tpe")
    parser.add_argument("--cap-quantile", type=float, default=0.5, help="MACs cap = this quantile of all networks")
    parser.add_argument("--jobs", type=int, default=1, help="searches run side by side (one process each)")
    parser.add_argument("--seconds-per-net", type=float, default=None,
                        help="the objective's seconds per network measured alone (default: the table's mean)")
    args = parser.parse_args()
    space = load_space("nasbench201")
    gt = ground_truth(space, args.ground_truth)
    cap = float(gt["macs"].quantile(args.cap_quantile))
    capped = gt[gt["macs"] <= cap]
    scores = pd.read_csv(args.scores)
    per_net_seconds = args.seconds_per_net or (float(scores["seconds"].mean()) if "seconds" in scores else float("nan"))

    jobs = [(args, strategy, budget, seed, c) for strategy in args.strategies.split(",")
            for budget in map(int, args.budgets.split(",")) for seed in range(args.seeds) for c in (None, cap)]
    with multiprocessing.get_context("fork").Pool(args.jobs) as pool:
        runs = pool.starmap(one_search, jobs, chunksize=1)
    frame = pd.DataFrame(runs)
    for target in TARGETS:
        frame[target] = gt.loc[frame["id"], target].to_numpy()
    frame["cpu_s"] = frame["evaluated"] * per_net_seconds + frame["search_cpu_s"]
    if args.out:
        frame.to_csv(args.out, index=False)

    print(f"NAS-Bench-201, 200-epoch test accuracy of the returned network (mean of its cells), objective "
          f"{args.objective}:max, {args.seeds} seeds; {len(gt)} distinct networks; MACs cap {cap / 1e6:.1f}M "
          f"({len(capped)} networks under it)")
    best = {t: (gt[t].max(), capped[t].max()) for t in TARGETS}
    print("best network: " + ", ".join(f"{t} {u:.2f} (capped {c:.2f})" for t, (u, c) in best.items()))
    print(f"cpu_s: distinct networks evaluated x {per_net_seconds:.2f} s (the objective's seconds per network) + "
          "the search's own process time\n")
    summary = frame.groupby(["variant", "strategy", "budget"]).agg(
        **{f"{t.split('-')[0]}_mean": (t, "mean") for t in TARGETS},
        **{f"{t.split('-')[0]}_std": (t, "std") for t in TARGETS},
        evaluated=("evaluated", "mean"), cpu_s=("cpu_s", "mean")).reset_index()
    gap = summary["variant"].map({"uncapped": best["cifar10-test"][0], "capped": best["cifar10-test"][1]})
    summary["cifar10_gap"] = gap - summary["cifar10_mean"]
    order = ["variant", "strategy", "budget", "cifar10_mean", "cifar10_std", "cifar10_gap", "cifar100_mean",
             "cifar100_std", "imagenet16_mean", "imagenet16_std", "evaluated", "cpu_s"]
    print(summary[order].to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    print("\ncifar10_gap: points below the best network (capped: the best under the cap)")


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
