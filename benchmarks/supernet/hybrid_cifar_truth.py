"""A standalone ground truth for hybrid_cifar: subnets trained from scratch on two or more seeds.

`--subnets` networks spread over the MACs range (`supernet_ranking.spread_archs`) are each trained with the
shipped hybrid_cifar supernet recipe (the same optimizer, schedule and augmentation; `train_standalone`)
once per seed in `--seeds`. A ground truth is only as good as two seeds of it agree: the summary reports
the seed-to-seed Kendall tau (every pair of seeds), the ceiling any ranking can be judged against, then
each training-free ranking of `RANKINGS`, each supernet's inherited accuracy given with `--inherited`, and
another recipe's ground truth given with `--other-truth` (on the subnets both have),
against the mean over seeds. `--eval-data` also scores every trained model on a second, larger test set
(the 10,000 CIFAR-10 test images of the JPEG copy: the subset's 1,017 are among them, so it is not held
out from them, and its pixels carry JPEG noise the training images do not); if seeds agree there and not on
the 1,017, the disagreement is the small test set's, not the training's. `--curves` tests after every
epoch as well (`curves.csv`; the training is unchanged by it), and the summary then reports how seed
agreement grows through training: still growing at the last epoch means the recipe is too short.

Rows are appended to `standalone.csv` in `--out` as each training ends, and every training checkpoints each
epoch into `--checkpoints`, so an interrupted run (or one stopped by `--time-limit`, which kills the
trainings in flight) continues where it stopped, losing at most one epoch per training. To free the cores
for a while, stop the run's process group (`kill -STOP -- -PGID`, then `-CONT`; it runs under `setsid`); the
`seconds` column is wall time, so it then includes the pause. Subnets are
trained on every seed in turn, in coarse-to-fine MACs order, so a partial run already spans the MACs range
with complete seed pairs. `--jobs` trains that many networks side by side (one process each; on one GPU,
small networks leave it idle otherwise).

    python -m benchmarks.supernet.hybrid_cifar_truth --out DIR --subnets 20 --seeds 0,1 --epochs 30 --device cuda --jobs 4
    python -m benchmarks.supernet.hybrid_cifar_truth --out DIR --report-only [--inherited uniform=inherited_uniform.csv]
    python -m benchmarks.supernet.hybrid_cifar_truth --out DIR --list-subnets > subnets.txt  # for `supernet eval --archs`
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import multiprocessing
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from hybridnas import load_space
from hybridnas.latency.timing import threads_set
from hybridnas.supernet import load_supernet_config
from hybridnas.data.loader import make_loader
from hybridnas.io import atomic_write_csv
from hybridnas.rng import seeded
from hybridnas.supernet.evaluate import accuracy
from hybridnas.supernet.standalone import train_standalone
from hybridnas.supernet.train import training_device

from benchmarks.proxies.ensemble_search import ranking_members
from benchmarks.proxies.ensemble_search import ranking as oriented
from benchmarks.supernet.supernet_ranking import spread_archs
from benchmarks.common import benchmark_parser

RANKINGS = ("ensemble:jacob_cov+meco+params", "ensemble:jacob_cov+meco+params+macs+az_trainability", "params",
            "az_trainability")


def coarse_to_fine(n: int) -> list[int]:
    """0..n-1 ordered so that every prefix is spread over the range: both ends, the middle, then the quarters..."""
    order, seen = [], set()
    for depth in range(n.bit_length() + 1):
        for k in range(2 ** depth + 1):
            i = round(k * (n - 1) / 2 ** depth) if n > 1 else 0
            if i not in seen:
                seen.add(i)
                order.append(i)
    return order


def checkpoint_path(args: argparse.Namespace, arch_text: str, seed: int) -> Path:
    """Where one training keeps its per-epoch checkpoint (a file per subnet, seed and recipe)."""
    recipe = f"{arch_text}|{seed}|{args.epochs}|{args.data}|{args.train_limit}|{args.precision}"
    if args.warmup_epochs is not None:  # only then, so that the checkpoints of runs before the option still resume
        recipe += f"|warmup{args.warmup_epochs}"
    return args.checkpoints / f"{hashlib.sha1(recipe.encode()).hexdigest()[:16]}.pt"


def train_one(args: argparse.Namespace, arch_text: str, seed: int) -> dict:
    space = load_space("hybrid_cifar")
    overrides = {"data": args.data, "epochs": args.epochs, "device": args.device, "seed": seed,
                 "train_limit": args.train_limit, "precision": args.precision, "data_workers": args.data_workers}
    if args.warmup_epochs is not None:
        overrides["warmup_epochs"] = args.warmup_epochs
    config = load_supernet_config("hybrid_cifar", overrides)
    checkpoint = checkpoint_path(args, arch_text, seed)
    arch = space.parse(arch_text)
    with seeded(seed):  # the seed sets the initial weights as well as the data order (before 2026-12-01: random)
        model = space.build(arch)
    with threads_set(args.threads):
        result = train_standalone(model, config, checkpoint=checkpoint, resume=checkpoint.is_file(),
                                  curve=args.curves)
        if args.eval_data:  # the trained model again on a larger test set: separates test-set noise from seed noise
            test = make_loader(args.eval_data, "test", config.eval_batch_size, train=False,
                               num_classes=space.num_classes, norm=space.input_normalisation,
                               input_shape=space.input_shape, workers=args.data_workers)
            result["eval_accuracy"] = accuracy(model, test, training_device(config))
    return {"arch": arch_text, "seed": seed, "macs": space.cost(arch).macs, **result}


def train_all(args: argparse.Namespace) -> None:
    space = load_space("hybrid_cifar")
    path = args.out / "standalone.csv"
    done = pd.read_csv(path) if path.is_file() else pd.DataFrame(columns=["arch", "seed"])
    seen = set(zip(done["arch"], done["seed"].astype(int)))
    archs = [space.format(a) for a in spread_archs(space, args.subnets)]
    # every seed of one subnet before the next subnet, subnets in coarse-to-fine MACs order: a run stopped
    # part-way (CPU sessions are short) leaves complete seed pairs that span the whole MACs range
    todo = [(archs[i], s) for i in coarse_to_fine(len(archs)) for s in args.seeds if (archs[i], s) not in seen]
    if args.skip_above_macs:  # a run too short for the largest subnets leaves them to a later one
        left = [(a, s) for a, s in todo if space.cost(space.parse(a)).macs > args.skip_above_macs]
        todo = [t for t in todo if t not in left]
        print(f"{len(left)} trainings above {args.skip_above_macs:.3g} MACs left for a later run", flush=True)
    stop = time.monotonic() + args.time_limit if args.time_limit else None
    print(f"{len(todo)} trainings to run ({len(seen)} done)", flush=True)
    with multiprocessing.get_context("spawn").Pool(args.jobs) as pool:
        pending = [pool.apply_async(train_one, (args, a, s)) for a, s in todo]
        for job in pending:
            remaining = None if stop is None else max(1.0, stop - time.monotonic())
            try:
                row = job.get(timeout=remaining)
            except multiprocessing.TimeoutError:
                print("time limit reached; rerun the command to continue", flush=True)
                pool.terminate()
                break
            if "curve" in row:
                curves = pd.DataFrame({"arch": row["arch"], "seed": row["seed"],
                                       "epoch": range(1, len(row["curve"]) + 1), "accuracy": row.pop("curve")})
                append_csv(args.out / "curves.csv", curves)
            append_csv(path, pd.DataFrame([row]))
            checkpoint_path(args, row["arch"], row["seed"]).unlink(missing_ok=True)
            print(f"seed {row['seed']}: {row['accuracy']:.1f}% in {row['seconds']:.0f} s  {row['arch']}", flush=True)


def seed_agreement(complete: pd.DataFrame) -> list[str]:
    """Kendall tau and mean gap between every pair of seeds (columns) over the subnets (rows), then the
    variance shares (`variance_shares`)."""
    return [*(f"seed {a} vs seed {b}: Kendall tau {stats.kendalltau(complete[a], complete[b]).statistic:.3f}, "
              f"mean |difference| {np.abs(complete[a] - complete[b]).mean():.2f} points"
              for a, b in itertools.combinations(complete.columns, 2)),
            variance_shares(complete)]


def intraclass(complete: pd.DataFrame) -> tuple[float, float, float, float]:
    """One-way random-effects split of accuracy (subnets as rows, seeds as columns).

    Returns:
        (between-subnet std, seed-to-seed std, ICC(1): the share of one run's variance that is the subnet's,
        ICC(1,k): the reliability of the mean over the k seeds, the ground truth the rankings are judged on).
    """
    k = complete.shape[1]
    within = complete.var(axis=1, ddof=1).mean()
    between = k * complete.mean(axis=1).var(ddof=1)
    subnet_variance = max(0.0, (between - within) / k)
    if between == 0:  # every subnet's mean the same: no ranking to be reliable about
        return 0.0, float(np.sqrt(within)), float("nan"), float("nan")
    return (float(np.sqrt(subnet_variance)), float(np.sqrt(within)),
            float((between - within) / (between + (k - 1) * within)), float((between - within) / between))


def variance_shares(complete: pd.DataFrame) -> str:
    """One line: how much of the accuracy spread is the subnets', how much the seeds' (`intraclass`)."""
    subnet_std, seed_std, single, mean = intraclass(complete)
    return (f"std between subnets {subnet_std:.2f} points, between seeds {seed_std:.2f}; ICC(1) {single:+.2f} "
            f"(one run), reliability of the mean over {complete.shape[1]} seeds {mean:+.2f}")


def append_csv(path: Path, rows: pd.DataFrame) -> None:
    """Add rows to a CSV (created if missing) by an atomic replace."""
    atomic_write_csv(pd.concat([pd.read_csv(path), rows], ignore_index=True) if path.is_file() else rows, path)


def curve_agreement(curves: pd.DataFrame) -> list[str]:
    """Seed-to-seed Kendall tau of the test accuracy after each tenth of training (does agreement still
    grow?), and the tau of that epoch's mean over seeds with the last epoch's (does the order still move?)."""
    table = curves.pivot_table(index=["arch", "epoch"], columns="seed", values="accuracy")
    epochs = int(curves["epoch"].max())
    last = table.xs(epochs, level="epoch").dropna()
    lines = []
    for epoch in sorted({max(1, round(epochs * k / 10)) for k in range(1, 11)}):
        at = table.xs(epoch, level="epoch").dropna()
        if len(at) > 1:
            a, b = at.columns[:2]
            tau = stats.kendalltau(at[a], at[b]).statistic
            common = at.index.intersection(last.index)
            moved = stats.kendalltau(at.loc[common].mean(axis=1), last.loc[common].mean(axis=1)).statistic
            lines.append(f"  epoch {epoch:>3}: {len(at)} subnets, Kendall tau {tau:+.3f}, mean |difference| "
                         f"{np.abs(at[a] - at[b]).mean():.2f} points; ICC(1) {intraclass(at)[2]:+.2f}; "
                         f"mean over seeds vs epoch {epochs}'s: tau {moved:+.3f}")
    return lines


def complete_runs(out: Path) -> pd.DataFrame:
    """Test accuracy in `out`/standalone.csv, a row per subnet trained on every seed, a column per seed."""
    return pd.read_csv(out / "standalone.csv").pivot_table(index="arch", columns="seed", values="accuracy").dropna()


def report(args: argparse.Namespace) -> str:
    from hybridnas.proxies import score_many

    space = load_space("hybrid_cifar")
    runs = pd.read_csv(args.out / "standalone.csv")
    complete = complete_runs(args.out)
    lines = [f"hybrid_cifar standalone ground truth: {len(complete)} subnets trained on every one of seeds "
             f"{list(complete.columns)} ({args.epochs} epochs, data {args.data}, train_limit {args.train_limit}, "
             f"device {args.device}); accuracy {complete.values.min():.1f}-{complete.values.max():.1f}%",
             *seed_agreement(complete)]
    truths = {"its test split": complete.mean(axis=1)}
    if "eval_accuracy" in runs:
        second = runs.pivot_table(index="arch", columns="seed", values="eval_accuracy").dropna()
        if len(second) > 1:
            lines += [f"\nthe {len(second)} of them also scored on a second test set (eval_accuracy; "
                      f"{args.eval_data or 'see the command'}): accuracy {second.values.min():.1f}-"
                      f"{second.values.max():.1f}%", *seed_agreement(second),
                      "the same subnets on the training data's own test split:",
                      *seed_agreement(complete.loc[second.index])]
            truths["the second test set"] = second.mean(axis=1)
    archs = [space.parse(a) for a in complete.index]
    members = sorted({m for r in RANKINGS for m in ranking_members(r)})
    with threads_set(1):
        scores = score_many(space, archs, members, f"npz:{args.proxy_data}", 0, batch_size=64)
    scores.index = complete.index
    others = {name: pd.read_csv(Path(folder) / "standalone.csv").pivot_table(
        index="arch", columns="seed", values="accuracy").dropna() for name, folder in args.other_truth}
    for name, other in others.items():  # the other recipe's seeds on the same subnets, for comparison
        common = complete.index.intersection(other.index)
        if len(common) > 1:
            lines += [f"\nthe other recipe {name} on the {len(common)} subnets in common:",
                      *seed_agreement(other.loc[common])]
    if (args.out / "curves.csv").is_file():
        lines += ["\nseed agreement during training (test accuracy after each epoch, `--curves`):",
                  *curve_agreement(pd.read_csv(args.out / "curves.csv"))]
    inherited = {name: pd.read_csv(file).set_index("arch")["supernet_accuracy"] for name, file in args.inherited}
    for where, truth in truths.items():
        lines.append(f"\nrankings against the mean over seeds on {where} ({len(truth)} subnets), Kendall tau "
                     f"(proxies on one batch of {args.proxy_data}, seed 0):")
        for name in RANKINGS:
            tau = stats.kendalltau(oriented(scores.loc[truth.index], name).to_numpy(), truth.to_numpy()).statistic
            lines.append(f"  {name:<55} {tau:+.3f}")
        for name, supernet_accuracy in inherited.items():
            missing = truth.index.difference(supernet_accuracy.index)
            if len(missing):
                raise SystemExit(f"--inherited {name}: no row for {len(missing)} of the subnets, e.g. {missing[0]}")
            tau = stats.kendalltau(supernet_accuracy.loc[truth.index].to_numpy(), truth.to_numpy()).statistic
            lines.append(f"  {'supernet (' + name + ')':<55} {tau:+.3f}")
        for name, other in others.items():  # another recipe's ground truth: does the recipe change the order?
            common = truth.index.intersection(other.index)
            tau = stats.kendalltau(other.loc[common].mean(axis=1).to_numpy(), truth.loc[common].to_numpy()).statistic
            lines.append(f"  {'ground truth ' + name + f' ({len(common)} subnets in common)':<55} {tau:+.3f}")
    lines.append(f"\ncommand: python -m benchmarks.supernet.hybrid_cifar_truth --out {args.out} --subnets {args.subnets} "
                 f"--seeds {','.join(map(str, args.seeds))} --epochs {args.epochs} --data {args.data} "
                 f"--device {args.device} --precision {args.precision}"
                 + (f" --train-limit {args.train_limit}" if args.train_limit else "")
                 + (f" --warmup-epochs {args.warmup_epochs}" if args.warmup_epochs is not None else "")
                 + (f" --eval-data {args.eval_data}" if args.eval_data else "")
                 + (" --curves" if args.curves else "")
                 + "".join(f" --inherited {name}={file}" for name, file in args.inherited)
                 + "".join(f" --other-truth {name}={folder}" for name, folder in args.other_truth))
    text = "\n".join(lines)
    (args.out / "summary.txt").write_text(text + "\n")
    return text


def main() -> None:
    ap = benchmark_parser(__doc__, out_type=Path)
    ap.add_argument("--subnets", type=int, default=20)
    ap.add_argument("--seeds", type=lambda s: [int(v) for v in s.split(",")], default=[0, 1])
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--data", default="npz:../shared/data/cifar10_subset.npz")
    ap.add_argument("--eval-data", default=None,
                    help="a second, larger test set each trained model is also scored on (column eval_accuracy), "
                         "e.g. imagefolder:../shared/data/cifar10_jpeg (10,000 test images)")
    ap.add_argument("--curves", action="store_true",
                    help="test every epoch too (curves.csv): does seed agreement still grow at the last epoch?")
    ap.add_argument("--inherited", type=lambda s: tuple(s.split("=", 1)), action="append", default=[],
                    metavar="NAME=CSV", help="a supernet's inherited accuracy of the subnets to rank beside the "
                                             "proxies (`hybridnas supernet eval CKPT --archs subnets.txt --csv`)")
    ap.add_argument("--other-truth", type=lambda s: tuple(s.split("=", 1)), action="append", default=[],
                    metavar="NAME=DIR", help="another recipe's --out folder: its mean over seeds ranked beside the "
                                             "rest, on the subnets both have")
    ap.add_argument("--list-subnets", action="store_true", help="print the subnets, one per line, and stop")
    ap.add_argument("--proxy-data", default="../shared/data/cifar10_subset.npz", help="npz file the proxies read")
    ap.add_argument("--train-limit", type=int, default=None)
    ap.add_argument("--warmup-epochs", type=float, default=None,
                    help="the recipe's warm-up (1 epoch) otherwise; on 10x the images, 0.1 keeps its length in steps")
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    ap.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    ap.add_argument("--data-workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1, help="torch threads per training process")
    ap.add_argument("--jobs", type=int, default=1, help="trainings side by side")
    ap.add_argument("--time-limit", type=float, default=None, help="seconds; stop cleanly after this")
    ap.add_argument("--skip-above-macs", type=float, default=None,
                    help="leave subnets above this many MACs to a later run (one that has the time they take)")
    ap.add_argument("--checkpoints", type=Path, default=Path("results/hybrid_cifar_truth_checkpoints"),
                    help="per-epoch training checkpoints (large, not committed; a stopped run resumes from them)")
    ap.add_argument("--report-only", action="store_true")
    args = ap.parse_args()
    if args.list_subnets:
        space = load_space("hybrid_cifar")
        print("\n".join(space.format(a) for a in spread_archs(space, args.subnets)))
        return
    args.out.mkdir(parents=True, exist_ok=True)
    args.checkpoints.mkdir(parents=True, exist_ok=True)
    if not args.report_only:
        train_all(args)
    if (args.out / "standalone.csv").is_file():
        print(report(args))


if __name__ == "__main__":
    main()
