"""Imagenette, the real test: a training-aware search of hybrid_imagenet at 64 px, its pick against timm.

1. The search (resumable) over hybrid_imagenet plus ResNet basic blocks (`resconv*`) in its conv stages:
   `val_accuracy` from short trainings on half of 90% of Imagenette's train/ (`--train-fraction`; scored on
   the held-out 10%; val/ is never read), successive halving at 1, 3 and 5 epochs through Optuna's pruner, the
   candidates screened by the training-free default on real training images, picked by the predictor
   strategy, under `--max-macs`, until `--epoch-budget` training epochs are spent.
2. The pick (the best `val_accuracy` among networks trained to the last rung) is trained from scratch with
   the baselines' recipe (`benchmarks.common.SHORT_RECIPE`) on all of train/, one run per seed, and scored
   on val/: the same recipe, seeds and data as `benchmarks.search.imagenette_baselines`.
3. `--report` writes the summary beside the baselines' (top-1 mean and std, MACs, params, CPU latency in
   torch and ONNX Runtime, the search's CPU and wall time).

Every stage continues where a stopped run left it: the search through its run folder (OUT/run_<budget>,
not committed: its study.db and screen are raw state; `--report` commits their summary as
OUT/trials_<budget>.csv), its trainings and the pick's through per-epoch checkpoints under `--work`.

    python -m benchmarks.search.imagenette_search --max-macs 130M --epoch-budget 40
    python -m benchmarks.search.imagenette_search --max-macs 130M --report
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import yaml

from benchmarks.common import SHORT_RECIPE, benchmark_parser, command_line, header, recipe_hash, train_resumable
from benchmarks.search.imagenette_baselines import cpu_latency_ms, imagenette_space, recipe_config
from hybridnas import load_space
from hybridnas.io import atomic_write_csv, atomic_write_text
from hybridnas.proxies.ensemble import DEFAULT_OBJECTIVE
from hybridnas.search import RunStore, load_search_config, run_search
from hybridnas.spaces.values import parse_quantity

OUT = Path("results/search/imagenette_search")


# Layouts per stage of the `resnet` variant: residual blocks with dense convolutions (what resnet14t owes its
# accuracy to) in every stage, beside the inverted residual early and the conv/attention hybrid late. Under 130M
# MACs a ResNet throughout is 10 of 1,988 draws of this variant (0 of 903 in the widened hybrid space).
RESNET_LAYOUTS = [["resconv*", "mbconv*"], ["resconv*", "mbconv*", "conv*"],
                  ["resconv*", "conv*", "conv* attention"], ["resconv*", "conv*", "conv* attention", "attention*"]]
# Widths and depths of the `resnet` variant: a 3x3 ResNet block costs over twice a MetaFormer block of the same
# width (18 C^2 against about 8 C^2 MACs per position at mlp_ratio 4), so ResNets under 130M MACs need half to all
# of ResNet-18's widths and few blocks per stage.
RESNET_WIDTHS = [[32, 48, 64], [64, 96, 128], [128, 192, 256], [256, 384, 512]]
RESNET_DEPTHS = [[1, 3], [1, 4], [1, 6], [1, 4]]
# The `bottleneck` variant: ResNet-D's parts, what resnet14t owes its accuracy to and the `resnet` variant lacks:
# bottleneck blocks with outputs up to 2,048 channels (4x the basic blocks' widths at a quarter of their 3x3
# cost), a three-conv stem ending in a max pool, and average-pool downsampling; ReLU as in ResNet. The last
# stage may end in an attention block (global mixing over its 2x2 map) instead.
BOTTLENECK_WIDTHS = [[64, 128, 256], [256, 384, 512], [512, 768, 1024], [1024, 1536, 2048]]
BOTTLENECK_DEPTHS = [[1, 3], [1, 3], [1, 4], [1, 2]]
BOTTLENECK_LAYOUTS = [["bottleneck*"], ["bottleneck*"], ["bottleneck*"], ["bottleneck*", "bottleneck* attention"]]
VARIANTS = ("hybrid", "resnet", "bottleneck")


def scaled_widths(widths: list[int], multiplier: float) -> list[int]:
    """`widths` times `multiplier`, rounded to multiples of 8 (at least 8), distinct and sorted."""
    return sorted({max(8, int(round(w * multiplier / 8)) * 8) for w in widths})


def search_space(size: int, path: Path, width_multiplier: float, variant: str = "hybrid") -> Path:
    """The searched space, written to `path`: hybrid_imagenet at `size` px with 10 classes, plus ResNet basic blocks
    (`resconv*`) as a layout of its three convolutional stages, so hand-designed ResNets are inside it. A width
    multiplier below 1 scales every width choice (to multiples of 8) for budgets that the shipped widths cannot
    reach. The `resnet` variant offers resconv* in every stage, keeps only the layouts of `RESNET_LAYOUTS`, takes
    its widths and depths from `RESNET_WIDTHS` and `RESNET_DEPTHS`, and stops kernels at 5 (a dense 7x7 block
    costs twice a 5x5)."""
    made = imagenette_space(size, path.parent)
    raw = yaml.safe_load(made.read_text())
    made.unlink()
    raw["description"] += "; resconv* added to stages 0-2"
    if width_multiplier != 1:
        raw["description"] += f"; widths x{width_multiplier:g}"
        for part in [raw["stem"], *raw["stages"]]:
            part["width"]["choices"] = scaled_widths(part["width"]["choices"], width_multiplier)
    for stage in raw["stages"][:3]:
        stage["layout"]["choices"].append("resconv*")
    if variant == "resnet":
        raw["description"] = raw["description"].replace("resconv* added to stages 0-2",
                                                        "resnet variant: resconv* in every stage")
        for stage, layouts, widths, depths in zip(raw["stages"], RESNET_LAYOUTS, RESNET_WIDTHS, RESNET_DEPTHS,
                                                  strict=True):
            stage["layout"]["choices"] = layouts
            stage["width"]["choices"] = scaled_widths(widths, width_multiplier)
            stage["depth"]["range"] = depths
            stage["kernel"]["choices"] = [k for k in stage["kernel"]["choices"] if k <= 5]
            if not any("attention" in layout for layout in layouts):
                stage.pop("heads", None)
    if variant == "bottleneck":
        raw = bottleneck_variant(raw, width_multiplier)
    atomic_write_text(path, yaml.safe_dump(raw, sort_keys=False))
    return path


def bottleneck_variant(raw: dict, width_multiplier: float = 1.0) -> dict:
    """hybrid_imagenet's raw space remade from ResNet-D's parts (`BOTTLENECK_*`, every width times
    `width_multiplier`); its input and head stay."""
    raw["description"] = raw["description"].split(";")[0] + "; bottleneck variant: ResNet-D's parts"
    if width_multiplier != 1:
        raw["description"] += f"; widths x{width_multiplier:g}"
    raw["stem"] = {"type": "conv", "width": {"choices": scaled_widths([24, 32, 48], width_multiplier)},
                   "strides": [2, 1, 1], "pool": "max"}
    raw["block"] = {**raw.get("block", {}), "act": "relu"}
    stages = []
    for i, (layouts, widths, depths) in enumerate(zip(BOTTLENECK_LAYOUTS, BOTTLENECK_WIDTHS, BOTTLENECK_DEPTHS,
                                                      strict=True)):
        stage = {"depth": {"range": depths}, "width": {"choices": scaled_widths(widths, width_multiplier)},
                 "kernel": {"choices": [3, 5]},
                 "layout": {"choices": layouts}, "downsample": {"type": "avgpool", "stride": 1 if i == 0 else 2}}
        if any("attention" in layout for layout in layouts):
            stage.update(heads={"choices": [8, 16]}, mlp_ratio={"choices": [1, 2]})
        stages.append(stage)
    raw["stages"] = stages
    return raw


def search_settings(args: argparse.Namespace, space: Path) -> dict:
    """The training-aware search config of this study."""
    return {"space": str(space), "objectives": "val_accuracy:max", "budget": {"max_macs": args.max_macs},
            "strategy": "predictor", "trials": args.trials, "batch_size": args.batch, "seed": 0,
            "data": args.data, "proxy_batch_size": 32, "workers": args.workers, "reference_size": 16,
            "epoch_budget": args.epoch_budget,
            "screen": {"candidates": args.candidates, "keep": args.keep,
                       "objective": args.screen_objective},
            "predictor": {"initial": 6, "explore": 0.1, "kappa": 1.0},
            "fidelity": {"kind": "train", "min_epochs": args.min_epochs, "work_dir": str(args.work / f"fidelity_{args.tag}"),
                         "reduction_factor": args.reduction_factor, "pruner": "successive_halving",
                         "recipe": {**{k: v for k, v in SHORT_RECIPE.items() if k != "optimizer"},
                                    "holdout": 0.1, "train_fraction": args.train_fraction}}}


def run_the_search(args: argparse.Namespace, space: Path) -> Path:
    """Run (or resume) the search; returns its run folder. Wall seconds accumulate in OUT/search_wall_s_<budget>.json."""
    run = args.out / f"run_{args.tag}"
    resumed = (run / "config.yaml").is_file()
    start = time.perf_counter()
    try:
        run_search(load_search_config(search_settings(args, space)), run, resume=resumed, progress=True)
    finally:  # a stopped or failed run's time counts too: the next one resumes it
        wall = args.out / f"search_wall_s_{args.tag}.json"
        before = json.loads(wall.read_text()) if wall.is_file() else 0.0
        atomic_write_text(wall, json.dumps(before + time.perf_counter() - start))
    return run


def the_pick(run: Path) -> pd.Series:
    """The network with the best validation accuracy among those trained to the last rung."""
    table = RunStore(run).table()
    done = table[table["status"] == "ok"]
    if done.empty:
        raise SystemExit(f"{run}: no network has finished its training yet; run the search longer")
    return done.loc[done["val_accuracy"].idxmax()]


def train_the_pick(args: argparse.Namespace, space_file: Path, run: Path) -> list[dict]:
    """The pick trained with the baselines' recipe, one run per seed."""
    return train_with_the_recipe(args, space_file, the_pick(run)["arch"], "pick")


