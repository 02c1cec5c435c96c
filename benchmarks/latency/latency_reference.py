"""Does a reference workload that streams weights track a shared machine's speed better than the shipped one?

The library times a small fixed workload (`backends.REFERENCE`: a 64-channel conv and an attention block,
both resident in a core's L2) beside every group of layers or networks, and puts measurements on the
table's time base by it. A neighbour that loads the shared L3 or memory slows networks (several MB of
weights) without slowing that workload. This benchmark times, beside each group of `--n` random networks
and in each of `--passes` passes, both the shipped reference and a weight-streaming one (layers with about
7 MB of weights), and reports for each: how much the networks' pass-to-pass ratio it explains, and the
pass-to-pass disagreement of the networks' times once divided by it.

    python -m benchmarks.latency.latency_reference --backend onnxruntime --pin 1 --n 128 --out results/benchmarks/latency_reference
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

from hybridnas import load_space
from hybridnas.ir.layers import ConvNormAct, MetaBlock
from hybridnas.latency.backends import REFERENCE, make_backend
from hybridnas.latency.signature import Signature
from hybridnas.latency.timing import threads_set, time_all
from hybridnas.rng import seeded
from benchmarks.common import benchmark_parser

GROUP = 16
SEED = 30_011  # a seed stream no table, validation or calibration benchmark draws from
# about 7 MB of float32 weights: beyond a core's L2 (1 MB here), inside the shared L3 (32 MB)
STREAMING = [Signature(ConvNormAct(256, 256, 3), (256, 8, 8)), Signature(MetaBlock(256, "conv", 4, kernel=3), (256, 8, 8)),
             Signature(MetaBlock(320, "attention", 4, heads=4), (320, 4, 4))]


def runner_of(runtime, sigs):
    runs = runtime.layer_runners(sigs)
    return lambda: [run() for run in runs]


def main() -> None:
    ap = benchmark_parser()
    ap.add_argument("--space", default="hybrid_cifar")
    ap.add_argument("--backend", default="onnxruntime", choices=["torch", "onnxruntime"])
    ap.add_argument("--n", type=int, default=128)
    ap.add_argument("--passes", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--pin", type=int, default=None)
    args = ap.parse_args()
    if args.pin is not None:
        os.sched_setaffinity(0, {args.pin})
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    space = load_space(args.space)
    rng = np.random.default_rng(SEED)
    archs = [space.sample(rng) for _ in range(args.n)]
    start = time.perf_counter()
    rows = []
    with threads_set(1):
        runtime = make_backend(args.backend, "cpu", 1, "float32", 1)
        references = {"shipped": runner_of(runtime, REFERENCE), "streaming": runner_of(runtime, STREAMING)}
        for first in range(0, len(archs), GROUP):
            with seeded(0):
                models = [space.build(a) for a in archs[first:first + GROUP]]
            runners = runtime.network_runners(models, space.input_shape)
            for k in range(args.passes):
                *timings, shipped, streaming = time_all(runners + list(references.values()), "cpu", 10, 30,
                                                         args.rounds, "min")
                rows += [{"group": first // GROUP, "pass": k + 1, "arch": space.format(a), "ms": t.ms,
                          "shipped_ms": shipped.ms, "streaming_ms": streaming.ms}
                         for a, t in zip(archs[first:first + GROUP], timings)]
            print(f"measured {min(first + GROUP, len(archs))}/{len(archs)}", flush=True)
    frame = pd.DataFrame(rows)
    frame.to_csv(out / f"{args.backend}.csv", index=False)
    lines = [f"{space.name}, {args.backend}, 1 thread, {args.n} networks in groups of {GROUP}, {args.passes} passes, "
             f"measured in {time.perf_counter() - start:.0f} s"]
    wide = frame.pivot_table(index="arch", columns="pass", values=["ms", "shipped_ms", "streaming_ms"], sort=False)
    for a, b in ((2, 3), (1, 2), (1, 3)):
        ratio = wide[("ms", b)] / wide[("ms", a)]
        line = f"pass {b} / pass {a}: raw MAPE {100 * np.abs(ratio - 1).mean():.2f}%"
        for name in ("shipped", "streaming"):
            speed = wide[(f"{name}_ms", b)] / wide[(f"{name}_ms", a)]
            corrected = ratio / speed
            groups = pd.DataFrame({"ratio": np.log(ratio), "speed": np.log(speed)}).groupby(
                frame.drop_duplicates("arch").set_index("arch").loc[wide.index, "group"].to_numpy()).median()
            r = np.corrcoef(groups["ratio"], groups["speed"])[0, 1] if groups["speed"].std() > 0 else float("nan")
            line += (f"; over the {name} reference {100 * np.abs(corrected - 1).mean():.2f}% "
                     f"(group medians correlate {r:+.2f})")
        lines.append(line)
    for name in ("shipped", "streaming"):
        per_group = frame.groupby(["group", "pass"])[f"{name}_ms"].first()
        lines.append(f"{name} reference: {per_group.min():.4f}-{per_group.max():.4f} ms over groups and passes")
    import sys

    text = "\n".join(lines) + f"\n\n$ python {' '.join(sys.argv)}\n# {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores\n"
    (out / f"{args.backend}_summary.txt").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
