"""Proxy evaluations per second: in-process vs Ray with 1 and 2 workers, on the same architectures.

Goals: 2 workers >= 1.8x one worker; the Ray path at 1 worker within 10% of in-process. Each
path evaluates the same archs (naswot+synflow+zico) with one thread per worker. All three pools are
created first (Ray start-up and actor creation are excluded) and warmed up on one arch; then, because
this shared machine's speed drifts by more than the effect measured, the paths take turns: every
round each path evaluates the same chunk of archs, in a rotating order, and the rates are totals
over all rounds. It also prints the kernel's share of the in-process thread's CPU time; compare a
run with HYBRIDNAS_KEEP_FREED_MEMORY=0 (see hybridnas/allocator.py). Ray is told of one more logical
CPU than the machine has, so that the idle 1-worker actor and the 2-worker pool can both exist; only
the pool being timed does any work.
    python -m benchmarks.speed.search_scaling --n 96 --rounds 12

On a GPU machine, `--device cuda --workers N` gives each Ray worker 1/(N + 1) of the GPU by default
(`--gpus-per-worker` to choose), so that the 1-worker pool and the N-worker pool both fit on one GPU,
and compares N workers with 1; the in-process path runs on the GPU too.
    python -m benchmarks.speed.search_scaling --device cuda --workers 4 --n 96 --rounds 12
"""

from __future__ import annotations

import argparse
import os
import resource
import time

import numpy as np
import torch

from hybridnas import load_space
from hybridnas.allocator import OPT_OUT
from hybridnas.proxies import ProxyEvaluator
from hybridnas.search.workers import LocalPool, RayPool, init_ray


def seconds(pool, archs) -> float:
    """Wall-clock seconds to evaluate `archs` on `pool`; any evaluation error stops the benchmark."""
    start = time.perf_counter()
    results = list(pool.imap(archs))
    elapsed = time.perf_counter() - start
    if any(ev.errors for _, ev in results):
        raise SystemExit(f"evaluation errors: {[ev.errors for _, ev in results if ev.errors][:3]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", default="hybrid_cifar")
    parser.add_argument("--n", type=int, default=96, help="architectures, split evenly over the rounds")
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--proxies", default="naswot,synflow,zico")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--device", default="cpu", help="cpu or cuda: where every path's proxies run")
    parser.add_argument("--workers", type=int, default=2, help="workers of the wide Ray pool")
    parser.add_argument("--gpus-per-worker", type=float, default=None, help="with --device cuda; default 1/(workers + 1)")
    args = parser.parse_args()
    share = 0.0 if args.device == "cpu" else (args.gpus_per_worker or 1.0 / (args.workers + 1))
    space = load_space(args.space)
    rng = np.random.default_rng(0)
    archs = [space.sample(rng) for _ in range(args.n + 1)]
    warm, archs = archs[:1], archs[1:]
    proxies = args.proxies.split(",")
    factory = lambda: [ProxyEvaluator(space, proxies, "gaussian", 0, args.batch_size, args.device)]  # noqa: E731
    torch.set_num_threads(1)
    import ray

    wide = f"Ray, {args.workers} workers"
    init_ray(args.workers + 1, None, dashboard=False)
    try:
        pools = {"in-process": LocalPool(space, factory),
                 "Ray, 1 worker": RayPool(space, factory, 1, gpus_per_worker=share),
                 wide: RayPool(space, factory, args.workers, gpus_per_worker=share)}
        for pool in pools.values():
            seconds(pool, warm * len(getattr(pool, "actors", [None])))
        totals = dict.fromkeys(pools, 0.0)
        cpu = {"user": 0.0, "system": 0.0}
        per_round = {name: [] for name in pools}
        names = list(pools)
        for r, chunk in enumerate(np.array_split(np.arange(len(archs)), args.rounds)):
            chunk_archs = [archs[i] for i in chunk]
            for name in names[r % 3:] + names[: r % 3]:
                before = resource.getrusage(resource.RUSAGE_THREAD)
                elapsed = seconds(pools[name], chunk_archs)
                if name == "in-process":
                    after = resource.getrusage(resource.RUSAGE_THREAD)
                    cpu["user"] += after.ru_utime - before.ru_utime
                    cpu["system"] += after.ru_stime - before.ru_stime
                totals[name] += elapsed
                per_round[name].append(len(chunk_archs) / elapsed)
        for pool in pools.values():
            pool.close()
    finally:
        ray.shutdown()
    rates = {name: len(archs) / total for name, total in totals.items()}
    local, one, two = rates.values()
    overheads = [100 * (a / b - 1) for a, b in zip(per_round["in-process"], per_round["Ray, 1 worker"])]
    gpu = f", {share:g} GPU per worker ({torch.cuda.get_device_name(0)})" if share else ""
    print(f"space {args.space}, {len(archs)} archs in {args.rounds} interleaved rounds, proxies {args.proxies}, "
          f"batch {args.batch_size}, device {args.device}, 1 thread per worker{gpu}")
    print(f"{'path':<18}{'evals/s':>9}   per round")
    for name, value in rates.items():
        print(f"{name:<18}{value:>9.2f}   " + " ".join(f"{x:.2f}" for x in per_round[name]))
    print("Ray overhead at 1 worker per round: " + " ".join(f"{x:+.1f}%" for x in overheads)
          + f" (median {np.median(overheads):+.1f}%)")
    print(f"kernel share of in-process CPU time: {100 * cpu['system'] / (cpu['user'] + cpu['system']):.1f}% "
          f"(allocator thresholds raised: {os.environ.get(OPT_OUT, '1') != '0'})")
    print(f"speed-up {args.workers} vs 1 worker: {two / one:.2f}x (goal at 2 CPU workers >= 1.8); "
          f"Ray overhead at 1 worker: {100 * (local / one - 1):+.1f}% (goal <= 10%)")


if __name__ == "__main__":
    main()
