"""Which rank ensemble of the scored proxies ranks NAS-Bench-201 best, chosen on one sample, checked on another.

Reads the committed `hybridnas proxies bench` outputs (results/benchmarks/proxies_nb201_npz/scored.csv,
seed 0, all 18 proxies; proxies_nb201_npz_seed1/scored.csv, a fresh sample with 8 of them;
proxies_nb201_npz_n1000/scored.csv, seed 2, 1000 rows with the same 8) and
1. tries every equal-weight ensemble of 2 to 5 proxies on the seed-0 sample (Kendall tau, CIFAR-10);
2. tries weights {0, 0.5, 1, 2} for the proxies the seed-1 sample has, chosen on seed 0, reported on
   seed 1 and on the 1000-row seed-2 sample too, so a weighting that only fits one sample shows, and
   the best the grid can do when chosen on the seed-2 sample itself;
3. prints how well the 12-epoch ground truth agrees with itself (cifar10-val vs cifar10-test, two
   training runs of each network): a ceiling no proxy is expected to pass.
Ensembles are scored with hybridnas's own `Ensemble` (sum of weighted log-ranks).
    python benchmarks/ensemble_search.py
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pandas as pd
from scipy import stats

from hybridnas.proxies import get_proxy
from hybridnas.proxies.ensemble import parse_ensemble

RESULTS = Path("results/benchmarks")
GROUND_TRUTH = Path("../shared/benchmarks/nasbench201_12epoch.csv.gz")
TARGET = "cifar10-test"
WEIGHTS = (0.0, 0.5, 1.0, 2.0)


def tau(frame: pd.DataFrame, weights: dict[str, float]) -> float:
    """Kendall tau of the weighted ensemble with the target over the rows of `frame`."""
    name = "ensemble:" + label(weights)
    return float(stats.kendalltau(parse_ensemble(name).score(frame), frame[TARGET]).statistic)


def label(weights: dict[str, float]) -> str:
    return "+".join(f"{m}*{w:g}" for m, w in weights.items() if w > 0)


def sign(proxy: str) -> float:
    return 1.0 if get_proxy(proxy).higher_is_better else -1.0


def main() -> None:
    seed0 = pd.read_csv(RESULTS / "proxies_nb201_npz" / "scored.csv")
    seed1 = pd.read_csv(RESULTS / "proxies_nb201_npz_seed1" / "scored.csv")
    large = pd.read_csv(RESULTS / "proxies_nb201_npz_n1000" / "scored.csv")
    everything = sorted(c.removeprefix("sec_") for c in seed0 if c.startswith("sec_") and c != "sec_build")
    shared = [p for p in everything if p in seed1]

    print(f"1. equal-weight ensembles of 2-5 of {len(everything)} proxies, seed-0 sample ({len(seed0)} networks), "
          f"Kendall tau with {TARGET}; the best 5:")
    equal = [(tau(seed0, dict.fromkeys(members, 1.0)), members)
             for k in range(2, 6) for members in itertools.combinations(everything, k)]
    for value, members in sorted(equal, reverse=True)[:5]:
        print(f"   {value:.3f}  {'+'.join(members)}")
    single = max((sign(p) * float(stats.kendalltau(seed0[p], seed0[TARGET], nan_policy="omit").statistic), p)
                 for p in everything)
    print(f"   best single proxy: {single[1]} {single[0]:.3f}")

    print(f"\n2. weights {WEIGHTS} over {'+'.join(shared)}, chosen on seed 0; the best 5, with seed 1 "
          f"and seed 2 ({len(large)} rows):")
    weighted = []
    for combo in itertools.product(WEIGHTS, repeat=len(shared)):
        if sum(w > 0 for w in combo) >= 2:
            weights = dict(zip(shared, combo))
            weighted.append((tau(seed0, weights), weights, tau(large, weights)))
    for value, weights, value_large in sorted(weighted, key=lambda item: -item[0])[:5]:
        print(f"   seed 0 {value:.3f}  seed 1 {tau(seed1, weights):.3f}  seed 2 {value_large:.3f}  {label(weights)}")
    _, weights, value_large = max(weighted, key=lambda item: item[2])
    print(f"   the best weighting chosen on seed 2 itself (an in-sample ceiling for this grid): "
          f"{value_large:.3f}  {label(weights)}")

    truth = pd.read_csv(GROUND_TRUTH)
    ceiling = float(stats.kendalltau(truth["cifar10-val"], truth[TARGET]).statistic)
    print(f"\n3. the ground truth against itself: Kendall tau of cifar10-val vs {TARGET} over all "
          f"{len(truth)} cells: {ceiling:.3f}")


if __name__ == "__main__":
    main()
