"""Choose a training-free ranking on one NAS-Bench-201 sample, report it on a disjoint one (200-epoch truth).

Reads two `hybridnas proxies bench --distinct` outputs whose networks are disjoint (`--split 0/2` to choose,
`--split 1/2` to report; each row a distinct network, ground truth the 200-epoch test accuracy):
1. Kendall tau of every single proxy on the choice sample (CIFAR-10);
2. every equal-weight rank ensemble of 2-4 proxies (sum of log-ranks, AZ-NAS's aggregation), best 10;
3. a weight grid over the members of the best three ensembles; the best weighting is the choice;
4. the choice, the best equal-weight ensemble and reference rankings on the report sample, for CIFAR-10,
   CIFAR-100 and ImageNet16-120 (200-epoch), and CIFAR-10 after 12 epochs, with Kendall tau, Spearman
   rho, top-10% precision and nDCG@10;
5. with --all-scores (every network scored once), the same over every cell of the table, per fold, the
   way published figures count NAS-Bench-201 (isomorphic cells are separate rows).
Nothing on the report sample feeds any choice. The weights of step 3 buy +0.001-0.002 tau on the choice sample,
far inside the noise of tau at this n, so the shipped default (`DEFAULT_OBJECTIVE`) stays equal-weight; of the
equal-weight ensembles within 0.002 of the best it is the one with MeCo, the best single proxy on both samples,
which also keeps it strong on Gaussian inputs (step 6).
    python -m benchmarks.proxies.ensemble_search --choose results/benchmarks/nb201_200ep_choose \
        --report results/benchmarks/nb201_200ep_report
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.common import read_results_csv
from scipy import stats

from hybridnas.proxies import get_proxy, list_proxies
from hybridnas.proxies.bench import rank_metrics
from hybridnas.proxies.ensemble import DEFAULT_OBJECTIVE, parse_ensemble

RESULTS = Path("results/benchmarks")
TARGET = "cifar10-test"
REPORT_TARGETS = ("cifar10-test", "cifar100-test", "imagenet16-120-test", "cifar10-test@12ep")
GROUND_TRUTH_12 = Path("../shared/benchmarks/nasbench201_12epoch.csv.gz")
GRID = (0.5, 1.0, 1.5, 2.0)
REFERENCES = ("params", "meco", "jacob_cov", "ensemble:naswot+synflow+zico")


def ensemble_name(weights: dict[str, float]) -> str:
    return "ensemble:" + "+".join(m if w == 1 else f"{m}*{w:g}" for m, w in weights.items())


def ranking_members(name: str) -> list[str]:
    """The proxies a ranking reads: an ensemble's members, or the proxy itself."""
    return parse_ensemble(name).members if name.startswith("ensemble:") else [name]


def ranking(frame: pd.DataFrame, name: str) -> pd.Series:
    """Scores oriented so that higher predicts better (an ensemble ranks within `frame`)."""
    if name.startswith("ensemble:"):
        return parse_ensemble(name).score(frame)
    return frame[name] * (1.0 if get_proxy(name).higher_is_better else -1.0)


def tau(frame: pd.DataFrame, name: str, target: str = TARGET) -> float:
    return float(stats.kendalltau(ranking(frame, name), frame[target], nan_policy="omit").statistic)


