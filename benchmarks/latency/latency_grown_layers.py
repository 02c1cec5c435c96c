"""Where the error on grown family members comes from: the layer predictor, or the calibration?

`benchmarks/latency/latency_unseen_layers.py` measured the networks on a `scale` growth path end to end
(`grown_<backend>.csv`); two of them hold stage-0 layers wider than the space declares, which the table
never timed and its layer predictor answered for. This times exactly those layers now (`build_table` with
the grown archs, on a copy of each table; no new calibration networks), then sets beside each other:

- per untimed layer: what the predictor said, and its time now (on the table's time base, by the
  reference workload timed beside it);
- per grown member: measured / predicted with the predictor's layers, and with the layers as timed.

If the members stay over-predicted with their layers timed, the calibration (how layers add up inside a
network) is what is off, not the predictor.

    python -m benchmarks.latency.latency_grown_layers --tables results/benchmarks/latency_refit/hybrid_cifar_onnxruntime_min_rounds6_pin1_cal3 \
        results/benchmarks/latency_refit/hybrid_cifar_torch_min_rounds6_pin1_cal3 \
        --grown results/benchmarks/latency_unseen_layers_cal3 --out results/benchmarks/latency_grown_layers
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from hybridnas import load_space
from hybridnas.latency import LatencyTable, arch_signatures, build_table
from hybridnas.scaling import scaled_space

from benchmarks.latency.latency_backends import footer
from benchmarks.common import benchmark_parser


def main() -> None:
    ap = benchmark_parser(__doc__, out_type=Path)
    ap.add_argument("--tables", type=Path, nargs="+", required=True, help="folders holding table.json")
    ap.add_argument("--grown", type=Path, required=True, help="folder with grown_<backend>.csv")
    args = ap.parse_args()
    space = load_space("hybrid_cifar")
    grown = scaled_space(space)
    lines = []
    for source in args.tables:
        table = LatencyTable.load(source / "table.json")
        c = table.conditions
        members = pd.read_csv(args.grown / f"grown_{c.backend}.csv")
        archs = [grown.parse(a) for a in members["arch"]]
        untimed = list(dict.fromkeys(sig for a in archs for _, sig in arch_signatures(grown, a)
                                     if sig not in table.entries))
        said = {sig: table.predictor.predict(sig) for sig in untimed}
        before = np.array([table.predict(grown, a, unseen="predict") for a in archs])
        out = args.out / source.name
        out.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / "table.json", out / "table.json")
        pinned = table.meta.get("pinned_cpus")
        have = sum(p["space"] == space.name for p in table.calibration.points)
        built = float(np.median(table.meta["reference_ms"]))
        timed = build_table(space, out / "table.json", device=c.device, threads=c.threads, batch=c.batch,
                            dtype=c.dtype, backend=c.backend, optimization=c.optimization or None,
                            statistic=c.statistic, rounds=int(table.meta.get("rounds", 3)), calibrate=have,
                            archs=archs, progress=False, pin_cpus=",".join(map(str, pinned)) if pinned else None)
        speed = timed.meta["reference_ms"][-1] / built  # the chunk of new layers, against the build's reference
        rows = [{"layer": sig.describe(), "predicted_ms": said[sig], "timed_ms": timed.entries[sig].ms,
                 "timed_time_base_ms": timed.entries[sig].ms / speed} for sig in untimed]
        layers = pd.DataFrame(rows)
        layers["error"] = layers["predicted_ms"] / layers["timed_time_base_ms"] - 1
        after = np.array([timed.predict(grown, a) for a in archs])
        members = members.assign(predicted_with_predictor_ms=before, predicted_with_timed_ms=after)
        layers.to_csv(out / "layers.csv", index=False)
        members.to_csv(out / "members.csv", index=False)
        lines.append(f"{source.name}: {c.describe()}; reference workload now / at build {speed:.3f}")
        for row in rows:
            lines.append(f"  {row['layer'][:100]}\n    predictor {row['predicted_ms']:.4f} ms, timed now "
                         f"{row['timed_time_base_ms']:.4f} ms on the table's time base "
                         f"({100 * (row['predicted_ms'] / row['timed_time_base_ms'] - 1):+.1f}%)")
        lines.append("  grown members with untimed layers, measured / predicted:")
        for i in np.flatnonzero(members["layers_predicted"] > 0):
            m = members["measured_ms"].iloc[i]
            lines.append(f"    {members['arch'].iloc[i]}: with the predictor's layers {m / before[i]:.3f}, "
                         f"with the layers timed {m / after[i]:.3f}")
        lines.append("")
    text = "\n".join(lines)
    (args.out / "summary.txt").write_text(text + footer())
    print(text)


if __name__ == "__main__":
    main()
