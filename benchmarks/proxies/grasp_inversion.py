"""Does the loss explain GraSP's inversion against NASLib on TransNAS? Our grasp with hard labels and with soft
class targets, on the same networks, images and seeds, each against NASLib's grasp.

NASLib scores TransNAS-Bench-101's classification tasks with a soft-target cross-entropy on Taskonomy's class
distributions; `literature_spaces` scored ours with hard Imagenette labels, and our grasp ranked the 60 networks
of each task against NASLib's at tau -0.65. Here the same 60 networks of each task (its committed
`scored.csv.gz`), the same batch of Imagenette images and the same seed are scored by our grasp again with:
- `hard`: the batch's labels, as before, on the first `--check` networks (it must reproduce the committed grasp
  column, which the table then uses for all of them);
- `soft`: per-image class distributions drawn from a Dirichlet (alpha `--alpha`, 0.1: peaked) over the task's
  classes, through cross-entropy with probability targets.
Taskonomy's images are not here, so the images stay Imagenette's: only the loss changes.

    python -m benchmarks.proxies.grasp_soft_targets --data npz:/tmp/hybridnas_data/imagenette_64.npz
"""

from __future__ import annotations

import dataclasses
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

def targets(batch, classes: int, alpha: float | None, seed: int):
    """The batch with hard labels (alpha None) or Dirichlet(alpha) class distributions as its targets."""
    if alpha is None:
        return batch
    rng = np.random.default_rng(seed)
    probs = torch.tensor(rng.dirichlet(np.full(classes, alpha), size=len(batch.y)), dtype=torch.float32)
    return dataclasses.replace(batch, y=probs)


def main() -> None:
    parser = benchmark_parser(__doc__, out=LITERATURE / "grasp_soft_targets.txt", out_type=Path)
    parser.add_argument("--data", default="npz:/tmp/hybridnas_data/imagenette_64.npz")
    parser.add_argument("--work", type=Path, default=Path("/tmp/hybridnas_work/literature_spaces"))
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--alpha", type=float, default=0.1, help="Dirichlet concentration of the soft targets")
    parser.add_argument("--check", type=int, default=8, help="networks rescored with hard labels, as a check")
    args = parser.parse_args()
    jobs = prepare(args.work, args.size)
    lines = [header(), f"our grasp on the networks of literature_spaces (seed {args.seed}, one batch of "
                       f"{args.batch_size} images at {args.size} px from {args.data}), by loss target (soft: "
                       f"Dirichlet alpha {args.alpha:g}); Kendall tau", ""]
    for task, classes in TASKS.items():
        space_file = jobs[task][0]
        space = load_space(space_file)
        committed = read_results_csv(LITERATURE / task / "scored.csv", dtype={"arch": str, "id": str})
        batch = space_batch(space, args.data, args.batch_size, args.seed)
        cache = args.work / f"grasp_soft_{task}.csv"
        frame = pd.read_csv(cache, dtype={"arch": str}) if cache.is_file() else committed[["arch"]].copy()
        for variant, alpha, rows in (("hard", None, args.check), ("soft", args.alpha, len(frame))):
            if variant not in frame:
                frame[variant] = np.nan
            varied = targets(batch, classes, alpha, args.seed)
            for i in range(rows):
                if frame[variant].iloc[i] == frame[variant].iloc[i]:
                    continue  # scored before a stop
                result = score(space.parse(frame["arch"].iloc[i]), ["grasp"], args.data, args.seed, space=space,
                               batch_size=args.batch_size, batch=varied)
                frame.loc[frame.index[i], variant] = result.values.get("grasp", np.inf)
                atomic_write_csv(frame, cache)
            print(f"{task} {variant} done", flush=True)
        merged = frame.merge(committed[["arch", "grasp", "naslib_grasp", task]], on="arch")
        checked = merged.head(args.check)
        drift = float((checked["hard"] / checked["grasp"] - 1).abs().max())
        lines += [f"{task} ({len(merged)} networks, {classes} classes); hard labels on the first {args.check} "
                  f"networks reproduce the committed grasp to a relative {drift:.1e}",
                  f"  {'target':<12}{'vs NASLib grasp':>17}{'vs accuracy':>13}"]
        merged["hard"] = merged["grasp"]
        for variant in ("hard", "soft"):
            lines.append(f"  {variant:<12}{stats.kendalltau(merged[variant], merged['naslib_grasp']).statistic:>17.3f}"
                         f"{stats.kendalltau(merged[variant], merged[task]).statistic:>13.3f}")
        lines.append(f"  {'NASLib':<12}{1.0:>17.3f}{stats.kendalltau(merged['naslib_grasp'], merged[task]).statistic:>13.3f}")
        lines.append("")
    write_report(lines, args.out)


if __name__ == "__main__":
    main()
