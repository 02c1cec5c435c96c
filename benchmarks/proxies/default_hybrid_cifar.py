"""Candidate default rankings on hybrid_cifar: Kendall tau against the subnets this project trained.

NAS-Bench-201 chose the ranking; this checks that it does not break on the hybrid conv/attention spaces
the tool is for. Ground truth: the 10 hybrid_cifar subnets `supernet_ranking.py` trained from scratch
(CPU 4 epochs on 2,500 images, GPU 4 epochs on 2,500, GPU 8 epochs on 5,000; test accuracy 38-60%). Ten
networks is a small sample (tau's standard error is about 0.25), so this is a check for failures and for
a gross disagreement, not a ranking contest. Each ranking is scored on several seeds (initialisation and
batch) and reported as mean and spread; every failed proxy is listed.
    python -m benchmarks.proxies.default_hybrid_cifar --seeds 3
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from benchmarks.proxies.ensemble_search import ranking_members
from benchmarks.proxies.ensemble_search import ranking as oriented
from hybridnas import load_space
from hybridnas.proxies import score_many

RESULTS = Path("results/benchmarks")
TRUTHS = {"cpu_4ep_2500": "supernet_ranking", "gpu_4ep_2500": "supernet_ranking_cuda_4ep",
          "gpu_8ep_5000": "supernet_ranking_cuda_8ep"}
RANKINGS = ("ensemble:jacob_cov+meco+params", "ensemble:jacob_cov+meco+params+az_expressivity+az_trainability",
            "ensemble:jacob_cov+meco+params+macs+az_trainability",
            "jacob_cov", "meco", "params", "az_expressivity", "az_trainability")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--data", default="npz:../shared/data/cifar10_subset.npz")
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    space = load_space("hybrid_cifar")
    truth = pd.concat({name: pd.read_csv(RESULTS / folder / "standalone.csv").set_index("arch")["standalone"]
                       for name, folder in TRUTHS.items()}, axis=1)
    archs = [space.parse(a) for a in truth.index]
    members = sorted({m for r in RANKINGS for m in ranking_members(r)})
    taus: dict[tuple[str, str], list[float]] = {}
    for seed in range(args.seeds):
        frame = score_many(space, archs, members, args.data, seed, batch_size=args.batch_size)
        failed = frame[frame["errors"].notna() & (frame["errors"].astype(str) != "")]
        for _, row in failed.iterrows():
            print(f"seed {seed} {row['arch']}: {row['errors']}")
        print(f"seed {seed}: {len(archs)} networks, {frame['seconds'].mean():.2f} s each (all members)")
        for ranking in RANKINGS:
            values = oriented(frame, ranking)
            for name in TRUTHS:
                tau = stats.kendalltau(values.to_numpy(), truth[name].to_numpy()).statistic
                taus.setdefault((ranking, name), []).append(float(tau))
    print(f"\nKendall tau with standalone accuracy, mean (min..max) over {args.seeds} seeds, n = {len(archs)}")
    print(f"{'ranking':<66}" + "".join(f"{n:>22}" for n in TRUTHS))
    for ranking in RANKINGS:
        cells = [taus[(ranking, n)] for n in TRUTHS]
        print(f"{ranking:<66}" + "".join(f"{np.mean(c):>+8.3f} ({min(c):+.2f}..{max(c):+.2f})" for c in cells))
    between = stats.kendalltau(truth["gpu_4ep_2500"], truth["gpu_8ep_5000"]).statistic
    print(f"ground truths against each other: gpu 4 ep vs gpu 8 ep tau {between:.3f}, cpu 4 ep vs gpu 4 ep tau "
          f"{stats.kendalltau(truth['cpu_4ep_2500'], truth['gpu_4ep_2500']).statistic:.3f}")


if __name__ == "__main__":
    main()
