"""Latency predictor accuracy on this machine: build (or extend) a table, validate it on random networks.

Also measures the noise floor: the same networks measured twice, end to end, by the same method. The
share of networks whose two measurements agree within ±10% bounds what any predictor can reach here.

    python -m benchmarks.latency.latency_validation --space hybrid_cifar --n 100 --out results/benchmarks/latency_hybrid_cifar_cpu
    python -m benchmarks.latency.latency_validation --space hybrid_cifar --n 100 --device cuda --out results/benchmarks/latency_hybrid_cifar_cuda
    python -m benchmarks.latency.latency_validation --space hybrid_cifar --n 100 --device cuda --batch 64 --out results/benchmarks/latency_hybrid_cifar_cuda_b64

At batch 1 a GPU is launch-bound (a network's time is its kernel launches, whatever their size); `--batch`
validates where the work itself takes the time.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from hybridnas import load_space
from hybridnas.latency import build_table, measure_archs, plot_validation, validate_table
from hybridnas.latency.timing import threads_set
from benchmarks.common import benchmark_parser


def main() -> None:
    ap = benchmark_parser()
    ap.add_argument("--space", default="hybrid_cifar")
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu", help="cpu | cuda | cuda:N")
    ap.add_argument("--batch", type=int, default=1, help="images per call (the table's batch condition)")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    space = load_space(args.space)
    start = time.perf_counter()
    table = build_table(space, out / "table.json", device=args.device, threads=args.threads,
                        batch=args.batch, progress=False)
    build_s = time.perf_counter() - start
    frame, summary = validate_table(space, table, args.n, seed=args.seed, progress=False)
    frame.to_csv(out / "validation.csv", index=False)
    plot_validation(frame, summary, f"{space.name}: {table.conditions.describe()}", out / "validation.png")
    archs = [space.parse(a) for a in frame["arch"]]
    with threads_set(table.conditions.threads):
        again, _ = measure_archs(space, archs, table, 10, 30)
    repeat = np.asarray(again) / frame["measured_ms"].to_numpy() - 1
    summary.update({"table_layers": len(table.entries), "build_seconds": round(build_s, 1),
                    "noise_floor_mean_abs_pct": float(100 * np.abs(repeat).mean()),
                    "noise_floor_within_10pct": float((np.abs(repeat) <= 0.10).mean()),
                    "noise_floor_within_5pct": float((np.abs(repeat) <= 0.05).mean())})
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    print(f"{space.name} on {table.conditions.describe()}: table of {len(table.entries)} layers "
          f"(built in {build_s:.0f} s this run; 0 if it already existed)")
    print(f"predicted vs measured over {args.n} random networks (median {summary['median_measured_ms']:.2f} ms):")
    print(f"  MAPE {summary['mape_pct']:.2f}%   within ±10% {100 * summary['within_10pct']:.0f}%   "
          f"within ±5% {100 * summary['within_5pct']:.0f}%")
    print(f"  drift-corrected (machine speed now / at build = {summary['machine_speed_vs_build']:.3f}): MAPE "
          f"{summary['mape_pct_drift_corrected']:.2f}%   within ±10% {100 * summary['within_10pct_drift_corrected']:.0f}%")
    print(f"noise floor, same networks measured twice: mean |diff| {summary['noise_floor_mean_abs_pct']:.2f}%   "
          f"within ±10% {100 * summary['noise_floor_within_10pct']:.0f}%   "
          f"within ±5% {100 * summary['noise_floor_within_5pct']:.0f}%")


if __name__ == "__main__":
    main()
