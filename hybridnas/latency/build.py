"""Build (or extend) a latency table for a space, and validate a table against end-to-end measurements."""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd
import torch

from ..errors import HybridNASError
from ..spaces import Arch, Space
from .signature import LatencyError, arch_signatures, space_signatures
from .table import Conditions, LatencyTable
from ..rng import seeded
from ..timing import PhaseClock
from .backends import Backend, make_backend
from .timing import (DEFAULT_STATISTIC, STATISTICS, Timing, device_name, parse_cpus, pinned, threads_set,
                     time_all)
from ..io import exclusive_lock
from .options import DEFAULT_CALIBRATE

CALIBRATION_SEED = 10_007  # calibration networks never share a seed stream with validation (seed 0 default)
# networks a calibration is fitted on: on 128 held-out hybrid_cifar networks (onnxruntime), the calibration
# (per kind, with the per-layer offset) fitted on 32 was within 5.74% MAPE, on 16 within 6.76%, on 128 within 5.64%
# (benchmarks/latency/latency_calibration.py, results/benchmarks/latency_calibration/)
# calibration networks timed again beside a validation, or to relevel a table: on 50 onnxruntime networks measured
# on a quiet machine, 32 of them mixed into every group cut the error from 4.66% (reference workload) to 1.96%
# (benchmarks/latency/latency_anchors.py, results/benchmarks/latency_anchors/onnxruntime_quiet/)
DEFAULT_ANCHORS = 32
MEASURE_GROUP = 16  # networks measured together (interleaved), with the reference workload beside them
CHUNK = 64  # layers measured together (interleaved), then saved: an interrupted build loses one chunk


def _bar(enabled: bool, total: int, desc: str) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="layer" if desc == "layers" else "net", disable=not enabled)


def build_table(space: Space, out: str | Path, *, device: str = "cpu", threads: int = 1, batch: int = 1,
                dtype: str = "float32", warmup: int = 10, repeats: int = 30, rounds: int = 3,
                calibrate: int = DEFAULT_CALIBRATE, archs: Sequence[Arch] = (), progress: bool = True, backend: str = "torch",
                optimization: str | None = None, statistic: str = DEFAULT_STATISTIC,
                pin_cpus: str | None = None, clock: PhaseClock | None = None) -> LatencyTable:
    """Time every layer signature of `space` missing from the table at `out`, then recalibrate.

    An existing table is extended (only missing layers are measured) and must have been built under
    the same conditions. Layers are timed in interleaved chunks and the table is saved atomically after
    each, so an interrupted build resumes where it stopped. `archs` adds the layers of architectures the
    space cannot enumerate (e.g. grown past its declared ranges by auto-scaling).

    Args:
        backend: what runs the layers, a name in `latency.backends.BACKENDS` ('torch' or 'onnxruntime').
        optimization: the runtime's graph-optimisation level (onnxruntime: disable|basic|extended|all,
            default all); None takes the backend's default.
        statistic: how a layer's repeats become its time: 'min' (default; the most repeatable on a shared
            machine) or 'median'. Layers and the calibration networks use the same one.
        pin_cpus: cores to run on while timing ('1', '0,2', '2-3'); recorded in the table's meta, and
            `validate_table` pins to the same cores by default.
        clock: counts the seconds spent timing layers and calibration networks (for the command's 'time:' line).
    """
    with exclusive_lock(out, "latency table", beside=True):
        return _build_table_locked(space, out, device=device, threads=threads, batch=batch, dtype=dtype,
                                   warmup=warmup, repeats=repeats, rounds=rounds, calibrate=calibrate, archs=archs,
                                   progress=progress, backend=backend, optimization=optimization, statistic=statistic,
                                   pin_cpus=pin_cpus, clock=clock)


