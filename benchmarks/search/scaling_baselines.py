"""As-ViT growth vs naive scaling at the same MACs, on hybrid_cifar.

From one seed, the growth rule (NTK condition number + NASWOT expressivity rank sum) builds a family
at 2x and 4x the seed's MACs; compound (EfficientNet alpha=1.2, beta=1.1), depth-only and width-only
scaling of the same seed are matched to each member's MACs. Printed per method: MACs, params, each
proxy, and the proxy-ensemble rank among the four methods (lower is better); then, for the 2x target,
test accuracy after a short training on the CIFAR-10 subset (same schedule for every network).

    python -m benchmarks.search.scaling_baselines --out results/benchmarks/scaling_baselines [--epochs 3]
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import torch

from hybridnas import load_space
from hybridnas.data import get_batch
from hybridnas.proxies import score
from hybridnas.scaling import scale, scaled_space
from hybridnas.scaling.baselines import scale_to
from hybridnas.supernet import load_supernet_config
from hybridnas.supernet.standalone import train_standalone
from benchmarks.common import benchmark_parser

SEED = "w16|w16:conv-k3-r2|w24:conv-k3-r2|w48:conv-k3-r2+attention-h2-r2|w96:attention-h4-r2"
DATA = "npz:../shared/data/cifar10_subset.npz"
PROXIES = ["ntk_cond", "naswot", "synflow", "zico", "jacob_cov"]
DIRECTION = {"ntk_cond": "min"}


def main() -> None:
    ap = benchmark_parser()
    ap.add_argument("--epochs", type=int, default=3)
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    space = load_space("hybrid_cifar")
    grown = scaled_space(space)
    family = scale(space, SEED, "2x,4x", out=out / "growth", resume=True, progress=False)
    seed = grown.parse(SEED)
    batch = get_batch(DATA, 64, grown.input_shape, grown.num_classes, 0)
    rows = []
    for _, member in family.members.iterrows():
        nets = {"as-vit growth": grown.parse(member["arch"])}
        for mode in ("compound", "depth", "width"):
            nets[f"{mode}-only" if mode != "compound" else "compound"] = scale_to(space, seed, member["macs"], mode)
        for method, arch in nets.items():
            cost = grown.cost(arch)
            values = score(arch, PROXIES, DATA, 0, space=grown, batch_size=64, batch=batch).values
            rows.append({"target": member["target"], "method": method, "macs": cost.macs, "params": cost.params,
                         **values, "arch": grown.format(arch)})
    frame = pd.DataFrame(rows)
    for target, group in frame.groupby("target"):
        ranks = sum(group[p].rank(ascending=DIRECTION.get(p) == "min") for p in PROXIES)
        frame.loc[group.index, "ensemble_rank_sum"] = ranks
    accuracy_file = out / "accuracy.csv"
    trained = pd.read_csv(accuracy_file) if accuracy_file.is_file() else pd.DataFrame(columns=["arch", "accuracy"])
    config = load_supernet_config({"space": "hybrid_cifar", "data": DATA, "epochs": args.epochs, "batch_size": 64,
                                   "warmup_epochs": 0.5})
    for _, row in frame[frame.target == "2x"].iterrows():
        if row["arch"] in set(trained["arch"]):
            continue
        torch.manual_seed(0)
        result = train_standalone(grown.build(grown.parse(row["arch"])), config)
        trained = pd.concat([trained, pd.DataFrame([{"arch": row["arch"], "accuracy": result["accuracy"]}])],
                            ignore_index=True)
        trained.to_csv(accuracy_file, index=False)
    frame = frame.merge(trained, on="arch", how="left")
    frame.to_csv(out / "comparison.csv", index=False)
    print(f"seed {SEED}: {grown.cost(seed).macs / 1e6:.1f}M MACs; proxies on 64 CIFAR-10 subset images")
    columns = ["target", "method", "macs", "params", *PROXIES, "ensemble_rank_sum", "accuracy"]
    print(frame[columns].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print(f"(ensemble_rank_sum: sum over {len(PROXIES)} proxies of the rank among the 4 methods at that target; "
          f"lower is better. accuracy: test %, {args.epochs} epochs from scratch, 2x target only)")


if __name__ == "__main__":
    main()
