"""Our proxies on the literature spaces: Accel-NASBench (mnasnet) and TransNAS-Bench-101 macro (scene and object
classification), scored on a seeded sample of each table; and on TransNAS, our scores against NASLib's own.

Stages (each resumable; `proxies bench` caches its scores in `--out/<space>/`):
1. `prepare` writes the ground-truth CSVs keyed by our arch strings (TransNAS: its tuples converted, NASLib's
   zero-cost columns kept as `naslib_<proxy>`) and the spaces at the scoring input size under `--work`.
2. `score` runs `proxies bench` on each: `--n` networks, one batch of `--batch-size` Imagenette images at
   `--size` px (the tables' own inputs are ImageNet at 224 px and Taskonomy at 256 px; CPU time is why).
3. `report` prints, for TransNAS, Kendall tau between each of our proxies and NASLib's value of the same proxy on
   the same networks, and each side's tau with the task's accuracy; and writes each space's `scored.csv.gz`, the
   committed copy that `default_across_spaces.py` reads when no fresh `scored.csv` is there.

    python -m benchmarks.proxies.literature_spaces --stage all
"""

from __future__ import annotations

import argparse
import ast
import gzip
from pathlib import Path

import pandas as pd
import yaml
from scipy import stats

from benchmarks.common import benchmark_parser, header, read_results_csv, write_report
from hybridnas import load_space
from hybridnas.configfile import read_config
from hybridnas.io import atomic_write, atomic_write_csv, atomic_write_text
from hybridnas.proxies.bench import BenchConfig, run_bench
from hybridnas.spaces.loader import SHIPPED_DIR

SHARED = Path("../shared/benchmarks")
OUT = Path("results/benchmarks/literature_spaces")
# NASLib's column -> our proxy (synflow is empty in NASLib's TransNAS macro file)
NASLIB = {"nwot": "naswot", "jacov": "jacob_cov", "snip": "snip", "grasp": "grasp", "fisher": "fisher",
          "grad_norm": "grad_norm", "synflow": "synflow"}
# NASLib's seven, plus MeCo, params and MACs (the default's members and the size baselines); ZiCo left out (it
# cost more than all the others together on these networks, and NASLib did not score it)
PROXIES = ["naswot", "jacob_cov", "snip", "grasp", "fisher", "grad_norm", "synflow", "meco", "params", "macs",
           "ensemble:jacob_cov+meco+params"]
TRANSNAS_CODE = {0: "-", 1: "x1s1", 2: "x2s1", 3: "x1s2", 4: "x2s2"}
TASKS = {"class_scene": 63, "class_object": 100}


def transnas_string(code: str) -> str:
    """TransNAS's macro tuple '(1, 2, 4, 2, 0, 0)' as a transnas_macro arch string."""
    return "|".join(TRANSNAS_CODE[c] for c in ast.literal_eval(code))


def prepare(work: Path, size: int) -> dict[str, tuple[Path, Path, list[str]]]:
    """Ground truths and scoring spaces; returns {name: (space file, truth file, targets)}."""
    work.mkdir(parents=True, exist_ok=True)
    jobs = {}
    accel = pd.read_csv(SHARED / "accel_nasbench_mnasnet.csv.gz").drop_duplicates("arch")
    atomic_write_csv(accel[["arch", "val_top1", "macs_M", "params_M"]], work / "accel_truth.csv")
    zc = pd.read_csv(SHARED / "transnas_macro_zc.csv.gz")
    for task in TASKS:
        part = zc[zc["task"] == task].copy()
        part["arch"] = part["arch"].map(transnas_string)
        part = part.rename(columns={"val_accuracy": task, **{k: f"naslib_{k}" for k in NASLIB}})
        atomic_write_csv(part[["arch", task, *[f"naslib_{k}" for k in NASLIB]]], work / f"{task}_truth.csv")
    for name, base, classes, truth, targets in (
            ("mnasnet", "mnasnet", 1000, work / "accel_truth.csv", ["val_top1"]),
            *((task, "transnas_macro", n, work / f"{task}_truth.csv", [task]) for task, n in TASKS.items())):
        raw, _, _ = read_config(base, SHIPPED_DIR, "space")
        raw.update(name=f"{name}_{size}px", num_classes=classes, input={**raw["input"], "size": size})
        path = work / f"{name}_{size}px.yaml"
        atomic_write_text(path, yaml.safe_dump(raw, sort_keys=False))
        jobs[name] = (path, truth, targets)
    return jobs


def score(jobs: dict, args: argparse.Namespace) -> None:
    """`proxies bench` on each job (resumes from its folder's cache)."""
    for name, (space_file, truth, targets) in jobs.items():
        print(f"== {name}", flush=True)
        config = BenchConfig(space=str(space_file), ground_truth=str(truth), targets=targets, n=args.n,
                             proxies=PROXIES, data=args.data, seed=args.seed, batch_size=args.batch_size)
        run_bench(load_space(space_file), config, args.out / name, progress=True)


def report(args: argparse.Namespace) -> str:
    """Our proxies against NASLib's on TransNAS, and both against accuracy."""
    lines = [header(), f"{args.n} networks per table (seed {args.seed}); ours: one batch of {args.batch_size} "
                       f"Imagenette images at {args.size} px ({args.data}); NASLib's: its "
                       "zc_transbench101_macro.json (Taskonomy images at 256 px, its own batch)", ""]
    for task in TASKS:
        frame = read_results_csv(args.out / task / "scored.csv")  # carries the truth file's columns too
        lines += [f"{task} ({len(frame)} networks): Kendall tau",
                  f"  {'proxy':<12}{'ours vs NASLib':>15}{'ours vs acc':>13}{'NASLib vs acc':>15}"]
        for theirs, ours in NASLIB.items():
            mine, other = frame[ours], frame[f"naslib_{theirs}"]
            ok = mine.notna() & other.notna()
            agree = stats.kendalltau(mine[ok], other[ok]).statistic if ok.sum() > 2 else float("nan")
            lines.append(f"  {ours:<12}{agree:>15.3f}{stats.kendalltau(mine, frame[task]).statistic:>13.3f}"
                         f"{stats.kendalltau(other, frame[task]).statistic if other.notna().any() else float('nan'):>15.3f}")
        lines.append("")
    text = write_report(lines, args.out / "naslib_fidelity.txt")
    for name in ("mnasnet", *TASKS):  # the committed copy: gzipped, 7 significant digits (scored.csv is ignored)
        table = read_results_csv(args.out / name / "scored.csv", dtype={"arch": str, "id": str})
        packed = gzip.compress(table.to_csv(index=False, float_format="%.7g").encode(), compresslevel=9, mtime=0)
        atomic_write(args.out / name / "scored.csv.gz", lambda handle: handle.write(packed))
    return text


def main() -> None:
    parser = benchmark_parser(__doc__, out=OUT, out_type=Path)
    parser.add_argument("--stage", choices=["prepare", "score", "report", "all"], default="all")
    parser.add_argument("--n", type=int, default=60)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", default="npz:/tmp/hybridnas_data/imagenette_64.npz")
    parser.add_argument("--work", type=Path, default=Path("/tmp/hybridnas_work/literature_spaces"))
    args = parser.parse_args()
    jobs = prepare(args.work, args.size)
    if args.stage in ("score", "all"):
        score(jobs, args)
    if args.stage in ("report", "all"):
        report(args)


if __name__ == "__main__":
    main()