def _build_table_locked(space: Space, out: str | Path, *, device: str = "cpu", threads: int = 1, batch: int = 1,
                dtype: str = "float32", warmup: int = 10, repeats: int = 30, rounds: int = 3,
                calibrate: int = DEFAULT_CALIBRATE, archs: Sequence[Arch] = (), progress: bool = True, backend: str = "torch",
                optimization: str | None = None, statistic: str = DEFAULT_STATISTIC,
                pin_cpus: str | None = None, clock: PhaseClock | None = None) -> LatencyTable:
    """The body of `build_table`, under its lock."""
    cpus = parse_cpus(pin_cpus) if pin_cpus is not None else None
    clock = clock or PhaseClock()
    if statistic not in STATISTICS:
        raise LatencyError(f"statistic {statistic!r}: use one of {', '.join(STATISTICS)}")
    device_type = "cuda" if device.startswith("cuda") else "cpu"
    with threads_set(threads) as used_threads, pinned(cpus):
        runtime = make_backend(backend, device, batch, dtype, used_threads, optimization)
        conditions = Conditions(device_type, device_name(device), used_threads, batch, dtype, runtime.name,
                                runtime.optimization, statistic)
        out = Path(out)
        if out.exists():
            table = LatencyTable.load(out)
            table.check(**vars(conditions))
        else:
            table = LatencyTable(conditions, path=out)
        table.meta.update({"torch": torch.__version__, **runtime.versions(), "warmup": warmup, "repeats": repeats,
                           "rounds": rounds,
                           "created": table.meta.get("created") or _dt.date.today().isoformat()})
        table.meta["pinned_cpus"] = sorted(cpus) if cpus else None
        table.meta.setdefault("spaces", [])
        if space.name not in table.meta["spaces"]:
            table.meta["spaces"].append(space.name)
        wanted = dict.fromkeys(space_signatures(space))
        wanted.update(dict.fromkeys(sig for arch in archs for _, sig in arch_signatures(space, arch)))
        todo = [sig for sig in wanted if sig not in table.entries]
        bar = _bar(progress, len(todo), "layers")
        overhead = runtime.overhead_runner() if todo else None
        extra = ([runtime.reference_runner()] + ([overhead] if overhead else [])) if todo else []
        for start in range(0, len(todo), CHUNK):
            chunk = todo[start:start + CHUNK]
            with clock.phase("timing layers"):
                timings = time_all(runtime.layer_runners(chunk) + extra, device, warmup, repeats, rounds, statistic)
            if overhead:  # the runtime's fixed cost per call, paid once per network, not once per layer
                call = timings.pop().ms
                table.meta.setdefault("call_overhead_ms", []).append(call)
                timings[:len(chunk)] = [Timing(max(t.ms - call, 0.0), t.spread) for t in timings[:len(chunk)]]
            *timings, reference = timings
            table.entries.update(zip(chunk, timings))
            table.meta.setdefault("reference_ms", []).append(reference.ms)
            table.save(out)
            bar.update(len(chunk))
        bar.close()
        have = [p for p in table.calibration.points if p["space"] == space.name]
        stale = [p for p in have if "kind_layer_ms" not in p and "arch" in p]
        for point in stale:  # a table before format 4: its points' per-layer times, so a refit can take an offset
            try:
                point.update(table.totals(space, space.parse(point["arch"])).record())
            except HybridNASError:  # the space changed since: the point keeps what it has, and no offset is fitted
                pass
        if stale and calibrate <= len(have):
            table.calibration.fit()
            table.save(out)
        if calibrate > len(have):
            rng = np.random.default_rng(CALIBRATION_SEED + len(have))
            archs = [space.sample(rng) for _ in range(calibrate - len(have))]
            with clock.phase("calibration networks"):
                measured, references = measure_archs(space, archs, table, warmup, repeats, rounds, progress, runtime)
            built = float(np.median(table.meta["reference_ms"]))
            for arch, ms, reference in zip(archs, measured, references):
                # on the layers' time base: the machine's speed moves between (and during) measurements, and
                # the reference workload timed beside each group of networks tracks it
                table.calibration.points.append({"space": space.name, "arch": space.format(arch),
                                                 **table.totals(space, arch).record(),
                                                 "measured_ms": ms * built / reference, "raw_measured_ms": ms})
            table.calibration.fit()
            table.calibration.level = 1.0  # new points were measured as the machine runs now: relevel again
            table.save(out)
    return table


def table_backend(table: LatencyTable) -> Backend:
    """The backend that built `table`, under its conditions, on this machine's first device of its type."""
    c = table.conditions
    return make_backend(c.backend, c.device, c.batch, c.dtype, c.threads, c.optimization)


def measure_archs(space: Space, archs: list, table: LatencyTable, warmup: int, repeats: int, rounds: int = 3,
                  progress: bool = False, runtime: Backend | None = None,
                  group: int = MEASURE_GROUP) -> tuple[list[float], list[float]]:
    """End-to-end latencies (ms, the table's statistic) on this machine under its conditions, interleaved in groups.

    Returns the latencies and, for each network, the time of the reference workload measured in its group
    (see `Backend.reference_runner`): how fast the machine ran while it was measured. `runtime` defaults to
    the table's own backend.
    """
    runtime = runtime or table_backend(table)
    device = runtime.device
    out: list[float] = []
    references: list[float] = []
    bar = _bar(progress, len(archs), "networks")
    reference_run = runtime.reference_runner()
    for start in range(0, len(archs), group):
        with seeded(0):
            models = [space.build(a) for a in archs[start:start + group]]
        runners = runtime.network_runners(models, space.input_shape)
        *timings, reference = time_all(runners + [reference_run], device, warmup, repeats, rounds,
                                       table.conditions.statistic)
        out += [t.ms for t in timings]
        references += [reference.ms] * len(timings)
        bar.update(len(runners))
    bar.close()
    return out, references


