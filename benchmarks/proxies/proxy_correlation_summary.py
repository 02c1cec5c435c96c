"""NAS-Bench-201 proxy rankings on the 200-epoch ground truth, beside the published reproductions.

Reads the `correlation.csv` of one or more `hybridnas proxies bench` runs over the same networks (the
1,000-network report sample was scored in five: the fast proxies, the slow ones in two halves, VKDNW on
its leading 350, and the AZ-NAS components again after NAS-Bench-201's feature nodes became its blocks,
listed before the older half so that their figures are the ones read) and prints Kendall tau and Spearman rho on CIFAR-10, CIFAR-100 and ImageNet16-120
(200 epochs) next to the Kendall tau that VKDNW (Týbl & Neumann, CVPR 2025, Table 1) reports on CIFAR-10 for
the same proxy. Also the whole table: params and MACs over all 15,625 cells.
    python -m benchmarks.proxies.proxy_correlation_summary --bench results/benchmarks/nb201_200ep_report \
        results/benchmarks/nb201_200ep_report_aznas results/benchmarks/nb201_200ep_report_slow_a \
        results/benchmarks/nb201_200ep_report_slow_b results/benchmarks/nb201_200ep_report_vkdnw
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
from scipy import stats

from hybridnas import load_space

# CIFAR-10 Kendall tau as published in VKDNW's Table 1 (their reproductions over NAS-Bench-201)
PUBLISHED_TAU = {"macs": 0.623, "grad_norm": 0.328, "grasp": 0.352, "snip": 0.431, "synflow": 0.561,
                 "jacob_cov": 0.616, "naswot": 0.571, "zico": 0.607, "trainable_layers": 0.626,
                 "ensemble:az_expressivity+az_progressivity+az_trainability+macs": 0.712}
PUBLISHED_OTHERS = {"TE-NAS": 0.536, "AZ-NAS": 0.712, "VKDNW_agg": 0.750, "GRAF (fitted on labels)": 0.820}
TARGETS = ("cifar10-test", "cifar100-test", "imagenet16-120-test")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", type=Path, nargs="+", default=[Path("results/benchmarks/nb201_200ep_report")],
                        help="bench folders; a proxy in several is read from the first")
    parser.add_argument("--ground-truth", default="../shared/benchmarks/nasbench201_200epoch.csv.gz")
    args = parser.parse_args()
    tables = [pd.read_csv(bench / "correlation.csv") for bench in args.bench]
    table = pd.concat(tables).drop_duplicates(["proxy", "target"], keep="first")
    rows = []
    for proxy, group in table.groupby("proxy", sort=False):
        by_target = group.set_index("target")
        row = {"proxy": proxy, "n": int(by_target.loc[TARGETS[0], "n"])}
        for target in TARGETS:
            short = target.split("-")[0]
            row[f"tau {short}"] = by_target.loc[target, "kendall_tau"]
            row[f"rho {short}"] = by_target.loc[target, "spearman_rho"]
        row["published tau c10"] = PUBLISHED_TAU.get(proxy, float("nan"))
        row["s/arch"] = by_target.loc[TARGETS[0], "sec_per_arch"]
        rows.append(row)
    frame = pd.DataFrame(rows).sort_values("tau cifar10", ascending=False)
    print(f"NAS-Bench-201, 200-epoch test accuracy; {', '.join(map(str, args.bench))}")
    print(frame.to_string(index=False, float_format=lambda v: f"{v:.3f}", na_rep="-"))
    print("published CIFAR-10 tau without a proxy of the same name here: "
          + ", ".join(f"{k} {v:.3f}" for k, v in PUBLISHED_OTHERS.items()))

    space = load_space("nasbench201")
    gt = pd.read_csv(args.ground_truth)
    costs = [space.cost(space.parse(a)) for a in gt["arch"]]
    for name in ("params", "macs"):
        values = [getattr(c, name) for c in costs]
        print(f"{name} over all {len(gt)} cells, CIFAR-10: tau {stats.kendalltau(values, gt[TARGETS[0]]).statistic:.3f}, "
              f"rho {stats.spearmanr(values, gt[TARGETS[0]]).statistic:.3f}")


if __name__ == "__main__":
    main()
