"""Are a table's calibration networks, as measured during the build, measured like later networks are?

The onnxruntime validation of 2026-11-30 (`latency_backends/*_cal3`) found its 50 networks 3.9% faster, on
the table's time base, than the calibration predicted at the median, while two passes over them agreed
within 0.1% at the median: a level shift between the build and the validation minutes later. This
builds a fresh table, then measures its own calibration networks again right away, three ways:

- `measure_archs` as the build does (no warm-up pass);
- `latency_backends.measure_twice`: a discarded warm-up pass, then two passes.

and reports, per way, the median of (time recorded at build / time now), raw and on the time base (each
group over the reference workload beside it). A ratio above 1 means the build recorded them slower.

    python -m benchmarks.latency.latency_build_bias --backend onnxruntime --pin 1 --out results/benchmarks/latency_build_bias
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np

from hybridnas import load_space
from hybridnas.latency import build_table, measure_archs
from hybridnas.latency.build import table_backend
from hybridnas.latency.timing import threads_set

from benchmarks.latency.latency_backends import footer, measure_twice
from benchmarks.common import benchmark_parser


def main() -> None:
    ap = benchmark_parser(__doc__, out_type=Path)
    ap.add_argument("--space", default="hybrid_cifar")
    ap.add_argument("--backend", default="onnxruntime", choices=["torch", "onnxruntime"])
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--calibrate", type=int, default=32)
    ap.add_argument("--pin", type=int, default=None)
    args = ap.parse_args()
    if args.pin is not None:
        os.sched_setaffinity(0, {args.pin})
    out = args.out / args.backend
    out.mkdir(parents=True, exist_ok=True)
    space = load_space(args.space)
    start = time.perf_counter()
    table = build_table(space, out / "table.json", backend=args.backend, rounds=args.rounds, statistic="min",
                        calibrate=args.calibrate, progress=False,
                        pin_cpus=None if args.pin is None else str(args.pin))
    build_s = time.perf_counter() - start
    points = [p for p in table.calibration.points if p["space"] == space.name]
    archs = [space.parse(p["arch"]) for p in points]
    recorded_raw = np.array([p["raw_measured_ms"] for p in points])
    recorded_based = np.array([p["measured_ms"] for p in points])
    built = float(np.median(table.meta["reference_ms"]))
    runtime = table_backend(table)
    with threads_set(table.conditions.threads):
        again, again_ref = (np.asarray(v) for v in measure_archs(space, archs, table, 10, 30, args.rounds,
                                                                  False, runtime))
        twice, twice_ref = measure_twice(space, archs, runtime, 10, 30, args.rounds, table.conditions.statistic)
    ways = {"measure_archs again (no warm-up pass, as the build)": (again, again_ref),
            "measure_twice pass 1 (after a warm-up pass)": (twice[0], twice_ref[0]),
            "measure_twice pass 2": (twice[1], twice_ref[1])}
    lines = [f"{space.name}, {table.conditions.describe()}: {len(points)} calibration networks, table built in "
             f"{build_s:.0f} s, then measured again right away",
             f"reference workload at build {built:.4f} ms (median over layer chunks); beside the calibration groups "
             f"{sorted({round(float(r), 4) for r in recorded_raw / recorded_based * built})}",
             "median of (recorded at build / now), and MAPE between them:"]
    summary = {}
    for name, (ms, ref) in ways.items():
        based = ms * built / ref
        raw_ratio, based_ratio = recorded_raw / ms, recorded_based / based
        summary[name] = {"median_raw": float(np.median(raw_ratio)), "median_time_base": float(np.median(based_ratio)),
                         "mape_raw_pct": float(100 * np.mean(np.abs(raw_ratio - 1))),
                         "mape_time_base_pct": float(100 * np.mean(np.abs(based_ratio - 1))),
                         "reference_ms": sorted({round(float(r), 4) for r in ref})}
        s = summary[name]
        lines.append(f"  {name:<52} raw {s['median_raw']:.4f} (MAPE {s['mape_raw_pct']:.2f}%)   time base "
                     f"{s['median_time_base']:.4f} (MAPE {s['mape_time_base_pct']:.2f}%)   reference {s['reference_ms']}")
    p1, p2 = twice
    lines.append(f"  measure_twice pass 2 / pass 1: median {np.median(p2 / p1):.4f}, MAPE "
                 f"{100 * np.mean(np.abs(p2 / p1 - 1)):.2f}%")
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    text = "\n".join(lines)
    (out / "summary.txt").write_text(text + "\n" + footer())
    print(text)


if __name__ == "__main__":
    main()
