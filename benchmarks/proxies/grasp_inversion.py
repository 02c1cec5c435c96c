"""Why does our grasp rank the TransNAS networks opposite to NASLib's? Each difference between the two set-ups,
changed one at a time on the same networks, each result against NASLib's grasp.

`literature_spaces` scored our grasp on 60 networks per classification task with one batch of 16 Imagenette
images at 64 px and hard labels; it ranked them against NASLib's grasp at tau -0.65 while our other gradient
proxies agree with NASLib's (0.39-0.76). NASLib scored Taskonomy images at 256 px, with soft class targets, in
its own batch. The variants, each one change from `hard` (same networks, seed and first images):
- `hard`: the committed set-up, rescored on the first `--check` networks (it must reproduce the committed grasp
  column, which the table then uses for all of them);
- `soft`: per-image class distributions drawn from a Dirichlet (alpha `--alpha`, 0.1: peaked) over the task's
  classes, through cross-entropy with probability targets (the loss);
- `batch64`: a batch of 64 images instead of 16 (the batch);
- `px256`: the images at 256 px, Taskonomy's size, upsampled from Imagenette's 128 px folder (the input size:
  the macro networks' feature maps are 16 times larger);
- `kaiming`: convolutions initialised by Kaiming normal (fan-out, ReLU gain), as ResNet-style code often does,
  instead of PyTorch's default uniform (the initialisation, which Hg depends on at second order);
- `combined`: all four changes at once (soft targets, batch 64, 256 px, Kaiming-normal), on the first
  `--combined-networks` networks: NASLib's set-up as near as this machine gets without Taskonomy's images.
Taskonomy's images are not here, so the images themselves stay Imagenette's.

    python -m benchmarks.proxies.grasp_inversion                 # all networks (hours at 256 px)
    python -m benchmarks.proxies.grasp_inversion --px256-networks 20 --combined-networks 9 --combined-tasks class_scene

The combined variant needs more than 24 GB from about the tenth network on (batch 64 at 256 px, with the second
backward pass); on this machine the kernel killed it there. `--memory-limit-gb` caps this process's address
space instead, so such a network fails alone: it is left unscored (and retried by the next run), never ranked.
"""

from __future__ import annotations

import dataclasses
import resource
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from scipy import stats

from benchmarks.common import benchmark_parser, header, read_results_csv, write_report
from benchmarks.proxies.literature_spaces import OUT as LITERATURE, TASKS, prepare
from hybridnas import load_space
from hybridnas.io import atomic_write_csv
from hybridnas.proxies.engine import score, space_batch

FOLDER_128 = "imagefolder:../shared/data/imagenette_128"


@dataclasses.dataclass(frozen=True)
class Variant:
    """One set-up of our grasp: its target (hard labels, or Dirichlet alpha), batch, input size and images."""

    name: str
    alpha: float | None = None
    batch_size: int = 16
    size: int = 64
    data: str | None = None  # None: the committed run's data (`--data`)
    init: str = "default"  # 'kaiming': Kaiming-normal convolutions (fan-out, ReLU)


def kaiming_network(space, arch, seed: int) -> torch.nn.Module:
    """`arch` built under `seed`, its convolutions then drawn again from Kaiming normal (fan-out, ReLU)."""
    torch.manual_seed(seed)
    model = space.build(arch)
    for module in model.modules():
        if isinstance(module, torch.nn.Conv2d):
            torch.nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
    return model


def soft_targets(batch, classes: int, alpha: float, seed: int):
    """The batch with Dirichlet(alpha) class distributions as its targets."""
    rng = np.random.default_rng(seed)
    probs = torch.tensor(rng.dirichlet(np.full(classes, alpha), size=len(batch.y)), dtype=torch.float32)
    return dataclasses.replace(batch, y=probs)


def score_variant(frame: pd.DataFrame, variant: Variant, space_file: Path, task: str, rows: int, args,
                  cache: Path) -> None:
    """Fill `frame[variant.name]` for its first `rows` networks of `space_file` (resumes: rows already scored
    are kept)."""
    space = load_space(space_file)
    batch = space_batch(space, variant.data or args.data, variant.batch_size, args.seed)
    if variant.alpha is not None:
        batch = soft_targets(batch, TASKS[task], variant.alpha, args.seed)
    if variant.name not in frame:
        frame[variant.name] = np.nan
    for i in range(rows):
        if frame[variant.name].iloc[i] == frame[variant.name].iloc[i]:
            continue  # scored before a stop
        arch = space.parse(frame["arch"].iloc[i])
        if variant.init == "kaiming":
            result = score(kaiming_network(space, arch, args.seed), ["grasp"], seed=args.seed, batch=batch,
                           input_shape=space.input_shape, num_classes=space.num_classes)
        else:
            result = score(arch, ["grasp"], variant.data or args.data, args.seed, space=space,
                           batch_size=variant.batch_size, batch=batch)
        if "grasp" not in result.values:  # out of memory under --memory-limit-gb, or a failed pass: no score
            print(f"{task} {variant.name}: network {i} not scored ({result.errors})", flush=True)
            continue
        frame.loc[frame.index[i], variant.name] = result.values["grasp"]
        atomic_write_csv(frame, cache)
    print(f"{task} {variant.name} done", flush=True)


