"""Seconds per architecture of the shipped default objective, beside the previous default, on one thread.

For each space, N seeded architectures are scored with the default objective's members and with the
previous default's (naswot+synflow+zico) or another ranking's (--compare), in interleaved order, each
network once untimed first so that neither pays for growing the heap. Prints the mean and max seconds per
network of each and their ratio. Batch: the quickstart's proxy batch (32) unless --batch-size.
    taskset -c 0 python -m benchmarks.speed.default_objective_speed --n 12
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from hybridnas import load_space
from hybridnas.proxies import score
from hybridnas.proxies.ensemble import DEFAULT_OBJECTIVE, parse_ensemble

PREVIOUS = "ensemble:naswot+synflow+zico"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spaces", default="nasbench201,hybrid_cifar,hybrid_imagenet")
    parser.add_argument("--n", type=int, default=12)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--data", default="gaussian")
    parser.add_argument("--compare", default=PREVIOUS, help="the ranking timed beside the default")
    args = parser.parse_args()
    torch.set_num_threads(1)
    kind = "previous" if args.compare == PREVIOUS else "other"
    candidates = {"default " + DEFAULT_OBJECTIVE: parse_ensemble(DEFAULT_OBJECTIVE).members,
                  f"{kind} {args.compare}": parse_ensemble(args.compare).members}
    print(f"seconds per architecture, 1 thread, batch {args.batch_size}, data {args.data}, {args.n} archs per space")
    for name in args.spaces.split(","):
        space = load_space(name)
        rng = np.random.default_rng(0)
        archs = [space.sample(rng) for _ in range(args.n)]
        seconds: dict[str, list[float]] = {k: [] for k in candidates}
        for arch in archs:
            for label, members in candidates.items():
                score(arch, members, args.data, space=space, batch_size=args.batch_size)  # untimed warm-up
                start = time.perf_counter()
                result = score(arch, members, args.data, space=space, batch_size=args.batch_size)
                seconds[label].append(time.perf_counter() - start)
                if result.errors:
                    print(f"  {space.format(arch)}: {result.errors}")
        default, other = (np.array(v) for v in seconds.values())
        for what, values in seconds.items():
            print(f"{name:<16} {what:<48} mean {np.mean(values):6.3f}  max {np.max(values):6.3f}")
        print(f"{name:<16} default / {kind} (mean): {default.mean() / other.mean():.2f}")


if __name__ == "__main__":
    main()