def anchor_archs(space: Space, table: LatencyTable, n: int) -> tuple[list[Arch], np.ndarray]:
    """Up to `n` of the table's calibration networks of `space` ("anchors") and their times at build.

    The times are on the table's time base, as the calibration was fitted on them; timed again, their median
    ratio (now / at build) says how much slower or faster networks run now than when the table was built.
    Points whose arch no longer parses (the space changed since) are left out.
    """
    archs, recorded = [], []
    for point in table.calibration.points:
        if len(archs) >= n:
            break
        if point.get("space") != space.name or "arch" not in point:
            continue
        try:
            archs.append(space.parse(point["arch"]))
        except HybridNASError:
            continue
        recorded.append(float(point["measured_ms"]))
    return archs, np.asarray(recorded, dtype=float)


def anchor_order(n_archs: int, n_anchors: int) -> list[int]:
    """Indices into the networks (0..n_archs-1), then the anchors (n_archs..), with the anchors spread evenly,
    so that every group of networks measured together holds some."""
    if not n_anchors:
        return list(range(n_archs))
    slots = set(np.linspace(0, n_archs + n_anchors - 1, n_anchors).round().astype(int).tolist())
    archs, anchors = iter(range(n_archs)), iter(range(n_archs, n_archs + n_anchors))
    return [next(anchors) if position in slots else next(archs) for position in range(n_archs + n_anchors)]


def _timing_settings(table: LatencyTable, warmup: int | None, repeats: int | None,
                     pin_cpus: str | None) -> tuple[Backend, int, int, int, frozenset[int] | None]:
    """The table's backend on this machine (which must be the table's), its timing settings and cores."""
    runtime = table_backend(table)
    table.check(device_name=device_name(runtime.device))
    built_on = table.meta.get("pinned_cpus")
    cpus = parse_cpus(pin_cpus) if pin_cpus is not None else (frozenset(built_on) if built_on else None)
    return (runtime, warmup or int(table.meta.get("warmup", 10)), repeats or int(table.meta.get("repeats", 30)),
            int(table.meta.get("rounds", 3)), cpus)


def relevel_table(space: Space, table: LatencyTable, anchors: int = DEFAULT_ANCHORS, *, warmup: int | None = None,
                  repeats: int | None = None, progress: bool = True, pin_cpus: str | None = None) -> dict[str, Any]:
    """Time `anchors` of the table's calibration networks again and set its calibration's level to how much
    slower or faster they run now (the median of now / at build); save the table.

    A shared machine's speed moves by a few percent from hour to hour (here, even minute to minute), shifting
    every network alike; this takes the shift out in the time of a few dozen networks, where a rebuild times
    every layer again.

    Returns:
        level (the new one), previous_level, anchors (how many were timed) and the ratios' quartiles.
    """
    archs, recorded = anchor_archs(space, table, anchors)
    if not archs:
        raise LatencyError(f"latency table {table.path or '(unsaved)'} keeps no calibration network of space "
                           f"{space.name!r} to relevel on; build it for this space with `hybridnas latency build`")
    runtime, warmup, repeats, rounds, cpus = _timing_settings(table, warmup, repeats, pin_cpus)
    with threads_set(table.conditions.threads), pinned(cpus):
        measured, _ = measure_archs(space, archs, table, warmup, repeats, rounds, progress, runtime)
    ratios = np.asarray(measured) / recorded
    previous, table.calibration.level = table.calibration.level, float(np.median(ratios))
    record = {"space": space.name, "anchors": len(archs), "level": table.calibration.level,
              "previous_level": previous, "ratio_q25": float(np.quantile(ratios, 0.25)),
              "ratio_q75": float(np.quantile(ratios, 0.75))}
    table.meta.setdefault("relevels", []).append(
        {**record, "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")})
    if table.path is not None:
        table.save()
    return record


