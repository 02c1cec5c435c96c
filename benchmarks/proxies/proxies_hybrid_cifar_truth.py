"""Every proxy, and the candidate defaults, against the hybrid_cifar ground truth whose two seeds agree.

NAS-Bench-201 chose the default objective; this asks how each training-free ranking does on the hybrid
conv/attention space the quickstart searches, against `hybrid_cifar_truth.py`'s standalone accuracies
(the mean over seeds of the subnets trained on every seed; in `hybrid_cifar_truth_cpu_50k/`, 3 epochs on
all 50,000 CIFAR-10 training images, where two seeds agree at ICC(1) 0.9). Each ranking is scored on
`--seeds` initialisations and batches, on Gaussian inputs (what the data-free quickstart reads) and on the
CIFAR-10 subset, and reported as the mean Kendall tau and its range over those seeds, beside the seed-to-seed
tau of the ground truth (the ceiling) and tau's standard error when there is no correlation at all.
Nothing here is chosen: the candidates are the ones NAS-Bench-201 produced (`default_choice_nb201.REFERENCES`)
and every single proxy. The scores are kept in `--truth`/proxy_scores/, so a rerun after more subnets have
been trained scores only those.

When the truth folder has per-epoch test accuracies (`curves.csv`, from `hybrid_cifar_truth.py --curves`), a
second table ranks a few of them against the mean over seeds after each epoch: a ranking whose tau climbs
epoch by epoch predicts the longer training better than the last epoch's tau says, one whose tau falls the
shorter one.

    python -m benchmarks.proxies.proxies_hybrid_cifar_truth --truth results/benchmarks/hybrid_cifar_truth_cpu_50k --seeds 3
"""

from __future__ import annotations

import argparse
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from benchmarks.proxies.default_choice_nb201 import BEST_SET_NB201, REFERENCES
from benchmarks.proxies.ensemble_search import ranking as oriented
from benchmarks.proxies.ensemble_search import ranking_members
from benchmarks.supernet.hybrid_cifar_truth import complete_runs
from hybridnas import load_space
from hybridnas.latency.timing import threads_set
from hybridnas.proxies import list_proxies, score_many

ENSEMBLES = tuple(dict.fromkeys([*(r for r in REFERENCES.values() if r.startswith("ensemble:")), BEST_SET_NB201]))
# Rankings followed epoch by epoch: the default and NAS-Bench-201's best set, size, the trainability term that
# predicts short training on NAS-Bench-201 (fidelity_nb201.txt), the default's members, and the two best at 13 subnets.
BY_EPOCH = (REFERENCES["shipped default"], BEST_SET_NB201, "params", "macs", "az_trainability", "meco", "jacob_cov",
            "grasp", "ntk_cond")


def null_tau_se(n: int) -> float:
    """Kendall tau's standard error over `n` items when the two rankings are unrelated."""
    return math.sqrt(2 * (2 * n + 5) / (9 * n * (n - 1)))


def ground_truth(folder: Path) -> tuple[pd.Series, float]:
    """The mean accuracy over seeds of the subnets trained on every seed, and the seed-to-seed tau (mean
    over pairs of seeds)."""
    complete = complete_runs(folder)
    seeds = list(complete.columns)
    pairs = [stats.kendalltau(complete[a], complete[b]).statistic
             for i, a in enumerate(seeds) for b in seeds[i + 1:]]
    return complete.mean(axis=1), float(np.mean(pairs))


def epoch_truths(folder: Path, archs: pd.Index) -> dict[int, pd.Series]:
    """Epoch -> the mean over seeds of the test accuracy after that epoch, for `archs` (from curves.csv);
    empty when the folder has no curves or they miss a seed of some subnet."""
    path = folder / "curves.csv"
    if not path.is_file():
        return {}
    table = pd.read_csv(path).pivot_table(index=["arch", "epoch"], columns="seed", values="accuracy")
    out = {}
    for epoch in sorted(table.index.get_level_values("epoch").unique()):
        at = table.xs(epoch, level="epoch").dropna().reindex(archs)
        if at.isna().any().any():
            return {}
        out[int(epoch)] = at.mean(axis=1)
    return out


