"""Refit committed tables with today's calibration, and score it on the networks they were validated on.

A table's calibration is fitted on its points alone, so a new calibration form can be judged on
measurements already committed, without timing anything: each table given is copied, its calibration
refreshed the way `hybridnas latency build` refreshes an older table (points get their per-layer times
from their archs, then the calibration is refitted: `build_table` on a table that needs no new layers or
networks), and its predictions set beside the ones recorded at validation time, against the same
measurements:

- the validation networks of `benchmarks/latency/latency_backends.py` (`validation.csv` beside each table), on the
  table's time base and raw, with the re-measurement figures beside them;
- the grown members of `benchmarks/latency/latency_unseen_layers.py` (`grown_<backend>.csv` in `--grown`), where given.

    python -m benchmarks.latency.latency_refit --tables results/benchmarks/latency_backends/hybrid_cifar_torch_min_rounds6_pin1_cal3 \
        results/benchmarks/latency_backends/hybrid_cifar_onnxruntime_min_rounds6_pin1_cal3 \
        --grown results/benchmarks/latency_unseen_layers_cal3 --out results/benchmarks/latency_refit
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from hybridnas import load_space
from hybridnas.latency import LatencyTable, build_table
from hybridnas.scaling import scaled_space

from benchmarks.latency.latency_backends import figures, footer
from benchmarks.common import benchmark_parser


def refreshed(source: Path, out: Path, space) -> tuple[LatencyTable, LatencyTable]:
    """(the table as committed, a copy with its calibration refreshed by today's `build_table`)."""
    old = LatencyTable.load(source / "table.json")
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source / "table.json", out / "table.json")
    c = old.conditions
    have = sum(p["space"] == space.name for p in old.calibration.points)
    pinned = old.meta.get("pinned_cpus")
    new = build_table(space, out / "table.json", device=c.device, threads=c.threads, batch=c.batch, dtype=c.dtype,
                      backend=c.backend, optimization=c.optimization or None, statistic=c.statistic,
                      rounds=int(old.meta.get("rounds", 3)), calibrate=have, progress=False,
                      pin_cpus=",".join(map(str, pinned)) if pinned else None)
    return old, new


def line(label: str, f: dict) -> str:
    return (f"  {label:<34} MAPE {f['mape_pct']:5.2f}%   within ±10% {100 * f['within_10pct']:3.0f}%   "
            f"within ±5% {100 * f['within_5pct']:3.0f}%")


def validation(space, old: LatencyTable, new: LatencyTable, frame: pd.DataFrame) -> list[str]:
    archs = [space.parse(a) for a in frame["arch"]]
    before = frame["predicted_ms"].to_numpy()
    after = np.array([new.predict(space, a) for a in archs])
    built = float(np.median(old.meta["reference_ms"]))
    lines = []
    for label, scale in (("on the table's time base", (built / frame["reference_ms"], built / frame["rereference_ms"])),
                         ("raw", (1.0, 1.0))):
        first = frame["measured_ms"].to_numpy() * np.asarray(scale[0])
        second = frame["remeasured_ms"].to_numpy() * np.asarray(scale[1])
        again = figures(second, first)
        steady = np.abs(second / first - 1) <= 0.05
        lines.append(f" {len(frame)} validation networks, measurements {label}:")
        for name, predicted in (("calibration as committed", before), ("refitted (today's Calibration.fit)", after)):
            f = figures(predicted, first)
            within = (np.abs(predicted[steady] / first[steady] - 1) <= 0.10).mean()
            level = float(np.median(first / predicted))  # a shift shared by every network, not scatter
            lines.append(line(name, f) + f"   / re-measurement {f['mape_pct'] / again['mape_pct']:.2f}   "
                         f"within ±10% on the {steady.sum()} re-measured within ±5%: {100 * within:.0f}%   "
                         f"measured / predicted median {level:.3f}, MAPE with it divided out "
                         f"{figures(predicted * level, first)['mape_pct']:.2f}%")
        lines.append(line("re-measurement (pass 2 vs pass 1)", again))
    return lines


def grown(space, old: LatencyTable, new: LatencyTable, frame: pd.DataFrame) -> list[str]:
    bigger = scaled_space(space)
    archs = [bigger.parse(a) for a in frame["arch"]]
    measured = frame["measured_ms"].to_numpy()
    after = np.array([new.predict(bigger, a, unseen="predict") for a in archs])
    ratio = measured / after
    return [f" {len(frame)} grown members (benchmarks/latency/latency_unseen_layers.py), measured once and again:",
            line("calibration as committed", figures(frame["predicted_ms"].to_numpy(), measured)),
            line("refitted (today's Calibration.fit)", figures(after, measured))
            + f"   measured / predicted {ratio.min():.3f}-{ratio.max():.3f}",
            line("re-measurement", figures(frame["remeasured_ms"].to_numpy(), measured))]


def main() -> None:
    ap = benchmark_parser(__doc__, out_type=Path)
    ap.add_argument("--space", default="hybrid_cifar")
    ap.add_argument("--tables", nargs="+", type=Path, required=True, help="latency_backends.py output folders")
    ap.add_argument("--grown", type=Path, default=None, help="latency_unseen_layers.py output folder")
    args = ap.parse_args()
    space = load_space(args.space)
    lines = []
    for source in args.tables:
        old, new = refreshed(source, args.out / source.name, space)
        lines += ["", f"{source}: {old.conditions.describe()}",
                  f"  as committed: {old.calibration.describe()}", f"  refitted:     {new.calibration.describe()}"]
        lines += validation(space, old, new, pd.read_csv(source / "validation.csv"))
        members = args.grown / f"grown_{old.conditions.backend}.csv" if args.grown else None
        if members and members.is_file():
            lines += grown(space, old, new, pd.read_csv(members))
    text = "\n".join(lines).lstrip()
    (args.out / "summary.txt").write_text(text + "\n" + footer())
    print(text)


if __name__ == "__main__":
    main()
