"""Which calibration turns summed layer times into a network's time: forms compared on many measured networks.

A table predicts a network by summing its layers' isolated times, then applying a calibration fitted on
networks measured end to end. This benchmark measures `--n` random networks (a seed stream no table or
validation draws from) in `--passes` passes each, grouped with the reference workload as the library
measures, and writes every pass to `networks.csv` (resumable by group). `report` then fits each candidate
calibration form on the choice half (networks 0..n/2-1) and reports on the other half, against pass 2, with
pass 3 against pass 2 as the noise floor. Pass 1 is kept, and its order effect reported, but never used.
Each group's times are put on the table's time base by the reference workload timed beside them (times the
reference at build / the reference beside them), as the library does; the raw figures are reported too.

    python -m benchmarks.latency.latency_calibration --backend onnxruntime --pin 1 --n 256 --out results/benchmarks/latency_calibration
    python -m benchmarks.latency.latency_calibration --backend onnxruntime --phase report --out results/benchmarks/latency_calibration
    python -m benchmarks.latency.latency_calibration --backend onnxruntime --phase residuals --out results/benchmarks/latency_calibration
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import nnls

from hybridnas import load_space
from hybridnas.latency import Calibration, LatencyTable, build_table
from hybridnas.latency.build import table_backend
from hybridnas.latency.signature import arch_signatures
from hybridnas.latency.timing import threads_set, time_all
from hybridnas.rng import seeded

from benchmarks.latency.latency_backends import figures as backend_figures
from benchmarks.common import benchmark_parser

GROUP = 16
SEED = 20_011  # apart from validation (0) and the table's calibration networks (10_007 + k)


def measure(space, table, archs, passes: int, rounds: int, csv: Path) -> pd.DataFrame:
    """`passes` timings of each network, group by group, appended to `csv` (groups already there are kept)."""
    done = pd.read_csv(csv) if csv.exists() else pd.DataFrame()
    runtime = table_backend(table)
    reference = runtime.reference_runner()
    for start in range(len(done), len(archs), GROUP):
        chunk = archs[start:start + GROUP]
        with seeded(0):
            models = [space.build(a) for a in chunk]
        runners = runtime.network_runners(models, space.input_shape)
        rows = {"arch": [space.format(a) for a in chunk]}
        with threads_set(table.conditions.threads):
            for k in range(passes):
                *timings, ref = time_all(runners + [reference], runtime.device, 10, 30, rounds,
                                         table.conditions.statistic)
                rows[f"pass{k + 1}_ms"] = [t.ms for t in timings]
                rows[f"reference{k + 1}_ms"] = [ref.ms] * len(chunk)
        done = pd.concat([done, pd.DataFrame(rows)], ignore_index=True)
        tmp = csv.with_suffix(".tmp")
        done.to_csv(tmp, index=False)
        os.replace(tmp, csv)
        print(f"measured {len(done)}/{len(archs)}", flush=True)
    return done


def features(space, table: LatencyTable, arch_text: str) -> dict[str, float]:
    """What a calibration may read of one network: summed layer times, per kind and per mixer, counts, weights."""
    totals = table.totals(space, space.parse(arch_text))
    f = {"sum": totals.layer_sum_ms, "layers": float(totals.layers), "one": 1.0, "mparams": totals.mparams}
    for kind, ms in totals.kind_ms.items():
        f[f"mixer[{kind}]"] = ms
        f[f"kind[{kind.partition(':')[0]}]"] = f.get(f"kind[{kind.partition(':')[0]}]", 0.0) + ms
    return f


def forms(columns) -> dict[str, list[str]]:
    """The candidate calibrations, each a list of feature columns with a non-negative coefficient."""
    kinds = sorted(c for c in columns if c.startswith("kind["))
    mixers = sorted(c for c in columns if c.startswith("mixer["))
    return {"scale (shipped: scale, base, per layer)": ["sum", "one", "layers"],
            "scale + weights": ["sum", "one", "layers", "mparams"],
            "per kind": kinds + ["one", "layers"],
            "per kind + weights": kinds + ["one", "layers", "mparams"],
            "per mixer + weights": mixers + ["one", "layers", "mparams"],
            **{f"per mixer + weights, shrink {k:g}": mixers + ["one", "layers", "mparams"] for k in SHRINK}}


SHRINK = (0.1, 1.0)


def fit(x: np.ndarray, y: np.ndarray, shrink: float = 0.0, kinds: int = 0) -> np.ndarray:
    """Non-negative least squares on relative error, as `Calibration.fit`.

    With `shrink` > 0, the first `kinds` coefficients (per-kind scales) are pulled toward one shared scale,
    the summed-time coefficient of the `scale + weights` form fitted on the same networks: a kind that few
    calibration networks contain keeps the shared scale instead of an arbitrary one (or zero).
    """
    if not shrink:
        coef, _ = nnls(x / y[:, None], np.ones_like(y))
        return coef
    rest = x[:, kinds:]
    shared = fit(np.column_stack([x[:, :kinds].sum(axis=1), rest]), y)[0]
    prior = np.zeros((kinds, x.shape[1]))
    prior[:, :kinds] = np.sqrt(shrink) * np.eye(kinds)
    coef, _ = nnls(np.vstack([x / y[:, None], prior]),
                   np.concatenate([np.ones_like(y), np.full(kinds, np.sqrt(shrink) * shared)]))
    return coef


def figures(estimate, truth) -> dict[str, float]:
    """`latency_backends.figures`, rounded for the report."""
    f = backend_figures(np.asarray(estimate), np.asarray(truth))
    return {"mape_pct": round(f["mape_pct"], 2), "within_10pct": round(f["within_10pct"], 3),
            "within_5pct": round(f["within_5pct"], 3)}


def library_fit(space, table: LatencyTable, frame: pd.DataFrame, truth: np.ndarray, rows: np.ndarray,
                offset: bool = True) -> Calibration:
    """The library's own calibration (`Calibration.fit`) on the networks `rows`, measured as `truth`;
    `offset=False` drops the per-layer times from the points, as in tables before format 4 (no offset)."""
    points = [{**table.totals(space, space.parse(a)).record(), "measured_ms": float(t)}
              for a, t in zip(frame["arch"][rows], truth[rows])]
    if not offset:
        points = [{k: v for k, v in p.items() if k != "kind_layer_ms"} for p in points]
    calibration = Calibration(points=points)
    calibration.fit()
    return calibration


def report(space, table: LatencyTable, frame: pd.DataFrame, out: Path) -> str:
    feats = pd.DataFrame([features(space, table, a) for a in frame["arch"]]).fillna(0.0)
    n = len(frame)
    choice, held = np.arange(n) < n // 2, np.arange(n) >= n // 2
    built = float(np.median(table.meta["reference_ms"]))
    lines = [f"{space.name}, {table.conditions.describe()}: {n} networks, choice 0..{n // 2 - 1}, report {n // 2}..{n - 1}",
             f"order effect: pass 1 / pass 2 median {np.median(frame['pass1_ms'] / frame['pass2_ms']):.4f}, "
             f"pass 3 / pass 2 median {np.median(frame['pass3_ms'] / frame['pass2_ms']):.4f}",
             f"machine speed (reference workload) during the passes / at build: "
             f"{np.min(frame['reference2_ms']) / built:.3f} to {np.max(frame['reference2_ms']) / built:.3f}"]
    rows = []
    for base in ("on the table's time base", "raw"):
        truth, again = frame["pass2_ms"].to_numpy(), frame["pass3_ms"].to_numpy()
        if base != "raw":  # as the library does: each group's time over its reference workload's
            truth = truth * built / frame["reference2_ms"].to_numpy()
            again = again * built / frame["reference3_ms"].to_numpy()
        floor = figures(again[held], truth[held])
        lines += ["", f"measurements {base}: noise floor (pass 3 vs pass 2) on the report half {floor}",
                  f"  the table's own calibration ({len(table.calibration.points)} networks at build): "
                  f"{figures([table.predict(space, space.parse(a)) for a in frame['arch'][held]], truth[held])}"]
        candidates = dict(forms(feats.columns))
        candidates["library, no per-layer offset (format 3)"] = None
        candidates["library (Calibration.fit)"] = None
        for name, cols in candidates.items():
            row = {"measurements": base, "form": name}
            if cols is None:
                offset = "no per-layer offset" not in name
                calibration = library_fit(space, table, frame, truth, choice, offset)
                predict = lambda rows_, c=calibration: np.array(
                    [c.apply(table.totals(space, space.parse(a))) for a in frame["arch"][rows_]])
                rep = figures(predict(held), truth[held])
                row["median_measured_over_predicted"] = round(float(np.median(truth[held] / predict(held))), 3)
                for k in (8, 16, 32, 64):
                    if k < choice.sum():
                        first = np.arange(n) < k
                        refit = library_fit(space, table, frame, truth, first, offset)
                        row[f"report_mape_fit_on_{k}"] = figures(
                            [refit.apply(table.totals(space, space.parse(a))) for a in frame["arch"][held]],
                            truth[held])["mape_pct"]
                coefficients = calibration.describe()
            else:
                x = feats[cols].to_numpy()
                shrink = float(name.rpartition("shrink ")[2]) if "shrink" in name else 0.0
                kinds = sum(c.startswith(("kind[", "mixer[")) for c in cols)
                coef = fit(x[choice], truth[choice], shrink, kinds)
                rep = figures(x[held] @ coef, truth[held])
                for k in (8, 16, 32, 64):  # how many calibration networks the form needs: fitted on the first k
                    if k < choice.sum():
                        row[f"report_mape_fit_on_{k}"] = figures(x[held] @ fit(x[:k], truth[:k], shrink, kinds),
                                                                 truth[held])["mape_pct"]
                coefficients = {c: round(float(v), 4) for c, v in zip(cols, coef) if v}
            row.update({f"report_{k}": v for k, v in rep.items()},
                       ratio_to_remeasurement=round(rep["mape_pct"] / floor["mape_pct"], 2), coefficients=coefficients)
            rows.append(row)
        shown = pd.DataFrame([r for r in rows if r["measurements"] == base])
        lines.append(shown.drop(columns=["coefficients", "measurements", "median_measured_over_predicted"])
                     .to_string(index=False))
        lines += [f"  {r['form']}: measured / predicted on the report half, median {r['median_measured_over_predicted']}"
                  f" (a shift shared by the networks, which the reference workload did not take out)"
                  for r in rows if r["measurements"] == base and "median_measured_over_predicted" in r]
        lines.append(f"  the per-layer offset, judged within the choice half only (fit on one quarter, score the other): "
                     f"{offset_choice(space, table, frame, truth, n // 2)}")
    lines += ["", "coefficients (fitted on the choice half, measurements on the table's time base):"]
    lines += [f"  {r['form']}: {r['coefficients']}" for r in rows if r["measurements"] != "raw"]
    (out / "report.json").write_text(json.dumps(rows, indent=1))
    return "\n".join(lines)


def offset_choice(space, table: LatencyTable, frame: pd.DataFrame, truth: np.ndarray, half: int) -> str:
    """Two-fold MAPE within networks 0..half-1 of the library's calibration without and with its per-layer
    offset: the evidence the offset was adopted on, which never reads the report half."""
    quarters = (np.arange(len(frame)) < half // 2, (np.arange(len(frame)) >= half // 2) & (np.arange(len(frame)) < half))
    found = {}
    for offset in (False, True):
        mapes = []
        for train, test in (quarters, quarters[::-1]):
            c = library_fit(space, table, frame, truth, train, offset)
            mapes.append(figures([c.apply(table.totals(space, space.parse(a))) for a in frame["arch"][test]],
                                 truth[test])["mape_pct"])
        found["with" if offset else "without"] = " / ".join(f"{m:.2f}%" for m in mapes)
    return f"without {found['without']}, with {found['with']}"


def offset_grid(space, table: LatencyTable, frame: pd.DataFrame) -> str:
    """How far up the layer times the library's per-layer offset may reach (`Calibration.OFFSET_QUANTILES`),
    judged on the choice half: fitted on each block of 16 (32) of its networks, scored on the rest of it."""
    built = float(np.median(table.meta["reference_ms"]))
    truth = frame["pass2_ms"].to_numpy() * built / frame["reference2_ms"].to_numpy()
    totals = [table.totals(space, space.parse(a)) for a in frame["arch"]]
    half = len(frame) // 2
    shipped = Calibration.OFFSET_QUANTILES
    lines = [f"per-layer offset grid, on the table's time base: each block of 16 (32) networks of the choice half "
             f"(0..{half - 1}) fitted, the rest of the choice half scored (mean MAPE over blocks); the report half "
             f"({half}..{len(frame) - 1}) scored by the fit on the first 32"]
    try:
        for top in (0.1, 0.2, 0.3, 0.5):
            Calibration.OFFSET_QUANTILES = tuple(np.linspace(0.0, top, int(round(top * 100)) + 1))
            row = []
            for n in (16, 32):
                errs = []
                for start in range(0, half, n):
                    c = Calibration(points=[{**totals[i].record(), "measured_ms": float(truth[i])}
                                            for i in range(start, start + n)])
                    c.fit()
                    rest = [i for i in range(half) if not start <= i < start + n]
                    errs.append(figures([c.apply(totals[i]) for i in rest], truth[rest])["mape_pct"])
                row.append(float(np.mean(errs)))
            c = Calibration(points=[{**totals[i].record(), "measured_ms": float(truth[i])} for i in range(32)])
            c.fit()
            report_mape = figures([c.apply(t) for t in totals[half:]], truth[half:])["mape_pct"]
            lines.append(f"  quantiles 0..{top:.1f} of the points' layer times: choice half, fitted on 16 {row[0]:.2f}%, "
                         f"on 32 {row[1]:.2f}%; report half (fit on the first 32) {report_mape:.2f}%, offset "
                         f"{c.layer_offset_ms:.4f} ms")
    finally:
        Calibration.OFFSET_QUANTILES = shipped
    return "\n".join(lines)


def residuals(space, table: LatencyTable, frame: pd.DataFrame) -> str:
    """What the library's calibration leaves: residual correlations with network-level terms, and whether any
    such term (or a per-layer overhead allowed below zero) helps in two-fold cross-validation."""
    from scipy.optimize import lsq_linear

    built = float(np.median(table.meta["reference_ms"]))
    truth = frame["pass2_ms"].to_numpy() * built / frame["reference2_ms"].to_numpy()
    again = frame["pass3_ms"].to_numpy() * built / frame["reference3_ms"].to_numpy()
    everything = np.ones(len(frame), bool)
    calibration = library_fit(space, table, frame, truth, everything)
    totals = [table.totals(space, space.parse(a)) for a in frame["arch"]]
    predicted = np.array([calibration.apply(t) for t in totals])
    r2, r3 = np.log(truth / predicted), np.log(again / predicted)
    terms = pd.DataFrame({"summed_ms": [t.layer_sum_ms for t in totals],
                          "layers": [t.layers for t in totals],
                          "layers_under_0.05ms": [sum(table.entries[s].ms < 0.05 for _, s in arch_signatures(space, space.parse(a)))
                                                  for a in frame["arch"]],
                          "input_melements": [sum(np.prod(s.in_shape) for _, s in arch_signatures(space, space.parse(a))) / 1e6
                                              for a in frame["arch"]]})
    lines = [f"residuals of the library's calibration fitted on all {len(frame)} networks (table time base): "
             f"passes 2 and 3 agree at r = {np.corrcoef(r2, r3)[0, 1]:.2f}",
             "correlation of the two passes' mean residual with:"]
    lines += [f"  {c}: {np.corrcoef(terms[c], (r2 + r3) / 2)[0, 1]:+.2f}" for c in terms]
    feats = pd.DataFrame([features(space, table, a) for a in frame["arch"]]).fillna(0.0)
    for c in ("layers_under_0.05ms", "input_melements"):
        feats[c] = terms[c]
    feats["summed_ms_squared"] = terms["summed_ms"] ** 2
    base = sorted(c for c in feats if c.startswith("mixer[")) + ["one", "layers", "mparams"]
    n = len(frame)
    halves = (np.arange(n) < n // 2, np.arange(n) >= n // 2)

    def two_fold(cols, free=()):
        x = feats[cols].to_numpy()
        lower = np.array([-np.inf if c in free else 0.0 for c in cols])
        out = []
        for train, test in (halves, halves[::-1]):
            coef = lsq_linear(x[train] / truth[train, None], np.ones(train.sum()), bounds=(lower, np.inf)).x
            out.append(figures(x[test] @ coef, truth[test])["mape_pct"])
        return out

    lines.append("two-fold MAPE (fit on one half, score the other; per mixer + weights, unpulled), each half:")
    for label, cols, free in (("per mixer + weights", base, ()), ("per-layer overhead may be negative", base, ("layers",)),
                              ("+ layers under 0.05 ms (free sign)", base + ["layers_under_0.05ms"], ("layers_under_0.05ms",)),
                              ("+ input elements (free sign)", base + ["input_melements"], ("input_melements",)),
                              ("+ summed time squared", base + ["summed_ms_squared"], ())):
        lines.append(f"  {label}: {' / '.join(f'{m:.2f}%' for m in two_fold(cols, free))}")
    return "\n".join(lines)


def main() -> None:
    ap = benchmark_parser()
    ap.add_argument("--space", default="hybrid_cifar")
    ap.add_argument("--backend", default="onnxruntime", choices=["torch", "onnxruntime"])
    ap.add_argument("--phase", default="all", choices=["all", "measure", "report", "residuals", "offset-grid"])
    ap.add_argument("--n", type=int, default=256)
    ap.add_argument("--passes", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--pin", type=int, default=None)
    args = ap.parse_args()
    if args.pin is not None:
        os.sched_setaffinity(0, {args.pin})
    out = Path(args.out) / args.backend
    out.mkdir(parents=True, exist_ok=True)
    space = load_space(args.space)
    start = time.perf_counter()
    if args.phase in ("all", "measure"):
        # 16 calibration networks: the table's own calibration is the former default, reported beside the forms
        table = build_table(space, out / "table.json", backend=args.backend, rounds=args.rounds, statistic="min",
                            calibrate=16, progress=False, pin_cpus=None if args.pin is None else str(args.pin))
    else:  # never measures: the phases that read networks.csv use the table as it was
        table = LatencyTable.load(out / "table.json")
    rng = np.random.default_rng(SEED)
    archs = [space.sample(rng) for _ in range(args.n)]
    if args.phase in ("all", "measure"):
        measure(space, table, archs, args.passes, args.rounds, out / "networks.csv")
        print(f"measured in {time.perf_counter() - start:.0f} s")
    if args.phase in ("all", "report"):
        frame = pd.read_csv(out / "networks.csv")
        text = report(space, table, frame, out)
        text += f"\n\n$ python {' '.join(sys.argv)}\n# {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores\n"
        (out / "summary.txt").write_text(text)
        print(text)
    if args.phase in ("residuals", "offset-grid"):
        analysis = residuals if args.phase == "residuals" else offset_grid
        text = analysis(space, table, pd.read_csv(out / "networks.csv"))
        text += f"\n\n$ python {' '.join(sys.argv)}\n# {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores\n"
        (out / f"{args.phase.replace('-', '_')}.txt").write_text(text)
        print(text)


if __name__ == "__main__":
    main()
