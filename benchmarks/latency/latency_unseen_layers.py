"""The layer predictor on layers a table never timed: held-out layer shapes, and grown members from `scale`.

1. Held-out layers: per table, 5 seeded splits hold out 20% of the timed layers, the predictor is fitted
   on the rest and predicts them (random split: interpolation); then per layer type the 20% with the
   most MACs are held out (extrapolation, as growth needs). Reported: MAPE, share within ±10% and ±20%.
2. Grown members: `scale` grows a hybrid_cifar seed to 2x, 4x and 8x its MACs; every network on the growth
   path is predicted with the table plus the predictor and measured end to end twice (same backend), so
   the predictor's error stands beside the re-measurement's.

Needs the tables `benchmarks/latency/latency_backends.py` builds (same machine):

    python -m benchmarks.latency.latency_unseen_layers --tables results/benchmarks/latency_backends/hybrid_cifar_torch_rounds3/table.json \
        results/benchmarks/latency_backends/hybrid_cifar_onnxruntime_rounds3/table.json --out results/benchmarks/latency_unseen_layers
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from hybridnas import load_space
from hybridnas.latency import LatencyTable, arch_signatures
from hybridnas.latency.build import table_backend
from hybridnas.latency.predictor import LayerPredictor, layer_type
from hybridnas.latency.timing import threads_set
from hybridnas.scaling import scale, scaled_space

from benchmarks.latency.latency_backends import figures, footer, measure_twice
from benchmarks.common import benchmark_parser

SEED = "w16|w16:conv-k3-r2|w24:conv-k3-r2|w48:conv-k3-r2+attention-h2-r2|w96:attention-h4-r2"


def held_out(table: LatencyTable) -> dict:
    sigs = list(table.entries)
    truth = np.array([table.entries[s].ms for s in sigs])
    types = np.array([layer_type(s) for s in sigs])
    out = {}
    random_errors = []
    for split in range(5):
        rng = np.random.default_rng(split)
        test = rng.random(len(sigs)) < 0.2
        fitted = LayerPredictor.fit({s: table.entries[s] for s, t in zip(sigs, test) if not t})
        random_errors.append(np.array([fitted.predict(sigs[i]) for i in np.flatnonzero(test)]) / truth[test] - 1)
    err = np.abs(np.concatenate(random_errors))
    out["random_20pct"] = {"layers": int(err.size), "mape_pct": float(100 * err.mean()),
                           "within_10pct": float((err <= 0.1).mean()), "within_20pct": float((err <= 0.2).mean())}
    macs = np.array([s.spec.macs(s.in_shape) for s in sigs])
    test = np.zeros(len(sigs), dtype=bool)
    for name in set(types):
        chosen = np.flatnonzero(types == name)
        top = chosen[np.argsort(macs[chosen])[-max(1, len(chosen) // 5):]]
        test[top] = True
    fitted = LayerPredictor.fit({s: table.entries[s] for s, t in zip(sigs, test) if not t})
    predicted = np.array([fitted.predict(sigs[i]) for i in np.flatnonzero(test)])
    err = np.abs(predicted / truth[test] - 1)
    out["largest_20pct_per_type"] = {"layers": int(err.size), "mape_pct": float(100 * err.mean()),
                                     "within_10pct": float((err <= 0.1).mean()),
                                     "within_20pct": float((err <= 0.2).mean())}
    return out


def main() -> None:
    ap = benchmark_parser()
    ap.add_argument("--tables", nargs="+", required=True)
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    space = load_space("hybrid_cifar")
    grown = scaled_space(space)
    family = scale(space, SEED, "2x,4x,8x", rule="naswot:max,grad_norm:max", batch_size=8, progress=False)
    archs = [grown.parse(a) for a in family.path["arch"]]
    report, lines = {}, []
    for path in args.tables:
        table = LatencyTable.load(path)
        c = table.conditions
        name = f"{c.backend}"
        untimed = [sum(sig not in table.entries for _, sig in arch_signatures(grown, a)) for a in archs]
        predicted = np.array([table.predict(grown, a, unseen="predict") for a in archs])
        with threads_set(c.threads):
            (first, second), references = measure_twice(grown, archs, table_backend(table), 10, 30,
                                                        int(table.meta.get("rounds", 3)), c.statistic)
        based = first * float(np.median(table.meta["reference_ms"])) / references[0]  # the table's time base
        pd.DataFrame({"arch": family.path["arch"], "macs": family.path["macs"], "layers_predicted": untimed,
                      "predicted_ms": predicted, "measured_ms": first, "remeasured_ms": second}
                     ).to_csv(out / f"grown_{name}.csv", index=False)
        grown_report = {"networks": len(archs), "with_untimed_layers": int(sum(u > 0 for u in untimed)),
                        "predictor": figures(predicted, first), "remeasurement": figures(second, first),
                        "predictor_on_the_tables_time_base": figures(predicted, based)}
        layers_report = held_out(table)
        report[name] = {"table": path, "conditions": c.describe(), "held_out_layers": layers_report,
                        "grown_members": grown_report}
        lines.append(f"{c.describe()}  ({len(table.entries)} timed layers)")
        for key, figs in layers_report.items():
            lines.append(f"  held-out layers, {key:<24} {figs['layers']:4d} layers: MAPE {figs['mape_pct']:5.1f}%   "
                         f"within ±10% {100 * figs['within_10pct']:3.0f}%   within ±20% {100 * figs['within_20pct']:3.0f}%")
        p, r = grown_report["predictor"], grown_report["remeasurement"]
        lines.append(f"  grown members: {len(archs)} networks on the growth path (to 8x MACs), "
                     f"{grown_report['with_untimed_layers']} with layers the table never timed")
        lines.append(f"    predictor vs pass 1: MAPE {p['mape_pct']:5.2f}%   within ±10% {100 * p['within_10pct']:3.0f}%   "
                     f"within ±5% {100 * p['within_5pct']:3.0f}%")
        lines.append(f"    pass 2 vs pass 1:    MAPE {r['mape_pct']:5.2f}%   within ±10% {100 * r['within_10pct']:3.0f}%   "
                     f"within ±5% {100 * r['within_5pct']:3.0f}%")
        b = grown_report["predictor_on_the_tables_time_base"]
        lines.append(f"    predictor vs pass 1 on the table's time base: MAPE {b['mape_pct']:5.2f}%   within ±10% "
                     f"{100 * b['within_10pct']:3.0f}%")
    (out / "summary.json").write_text(json.dumps(report, indent=1))
    (out / "summary.txt").write_text("\n".join(lines) + "\n" + footer())
    print("\n".join(lines))


if __name__ == "__main__":
    main()