def validate_table(space: Space, table: LatencyTable, n: int, *, seed: int = 0, warmup: int | None = None,
                   repeats: int | None = None, progress: bool = True, pin_cpus: str | None = None,
                   anchors: int = DEFAULT_ANCHORS) -> tuple[pd.DataFrame, dict[str, float]]:
    """Measure `n` random architectures end to end and compare them with the table's predictions.

    Returns one row per architecture (arch, macs, predicted_ms, measured_ms, error) and a summary with
    MAPE (%), the share within ±10% and within ±5%. The table must have been built on this machine;
    `pin_cpus` defaults to the cores it was built on.

    Two figures separate the predictor's error from a machine running slower or faster than when the table
    was built, by dividing each measurement by how fast the machine ran beside it:
    `_drift_corrected`, by a fixed reference workload timed beside each group of networks
    (`machine_speed_vs_build`: its time now / at build); `_anchored`, by the median ratio (now / at build) of
    `anchors` of the table's calibration networks mixed into each group (`anchors_vs_build`; see
    `relevel_table`). On this project's 2-core VM, quiet, the anchored error was 1.96% (onnxruntime) and 1.52%
    (torch) where the reference workload left 4.66% and 2.61% (results/benchmarks/latency_anchors/*_quiet/).
    """
    rng = np.random.default_rng(seed)
    archs = [space.sample(rng) for _ in range(n)]
    predicted = [table.predict(space, arch) for arch in archs]  # fails fast on a missing layer
    anchored, recorded = anchor_archs(space, table, anchors)
    order = anchor_order(n, len(anchored))
    everything = archs + anchored
    runtime, warmup, repeats, rounds, cpus = _timing_settings(table, warmup, repeats, pin_cpus)
    with threads_set(table.conditions.threads), pinned(cpus):
        timed, timed_references = measure_archs(space, [everything[i] for i in order], table, warmup, repeats,
                                                rounds, progress, runtime)
    measured, references = np.empty(len(order)), np.empty(len(order))
    measured[order], references[order] = timed, timed_references
    group = np.empty(len(order), dtype=int)
    group[order] = np.arange(len(order)) // MEASURE_GROUP
    built = table.meta.get("reference_ms")
    speed = references[:n] / float(np.median(built)) if built else np.ones(n)
    frame = pd.DataFrame({"arch": [space.format(a) for a in archs], "macs": [space.cost(a).macs for a in archs],
                          "predicted_ms": predicted, "measured_ms": measured[:n], "machine_speed_vs_build": speed})
    frame["error"] = frame["predicted_ms"] / frame["measured_ms"] - 1
    frame["error_drift_corrected"] = frame["predicted_ms"] * speed / frame["measured_ms"] / table.calibration.level - 1
    summary: dict[str, float] = {"n": n, "median_measured_ms": float(frame["measured_ms"].median()),
                                 "machine_speed_vs_build": float(np.median(speed)), "anchors": len(anchored)}
    columns = {"": "error", "_drift_corrected": "error_drift_corrected"}
    if anchored:
        ratios = measured[n:] / recorded
        per_group = {g: float(np.median(ratios[group[n:] == g])) for g in np.unique(group[n:])}
        whole = float(np.median(ratios))  # a group without anchors takes the whole run's
        frame["anchors_vs_build"] = [per_group.get(g, whole) for g in group[:n]]
        frame["error_anchored"] = (frame["predicted_ms"] * frame["anchors_vs_build"] / frame["measured_ms"]
                                   / table.calibration.level - 1)
        summary["anchors_vs_build"] = whole
        columns["_anchored"] = "error_anchored"
    for suffix, column in columns.items():
        err = frame[column].abs()
        summary.update({f"mape_pct{suffix}": float(100 * err.mean()), f"within_10pct{suffix}": float((err <= 0.10).mean()),
                        f"within_5pct{suffix}": float((err <= 0.05).mean())})
    return frame, summary


def plot_validation(frame: pd.DataFrame, summary: dict[str, float], title: str, path: str | Path) -> None:
    """Predicted vs measured scatter with the y = x line and the ±10% band."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 5))
    lo, hi = frame[["predicted_ms", "measured_ms"]].min().min() * 0.9, frame[["predicted_ms", "measured_ms"]].max().max() * 1.1
    line = np.linspace(lo, hi, 50)
    ax.plot(line, line, "k-", lw=1, label="y = x")
    ax.fill_between(line, line * 0.9, line * 1.1, color="0.85", label="±10%")
    ax.scatter(frame["measured_ms"], frame["predicted_ms"], s=12)
    ax.set_xlabel("measured (ms)")
    ax.set_ylabel("predicted (ms)")
    ax.set_title(f"{title}\nMAPE {summary['mape_pct']:.1f}%, {100 * summary['within_10pct']:.0f}% within ±10%",
                 fontsize=9)
    ax.legend(loc="upper left")
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
