"""Imagenette end to end: search hybrid_imagenet on the images, train the winner, export it, beside a timm baseline.

1. The space: hybrid_imagenet with its input size set to `--size` and 10 classes (what
   `hybridnas space show hybrid_imagenet --input-size S --num-classes 10` prints), written to OUT/space.yaml.
2. The search: the default objective (`DEFAULT_OBJECTIVE`) computed on batches of Imagenette training
   images, under `--max-macs`, `--trials` networks; the winner is the feasible network it ranks first.
3. The baseline: of a few small timm models (no pretrained weights), the one whose MACs at this input size
   are closest to the winner's.
4. Both are trained from scratch with one recipe (`train_standalone`: AdamW, warm-up and cosine, timm's
   RandomResizedCrop and flip, label smoothing 0.1) for `--epochs`, and scored on `val/` (3,925 images).
5. The winner is exported with its trained weights (model.py, safetensors and model.onnx, the latter checked
   in ONNX Runtime against the torch model).
6. With `--controls`, two more networks of the same search's feasible set are trained with the same recipe:
   the pick of the default without its size term (`CONTROL_OBJECTIVE`, ranked over the search's feasible
   networks), and a network drawn at random from the space under the same MACs cap (seed 0; the search's
   own networks are not a random sample: evolution gathers them around its best).

Writes OUT/summary.txt (and the run folder, weights and export under OUT). Every stage is skipped when its
output exists, so an interrupted run continues.

    python -m benchmarks.search.imagenette_end_to_end --out results/imagenette_e2e
"""

from __future__ import annotations

import datetime
import json
import os
import time
from pathlib import Path

import numpy as np
import timm
import torch
import yaml
from safetensors.torch import load_file, save_file
from torch.utils.flop_counter import FlopCounterMode

from hybridnas import load_space
from hybridnas.configfile import read_config
from hybridnas.export import export_arch
from hybridnas.proxies.ensemble import DEFAULT_OBJECTIVE, parse_ensemble
from hybridnas.rng import seeded
from hybridnas.search import load_search_config, run_search
from hybridnas.search.pareto import evaluated
from hybridnas.spaces.loader import SHIPPED_DIR
from hybridnas.spaces.values import parse_quantity
from hybridnas.supernet.config import SupernetConfig
from hybridnas.supernet.standalone import train_standalone
from benchmarks.common import benchmark_parser

CONTROL_OBJECTIVE = "ensemble:jacob_cov+meco"
BASELINES = ("resnet10t", "resnet14t", "mobilenetv3_small_100", "mobilenetv3_large_100", "regnetx_002",
             "regnetx_004", "efficientnet_b0", "convnext_atto", "ghostnet_100", "lcnet_100")


def macs_of(model: torch.nn.Module, size: int) -> float:
    """Multiply-accumulates of one 3xSxS image (torch's FLOP counter, FLOPs / 2)."""
    with FlopCounterMode(display=False) as counter:
        model.eval()(torch.zeros(1, 3, size, size))
    return counter.get_total_flops() / 2


def closest_baseline(macs: float, size: int) -> tuple[str, float]:
    """The timm model in BASELINES whose MACs at `size` are closest to `macs` (in ratio)."""
    import math

    found = {name: macs_of(timm.create_model(name, num_classes=10), size) for name in BASELINES}
    name = min(found, key=lambda n: abs(math.log(found[n] / macs)))
    return name, found[name]


def random_under(space, max_macs: str, seed: int = 0):
    """The first network a seeded sampler draws within `max_macs`."""
    rng = np.random.default_rng(seed)
    while True:
        arch = space.sample(rng)
        if space.cost(arch).macs <= parse_quantity(max_macs):
            return arch


def train_once(model: torch.nn.Module, config: SupernetConfig, folder: Path) -> dict:
    """Train `model` (or read the result an earlier run saved in `folder`)."""
    record = folder / "train.json"
    if record.is_file():
        model.load_state_dict(load_file(folder / "model.safetensors"))
        return json.loads(record.read_text())
    result = train_standalone(model, config, progress=False)
    folder.mkdir(parents=True, exist_ok=True)
    save_file({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}, folder / "model.safetensors")
    record.write_text(json.dumps(result, indent=1))
    return result