def train_with_the_recipe(args: argparse.Namespace, space_file: Path, arch_text: str, role: str) -> list[dict]:
    """`arch_text` of the space trained with the baselines' recipe, one run per seed; each run's result is
    `runs/<role>_<tag>_seed<seed>.json`."""
    space = load_space(space_file)
    arch = space.parse(arch_text)
    results = []
    for seed in args.seeds:
        config = recipe_config(space_file, args.data, seed, args.device)
        record = args.out / "runs" / f"{role}_{args.tag}_seed{seed}.json"
        print(f"{role} seed {seed}", flush=True)
        results.append(train_resumable(lambda: space.build(arch), config,
                                       args.work / f"{role}_{args.tag}_seed{seed}", record, network=arch_text))
    return results


def recipe_row(args: argparse.Namespace, space, arch_text: str, role: str, label: str,
               latency: dict[str, float] | None = None) -> str | None:
    """The summary's row for `arch_text` trained with the recipe as `role` (None: no seed has finished);
    `latency` if measured already, else measured here. A seed's record of another network is left out."""
    seeds = sorted((args.out / "runs").glob(f"{role}_{args.tag}_seed*.json"))
    records = [json.loads(p.read_text()) for p in seeds]
    accs = [r["accuracy"] for r in records if r.get("network", arch_text) == arch_text]
    if not accs:
        return None
    arch = space.parse(arch_text)
    cost, latency = space.cost(arch), latency or cpu_latency_ms(space.build(arch), args.size)
    return (f"{label:<28} {cost.macs / 1e6:>7.1f}M {cost.params / 1e6:>7.2f}M {len(accs):>5} {np.mean(accs):>7.2f} "
            f"{np.std(accs, ddof=1) if len(accs) > 1 else float('nan'):>5.2f} {latency['torch_ms']:>9.2f} "
            f"{latency['onnxruntime_ms']:>7.2f}")


