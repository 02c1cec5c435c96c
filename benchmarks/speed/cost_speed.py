"""Analytic cost model vs instantiating the model and counting with FlopCounterMode, on the same archs.

Prints archs/s of each and their ratio (single thread). Run pinned to one core:
    taskset -c 0 python -m benchmarks.speed.cost_speed --space hybrid_cifar
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from hybridnas import load_space


def build_and_count(space, arch, device: str) -> tuple[int, int]:
    with torch.device(device):
        model = space.build(arch)
        x = torch.zeros(1, *space.input_shape)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(x)
    return counter.get_total_flops() // 2, sum(p.numel() for p in model.parameters())


def rate(fn, archs) -> float:
    start = time.perf_counter()
    for arch in archs:
        fn(arch)
    return len(archs) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", default="hybrid_cifar")
    parser.add_argument("--n-analytic", type=int, default=5000)
    parser.add_argument("--n-baseline", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    space = load_space(args.space)
    rng = np.random.default_rng(args.seed)
    archs = [space.sample(rng) for _ in range(args.n_analytic)]
    baseline_archs = archs[: args.n_baseline]
    rate(space.cost, archs[:200])  # warm-up (imports, caches)
    analytic = rate(space.cost, archs)
    cpu = rate(lambda a: build_and_count(space, a, "cpu"), baseline_archs)
    meta = rate(lambda a: build_and_count(space, a, "meta"), baseline_archs)
    print(f"space {args.space}: {args.n_analytic} archs (analytic), {args.n_baseline} (baselines), 1 thread")
    print(f"{'method':<42}{'archs/s':>12}{'ratio':>10}")
    print(f"{'analytic Space.cost':<42}{analytic:>12.0f}{1.0:>10.1f}")
    print(f"{'build + FlopCounterMode, CPU tensors':<42}{cpu:>12.1f}{analytic / cpu:>10.0f}")
    print(f"{'build + FlopCounterMode, meta tensors':<42}{meta:>12.1f}{analytic / meta:>10.0f}")
    print("ratio = analytic archs/s divided by the method's archs/s (how many times faster the analytic model is)")


if __name__ == "__main__":
    main()
