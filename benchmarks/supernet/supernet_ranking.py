"""Supernet quality on hybrid_cifar with the CIFAR-10 subset: inherited vs standalone accuracy ranks.

For each sampler (uniform, complexity_aware) a supernet is trained with the same short budget (same
epochs, batch, optimizer and number of subnet forward passes per step). Subnets spread over the MACs
range are then (a) evaluated with inherited weights (BatchNorm recalibrated) and (b) trained from
scratch with the same schedule. Printed: Kendall tau between the two accuracies per sampler, the
accuracy of the space's smallest and largest subnets, and the training-step overhead of running a
subnet inside the supernet vs its materialized static model.

    python -m benchmarks.supernet.supernet_ranking --out results/benchmarks/supernet_ranking [--epochs 3] [--subnets 10]

With `--device cuda` everything (supernet and standalone training, evaluation, step timing) runs on the GPU.
`--data` points elsewhere where ../shared is not beside the checkout (e.g. on a lent GPU machine).
`--overhead-only N` prints only the step-overhead measurement, N times (no training, no --out):

    python -m benchmarks.supernet.supernet_ranking --device cuda --overhead-only 3
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from scipy.stats import kendalltau

from hybridnas import load_space
from hybridnas.supernet import (SubnetScorer, Supernet, largest_and_smallest, load_supernet, load_supernet_config,
                                train_supernet)
from hybridnas.supernet.standalone import train_standalone
from benchmarks.common import benchmark_parser

DATA = "npz:../shared/data/cifar10_subset.npz"


def spread_archs(space, n: int, seed: int = 0):
    """n architectures at evenly spaced MACs quantiles of 3000 random samples."""
    rng = np.random.default_rng(seed)
    pool = sorted({a.id: a for a in (space.sample(rng) for _ in range(3000))}.values(), key=lambda a: space.cost(a).macs)
    return [pool[int(q * (len(pool) - 1))] for q in np.linspace(0.02, 0.98, n)]


def step_overhead(space, archs, device: str = "cpu", batch: int = 64, steps: int = 8,
                  static_ms: list[float] | None = None, precision: str = "fp32") -> list[float]:
    """Median train-step time in the supernet / of the materialized static model, per arch (the static
    model's median step in milliseconds is appended to `static_ms` if given). `precision` 'bf16' runs
    both forward passes under bfloat16 autocast, as `precision: bf16` training does."""
    net = Supernet(space).to(device).train()
    cast = lambda: torch.autocast(device, dtype=torch.bfloat16, enabled=precision == "bf16")  # noqa: E731
    x = torch.randn(batch, *space.input_shape, device=device)
    y = torch.randint(0, space.num_classes, (batch,), device=device)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    ratios = []
    for arch in archs:
        static = net.materialize(arch).train()

        def timed(run):
            times = []
            for i in range(steps + 2):
                sync()
                start = time.perf_counter()
                run()
                sync()
                if i >= 2:
                    times.append(time.perf_counter() - start)
            return float(np.median(times))

        def in_supernet():
            net.zero_grad(set_to_none=True)
            with cast():
                loss = F.cross_entropy(net(x, arch), y)
            loss.backward()

        def alone():
            static.zero_grad(set_to_none=True)
            with cast():
                loss = F.cross_entropy(static(x), y)
            loss.backward()

        static_s = timed(alone)
        ratios.append(timed(in_supernet) / static_s)
        if static_ms is not None:
            static_ms.append(1e3 * static_s)
    return ratios


def main() -> None:
    ap = benchmark_parser(out=None)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--subnets", type=int, default=10)
    ap.add_argument("--train-limit", type=int, default=None)
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    ap.add_argument("--data", default=DATA)
    ap.add_argument("--overhead-only", type=int, default=0, metavar="N")
    args = ap.parse_args()
    if args.overhead_only:
        space = load_space("hybrid_cifar")
        for _ in range(args.overhead_only):
            static_ms: list[float] = []
            ratios = step_overhead(space, spread_archs(space, args.subnets)[::3], args.device, static_ms=static_ms)
            print(f"train-step time in the supernet / materialized static model ({args.device}): "
                  f"{' '.join(f'{r:.3f}' for r in ratios)}; median {np.median(ratios):.3f}x, max {max(ratios):.3f}x; "
                  f"static steps {' '.join(f'{ms:.1f}' for ms in static_ms)} ms", flush=True)
        return
    if not args.out:
        ap.error("--out is required (unless --overhead-only)")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    space = load_space("hybrid_cifar")
    archs = spread_archs(space, args.subnets)
    largest, smallest = largest_and_smallest(space)
    base = {"space": "hybrid_cifar", "data": args.data, "device": args.device, "epochs": args.epochs, "batch_size": 64, "optimizer": "adamw",
            "lr": 2e-3, "weight_decay": 0.05, "warmup_epochs": 0.5, "seed": 0, "calibration_batches": 8,
            "train_limit": args.train_limit}
    samplers = {"uniform": {"sampler": "uniform", "subnets": 3},
                "complexity_aware": {"sampler": "complexity_aware", "subnets": 2}}  # 2 in the bank + its smallest
    rows = {space.format(a): {"arch": space.format(a), "macs": space.cost(a).macs} for a in archs}
    extremes = {}
    for name, options in samplers.items():
        config = load_supernet_config({**base, **options})
        folder = out / f"supernet_{name}"
        resume = (folder / "checkpoint.pt").is_file()
        start = time.perf_counter()
        if not resume or torch.load(folder / "checkpoint.pt", map_location="cpu", weights_only=True)["epoch"] < args.epochs:
            train_supernet(config, folder, resume=resume, progress=False)
        print(f"{name}: supernet trained ({time.perf_counter() - start:.0f} s this run)", flush=True)
        net, cfg = load_supernet(folder / "checkpoint.pt")
        scorer = SubnetScorer(net, cfg)
        for arch in archs:
            rows[space.format(arch)][f"inherited_{name}"] = scorer(arch)
        extremes[name] = {"smallest": scorer(smallest), "largest": scorer(largest)}
    standalone_file = out / "standalone.csv"
    done = pd.read_csv(standalone_file) if standalone_file.is_file() else pd.DataFrame(columns=["arch", "standalone"])
    config = load_supernet_config({**base, "sampler": "uniform"})
    for arch in archs:
        text = space.format(arch)
        if text in set(done["arch"]):
            continue
        torch.manual_seed(0)
        result = train_standalone(space.build(arch), config)
        done = pd.concat([done, pd.DataFrame([{"arch": text, "standalone": result["accuracy"],
                                               "seconds": result["seconds"]}])], ignore_index=True)
        done.to_csv(standalone_file, index=False)
        print(f"standalone {len(done)}/{len(archs)}: {result['accuracy']:.1f}% ({result['seconds']:.0f} s)", flush=True)
    frame = pd.DataFrame(rows.values()).merge(done[["arch", "standalone"]], on="arch")
    frame.to_csv(out / "subnets.csv", index=False)
    ratios = step_overhead(space, archs[::3], args.device)
    summary = {"device": args.device, "epochs": args.epochs, "subnets": len(archs), "overhead_median": float(np.median(ratios)),
               "overhead_max": float(np.max(ratios))}
    print(f"\nhybrid_cifar, CIFAR-10 subset, {args.device}, {args.epochs} epochs, {len(archs)} subnets "
          f"({frame.macs.min() / 1e6:.0f}-{frame.macs.max() / 1e6:.0f}M MACs)")
    print(f"{'sampler':<18} {'Kendall tau':>11} {'smallest acc':>12} {'largest acc':>11}")
    for name in samplers:
        tau = kendalltau(frame[f"inherited_{name}"], frame["standalone"]).statistic
        summary[name] = {"kendall_tau": float(tau), **extremes[name]}
        print(f"{name:<18} {tau:>11.3f} {extremes[name]['smallest']:>11.1f}% {extremes[name]['largest']:>10.1f}%")
    print(f"standalone accuracy range: {frame.standalone.min():.1f}-{frame.standalone.max():.1f}%")
    print(f"train-step time in the supernet / materialized static model: median {summary['overhead_median']:.3f}x, "
          f"max {summary['overhead_max']:.3f}x (goal <= 1.25x)")
    (out / "summary.json").write_text(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