def report(args: argparse.Namespace, space_file: Path, run: Path) -> str:
    """The pick beside the baselines' summary."""
    space = load_space(space_file)
    row = the_pick(run)
    table = RunStore(run).table()
    trained_s = sum(f.get("train_seconds", 0) for f in table.get("fidelity", pd.Series(dtype=object)).dropna())
    epochs = sum(f.get("epochs", 0) for f in table.get("fidelity", pd.Series(dtype=object)).dropna())
    wall_file = args.out / f"search_wall_s_{args.tag}.json"
    wall = json.loads(wall_file.read_text()) if wall_file.is_file() else float("nan")
    saved = yaml.safe_load((run / "config.yaml").read_text())
    baselines = args.baselines / "summary.csv"
    frame = pd.read_csv(baselines) if baselines.is_file() else None
    pick_ms = cpu_latency_ms(space.build(space.parse(row["arch"])), args.size)
    best = frame.loc[frame["top1_mean"].idxmax(), "model"] if frame is not None else None
    same_run = same_run_latency(args, pick_ms, best) if best is not None else None
    lines = [header(args.device),
             f"space: {yaml.safe_load(space_file.read_text())['description']}; budget max_macs {args.max_macs}",
             f"search: {json.dumps(saved['fidelity'])}",
             f"  screened {saved['screen']['candidates']} networks by {saved['screen']['objective']} (kept "
             f"{saved['screen']['keep']}), {len(table)} journal rows, "
             f"{(table['status'] == 'ok').sum()} trained to the last rung, {(table['status'] == 'pruned').sum()} "
             f"pruned; {epochs} training epochs spent, {trained_s / 60:.0f} CPU-minutes training, wall "
             f"{wall / 3600:.2f} h over all resumes",
             f"pick: {row['arch']} (holdout val_accuracy {row['val_accuracy']:.2f}%)",
             f"recipe {recipe_hash(SHORT_RECIPE)} for the pick and the baselines: {json.dumps(SHORT_RECIPE)}",
             "",
             f"{'network':<28} {'MACs':>8} {'params':>8} {'seeds':>5} {'top-1':>7} {'std':>5} {'torch ms':>9} "
             f"{'ORT ms':>7}",
             recipe_row(args, space, row["arch"], "pick", "hybridnas pick", pick_ms)
             or "hybridnas pick: not trained yet"]
    if args.hand:
        lines.append(recipe_row(args, space, args.hand, "hand", "by hand in this space")
                     or "by hand in this space: not trained yet")
    if frame is not None:
        for b in frame.itertuples():
            lines.append(f"{b.model:<28} {b.macs_M:>7.1f}M {b.params_M:>7.2f}M {b.seeds:>5} {b.top1_mean:>7.2f} "
                         f"{b.top1_std:>5.2f} {b.torch_ms:>9.2f} {b.onnxruntime_ms:>7.2f}")
        lines += ["", same_run]
    lines += ["", "top-1: Imagenette val/ (3,925 images), mean and std over seeds; latency: batch 1, median of 30, "
              "this machine"]
    if args.hand:
        lines.append(f"by hand: {args.hand}, trained with the same recipe and seeds")
    lines.append(command_line())
    text = "\n".join(lines) + "\n"
    atomic_write_text(args.out / f"summary_{args.tag}.txt", text)
    columns = [c for c in ("trial", "arch", "status", "val_accuracy", "macs", "params") if c in table]
    trials = table[columns].assign(epochs=[f.get("epochs") if isinstance(f, dict) else None
                                           for f in table.get("fidelity", pd.Series([None] * len(table)))])
    atomic_write_csv(trials, args.out / f"trials_{args.tag}.csv")
    return text


