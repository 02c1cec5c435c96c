"""What a training-free search on NAS-Bench-201 can return at best, given the default ranking (200-epoch truth).

A search that maximises the default objective cannot return a better network than the objective's own
argmax over the space. From every network's scores (`nb201_scores_default.csv.gz`), this prints the 200-epoch
CIFAR-10 accuracy of the default's top 1, 5, 10 and 50 networks, uncapped and under the search-quality
benchmark's MACs cap (the space's median), beside the best network. Then two cheap ideas, on the choice
fold only (fold 0 of 2, the fold the default was chosen on): jacob_cov averaged over two scorings (with
`--second-jacob-cov FILE`; the one of ranking_ceiling_nb201.txt was scored on 2026-11-22 on the CIFAR subset
before its repair, and is in git: `git show b805684:results/benchmarks/nb201_scores_jacob_cov.csv`), and
other ways to aggregate the members' ranks.
    python -m benchmarks.proxies.ranking_ceiling_nb201
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from hybridnas import load_space
from hybridnas.proxies.bench import in_fold
from hybridnas.proxies.ensemble import parse_ensemble

# the default when this study ran (its committed results); the current one is chosen across spaces
DEFAULT_OBJECTIVE = "ensemble:jacob_cov+meco+params"
RESULTS = Path("results/benchmarks")
TARGET = "cifar10-test"


def log_rank(values: pd.Series) -> pd.Series:
    return np.log(values.rank() / len(values))


def top_accuracies(frame: pd.DataFrame, score: pd.Series) -> str:
    ordered = frame.assign(score=score).sort_values("score", ascending=False)[TARGET]
    return ", ".join(f"top {k} {ordered.head(k).mean():.2f}" for k in (1, 5, 10, 50))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scores", type=Path, default=RESULTS / "nb201_scores_default.csv.gz")
    parser.add_argument("--second-jacob-cov", type=Path, default=None, help="a second scoring's CSV (id, jacob_cov)")
    parser.add_argument("--ground-truth", default="../shared/benchmarks/nasbench201_200epoch.csv.gz")
    args = parser.parse_args()
    truth = pd.read_csv(args.ground_truth, usecols=["arch", TARGET])
    frame = pd.read_csv(args.scores, dtype={"id": str}).merge(truth, on="arch")
    if args.second_jacob_cov:
        second = pd.read_csv(args.second_jacob_cov, dtype={"id": str})[["id", "jacob_cov"]]
        frame = frame.merge(second.rename(columns={"jacob_cov": "jacob_cov_2"}), on="id")
    space = load_space("nasbench201")
    frame["macs"] = [space.cost(space.parse(a)).macs for a in frame["arch"]]
    cap = float(np.median(frame["macs"]))
    default = parse_ensemble(DEFAULT_OBJECTIVE)

    print(f"{len(frame)} distinct networks; {DEFAULT_OBJECTIVE}; 200-epoch {TARGET}")
    capped = frame[frame["macs"] <= cap]
    for label, part in (("uncapped", frame), (f"capped at {cap / 1e6:.1f}M MACs ({len(capped)})", capped)):
        print(f"{label}: best network {part[TARGET].max():.2f}; the default's {top_accuracies(part, default.score(part))}")

    choice = frame[[in_fold(i, (0, 2)) for i in frame["id"]]]
    tau = lambda score: stats.kendalltau(score, choice[TARGET]).statistic  # noqa: E731
    ranks = [choice[m].rank() / len(choice) for m in ("jacob_cov", "meco", "params")]
    print(f"\nchoice fold, {len(choice)} networks, Kendall tau with {TARGET}:")
    print(f"  default (sum of log-ranks)                  {tau(default.score(choice)):.4f}")
    if "jacob_cov_2" in choice:
        both = choice["jacob_cov"].rank() + choice["jacob_cov_2"].rank()
        print(f"  jacob_cov alone, scoring 1 / 2 / both       {tau(choice['jacob_cov']):.4f} / "
              f"{tau(choice['jacob_cov_2']):.4f} / {tau(both):.4f} (the scorings agree at "
              f"{stats.kendalltau(choice['jacob_cov'], choice['jacob_cov_2']).statistic:.3f})")
        print(f"  default with jacob_cov from both scorings   "
              f"{tau(log_rank(both) + log_rank(choice['meco']) + log_rank(choice['params'])):.4f}")
    print(f"  sum of ranks                                {tau(sum(ranks)):.4f}")
    print(f"  least rank                                  {tau(np.minimum.reduce(ranks)):.4f}")
    for power in (-2, -1, -0.5):
        print(f"  power mean of ranks, p = {power:<4}              {tau(-sum(r ** power for r in ranks)):.4f}")


if __name__ == "__main__":
    main()
