"""Proxy evaluations per second: in-process vs Ray with 1 and 2 workers, on the same architectures.

Goals: 2 workers >= 1.8x one worker; the Ray path at 1 worker within 10% of in-process. Each
path evaluates the same archs (naswot+synflow+zico) with one thread per worker; Ray start-up and actor
creation are excluded, and each pool warms up on one arch first.
    python benchmarks/search_scaling.py --n 24
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from hybridnas import load_space
from hybridnas.search.evaluators import ProxyEvaluator
from hybridnas.search.workers import LocalPool, RayPool, init_ray


def rate(pool, archs) -> float:
    list(pool.imap(archs[:1]))  # warm-up
    start = time.perf_counter()
    results = list(pool.imap(archs))
    if any(ev.errors for _, ev in results):
        raise SystemExit(f"evaluation errors: {[ev.errors for _, ev in results if ev.errors][:3]}")
    return len(archs) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", default="hybrid_cifar")
    parser.add_argument("--n", type=int, default=24)
    parser.add_argument("--proxies", default="naswot,synflow,zico")
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()
    space = load_space(args.space)
    rng = np.random.default_rng(0)
    archs = [space.sample(rng) for _ in range(args.n)]
    proxies = args.proxies.split(",")
    factory = lambda: [ProxyEvaluator(space, proxies, "gaussian", 0, args.batch_size)]  # noqa: E731
    torch.set_num_threads(1)
    local = rate(LocalPool(space, factory), archs)
    import ray

    init_ray(2, None, dashboard=False)
    try:
        rates = {}
        for workers in (1, 2):
            pool = RayPool(space, factory, workers)
            try:
                rates[workers] = rate(pool, archs)
            finally:
                pool.close()
    finally:
        ray.shutdown()
    print(f"space {args.space}, {args.n} archs, proxies {args.proxies}, batch {args.batch_size}, 1 thread per worker")
    print(f"{'path':<24}{'evals/s':>10}")
    print(f"{'in-process':<24}{local:>10.2f}")
    print(f"{'Ray, 1 worker':<24}{rates[1]:>10.2f}")
    print(f"{'Ray, 2 workers':<24}{rates[2]:>10.2f}")
    print(f"speed-up 2 vs 1 worker: {rates[2] / rates[1]:.2f}x (goal >= 1.8); "
          f"Ray overhead at 1 worker: {100 * (local / rates[1] - 1):+.1f}% (goal <= 10%)")


if __name__ == "__main__":
    main()
