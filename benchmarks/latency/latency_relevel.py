"""What `hybridnas latency relevel` buys: a table validated before and after it is relevelled, on one machine.

Copies `--table` into `--out`, validates the copy on `--n` networks with its calibration networks as anchors
(`validate_table`, the library's path), relevels it (`relevel_table`: `--anchors` calibration networks timed
again), and validates it again on the same networks. The raw figures after the relevel are what a user gets
from predictions; the anchored ones say what is left once the machine's speed is taken out in each group.

    python -m benchmarks.latency.latency_relevel --table results/benchmarks/latency_refit/hybrid_cifar_onnxruntime_min_rounds6_pin1_cal3/table.json \
        --out results/benchmarks/latency_relevel/onnxruntime
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from hybridnas import load_space
from hybridnas.latency import LatencyTable, relevel_table, validate_table

from benchmarks.latency.latency_backends import footer
from benchmarks.common import benchmark_parser


def line(name: str, summary: dict) -> str:
    text = (f"{name}: raw MAPE {summary['mape_pct']:.2f}% (within ±10% {100 * summary['within_10pct']:.0f}%, ±5% "
            f"{100 * summary['within_5pct']:.0f}%); reference workload {summary['mape_pct_drift_corrected']:.2f}%")
    if "mape_pct_anchored" in summary:
        text += (f"; anchored {summary['mape_pct_anchored']:.2f}% (within ±10% "
                 f"{100 * summary['within_10pct_anchored']:.0f}%, ±5% {100 * summary['within_5pct_anchored']:.0f}%); "
                 f"anchors now / at build {summary['anchors_vs_build']:.3f}")
    return text


def main() -> None:
    ap = benchmark_parser(__doc__, out_type=Path)
    ap.add_argument("--table", type=Path, required=True)
    ap.add_argument("--space", default="hybrid_cifar")
    ap.add_argument("--n", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--anchors", type=int, default=32)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    copy = args.out / "table.json"
    shutil.copyfile(args.table, copy)
    space = load_space(args.space)
    table = LatencyTable.load(copy)
    before, summary_before = validate_table(space, table, args.n, seed=args.seed, progress=False, anchors=args.anchors)
    record = relevel_table(space, table, args.anchors, progress=False)
    after, summary_after = validate_table(space, table, args.n, seed=args.seed, progress=False, anchors=args.anchors)
    before.to_csv(args.out / "before.csv", index=False)
    after.to_csv(args.out / "after.csv", index=False)
    (args.out / "summary.json").write_text(json.dumps({"before": summary_before, "relevel": record,
                                                       "after": summary_after}, indent=1))
    text = "\n".join([
        f"{space.name}, {args.n} networks, {table.conditions.describe()}; table {args.table} (a copy)",
        line("validated as built", summary_before),
        f"relevel: {record['anchors']} calibration networks run {record['level']:.3f} x their time at build "
        f"(quartiles {record['ratio_q25']:.3f}-{record['ratio_q75']:.3f})",
        line("validated after the relevel", summary_after)])
    (args.out / "summary.txt").write_text(text + "\n" + footer())
    print(text)


if __name__ == "__main__":
    main()
