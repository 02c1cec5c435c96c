"""Is a layer the right unit to time, or a stage? Networks, their stages and their layers timed side by side.

For `--n` validation networks (seed 0, the stream `latency_backends.py` and `latency_anchors.py` draw), each
network is timed end to end together with each of its stages (stem, stage k with its downsampling layer,
head; each exported and run as its own graph) and each of its layers (as `hybridnas latency build` times
them), all in one interleaved measurement, a warm-up pass, then two passes. Per network, the sum of the
stage times and the sum of the layer times (each less the runtime's per-call overhead, timed beside them)
are set against the network's own time, measured in the same moment, so no drift between build and
validation enters. For each unit, a calibration `network ≈ a * sum + b * units + c` (non-negative, relative
error) is fitted on the networks: in-sample and leave-one-out MAPE, beside re-measurement (pass 2 against
pass 1). If stages close the gap that layers leave, the runtime's fusion across layers is what limits a
layer table; if neither does, the limit is elsewhere.

    python -m benchmarks.latency.latency_unit --backend onnxruntime --pin 1 --n 24 --out results/benchmarks/latency_unit/onnxruntime
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from scipy.optimize import nnls

from hybridnas import load_space
from hybridnas.latency import arch_signatures
from hybridnas.latency.backends import make_backend
from hybridnas.latency.timing import threads_set, time_all
from hybridnas.rng import seeded

from benchmarks.latency.latency_backends import figures, footer, validation_archs
from benchmarks.common import benchmark_parser


class Chain(torch.nn.Module):
    """Consecutive layers of a GraphNet whose graph is a chain, run in order."""

    def __init__(self, modules: list[torch.nn.Module]) -> None:
        super().__init__()
        self.steps = torch.nn.ModuleList(modules)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for module in self.steps:
            x = module(x)
        return x


def stages(net, input_shape) -> list[tuple[torch.nn.Module, tuple[int, ...]]]:
    """(module, input shape) per stage of a chain-shaped GraphNet: nodes grouped by their name's prefix."""
    groups: dict[str, list[str]] = {}
    previous = "input"
    for name, inputs, has_module, _ in net._steps:
        if inputs != (previous,) or not has_module:
            raise ValueError(f"node {name} does not read only the node before it; not a chain")
        groups.setdefault(name.split("_")[0], []).append(name)
        previous = name
    shapes, x = {}, torch.zeros(1, *input_shape)
    with torch.no_grad():
        for name, *_ in net._steps:
            shapes[name] = tuple(x.shape[1:])
            x = net.layers[name](x)
    return [(Chain([net.layers[n] for n in names]), shapes[names[0]]) for names in groups.values()]


def fit_scores(units: np.ndarray, counts: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """In-sample and leave-one-out MAPE (%) of truth ≈ a * units + b * counts + c, fitted on relative error."""
    x = np.column_stack([units, counts, np.ones_like(units)])

    def predict(train, test):
        coef, _ = nnls(x[train] / truth[train, None], np.ones(train.sum()))
        return x[test] @ coef

    everyone = np.ones(len(truth), dtype=bool)
    in_sample = predict(everyone, everyone)
    left_out = np.array([predict(np.arange(len(truth)) != i, np.arange(len(truth)) == i)[0] for i in range(len(truth))])
    return figures(in_sample, truth)["mape_pct"], figures(left_out, truth)["mape_pct"]


def main() -> None:
    ap = benchmark_parser(__doc__, out_type=Path)
    ap.add_argument("--backend", choices=["torch", "onnxruntime"], default="onnxruntime")
    ap.add_argument("--space", default="hybrid_cifar")
    ap.add_argument("--n", type=int, default=24)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--pin", type=int, default=None)
    args = ap.parse_args()
    if args.pin is not None:
        os.sched_setaffinity(0, {args.pin})
    args.out.mkdir(parents=True, exist_ok=True)
    space = load_space(args.space)
    archs = validation_archs(space, args.n, args.seed)
    rows = []
    with threads_set(1):
        runtime = make_backend(args.backend, "cpu", 1, "float32", 1)
        overhead = runtime.overhead_runner()
        reference = runtime.reference_runner()
        for arch in archs:
            with seeded(0):
                net = space.build(arch).eval()
            parts = stages(net, space.input_shape)
            sigs = [sig for _, sig in arch_signatures(space, arch)]
            runners = (runtime.network_runners([net], space.input_shape)
                       + [runtime.network_runners([m], shape)[0] for m, shape in parts]
                       + runtime.layer_runners(sigs) + [reference] + ([overhead] if overhead else []))
            time_all(runners, runtime.device, 10, 30, args.rounds, "min")  # warm-up pass, discarded
            passes = [[t.ms for t in time_all(runners, runtime.device, 10, 30, args.rounds, "min")] for _ in range(2)]
            for k, times in enumerate(passes):
                call = times[-1] if overhead else 0.0
                stage_ms = np.maximum(np.array(times[1:1 + len(parts)]) - call, 0)
                layer_ms = np.maximum(np.array(times[1 + len(parts):1 + len(parts) + len(sigs)]) - call, 0)
                rows.append({"arch": space.format(arch), "pass": k + 1, "network_ms": times[0],
                             "stage_sum_ms": float(stage_ms.sum()), "stages": len(parts),
                             "layer_sum_ms": float(layer_ms.sum()), "layers": len(sigs),
                             "reference_ms": times[1 + len(parts) + len(sigs)], "call_ms": call})
            print(f"{len(rows) // 2}/{len(archs)} {rows[-2]['network_ms']:.3f} ms", flush=True)
    frame = pd.DataFrame(rows)
    frame.to_csv(args.out / "networks.csv", index=False)
    first, second = frame[frame["pass"] == 1].reset_index(), frame[frame["pass"] == 2].reset_index()
    truth = first["network_ms"].to_numpy()
    again = figures(second["network_ms"].to_numpy(), truth)
    report = {"remeasurement_mape_pct": again["mape_pct"]}
    lines = [f"{space.name}, {args.n} networks (seed {args.seed}), {args.backend}, 1 thread, pinned {args.pin}: "
             "network, stages and layers timed in one measurement, a warm-up pass, then two passes",
             f"  re-measurement (network, pass 2 vs pass 1): MAPE {again['mape_pct']:.2f}%"]
    for unit, count in (("stage", "stages"), ("layer", "layers")):
        raw = figures(first[f"{unit}_sum_ms"].to_numpy(), truth)["mape_pct"]
        in_sample, left_out = fit_scores(first[f"{unit}_sum_ms"].to_numpy(), first[count].to_numpy(), truth)
        ratio = float(np.median(truth / first[f"{unit}_sum_ms"]))
        report[unit] = {"sum_mape_pct": raw, "network_over_sum_median": ratio, "fit_in_sample_mape_pct": in_sample,
                        "fit_leave_one_out_mape_pct": left_out}
        lines.append(f"  {unit}s summed: network / sum median {ratio:.3f}, MAPE of the bare sum {raw:.2f}%; "
                     f"calibrated (a*sum + b*{count} + c): in-sample {in_sample:.2f}%, leave-one-out {left_out:.2f}% "
                     f"(/ re-measurement {left_out / again['mape_pct']:.2f})")
    (args.out / "summary.json").write_text(json.dumps(report, indent=1))
    text = "\n".join(lines)
    (args.out / "summary.txt").write_text(text + "\n" + footer())
    print(text)


if __name__ == "__main__":
    main()
