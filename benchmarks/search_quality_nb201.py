"""Search quality on NAS-Bench-201: ground-truth percentile of the architecture a search returns.

Each run is a real `run_search` whose proxy objective is looked up in a table of precomputed scores
(every distinct network scored once), so many strategies, budgets and seeds are affordable. The
returned architecture is the best by the objective among those evaluated; its quality is the
percentile of its mean 12-epoch test accuracy among the 4,930 distinct networks. The capped variant
adds a MACs budget and compares with the true best network under that cap. First score every network
(long: roughly 0.3-0.5 s each on one core; --out saves as it goes, so rerun the command to resume), then run:
    python -c "from hybridnas import load_space as l; s = l('nasbench201'); print(*map(s.format, s.enumerate()), sep='\n')" > all.txt
    hybridnas proxies score nasbench201 --archs all.txt --proxies jacob_cov --data 'npz:../shared/data/cifar10_subset.npz' --out scores.csv --csv > /dev/null
    python benchmarks/search_quality_nb201.py --scores scores.csv --objective jacob_cov
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from hybridnas import load_space
from hybridnas.search import RunStore, load_search_config, run_search


def ground_truth(space, path: str, target: str) -> pd.DataFrame:
    table = pd.read_csv(path)
    table["id"] = [space.parse(a).id for a in table["arch"]]
    per_net = table.groupby("id")[target].mean().rename("acc").to_frame()
    first = table.groupby("id")["arch"].first()
    per_net["macs"] = [space.cost(space.parse(first[i])).macs for i in per_net.index]
    return per_net


def returned(run: Path, objective: str) -> str:
    table = RunStore(run).table()
    ok = table[table["status"] == "ok"]
    return str(ok.loc[ok[objective].idxmax(), "id"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scores", required=True)
    parser.add_argument("--objective", default="jacob_cov")
    parser.add_argument("--ground-truth", default="../shared/benchmarks/nasbench201_12epoch.csv.gz")
    parser.add_argument("--target", default="cifar10-test")
    parser.add_argument("--budgets", default="100,300,1000")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--strategies", default="evolution,tpe,random")
    parser.add_argument("--cap-quantile", type=float, default=0.5, help="MACs cap = this quantile of all networks")
    args = parser.parse_args()
    space = load_space("nasbench201")
    gt = ground_truth(space, args.ground_truth, args.target)
    pct = gt["acc"].rank(pct=True)
    cap = float(gt["macs"].quantile(args.cap_quantile))
    capped = gt[gt["macs"] <= cap]
    capped_pct = capped["acc"].rank(pct=True)
    rows = []
    for strategy in args.strategies.split(","):
        for budget in map(int, args.budgets.split(",")):
            for seed in range(args.seeds):
                for variant in ("uncapped", "capped"):
                    with tempfile.TemporaryDirectory() as tmp:
                        raw = {"space": "nasbench201", "objectives": f"{args.objective}:max", "strategy": strategy,
                               "trials": budget, "seed": seed, "workers": 0, "batch_size": 10,
                               "scores_table": args.scores, "population_size": 20, "tournament_size": 5,
                               "storage": "memory"}
                        if variant == "capped":
                            raw["budget"] = {"max_macs": cap}
                        run_search(load_search_config(raw), Path(tmp) / "run", progress=False)
                        best = returned(Path(tmp) / "run", args.objective)
                    if variant == "uncapped":
                        rows.append({"strategy": strategy, "budget": budget, "seed": seed, "variant": variant,
                                     "percentile": 100 * pct[best], "acc": gt.loc[best, "acc"],
                                     "gap_to_best": gt["acc"].max() - gt.loc[best, "acc"]})
                    else:
                        rows.append({"strategy": strategy, "budget": budget, "seed": seed, "variant": variant,
                                     "percentile": 100 * capped_pct[best], "acc": gt.loc[best, "acc"],
                                     "gap_to_best": capped["acc"].max() - gt.loc[best, "acc"]})
    frame = pd.DataFrame(rows)
    summary = frame.groupby(["variant", "strategy", "budget"]).agg(
        percentile_mean=("percentile", "mean"), percentile_std=("percentile", "std"),
        acc_mean=("acc", "mean"), gap_to_best_mean=("gap_to_best", "mean")).reset_index()
    print(f"NAS-Bench-201 {args.target} (12-epoch), objective {args.objective}:max, {args.seeds} seeds; "
          f"{len(gt)} distinct networks; MACs cap {cap / 1e6:.1f}M ({len(capped)} networks under it)")
    print("percentile: of the returned network's accuracy among all (uncapped) or capped networks; "
          "gap_to_best: accuracy points below the best (capped: best under the cap)")
    print(summary.to_string(index=False, float_format=lambda v: f"{v:.2f}"))


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