def main() -> None:
    parser = benchmark_parser(__doc__)
    parser.add_argument("--folder", default="../shared/data/imagenette_128")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--max-macs", default="60M")
    parser.add_argument("--trials", type=int, default=24)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--workers", type=int, default=0, help="Ray workers of the search (0: in this process)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--controls", action="store_true", help="also train the two control picks (step 6)")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    data = f"imagefolder:{args.folder}"

    raw, _, _ = read_config("hybrid_imagenet", SHIPPED_DIR, "space")
    raw.update(name=f"imagenette{args.size}", num_classes=10, input={**raw["input"], "size": args.size})
    space_file = out / "space.yaml"
    space_file.write_text(yaml.safe_dump(raw, sort_keys=False))
    space = load_space(space_file)

    start = time.perf_counter()
    search_config = load_search_config({"space": str(space_file), "objectives": f"{DEFAULT_OBJECTIVE}:max",
                                        "budget": {"max_macs": args.max_macs}, "trials": args.trials,
                                        "batch_size": 8, "data": data, "proxy_batch_size": 32,
                                        "workers": args.workers, "device": args.device, "reference_size": 16,
                                        "strategy": "evolution", "population_size": 8, "tournament_size": 4})
    run = out / "search"
    resumed = (run / "config.yaml").is_file()
    result = run_search(search_config, run, resume=resumed, progress=False)
    timing = out / "search_seconds.json"  # the first run's time; a resumed run only reads its journal
    if not (resumed and timing.is_file()):
        timing.write_text(json.dumps(time.perf_counter() - start))
    search_seconds = json.loads(timing.read_text())
    table = evaluated(run)
    best = table.sort_values(DEFAULT_OBJECTIVE, ascending=False).iloc[0]
    arch = space.parse(best["arch"])
    cost = space.cost(arch)

    recipe = SupernetConfig(space=str(space_file), data=data, epochs=args.epochs, batch_size=64, lr=2e-3,
                            weight_decay=0.05, warmup_epochs=1, label_smoothing=0.1, device=args.device)
    with seeded(recipe.seed):  # every model's initial weights come from the recipe's seed
        winner = space.build(arch)
    winner_result = train_once(winner, recipe, out / "winner")
    baseline_name, baseline_macs = closest_baseline(cost.macs, args.size)
    with seeded(recipe.seed):
        baseline = timm.create_model(baseline_name, num_classes=10)
    baseline_params = sum(p.numel() for p in baseline.parameters())
    baseline_result = train_once(baseline, recipe, out / f"baseline_{baseline_name}")

    controls = []
    if args.controls:
        ranked = parse_ensemble(CONTROL_OBJECTIVE).score(table)
        picks = {f"pick of {CONTROL_OBJECTIVE}": table.loc[ranked.idxmax(), "arch"],
                 "random network under the cap (seed 0)": space.format(random_under(space, args.max_macs))}
        for label, text in picks.items():
            control = space.parse(text)
            folder = out / ("control_" + control.id)
            with seeded(recipe.seed):
                model = space.build(control)
            controls.append((label, space.cost(control), train_once(model, recipe, folder), space.format(control)))

    export_dir = out / "export"
    export_arch(space, arch, export_dir, weights=winner.state_dict(), scores={DEFAULT_OBJECTIVE: best[DEFAULT_OBJECTIVE]},
                provenance={"benchmark": "imagenette_end_to_end", "trained_epochs": args.epochs},
                force=True, onnx=True)

    lines = [
        f"# {datetime.date.today()}, torch {torch.__version__}, timm {timm.__version__}, {os.cpu_count()} CPUs, "
        f"device {args.device}",
        f"data: {data} (train/ 9,469 images, val/ 3,925; 10 classes), input {args.size} px",
        f"space: hybrid_imagenet at {args.size} px, 10 classes ({space_file})",
        f"search: {DEFAULT_OBJECTIVE}:max on Imagenette training batches of 32, max_macs {args.max_macs}, evolution, "
        f"{args.trials} trials, {result.evaluated} networks evaluated ({len(table)} feasible), {search_seconds:.0f} s",
        f"winner: {space.format(arch)}",
        f"recipe (every network): AdamW lr 2e-3, weight decay 0.05, 1 warm-up epoch then cosine, batch 64, label smoothing "
        f"0.1, timm train transform, {args.epochs} epochs, from scratch",
        "",
        f"{'network':<34} {'MACs':>8} {'params':>8} {'val top-1':>10} {'train s':>8}",
        f"{'hybridnas winner':<34} {cost.macs / 1e6:>7.1f}M {cost.params / 1e6:>7.2f}M "
        f"{winner_result['accuracy']:>9.2f}% {winner_result['seconds']:>8.0f}",
        f"{'timm ' + baseline_name:<34} {baseline_macs / 1e6:>7.1f}M {baseline_params / 1e6:>7.2f}M "
        f"{baseline_result['accuracy']:>9.2f}% {baseline_result['seconds']:>8.0f}",
        *[f"{label:<34} {c.macs / 1e6:>7.1f}M {c.params / 1e6:>7.2f}M {r['accuracy']:>9.2f}% {r['seconds']:>8.0f}"
          for label, c, r, _ in controls],
        *[f"  {label}: {text}" for label, _, _, text in controls],
        "",
        f"export: {export_dir} (model.py, model.safetensors, model.onnx checked in ONNX Runtime, card.yaml)",
        f"command: python -m benchmarks.search.imagenette_end_to_end --out {args.out} --size {args.size} "
        f"--max-macs {args.max_macs} --trials {args.trials} --epochs {args.epochs}"
        + (" --controls" if args.controls else ""),
    ]
    (out / "summary.txt").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
