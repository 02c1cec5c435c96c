"""VKDNW's decile entropy: the paper's Fisher information against the reference code's variant, and init noise.

hybridnas computes F = mean_b J_b^T (diag p_b - p_b p_b^T) J_b. The reference code (ondratybl/VKDNW,
`get_fisher`) multiplies J by the Cholesky factor L of that covariance from the left, F' = mean_b (L J)^T (L J),
which equals F only when L^T L = L L^T. On the leading networks of a `proxies bench` folder, this prints
Kendall tau between the two entropies, each one's tau with CIFAR-10 (200 epochs), and tau between the
entropies of two Kaiming initialisations (seeds 0 and 1) of the same networks.
    python -m benchmarks.proxies.vkdnw_variant_check --bench results/benchmarks/nb201_200ep_choose_vkdnw --n 60
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.common import read_results_csv
import torch
from scipy import stats

from hybridnas import load_space
from hybridnas.proxies import space_batch
from hybridnas.proxies.context import kaiming_fanin_init
from hybridnas.proxies.vkdnw import decile_entropy, first_entry_jacobian, fisher_information, smoothed_covariance


def entropies(model: torch.nn.Module, x: torch.Tensor) -> tuple[float, float]:
    """Decile entropy of the Fisher information as defined, and of the reference code's variant."""
    jac, logits = first_entry_jacobian(model, x)
    fisher = fisher_information(jac, logits)
    cov = smoothed_covariance(logits)
    chol = torch.linalg.cholesky(cov + 1e-12 * torch.eye(cov.shape[1], dtype=cov.dtype))
    lj = chol @ jac
    variant = torch.einsum("bcp,bcq->pq", lj, lj) / len(jac)
    return tuple(decile_entropy(torch.linalg.eigvalsh(f).numpy()) for f in (fisher, variant))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", type=Path, required=True, help="a NAS-Bench-201 proxies bench folder")
    parser.add_argument("--n", type=int, default=60)
    parser.add_argument("--data", default="npz:../shared/data/cifar10_subset.npz")
    args = parser.parse_args()
    space = load_space("nasbench201")
    config = pd.read_json(args.bench / "config.json", typ="series")
    batch = space_batch(space, args.data, int(config["batch_size"]), int(config["seed"]), "cpu")
    rows = read_results_csv(args.bench / "scored.csv").head(args.n)
    values = []
    for arch in rows["arch"]:
        per_seed = []
        for seed in (0, 1):
            torch.manual_seed(seed)
            model = space.build(space.parse(arch))
            kaiming_fanin_init(model)
            per_seed.append(entropies(model.eval(), batch.x))
        values.append([*per_seed[0], per_seed[1][0]])
    values = np.array(values)
    tau = lambda a, b: stats.kendalltau(a, b).statistic  # noqa: E731
    truth = rows["cifar10-test"]
    print(f"{len(rows)} networks of {args.bench}, batch {len(batch.x)} (seed {config['seed']})")
    print(f"tau(entropy, reference-code variant)       {tau(values[:, 0], values[:, 1]):+.3f}")
    print(f"tau with cifar10-test: entropy             {tau(values[:, 0], truth):+.3f}")
    print(f"tau with cifar10-test: variant             {tau(values[:, 1], truth):+.3f}")
    print(f"tau(entropy at init seed 0, at init seed 1) {tau(values[:, 0], values[:, 2]):+.3f}")


if __name__ == "__main__":
    main()
