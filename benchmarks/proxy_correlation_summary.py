"""Summarise the committed NAS-Bench-201 proxy benchmarks next to published CIFAR-10 Spearman values.

Reads results/benchmarks/proxies_nb201_*/correlation.csv (written by `hybridnas proxies bench`, see
results/benchmarks/README.md) and the 12-epoch ground truth, and prints one table.
    python benchmarks/proxy_correlation_summary.py
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from scipy import stats

from hybridnas import load_space

PUBLISHED_RHO = {"synflow": 0.74, "jacob_cov": 0.73, "snip": 0.60, "grad_norm": 0.59, "grasp": 0.51, "naswot": 0.78,
                 "zico": 0.80, "params": 0.75, "macs": 0.73}
RESULTS = Path("results/benchmarks")


def main() -> None:
    runs = {"real": "proxies_nb201_npz", "gaussian": "proxies_nb201_gaussian", "real, seed 1": "proxies_nb201_npz_seed1"}
    tables = {k: pd.read_csv(RESULTS / v / "correlation.csv") for k, v in runs.items() if (RESULTS / v).is_dir()}
    c10 = {k: t[t.target == "cifar10-test"].set_index("proxy") for k, t in tables.items()}
    names = list(c10["real"].index)
    rows = []
    for name in names:
        row = {"proxy": name, "published rho": PUBLISHED_RHO.get(name, float("nan"))}
        for key, table in c10.items():
            if name in table.index:
                row[f"rho ({key})"] = table.loc[name, "spearman_rho"]
                row[f"tau ({key})"] = table.loc[name, "kendall_tau"]
        row["s/arch"] = c10["real"].loc[name, "sec_per_arch"]
        rows.append(row)
    print("NAS-Bench-201, CIFAR-10 test accuracy after the 12-epoch schedule, 200 sampled rows per run")
    print(pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f"{v:.3f}", na_rep="-"))
    space = load_space("nasbench201")
    gt = pd.read_csv("../shared/benchmarks/nasbench201_12epoch.csv.gz")
    params = [space.cost(space.parse(a)).params for a in gt["arch"]]
    rho = stats.spearmanr(params, gt["cifar10-test"]).statistic
    tau = stats.kendalltau(params, gt["cifar10-test"]).statistic
    print(f"\nparams over all {len(gt)} rows of the 12-epoch table: rho {rho:.3f}, tau {tau:.3f} "
          f"(published with 200-epoch accuracies: rho 0.75)")


if __name__ == "__main__":
    main()
