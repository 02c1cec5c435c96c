"""Choose the default ranking on one half of NAS-Bench-201's networks, report it on the other (200-epoch truth).

Reads `hybridnas proxies score` tables of all 4,930 distinct networks (each scored once: seed 0, one batch of
the CIFAR-10 subset), joined by network id. A network's fold is its id mod 2, as `proxies bench --split`
draws it: fold 0 chooses, fold 1 reports; about 2,465 networks each, none in both. Each network's accuracy
is the mean over its cells.
1. choice fold: Kendall tau (CIFAR-10) of every member alone and of every equal-weight log-rank ensemble of
   two or more members; the choice is the best, or the one with the fewest members among those within
   0.002 of it;
2. report fold: the choice, the shipped default and reference rankings, on CIFAR-10, CIFAR-100 and
   ImageNet16-120, with Kendall tau, Spearman rho, top-10% precision and nDCG@10;
3. report fold counted the way published figures count (every cell a row, isomorphic cells share scores);
4. what exhaustive search by each ranking returns: the 200-epoch accuracy of its top network over all
   4,930, uncapped and under a MACs cap at the median network;
5. data-free check: the same rankings on Gaussian inputs (what the quickstart and a user without data get)
   and on CIFAR-10 images, on the committed 200-cell seed-0 samples (`proxies_nb201_gaussian/`,
   `proxies_nb201_npz/`, with the AZ-NAS components rescored after the feature-node fix into `*_aznas/`).
The AZ-NAS members are among the candidates because VKDNW's aggregate, which contains them, was seen to rank
well on an earlier report sample (results/benchmarks/vkdnw_nb201.txt): the member list is not blind, the
choice among its subsets is.
    python -m benchmarks.proxies.default_choice_nb201 --scores results/benchmarks/nb201_scores_default.csv.gz \
        results/benchmarks/nb201_scores_aznas.csv.gz
"""

from __future__ import annotations

import argparse
import itertools

import numpy as np
import pandas as pd

from benchmarks.common import read_results_csv

from benchmarks.proxies.ensemble_search import data_free_check, ranking, tau
from hybridnas import load_space
from hybridnas.proxies.bench import in_fold, rank_metrics
from hybridnas.proxies.ensemble import DEFAULT_OBJECTIVE
from benchmarks.search.search_quality_nb201 import TARGETS, ground_truth

MEMBERS = ("jacob_cov", "meco", "params", "macs", "trainable_layers", "az_expressivity", "az_progressivity",
           "az_trainability")
TIE = 0.002
BEST_SET_NB201 = "ensemble:jacob_cov+meco+params+macs+az_trainability"  # what this script chose (its .txt)
REFERENCES = {
    "shipped default": DEFAULT_OBJECTIVE,
    "AZ-NAS (its four terms)": "ensemble:az_expressivity+az_progressivity+az_trainability+macs",
    "VKDNW_agg, tensor count for VKDNW": "ensemble:trainable_layers+az_expressivity+az_trainability+macs+jacob_cov",
    "meco": "meco", "params": "params", "az_expressivity": "az_expressivity", "az_trainability": "az_trainability",
}


def ensemble(members: tuple[str, ...]) -> str:
    return members[0] if len(members) == 1 else "ensemble:" + "+".join(members)


def joined(paths: list[str]) -> pd.DataFrame:
    """`hybridnas proxies score` tables of the same networks joined by id (a column is read from the first)."""
    frame = read_results_csv(paths[0], dtype={"id": str})
    for path in paths[1:]:
        extra = read_results_csv(path, dtype={"id": str})
        new = [c for c in extra.columns if c not in frame.columns]
        frame = frame.merge(extra[["id", *new]], on="id", how="inner")
    return frame


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scores", nargs="+", required=True, help="score tables of every network, joined by id")
    parser.add_argument("--ground-truth", default="../shared/benchmarks/nasbench201_200epoch.csv.gz")
    args = parser.parse_args()
    space = load_space("nasbench201")
    gt = ground_truth(space, args.ground_truth)
    scores = joined(args.scores)
    frame = scores.drop(columns=["macs"], errors="ignore").join(gt, on="id")
    choose = frame[[in_fold(i, (0, 2)) for i in frame["id"]]].reset_index(drop=True)
    report = frame[[in_fold(i, (1, 2)) for i in frame["id"]]].reset_index(drop=True)
    print(f"{len(frame)} distinct networks ({', '.join(args.scores)}); choice fold {len(choose)}, "
          f"report fold {len(report)}, none in both")

    subsets = [m for k in range(1, len(MEMBERS) + 1) for m in itertools.combinations(MEMBERS, k)]
    taus = sorted(((tau(choose, ensemble(m)), m) for m in subsets), key=lambda item: -item[0])
    print(f"\n1. choice fold, Kendall tau with cifar10-test: best 12 of {len(subsets)} member sets "
          f"(equal weights), then the references")
    for value, members in taus[:12]:
        print(f"   {value:+.3f}  {ensemble(members)}")
    for label, name in REFERENCES.items():
        print(f"   {tau(choose, name):+.3f}  {name}  ({label})")
    best = taus[0][0]
    chosen = ensemble(min((m for v, m in taus if v >= best - TIE), key=len))
    print(f"chosen (fewest members within {TIE} of the best): {chosen}")

    print("\n2. report fold (never used above): kendall / spearman / top-10% / nDCG@10")
    named = {"chosen": chosen, **REFERENCES}
    rows = [{"what": label, "ranking": name, "target": target, **rank_metrics(ranking(report, name), report[target])}
            for label, name in named.items() for target in TARGETS]
    print(pd.DataFrame(rows).drop_duplicates(["ranking", "target"]).to_string(
        index=False, float_format=lambda v: f"{v:.3f}"))

    cells = pd.read_csv(args.ground_truth)
    cells["id"] = [space.parse(a).id for a in cells["arch"]]
    cells = cells[[in_fold(i, (1, 2)) for i in cells["id"]]].merge(scores.drop(columns=["arch"]), on="id")
    print(f"\n3. report fold, every cell a row ({len(cells)} cells), Kendall tau")
    for name in dict.fromkeys([chosen, DEFAULT_OBJECTIVE, REFERENCES["AZ-NAS (its four terms)"]]):
        values = [rank_metrics(ranking(cells, name), cells[t])["kendall_tau"] for t in TARGETS]
        print(f"   {name:<80} " + " / ".join(f"{v:.3f}" for v in values))

    cap = float(frame["macs"].quantile(0.5))
    capped = frame[frame["macs"] <= cap].reset_index(drop=True)
    print(f"\n4. exhaustive search over all {len(frame)} networks: cifar10-test (200 epochs) of each ranking's top "
          f"network; under the cap (MACs <= {cap / 1e6:.1f}M, {len(capped)} networks)")
    print(f"   best possible: {frame['cifar10-test'].max():.2f} uncapped, {capped['cifar10-test'].max():.2f} capped")
    for name in dict.fromkeys([chosen, DEFAULT_OBJECTIVE, REFERENCES["AZ-NAS (its four terms)"]]):
        top = frame.loc[ranking(frame, name).idxmax(), "cifar10-test"]
        top_capped = capped.loc[ranking(capped, name).idxmax(), "cifar10-test"]
        print(f"   {name:<80} {top:.2f} uncapped, {top_capped:.2f} capped")
    data_free_check([chosen, DEFAULT_OBJECTIVE], step=5, rescored="_aznas")


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