def scores_for(folder: Path, archs_text: list[str], data: str, seed: int, batch_size: int) -> pd.DataFrame:
    """Every proxy on the subnets, one batch of `data` and one seed; kept in `folder`/proxy_scores/."""
    space = load_space("hybrid_cifar")
    slug = re.sub(r"[^A-Za-z0-9]+", "_", data.split("/")[-1]).strip("_")
    checkpoint = folder / "proxy_scores" / f"{slug}_b{batch_size}_seed{seed}.csv"
    checkpoint.parent.mkdir(exist_ok=True)
    names = list_proxies()
    with threads_set(1):
        frame = score_many(space, [space.parse(a) for a in archs_text], names, data, seed, batch_size=batch_size,
                           checkpoint=checkpoint, every=1)
    frame.index = archs_text
    failed = frame[frame["errors"].notna() & (frame["errors"].astype(str) != "")]
    for arch, row in failed.iterrows():
        print(f"{data} seed {seed} {arch}: {row['errors']}")
    return frame


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--truth", type=Path, default=Path("results/benchmarks/hybrid_cifar_truth_cpu_50k"))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--data", default="gaussian,npz:../shared/data/cifar10_subset.npz",
                        help="comma-separated proxy inputs")
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    truth, ceiling = ground_truth(args.truth)
    archs_text = list(truth.index)
    rankings = [*ENSEMBLES, *list_proxies()]
    datas = args.data.split(",")
    by_epoch = epoch_truths(args.truth, truth.index)
    taus: dict[tuple[str, str], list[float]] = {}
    rhos: dict[tuple[str, str], list[float]] = {}
    epoch_taus: dict[tuple[str, str, int], list[float]] = {}
    for data in datas:
        for seed in range(args.seeds):
            frame = scores_for(args.truth, archs_text, data, seed, args.batch_size)
            for name in rankings:
                values = oriented(frame, name).to_numpy()
                if np.isnan(values).any():
                    continue
                taus.setdefault((name, data), []).append(stats.kendalltau(values, truth.to_numpy()).statistic)
                rhos.setdefault((name, data), []).append(stats.spearmanr(values, truth.to_numpy()).statistic)
                if name in BY_EPOCH:
                    for epoch, accuracy in by_epoch.items():
                        epoch_taus.setdefault((name, data, epoch), []).append(
                            stats.kendalltau(values, accuracy.to_numpy()).statistic)
    n = len(truth)
    lines = [f"hybrid_cifar: {n} subnets of {args.truth} (mean accuracy over seeds, "
             f"{truth.min():.1f}-{truth.max():.1f}%); seed-to-seed Kendall tau {ceiling:.3f} (the ceiling); "
             f"an unrelated ranking's tau has standard error {null_tau_se(n):.2f}",
             f"Kendall tau mean (min..max) over {args.seeds} proxy seeds, Spearman rho mean; batch {args.batch_size}",
             f"{'ranking':<72}" + "".join(f"{d.split('/')[-1][:30]:>34}" for d in datas)]
    order = sorted(rankings, key=lambda r: -np.mean(taus.get((r, datas[0]), [-9])))
    for name in order:
        cells = []
        for data in datas:
            t, r = taus.get((name, data)), rhos.get((name, data))
            cells.append(f"{np.mean(t):+.3f} ({min(t):+.2f}..{max(t):+.2f}) rho {np.mean(r):+.2f}" if t
                         else "failed")
        label = name + ("  [default]" if name == REFERENCES["shipped default"] else "")
        lines.append(f"{label:<72}" + "".join(f"{c:>34}" for c in cells))
    if by_epoch:
        lines += [f"\nKendall tau against the mean over seeds after each epoch (curves.csv), mean over {args.seeds} "
                  "proxy seeds", f"{'ranking':<56}{'data':<24}" + "".join(f"{'epoch ' + str(e):>10}" for e in by_epoch)]
        for name in BY_EPOCH:
            for data in datas:
                cells = [np.mean(epoch_taus.get((name, data, e), [np.nan])) for e in by_epoch]
                lines.append(f"{name:<56}{data.split('/')[-1][:22]:<24}" + "".join(f"{c:>+10.3f}" for c in cells))
    members = sorted({m for r in ENSEMBLES for m in ranking_members(r)})
    lines += [f"\nensembles' members: {', '.join(members)}; ensembles rank within the {n} subnets (log-rank sums)",
              f"command: python -m benchmarks.proxies.proxies_hybrid_cifar_truth --truth {args.truth} --seeds {args.seeds} "
              f"--data {args.data} --batch-size {args.batch_size}"]
    text = "\n".join(lines)
    (args.truth / "proxies.txt").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
