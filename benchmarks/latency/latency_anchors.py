"""Does re-timing a table's own calibration networks take out the shift between build and validation?

A table's prediction and a validation measured minutes or hours later differ by a shift shared by every
network (3.8% on the onnxruntime `_cal3` validation, 4.9% the other way on the calibration benchmark's
report half), which the reference workload timed beside each group does not take out. The calibration
networks were measured at build; timed again beside the validation networks (mixed into every group),
they say how much slower or faster networks run now than when the table was fitted.

This validates `--table` on `--n` random networks (the stream `latency_backends.py` draws with the same
`--seed`) with `--anchors` of its calibration networks mixed into the groups: a discarded warm-up pass,
then two passes. The predictor against pass 1 and re-measurement (pass 2 against pass 1), the anchors
excluded, with the measurements:

- raw;
- on the table's time base by the reference workload (as `latency_backends.py`);
- divided by the anchors' median (time now / time recorded at build) in their group, per pass;
- divided by the anchors' median over the whole pass.

    python -m benchmarks.latency.latency_anchors --table results/benchmarks/latency_refit/hybrid_cifar_onnxruntime_min_rounds6_pin1_cal3/table.json \
        --pin 1 --out results/benchmarks/latency_anchors/onnxruntime
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from hybridnas import load_space
from hybridnas.latency import LatencyTable
from hybridnas.latency.build import anchor_order, table_backend
from hybridnas.latency.timing import threads_set

from benchmarks.latency.latency_backends import GROUP, figures, footer, measure_twice, validation_archs
from benchmarks.common import benchmark_parser


def main() -> None:
    ap = benchmark_parser(__doc__, out_type=Path)
    ap.add_argument("--table", type=Path, required=True)
    ap.add_argument("--space", default="hybrid_cifar")
    ap.add_argument("--n", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--anchors", type=int, default=32, help="calibration networks re-timed beside the validation")
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--pin", type=int, default=None)
    args = ap.parse_args()
    if args.pin is not None:
        os.sched_setaffinity(0, {args.pin})
    args.out.mkdir(parents=True, exist_ok=True)
    space = load_space(args.space)
    table = LatencyTable.load(args.table)
    archs = validation_archs(space, args.n, args.seed)
    points = [p for p in table.calibration.points if p["space"] == space.name][:args.anchors]
    anchors = [space.parse(p["arch"]) for p in points]
    recorded = np.array([p["measured_ms"] for p in points])  # on the table's time base, as the fit read them
    order = anchor_order(len(archs), len(anchors))
    everything = archs + anchors
    with threads_set(table.conditions.threads):
        times, references = measure_twice(space, [everything[i] for i in order], table_backend(table), 10, 30,
                                          args.rounds, table.conditions.statistic)
    back = np.argsort(order)  # measured positions -> original indices
    times, references = times[:, back], references[:, back]
    group = np.empty(len(order), dtype=int)
    group[order] = np.arange(len(order)) // GROUP
    is_anchor = np.arange(len(order)) >= len(archs)
    built = float(np.median(table.meta["reference_ms"]))
    bases = {"raw": np.ones_like(times), "reference workload (per group)": references / built}
    per_group, per_pass = np.ones_like(times), np.ones_like(times)
    for k in range(2):
        ratio = times[k, is_anchor] / recorded
        per_pass[k] = np.median(ratio)
        for g in np.unique(group):
            in_group = group[is_anchor] == g
            per_group[k, group == g] = np.median(ratio[in_group]) if in_group.any() else np.median(ratio)
    bases["anchors (per group)"] = per_group
    bases["anchors (whole pass)"] = per_pass
    predicted = np.array([table.predict(space, a) for a in archs])
    validation = ~is_anchor
    lines = [f"{space.name} on {table.conditions.describe()}: {args.n} networks and {len(anchors)} anchors (the "
             f"table's calibration networks) in groups of {GROUP}, a warm-up pass discarded, then two passes",
             f"  table {args.table}", f"  {table.calibration.describe()}",
             f"  anchors now / at build, median: pass 1 {per_pass[0, 0]:.3f}, pass 2 {per_pass[1, 0]:.3f}; reference "
             f"workload now / at build: {np.median(references[0]) / built:.3f}", ""]
    summary = {}
    for name, factor in bases.items():
        first = times[0, validation] / factor[0, validation]
        second = times[1, validation] / factor[1, validation]
        predictor, again = figures(predicted, first), figures(second, first)
        steady = np.abs(second / first - 1) <= 0.05
        within = float((np.abs(predicted[steady] / first[steady] - 1) <= 0.10).mean())
        summary[name] = {"predictor": predictor, "remeasurement": again, "ratio": predictor["mape_pct"] / again["mape_pct"],
                         "median_measured_over_predicted": float(np.median(first / predicted)),
                         "steady": int(steady.sum()), "predictor_within_10pct_on_steady": within}
        lines += [f" measurements divided by: {name}",
                  f"  predictor vs pass 1: MAPE {predictor['mape_pct']:5.2f}%   within ±10% {100 * predictor['within_10pct']:3.0f}%"
                  f"   within ±5% {100 * predictor['within_5pct']:3.0f}%   measured / predicted median "
                  f"{summary[name]['median_measured_over_predicted']:.3f}",
                  f"  pass 2 vs pass 1:    MAPE {again['mape_pct']:5.2f}%   within ±10% {100 * again['within_10pct']:3.0f}%"
                  f"   within ±5% {100 * again['within_5pct']:3.0f}%",
                  f"  ratio {summary[name]['ratio']:.2f} (goal <= 1.2); within ±10% on the {int(steady.sum())} "
                  f"re-measured within ±5%: {100 * within:.0f}% (goal >= 95%)"]
    pd.DataFrame({"arch": [space.format(a) for a in everything], "anchor": is_anchor, "group": group,
                  "recorded_ms": np.r_[np.full(len(archs), np.nan), recorded],
                  "predicted_ms": np.r_[predicted, np.full(len(anchors), np.nan)],
                  "pass1_ms": times[0], "pass2_ms": times[1], "reference1_ms": references[0],
                  "reference2_ms": references[1]}).to_csv(args.out / "networks.csv", index=False)
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1))
    text = "\n".join(lines)
    (args.out / "summary.txt").write_text(text + "\n" + footer())
    print(text)


if __name__ == "__main__":
    main()