def same_networks(merged: pd.DataFrame, variants: list[Variant], subset: str, task: str) -> list[str]:
    """Every variant's tau against NASLib's grasp on the networks `subset` scored (when it scored fewer than
    all), so a small subset's tau is read beside the others' on the same networks."""
    if subset not in merged or not 0 < merged[subset].notna().sum() < len(merged):
        return []
    rows = merged[merged[subset].notna()]
    taus = ", ".join(f"{v.name} {stats.kendalltau(rows[v.name], rows['naslib_grasp']).statistic:.3f}"
                     for v in variants if rows[v.name].notna().all())
    return [f"  on the {len(rows)} networks {subset} scored, tau vs NASLib grasp: {taus}; NASLib vs accuracy "
            f"{stats.kendalltau(rows['naslib_grasp'], rows[task]).statistic:.3f}"]


def main() -> None:
    parser = benchmark_parser(__doc__, out=LITERATURE / "grasp_inversion.txt", out_type=Path)
    parser.add_argument("--data", default="npz:/tmp/hybridnas_data/imagenette_64.npz")
    parser.add_argument("--work", type=Path, default=Path("/tmp/hybridnas_work/literature_spaces"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--alpha", type=float, default=0.1, help="Dirichlet concentration of the soft targets")
    parser.add_argument("--check", type=int, default=8, help="networks rescored with the committed set-up")
    parser.add_argument("--px256-networks", type=int, default=0,
                        help="score only the first N networks at 256 px (0: all; each costs about 16 of the others)")
    parser.add_argument("--combined-networks", type=int, default=0,
                        help="score only the first N networks with all changes at once (0: all; each costs about "
                             "4 at 256 px)")
    parser.add_argument("--combined-tasks", type=lambda s: s.split(","), default=list(TASKS),
                        help="the tasks the combined variant scores (comma-separated; default: all)")
    parser.add_argument("--memory-limit-gb", type=float, default=0,
                        help="cap this process's address space (0: none); a network that needs more is left unscored")
    args = parser.parse_args()
    if args.memory_limit_gb:
        limit = int(args.memory_limit_gb * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    variants = [Variant("hard"), Variant("soft", alpha=args.alpha), Variant("batch64", batch_size=64),
                Variant("px256", size=256, data=FOLDER_128), Variant("kaiming", init="kaiming"),
                Variant("combined", alpha=args.alpha, batch_size=64, size=256, data=FOLDER_128, init="kaiming")]
    lines = [header(), f"our grasp on the networks of literature_spaces (seed {args.seed}), one change at a time "
                       f"from the committed set-up (hard labels, one batch of 16 images at 64 px from {args.data}); "
                       "Kendall tau", ""]
    jobs = {size: prepare(args.work / f"{size}px", size) for size in {v.size for v in variants}}
    for task, classes in TASKS.items():
        committed = read_results_csv(LITERATURE / task / "scored.csv", dtype={"arch": str, "id": str})
        cache = args.work / f"grasp_inversion_{task}.csv"
        frame = pd.read_csv(cache, dtype={"arch": str}) if cache.is_file() else committed[["arch"]].copy()
        for variant in variants:
            if variant.name == "combined" and task not in args.combined_tasks:
                continue
            rows = {"hard": args.check, "px256": args.px256_networks or len(frame),
                    "combined": args.combined_networks or len(frame)}.get(variant.name, len(frame))
            score_variant(frame, variant, jobs[variant.size][task][0], task, rows, args, cache)
        merged = frame.merge(committed[["arch", "grasp", "naslib_grasp", task]], on="arch")
        checked = merged.head(args.check)
        drift = float((checked["hard"] / checked["grasp"] - 1).abs().max())
        merged["hard"] = merged["grasp"]
        lines += [f"{task} ({len(merged)} networks, {classes} classes); the committed set-up rescored on the first "
                  f"{args.check} networks reproduces the committed grasp to a relative {drift:.1e}",
                  f"  {'variant':<34}{'networks':>9}{'vs NASLib grasp':>17}{'vs accuracy':>13}{'vs hard':>9}"]
        for v in variants:
            part = merged[merged[v.name].notna()] if v.name in merged else merged.iloc[:0]
            if part.empty:
                lines.append(f"  {v.name}: not scored on this task")
                continue
            what = {"hard": "hard labels, batch 16, 64 px", "soft": f"soft targets (Dirichlet {args.alpha:g})",
                    "batch64": "batch 64", "px256": "256 px (from 128 px images)",
                    "kaiming": "Kaiming-normal convolutions",
                    "combined": "all four at once"}[v.name]
            lines.append(f"  {v.name + ': ' + what:<34}{len(part):>9}"
                         f"{stats.kendalltau(part[v.name], part['naslib_grasp']).statistic:>17.3f}"
                         f"{stats.kendalltau(part[v.name], part[task]).statistic:>13.3f}"
                         f"{stats.kendalltau(part[v.name], part['hard']).statistic:>9.3f}")
        lines.append(f"  {'NASLib':<34}{len(merged):>9}{1.0:>17.3f}"
                     f"{stats.kendalltau(merged['naslib_grasp'], merged[task]).statistic:>13.3f}")
        lines += same_networks(merged, variants, "combined", task)
        lines.append("")
    write_report(lines, args.out)


if __name__ == "__main__":
    main()
