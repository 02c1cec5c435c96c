"""CPU against GPU, measured in one run: the default objective's seconds per network, and the supernet's step.

1. Proxies: the default objective's members (`DEFAULT_OBJECTIVE`) on N seeded networks of hybrid_cifar
   (32 px) and hybrid_imagenet (224 px), Gaussian batch of 32 (the quickstart's proxy batch), each network
   scored once untimed first; mean seconds per network on each device and their ratio.
2. Supernet: median train-step time (forward, loss, backward; batch 64) of 4 hybrid_cifar subnets spread
   over the MACs range, inside the supernet and as their materialised static model, in fp32 and under
   bf16 autocast; the supernet / static ratio (the goal on a GPU is <= 1.25) and images/s of each.

Every device torch sees is measured (the CPU always; CUDA when there is one); a device that is absent is
printed as "not measured". CPU threads: torch's default (all cores).

    python -m benchmarks.speed.device_speed > results/benchmarks/device_speed_cpu.txt
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import time

import numpy as np
import torch

from hybridnas import load_space
from hybridnas.proxies import score
from hybridnas.proxies.ensemble import DEFAULT_OBJECTIVE, parse_ensemble
from benchmarks.supernet.supernet_ranking import spread_archs, step_overhead


def proxy_seconds(space, archs, members, device: str, batch: int) -> float:
    """Mean seconds per network; each network is scored once untimed first (allocations, cuDNN choices)."""
    times = []
    for arch in archs:
        score(arch, members, "gaussian", space=space, batch_size=batch, device=device)
        if device != "cpu":
            torch.cuda.synchronize()
        start = time.perf_counter()
        result = score(arch, members, "gaussian", space=space, batch_size=batch, device=device)
        if device != "cpu":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
        if result.errors:
            print(f"    {space.format(arch)}: {result.errors}")
    return float(np.mean(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=6, help="networks per space (hybrid_imagenet: half, at least 2)")
    parser.add_argument("--batch", type=int, default=32, help="proxy batch")
    parser.add_argument("--steps", type=int, default=8, help="timed supernet steps per subnet")
    parser.add_argument("--skip", default="", help="comma-separated parts to skip: proxies, supernet")
    args = parser.parse_args()
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    print(f"# {datetime.date.today()}, torch {torch.__version__}, {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs ({torch.get_num_threads()} torch threads), GPU: {gpu}")
    members = parse_ensemble(DEFAULT_OBJECTIVE).members
    if "proxies" not in args.skip:
        print(f"\n## proxies: {DEFAULT_OBJECTIVE}, Gaussian batch of {args.batch}, mean seconds per network")
        for name, n in (("hybrid_cifar", args.n), ("hybrid_imagenet", max(2, args.n // 2))):
            space = load_space(name)
            rng = np.random.default_rng(0)
            archs = [space.sample(rng) for _ in range(n)]
            seconds = {d: proxy_seconds(space, archs, members, d, args.batch) for d in devices}
            line = "  ".join(f"{d} {s:.3f} s" for d, s in seconds.items())
            ratio = f"cpu / cuda {seconds['cpu'] / seconds['cuda']:.1f}x" if "cuda" in seconds else \
                "cuda: not measured (no CUDA device)"
            print(f"{name:<16} {n} nets  {line}  {ratio}")
    if "supernet" not in args.skip:
        space = load_space("hybrid_cifar")
        archs = spread_archs(space, 10)[::3]
        print(f"\n## supernet step, hybrid_cifar, batch 64, {len(archs)} subnets over the MACs range, "
              f"{args.steps} timed steps each (median)")
        print(f"{'device':<6} {'precision':<9} {'supernet/static per subnet':<30} {'median':>7} "
              f"{'static img/s':>13} {'supernet img/s':>15}")
        for device in devices:
            for precision in ("fp32", "bf16"):
                static_ms: list[float] = []
                ratios = step_overhead(space, archs, device, steps=args.steps, static_ms=static_ms,
                                       precision=precision)
                static_rate = np.median([64e3 / ms for ms in static_ms])
                supernet_rate = np.median([64e3 / (ms * r) for ms, r in zip(static_ms, ratios)])
                print(f"{device:<6} {precision:<9} {' '.join(f'{r:.2f}' for r in ratios):<30} "
                      f"{np.median(ratios):>6.2f}x {static_rate:>13.0f} {supernet_rate:>15.0f}")
        if "cuda" not in devices:
            print("cuda   fp32/bf16 not measured (no CUDA device)")
    print(f"\ncommand: python -m benchmarks.speed.device_speed --n {args.n} --batch {args.batch} --steps {args.steps}")


if __name__ == "__main__":
    main()
