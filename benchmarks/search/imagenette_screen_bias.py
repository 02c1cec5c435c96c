"""What did the screen throw away? Candidates a training-aware Imagenette search's screen rejected, trained
with the search's own fidelity, beside what the search trained.

A screened search trains only the candidates its training-free objective keeps. This takes the run's
`screened.csv` and trains, with the run's recipe, seed and held-out split (the `fidelity` of its config; fresh
checkpoints under `--work`, resumable):
- `rejected resnets`: every rejected candidate whose stages are all ResNet blocks (`resconv`), the design of
  the strongest baseline (resnet14t);
- `rejected, random`: `--controls` other rejected candidates drawn at random (seed 0), as the control.
Each is scored at the recipe's last epoch, beside the search's own networks that reached it, and beside the
strongest baseline, timm's `resnet14t` (`--reference`), trained the same way: whether the search's own
protocol would rank it above what the search found. `--hand ARCH` also trains a network of the space a user
would write by hand (group `by hand`; its screen rank if the screen drew it).

    python -m benchmarks.search.imagenette_screen_bias --run results/search/imagenette_search/run_130M-resnet
    python -m benchmarks.search.imagenette_screen_bias --run results/search/imagenette_search/run_43M-bottleneck \
        --controls 0 --reference '' --hand 'w16|w128:bottleneck-k3|w256:bottleneck-k3|w512:bottleneck-k3|w1024:bottleneck-k3'
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch
import yaml

from benchmarks.common import benchmark_parser, header, write_report
from hybridnas import load_space
from hybridnas.io import atomic_write_csv
from hybridnas.search import RunStore, load_search_config
from hybridnas.rng import seeded
from hybridnas.supernet.fidelity import TrainingFidelityEvaluator
from hybridnas.supernet.standalone import train_standalone

RUN = Path("results/search/imagenette_search/run_130M-resnet")


def resnet_throughout(arch: str) -> bool:
    """Whether every stage of an arch string is made of ResNet blocks."""
    return all(part.split(":", 1)[1].startswith("resconv") for part in arch.split("|")[1:])


def ranked(screened: pd.DataFrame) -> pd.DataFrame:
    """The screen's table with each candidate's rank by screen score (1: the best)."""
    return screened.assign(screen_rank=screened["screen_score"].rank(ascending=False).astype(int))


def chosen(screened: pd.DataFrame, controls: int) -> pd.DataFrame:
    """The rejected ResNets and `controls` random other rejected candidates of a `ranked` screen."""
    rejected = screened[~screened["kept"].astype(bool)]
    resnets = rejected[rejected["arch"].map(resnet_throughout)].assign(group="rejected resnets")
    others = rejected.drop(resnets.index)
    picks = np.random.default_rng(0).choice(len(others), size=min(controls, len(others)), replace=False)
    return pd.concat([resnets, others.iloc[np.sort(picks)].assign(group="rejected, random")], ignore_index=True)


def hand_rows(screened: pd.DataFrame, archs: list[str], space) -> pd.DataFrame:
    """Rows for networks written by hand: their rank in a `ranked` screen where it drew them (else -1), and MACs."""
    rows = []
    for arch in archs:
        drawn = screened[screened["arch"] == arch]
        rows.append({"arch": arch, "group": "by hand", "macs": space.cost(space.parse(arch)).macs,
                     "screen_rank": int(drawn["screen_rank"].iloc[0]) if len(drawn) else -1})
    return pd.DataFrame(rows)


def reference_accuracy(name: str, evaluator: TrainingFidelityEvaluator, work: Path) -> float:
    """The held-out accuracy of timm model `name` trained with the search's fidelity (resumable)."""
    import timm

    recipe = evaluator.config.recipe
    checkpoint = work / f"timm_{name}-{evaluator.digest}.pt"
    checkpoint.parent.mkdir(parents=True, exist_ok=True)
    with seeded(recipe.seed):
        model = timm.create_model(name, num_classes=10)
    print(f"reference: timm {name}", flush=True)
    result = train_standalone(model, evaluator.training, checkpoint=checkpoint, resume=checkpoint.is_file(),
                              curve=True, holdout=recipe.holdout, train_fraction=recipe.train_fraction,
                              stop_after=recipe.epochs)
    return float(result["accuracy"])


def main() -> None:
    parser = benchmark_parser(__doc__, out=None, out_type=Path)
    parser.add_argument("--run", type=Path, default=RUN)
    parser.add_argument("--controls", type=int, default=4)
    parser.add_argument("--reference", default="resnet14t", help="a timm model trained the same way ('' for none)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/hybridnas_work/imagenette_screen_bias"))
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--hand", action="append", default=[], metavar="ARCH",
                        help="also train this network of the space with the fidelity (repeatable)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    out = args.out or args.run.parent / f"screen_bias_{args.run.name.removeprefix('run_')}.txt"
    config = load_search_config(yaml.safe_load((args.run / "config.yaml").read_text()))
    space = load_space(config.space)
    fidelity = config.fidelity.model_copy(update={"work_dir": str(args.work / args.run.name)})
    evaluator = TrainingFidelityEvaluator(space, fidelity, config.data, config.device)
    screened = ranked(pd.read_csv(args.run / "screened.csv"))
    frame = pd.concat([chosen(screened, args.controls), hand_rows(screened, args.hand, space)], ignore_index=True)
    cache = args.work / f"{args.run.name}.csv"
    if cache.is_file():
        frame = frame.merge(pd.read_csv(cache)[["arch", "val_accuracy"]], on="arch", how="left")
    else:
        frame["val_accuracy"] = np.nan
    for i, row in frame.iterrows():
        if row["val_accuracy"] == row["val_accuracy"]:
            continue  # trained before a stop
        print(f"{row['group']}: {row['arch']}", flush=True)
        result = evaluator.evaluate_at(space.parse(row["arch"]), None)
        if result.errors:
            raise SystemExit(f"{row['arch']}: {result.errors}")
        frame.loc[i, "val_accuracy"] = result.metrics["val_accuracy"]
        atomic_write_csv(frame, cache)
    reference = reference_accuracy(args.reference, evaluator, args.work / args.run.name) if args.reference else None
    table = RunStore(args.run).table()
    trained = table[table["status"] == "ok"]["val_accuracy"]
    rejected = (frame["group"] != "by hand").sum()
    lines = [header(config.device), f"run: {args.run} (screen: {rejected} of its rejected candidates trained with "
             f"its fidelity: {fidelity.recipe.epochs} epochs, train fraction {fidelity.recipe.train_fraction}, "
             f"scored on the held-out {fidelity.recipe.holdout:.0%} of train/)", "",
             f"{'group':<18} {'screen rank':>11} {'MACs':>7} {'held-out top-1':>14}  arch"]
    for row in frame.itertuples():
        rank = "not drawn" if row.screen_rank < 0 else str(int(row.screen_rank))
        lines.append(f"{row.group:<18} {rank:>11} {row.macs / 1e6:>6.1f}M {row.val_accuracy:>14.2f}  {row.arch}")
    lines += ["", f"the search's own networks trained to the last rung ({len(trained)}): best {trained.max():.2f}, "
              f"median {trained.median():.2f}"]
    if reference is not None:
        lines.append(f"timm {args.reference}, trained with the same fidelity: {reference:.2f}")
    for group, part in frame.groupby("group"):
        lines.append(f"{group}: best {part['val_accuracy'].max():.2f}, median {part['val_accuracy'].median():.2f}")
    write_report(lines, out)


if __name__ == "__main__":
    main()
