"""How close can the calibration's form come on a quiet machine? A bound, from networks already measured.

`benchmarks/latency/latency_anchors.py` measured 50 validation networks twice beside the table's own calibration
networks ("anchors"), on a quiet machine; divided by their group's anchors, the measurements are on the
table's time base. Here the table's calibration form (`Calibration.fit`: per-kind scales, weights term,
overheads, per-layer offset) is fitted on those 50 networks themselves (their pass 1), as a bound of what
the form can do with ideal calibration networks measured in the same moment:

- in-sample: fitted on all 50, scored on the same 50 (optimistic);
- leave-one-out: fitted on 49, scored on the one left out.

Beside them: the table as built (fitted on its 32 calibration networks at build), and re-measurement
(pass 2 against pass 1). If even leave-one-out stays well above re-measurement, no refit of this form
reaches the issue's ratio goal; the form itself (layers summed in isolation) is the limit. Nothing is timed.

    python -m benchmarks.latency.latency_form_bound --runs results/benchmarks/latency_anchors/onnxruntime_quiet \
        results/benchmarks/latency_anchors/torch_quiet --out results/benchmarks/latency_form_bound.txt
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from hybridnas import load_space
from hybridnas.latency import Calibration, LatencyTable

from benchmarks.latency.latency_backends import figures, footer
from benchmarks.common import benchmark_parser


def anchored(frame: pd.DataFrame, k: int) -> np.ndarray:
    """Pass k of the validation networks divided by their group's anchors' median (now / at build)."""
    anchors = frame[frame["anchor"]]
    ratio = (anchors[f"pass{k}_ms"] / anchors["recorded_ms"]).groupby(anchors["group"]).median()
    rows = frame[~frame["anchor"]]
    return (rows[f"pass{k}_ms"] / rows["group"].map(ratio).fillna(ratio.median())).to_numpy()


def main() -> None:
    ap = benchmark_parser(__doc__, out_type=Path)
    ap.add_argument("--runs", type=Path, nargs="+", required=True, help="latency_anchors.py output folders")
    ap.add_argument("--space", default="hybrid_cifar")
    args = ap.parse_args()
    space = load_space(args.space)
    lines = []
    for run in args.runs:
        table_path = Path((run / "summary.txt").read_text().split("table ", 1)[1].split("\n", 1)[0].strip())
        table = LatencyTable.load(table_path)
        frame = pd.read_csv(run / "networks.csv")
        rows = frame[~frame["anchor"]]
        archs = [space.parse(a) for a in rows["arch"]]
        points = [{**table.totals(space, a).record(), "measured_ms": float(m)}
                  for a, m in zip(archs, anchored(frame, 1))]
        first, second = anchored(frame, 1), anchored(frame, 2)
        built = np.array([table.predict(space, a) for a in archs]) / table.calibration.level
        whole = Calibration(points=points)
        whole.fit()
        in_sample = np.array([whole.apply(table.totals(space, a)) for a in archs])
        left_out = []
        for i, arch in enumerate(archs):
            cal = Calibration(points=points[:i] + points[i + 1:])
            cal.fit()
            left_out.append(cal.apply(table.totals(space, arch)))
        again = figures(second, first)
        lines.append(f"{run}: {len(archs)} networks, {table.conditions.describe()}, measurements anchored per group")
        for name, predicted in (("table as built (32 calibration networks)", built),
                                ("form fitted on these 50, in-sample", in_sample),
                                ("form fitted on 49, leave-one-out", np.array(left_out))):
            f = figures(predicted, first)
            lines.append(f"  {name:<42} MAPE {f['mape_pct']:5.2f}%  within ±5% {100 * f['within_5pct']:3.0f}%  "
                         f"/ re-measurement {f['mape_pct'] / again['mape_pct']:.2f}")
        lines.append(f"  {'re-measurement (pass 2 vs pass 1)':<42} MAPE {again['mape_pct']:5.2f}%  within ±5% "
                     f"{100 * again['within_5pct']:3.0f}%")
        lines.append(f"  fitted on all 50: {whole.describe()}")
        lines.append("")
    text = "\n".join(lines)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + footer())
    print(text)


if __name__ == "__main__":
    main()
