"""Shared passes vs one proxy at a time, and the cost of a fast proxy trio, on NAS-Bench-201 networks.

Prints, per architecture and in total: seconds for all proxies scored together (one build, shared
passes) vs the sum of scoring each proxy alone (a build and its own passes each), their ratio (goal
<= 0.5), and seconds for naswot+synflow+zico together (goal < 1 s). The same two "together" runs in
NCHW memory format (`channels_last=False`) are the baseline for the channels-last speed-up. A table splits the
"together" time by proxy (a shared pass is charged to its first user). Work that no other proxy can use, the
proxies with their own passes by definition (their own initialisation, input or batch) and GraSP's second-order
pass (it runs after the loss gradient it shares), bounds "together" from below. Each network is scored once untimed
first, so whichever path is timed first does not pay for growing the heap. One thread:
    taskset -c 0 python -m benchmarks.speed.proxy_speed --n 8 --data npz:../shared/data/cifar10_subset.npz
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from hybridnas import load_space
from hybridnas.proxies import get_proxy, list_proxies, score


def timed_result(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def timed(fn) -> float:
    return timed_result(fn)[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", default="nasbench201")
    parser.add_argument("--n", type=int, default=10)
    parser.add_argument("--data", default="gaussian")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    space = load_space(args.space)
    rng = np.random.default_rng(args.seed)
    archs = [space.sample(rng) for _ in range(args.n)]
    names = list_proxies()
    main_pass = [n for n in names if get_proxy(n).shared == "main_pass"]
    trio = ["naswot", "synflow", "zico"]
    score(archs[0], trio, args.data, space=space, batch_size=args.batch_size)  # warm-up
    rows, inside, alone_by_proxy = [], [], []
    for arch in archs:
        run = lambda proxies, cl=True: score(arch, proxies, args.data, args.seed, space=space,  # noqa: E731
                                             batch_size=args.batch_size, channels_last=cl)
        run(names)  # untimed: grows the heap to this network's sizes, so no timed path pays its page faults
        together, result = timed_result(lambda: run(names))
        inside.append(result.seconds)
        alone_each = {n: timed(lambda n=n: run([n])) for n in names}
        alone_by_proxy.append(alone_each)
        group = timed(lambda: run(main_pass))
        rows.append((together, sum(alone_each.values()), timed(lambda: run(trio)), group,
                     sum(alone_each[n] for n in main_pass), timed(lambda: run(names, False)),
                     timed(lambda: run(trio, False))))
    together, alone, fast, group, group_alone, nchw, fast_nchw = (np.array(col) for col in zip(*rows))
    print(f"space {args.space}, {args.n} archs, data {args.data}, batch {args.batch_size}, 1 thread, "
          f"{len(names)} proxies")
    print(f"{'':<34}{'mean s/arch':>12}{'max s/arch':>12}")
    print(f"{'all proxies together':<34}{together.mean():>12.2f}{together.max():>12.2f}")
    print(f"{'each proxy alone, summed':<34}{alone.mean():>12.2f}{alone.max():>12.2f}")
    print(f"{'naswot+synflow+zico together':<34}{fast.mean():>12.2f}{fast.max():>12.2f}")
    print(f"{'the ' + str(len(main_pass)) + ' main-pass proxies together':<34}{group.mean():>12.2f}{group.max():>12.2f}")
    print(f"{'the same proxies alone, summed':<34}{group_alone.mean():>12.2f}{group_alone.max():>12.2f}")
    print(f"{'all proxies together, NCHW':<34}{nchw.mean():>12.2f}{nchw.max():>12.2f}")
    print(f"{'the trio together, NCHW':<34}{fast_nchw.mean():>12.2f}{fast_nchw.max():>12.2f}")
    own = [n for n in names if not get_proxy(n).shared]
    unshared = sum(sum(seconds[n] for n in own + ["grasp"]) for seconds in inside) / len(archs)
    print(f"\n{'seconds per arch, by proxy':<34}{'together':>12}{'alone':>12}")
    for name in sorted(names, key=lambda n: -sum(s[n] for s in inside)):
        print(f"{name + ('' if get_proxy(name).shared else ' (own passes)'):<34}"
              f"{np.mean([s[name] for s in inside]):>12.3f}{np.mean([a[name] for a in alone_by_proxy]):>12.3f}")
    print(f"work no proxy can share (own passes, GraSP's second-order pass) takes {unshared:.2f} s per arch, "
          f"{unshared / alone.mean():.2f} of 'alone';\nthe goal (0.5) would leave {0.5 * alone.mean() - unshared:.2f} s "
          f"for every shared pass, which take {together.mean() - unshared:.2f} s now")
    print(f"channels-last speed-up: all proxies {nchw.sum() / together.sum():.2f}x, trio "
          f"{fast_nchw.sum() / fast.sum():.2f}x")
    print(f"ratio together / alone: all proxies {together.sum() / alone.sum():.2f} (goal <= 0.5), main-pass "
          f"proxies {group.sum() / group_alone.sum():.2f}; trio under 1 s: {int((fast < 1).sum())}/{len(fast)} archs")


if __name__ == "__main__":
    main()
