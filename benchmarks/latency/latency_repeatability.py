"""Which statistic of repeated timings agrees with itself when the same networks are measured again?

Times `--n` random networks end to end, two passes over the same runners, each pass in interleaved
rounds (every network gets `--per-round` repeats per round; a repeat lasts at least MIN_REPEAT_S). From
the same raw samples it reports, for several statistics (median, lower quartile, 10th percentile,
minimum, mean of the fastest half), how far pass 2 is from pass 1: the mean absolute difference and the
share of networks within ±5% and ±10%. Interference on a shared machine only ever adds time, so a
lower statistic should be more repeatable; this measures by how much.

    python -m benchmarks.latency.latency_repeatability --backend torch --n 40 --pin 1 --out results/benchmarks/latency_repeatability
    python -m benchmarks.latency.latency_repeatability --backend onnxruntime --n 40 --pin 1 --out results/benchmarks/latency_repeatability
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from hybridnas import load_space
from hybridnas.latency import space_signatures
from hybridnas.latency.backends import make_backend
from hybridnas.latency.timing import MIN_REPEAT_S
from hybridnas.rng import seeded

from benchmarks.latency.latency_backends import footer
from benchmarks.common import benchmark_parser

STATISTICS = {
    "median": lambda s: np.median(s),
    "p25": lambda s: np.percentile(s, 25),
    "p10": lambda s: np.percentile(s, 10),
    "min": lambda s: np.min(s),
    "fastest_half_mean": lambda s: np.mean(np.sort(s)[: max(1, len(s) // 2)]),
}


def raw_samples(runners, rounds: int, per_round: int, min_repeat_s: float, warmup: int = 10) -> list[list[float]]:
    """Seconds per call of every runner, `rounds` interleaved rounds of `per_round` repeats each."""
    numbers = []
    for run in runners:
        for _ in range(warmup):
            run()
        start = time.perf_counter()
        run()
        numbers.append(max(1, math.ceil(min_repeat_s / max(time.perf_counter() - start, 1e-7))))
    samples: list[list[float]] = [[] for _ in runners]
    for _ in range(rounds):
        for run, number, times in zip(runners, numbers, samples):
            run()
            for _ in range(per_round):
                start = time.perf_counter()
                for _ in range(number):
                    run()
                times.append((time.perf_counter() - start) / number)
    return samples


def main() -> None:
    ap = benchmark_parser()
    ap.add_argument("--space", default="hybrid_cifar")
    ap.add_argument("--backend", default="torch", choices=["torch", "onnxruntime"])
    ap.add_argument("--unit", default="networks", choices=["networks", "layers"])
    ap.add_argument("--n", type=int, default=40)
    ap.add_argument("--min-repeat-ms", type=float, default=1e3 * MIN_REPEAT_S)
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--per-round", type=int, default=5)
    ap.add_argument("--pin", type=int, default=None)
    args = ap.parse_args()
    if args.pin is not None:
        os.sched_setaffinity(0, {args.pin})
    torch.set_num_threads(1)
    space = load_space(args.space)
    rng = np.random.default_rng(1)
    backend = make_backend(args.backend, "cpu", 1, "float32", 1)
    if args.unit == "networks":
        archs = [space.sample(rng) for _ in range(args.n)]
        with seeded(0):
            models = [space.build(a) for a in archs]
        runners = backend.network_runners(models, space.input_shape)
    else:
        sigs = space_signatures(space)
        runners = backend.layer_runners([sigs[i] for i in rng.choice(len(sigs), args.n, replace=False)])
    with torch.inference_mode():
        passes = [raw_samples(runners, args.rounds, args.per_round, args.min_repeat_ms / 1e3) for _ in range(2)]
    rows = []
    for name, stat in STATISTICS.items():
        first = np.array([stat(s) for s in passes[0]])
        second = np.array([stat(s) for s in passes[1]])
        diff = np.abs(second / first - 1)
        rows.append({"statistic": name, "mean_abs_diff_pct": 100 * diff.mean(), "within_5pct": (diff <= 0.05).mean(),
                     "within_10pct": (diff <= 0.10).mean(), "median_ms": 1e3 * float(np.median(first))})
    frame = pd.DataFrame(rows)
    tag = (f"{args.space}_{args.backend}_{args.unit}_repeat{args.min_repeat_ms:g}ms"
           + (f"_pin{args.pin}" if args.pin is not None else ""))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    text = (f"{args.space}, {args.backend}, {args.n} {args.unit}, 2 passes of {args.rounds} rounds x {args.per_round} "
            f"repeats of >= {args.min_repeat_ms:g} ms, "
            f"{'pinned to core ' + str(args.pin) if args.pin is not None else 'not pinned'}\n"
            + frame.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    (out / f"{tag}.txt").write_text(text + "\n" + footer())
    print(text)


if __name__ == "__main__":
    main()