def load(folder: Path) -> pd.DataFrame:
    frame = read_results_csv(folder / "scored.csv", dtype={"id": str})
    low = pd.read_csv(GROUND_TRUTH_12, usecols=["index", "cifar10-test"]).rename(
        columns={"cifar10-test": "cifar10-test@12ep"})
    return frame.merge(low, on="index", how="left")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--choose", type=Path, required=True, help="bench folder of the choice sample")
    parser.add_argument("--report", type=Path, required=True, help="bench folder of the disjoint report sample")
    parser.add_argument("--max-members", type=int, default=4)
    parser.add_argument("--all-scores", type=Path, default=None,
                        help="`hybridnas proxies score` output for every network: adds tau over all cells per fold")
    args = parser.parse_args()
    choose, report = load(args.choose), load(args.report)
    assert not set(choose["id"]) & set(report["id"]), "the two samples share networks"
    candidates = [p for p in list_proxies() if p in choose and p in report and choose[p].notna().mean() > 0.9]

    print(f"choice sample: {len(choose)} distinct networks ({args.choose}); report sample: {len(report)} "
          f"({args.report}); no network in both")
    print(f"\n1. single proxies on the choice sample, Kendall tau with {TARGET} (200 epochs):")
    for value, name in sorted(((tau(choose, p), p) for p in candidates), reverse=True):
        print(f"   {value:+.3f}  {name}")

    print(f"\n2. equal-weight ensembles of 2-{args.max_members} of {len(candidates)} proxies, best 10:")
    equal = sorted(((tau(choose, ensemble_name(dict.fromkeys(m, 1.0))), m)
                    for k in range(2, args.max_members + 1) for m in itertools.combinations(candidates, k)),
                   reverse=True)
    for value, members in equal[:10]:
        print(f"   {value:.3f}  {'+'.join(members)}")

    print(f"\n3. weights {GRID} over the members of the best three ensembles, best 5:")
    weighted = {}
    for _, members in equal[:3]:
        for combo in itertools.product(GRID, repeat=len(members)):
            if min(combo) == 1.0:  # one member at weight 1 fixes the scale
                weights = dict(zip(members, combo))
                weighted[ensemble_name(weights)] = tau(choose, ensemble_name(weights))
    best = sorted(weighted.items(), key=lambda item: -item[1])
    for name, value in best[:5]:
        print(f"   {value:.3f}  {name}")
    chosen, best_equal = best[0][0], ensemble_name(dict.fromkeys(equal[0][1], 1.0))

    print("\n4. on the report sample (chosen above, never fitted here): kendall / spearman / top-10% / nDCG@10")
    rows = []
    for label, name in [("shipped default", DEFAULT_OBJECTIVE), ("chosen (weighted)", chosen),
                        ("best equal-weight", best_equal),
                        *[("reference", r) for r in REFERENCES]]:
        if not all(m in report for m in ranking_members(name)):
            continue
        for target in REPORT_TARGETS:
            metrics = rank_metrics(ranking(report, name), report[target])
            rows.append({"what": label, "ranking": name, "target": target, **metrics})
    table = pd.DataFrame(rows)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    seconds = sum(report[f"sec_{m}"].mean() for m in parse_ensemble(chosen).members if f"sec_{m}" in report)
    print(f"\nchosen: {chosen}; its members took {seconds:.2f} s per network in this bench "
          "(one thread, beside another scoring job; benchmarks/speed/proxy_speed.py times it alone)")
    data_free_check([DEFAULT_OBJECTIVE, chosen, best_equal, "ensemble:naswot+synflow+zico"])
    if args.all_scores:
        whole_space(args.all_scores, [DEFAULT_OBJECTIVE, chosen, best_equal, "params"], fold_of=args.report)


def data_free_check(rankings: list[str], step: int = 6, rescored: str = "") -> None:
    """The same rankings on Gaussian inputs (what a user without data, and the quickstart, get): the committed
    200-cell seed-0 samples scored on noise and on the CIFAR-10 subset, against the 200-epoch accuracies.
    With `rescored`, the proxies in each folder's sibling `<folder><rescored>/` replace the folder's own."""
    truth = pd.read_csv("../shared/benchmarks/nasbench201_200epoch.csv.gz", usecols=["index", TARGET])
    print(f"\n{step}. data-free check, Kendall tau with {TARGET} (200 epochs) on the committed 200-cell samples "
          "(seed 0; they were scored before the fold split, so they overlap both folds):")
    for label, folder in [("gaussian inputs", "proxies_nb201_gaussian"), ("CIFAR-10 images", "proxies_nb201_npz")]:
        frame = read_results_csv(RESULTS / folder / "scored.csv").drop(columns=[TARGET])
        if rescored:
            newer = read_results_csv(RESULTS / f"{folder}{rescored}" / "scored.csv")
            proxies = [c for c in newer.columns if c in list_proxies()]
            frame = frame.drop(columns=proxies, errors="ignore").merge(newer[["index", *proxies]], on="index")
        frame = frame.merge(truth, on="index")
        values = [f"{tau(frame, name):.3f} {name}" for name in dict.fromkeys(rankings)
                  if all(m in frame for m in parse_ensemble(name).members)]
        print(f"   {label:<16} " + "; ".join(values))

def whole_space(scores_path: Path, rankings: list[str], fold_of: Path) -> None:
    """Kendall tau over every cell of the table, per fold of networks, as published results count (isomorphic
    cells share their network's scores; each cell keeps its own accuracy)."""
    import json

    from hybridnas import load_space
    from hybridnas.proxies.bench import in_fold, parse_split

    space = load_space("nasbench201")
    scores = pd.read_csv(scores_path, dtype={"id": str}).drop_duplicates("id")
    truth = pd.read_csv("../shared/benchmarks/nasbench201_200epoch.csv.gz")
    truth["id"] = [space.parse(a).id for a in truth["arch"]]
    cells = truth.merge(scores.drop(columns=["arch"]), on="id", how="left")
    report_fold = parse_split(json.loads((fold_of / "config.json").read_text())["split"])
    cells["fold"] = ["report" if in_fold(i, report_fold) else "choice" for i in cells["id"]]
    print(f"\n5. every cell of NAS-Bench-201 ({len(cells)} cells, {cells['id'].nunique()} networks scored once each, "
          f"{scores_path}); the choice was made on the choice fold's 1000-network sample")
    rows = []
    for name in rankings:
        if not all(m in cells for m in ranking_members(name)):
            continue
        for fold, part in [("report fold", cells[cells["fold"] == "report"]),
                           ("choice fold", cells[cells["fold"] == "choice"]), ("all cells", cells)]:
            for target in REPORT_TARGETS[:3]:
                rows.append({"ranking": name, "cells": fold, "target": target,
                             **rank_metrics(ranking(part, name), part[target])})
    print(pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f"{v:.3f}"))


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
