"""How a short training's ranking differs from the 200-epoch one, on NAS-Bench-201, proxy by proxy.

hybrid_cifar's ground truth is short (3 epochs), and there the parameter count ranks negatively. NAS-Bench-201
has both a short (12-epoch) and the full (200-epoch) training of every cell, so it shows what a short
training does to the order and to each proxy's tau: if the proxies that favour size lose much more at 12
epochs than the rest, a short ground truth is biased against size, and a proxy's tau on it says less about
the tau it would have on long training. The proxies are the committed scores of the 4,930 distinct networks
(`nb201_scores_default.csv.gz`, `nb201_scores_aznas.csv.gz`; one batch of the CIFAR-10 subset each).

    python -m benchmarks.proxies.fidelity_nb201 > results/benchmarks/fidelity_nb201.txt
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from scipy import stats

from benchmarks.proxies.default_choice_nb201 import BEST_SET_NB201, REFERENCES
from benchmarks.proxies.ensemble_search import ranking as oriented

RESULTS = Path("results/benchmarks")
SHARED = Path("../shared/benchmarks")
TARGETS = ("cifar10-test", "cifar100-test")
RANKINGS = (REFERENCES["shipped default"], BEST_SET_NB201,
            REFERENCES["AZ-NAS (its four terms)"], "params", "macs", "jacob_cov", "meco", "az_expressivity",
            "az_progressivity", "az_trainability")


def main() -> None:
    scores = pd.read_csv(RESULTS / "nb201_scores_default.csv.gz").merge(
        pd.read_csv(RESULTS / "nb201_scores_aznas.csv.gz").drop(columns=["seconds", "labels", "errors"]),
        on=["arch", "id"])
    long = pd.read_csv(SHARED / "nasbench201_200epoch.csv.gz").drop_duplicates("arch").set_index("arch")
    short = pd.read_csv(SHARED / "nasbench201_12epoch.csv.gz").drop_duplicates("arch").set_index("arch")
    scores = scores.set_index("arch")
    archs = scores.index.intersection(long.index).intersection(short.index)
    scores = scores.loc[archs]
    print(f"{len(archs)} distinct NAS-Bench-201 networks; Kendall tau with test accuracy after 12 and 200 epochs")
    for target in TARGETS:
        between = stats.kendalltau(short.loc[archs, target], long.loc[archs, target]).statistic
        print(f"\n{target}: 12-epoch vs 200-epoch order, tau {between:.3f}")
        print(f"  {'ranking':<62}{'12 ep':>8}{'200 ep':>8}{'lost':>8}")
        for name in RANKINGS:
            values = oriented(scores, name)
            at_short = stats.kendalltau(values, short.loc[archs, target], nan_policy="omit").statistic
            at_long = stats.kendalltau(values, long.loc[archs, target], nan_policy="omit").statistic
            print(f"  {name:<62}{at_short:>+8.3f}{at_long:>+8.3f}{at_long - at_short:>+8.3f}")
    print("\n$ python -m benchmarks.proxies.fidelity_nb201")


if __name__ == "__main__":
    main()