def same_run_latency(args: argparse.Namespace, pick: dict[str, float], baseline: str) -> str:
    """The pick's latency (`pick`, just measured) against the best baseline's, measured now, right after it (the
    table's baseline latencies come from the baselines' own report, another run)."""
    import timm

    base = cpu_latency_ms(timm.create_model(baseline.removeprefix("timm "), num_classes=10), args.size)
    return (f"same run, pick / {baseline}: torch {pick['torch_ms']:.2f} / {base['torch_ms']:.2f} ms "
            f"(ratio {pick['torch_ms'] / base['torch_ms']:.2f}), ONNX Runtime {pick['onnxruntime_ms']:.2f} / "
            f"{base['onnxruntime_ms']:.2f} ms (ratio {pick['onnxruntime_ms'] / base['onnxruntime_ms']:.2f})")


def main() -> None:
    parser = benchmark_parser(__doc__, out=OUT, out_type=Path)
    parser.add_argument("--data", default="npz:/tmp/hybridnas_data/imagenette_64.npz")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--max-macs", default="130M")
    parser.add_argument("--epoch-budget", type=int, default=40, help="training epochs the search may spend")
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--batch", type=int, default=6, help="networks trained per batch (successive halving "
                                                             "decides within and across batches)")
    parser.add_argument("--candidates", type=int, default=512)
    parser.add_argument("--keep", type=float, default=0.25)
    parser.add_argument("--screen-objective", default=DEFAULT_OBJECTIVE,
                        help="the training-free objective that screens candidates (the 130M run used "
                             "ensemble:jacob_cov+meco+params, the default before the one chosen across spaces)")
    parser.add_argument("--width-multiplier", type=float, default=1.0,
                        help="scale the space's widths (0.5 for budgets below the shipped widths' smallest network)")
    parser.add_argument("--space-variant", choices=VARIANTS, default="hybrid",
                        help="hybrid: hybrid_imagenet plus resconv* in stages 0-2; resnet: resconv* in every stage "
                             "beside fewer hybrid layouts; bottleneck: ResNet-D's parts (bottleneck blocks, deep "
                             "stem, average-pool downsampling). Other than hybrid, files carry the variant as suffix")
    parser.add_argument("--min-epochs", type=int, default=1, help="successive halving's first rung")
    parser.add_argument("--reduction-factor", type=int, default=3)
    parser.add_argument("--baselines", type=Path, default=Path("results/search/imagenette_baselines"),
                        help="the baselines' folder whose summary.csv the report compares against")
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--train-fraction", type=float, default=0.5,
                        help="part of the search's training split each candidate trains on (the pick always "
                             "trains on all of train/)")
    parser.add_argument("--seeds", type=lambda s: [int(v) for v in s.split(",")], default=[0, 1, 2])
    parser.add_argument("--work", type=Path, default=Path("/tmp/hybridnas_work/imagenette_search"))
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--stage", choices=["search", "train", "all"], default="all")
    parser.add_argument("--report", action="store_true")
    parser.add_argument("--hand", default=None, metavar="ARCH",
                        help="also train this network of the space with the pick's recipe and seeds (what a user "
                             "would write by hand in it), after the pick; the report adds its row")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    parse_quantity(args.max_macs)
    args.tag = args.max_macs if args.space_variant == "hybrid" else f"{args.max_macs}-{args.space_variant}"
    args.out.mkdir(parents=True, exist_ok=True)
    args.work.mkdir(parents=True, exist_ok=True)
    run = args.out / f"run_{args.tag}"
    space = args.out / f"space_{args.tag}.yaml"
    if not space.is_file():
        space = search_space(args.size, space, args.width_multiplier, args.space_variant)
    if args.report:
        print(report(args, space, run))
        return
    if args.stage in ("search", "all"):
        run = run_the_search(args, space)
    if args.stage in ("train", "all"):
        train_the_pick(args, space, run)
        if args.hand:
            train_with_the_recipe(args, space, args.hand, "hand")


if __name__ == "__main__":
    main()
