"""Hand-designed baselines on Imagenette: small timm models near a MACs budget, one recipe, several seeds.

Each network is trained from scratch with `benchmarks.common.SHORT_RECIPE` (5 epochs, AdamW, warm-up then
cosine, label smoothing 0.1, pad-and-crop and flip) on Imagenette's train/ and scored on val/, at 64 px.
Runs go seed by seed over all models, so a stopped run has whole seeds first. Every epoch is checkpointed
under `--work`; a run that is started again continues where it stopped. `--report` writes the summary
(top-1 mean and std over seeds, MACs, params, and latency on this CPU in torch and ONNX Runtime).

    python -m benchmarks.search.imagenette_baselines --data npz:/tmp/hybridnas_data/imagenette_64.npz
    python -m benchmarks.search.imagenette_baselines --report

The packed file comes from `hybridnas data pack imagefolder:../shared/data/imagenette_128
/tmp/hybridnas_data/imagenette_64.npz --size 64` (`make bench-imagenette-data`).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
import timm
import torch
import yaml

from benchmarks.common import SHORT_RECIPE, benchmark_parser, command_line, header, recipe_hash, train_resumable
from benchmarks.search.imagenette_end_to_end import macs_of
from hybridnas.configfile import read_config
from hybridnas.io import atomic_write_text
from hybridnas.spaces.loader import SHIPPED_DIR
from hybridnas.supernet.config import SupernetConfig

# Near 130M MACs at 64 px: a ResNet, a RegNet, an EfficientNet (the largest under the budget), a ConvNeXt and
# a MobileViT (conv/attention hybrid).
MODELS = ("resnet14t", "regnety_016", "efficientnet_b3", "convnext_pico", "mobilevitv2_100")
OUT = Path("results/search/imagenette_baselines")


def imagenette_space(size: int, folder: Path) -> Path:
    """hybrid_imagenet at `size` px with 10 classes, written to `folder/space.yaml` (its input shape and
    normalisation are what the trainer reads)."""
    raw, _, _ = read_config("hybrid_imagenet", SHIPPED_DIR, "space")
    raw.update(name=f"imagenette{size}", num_classes=10, input={**raw["input"], "size": size},
               description=f"hybrid_imagenet at {size} px, 10 classes (Imagenette)")
    path = folder / "space.yaml"
    atomic_write_text(path, yaml.safe_dump(raw, sort_keys=False))
    return path


def recipe_config(space: Path, data: str, seed: int, device: str) -> SupernetConfig:
    """The study's one recipe as a training config."""
    return SupernetConfig(space=str(space), data=data, seed=seed, device=device, data_workers=0, **SHORT_RECIPE)


def train_all(args: argparse.Namespace) -> None:
    """Train every model with every seed (seed-major), resuming whatever an earlier run left."""
    space = imagenette_space(args.size, args.out)
    for seed in args.seeds:
        for name in args.models:
            config = recipe_config(space, args.data, seed, args.device)
            record = args.out / "runs" / f"{name}_seed{seed}.json"
            print(f"{name} seed {seed}", flush=True)
            result = train_resumable(lambda: timm.create_model(name, num_classes=10), config,
                                     args.work / f"{name}_seed{seed}", record)
            print(f"  top-1 {result['accuracy']:.2f}% in {result['seconds']:.0f} s", flush=True)


def cpu_latency_ms(model: torch.nn.Module, size: int, repeats: int = 30) -> dict[str, float]:
    """Median batch-1 latency on this CPU, in torch (eager) and ONNX Runtime, in ms."""
    import time

    import onnxruntime as ort

    model = model.eval()
    x = torch.randn(1, 3, size, size)
    with torch.no_grad():
        for _ in range(5):
            model(x)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            model(x)
            times.append(time.perf_counter() - start)
    out = {"torch_ms": float(np.median(times) * 1e3)}
    import io

    buffer = io.BytesIO()
    torch.onnx.export(model, (x,), buffer, input_names=["input"], dynamo=False, opset_version=17)
    options = ort.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    session = ort.InferenceSession(buffer.getvalue(), options, providers=["CPUExecutionProvider"])
    feed = {"input": x.numpy()}
    for _ in range(5):
        session.run(None, feed)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        session.run(None, feed)
        times.append(time.perf_counter() - start)
    out["onnxruntime_ms"] = float(np.median(times) * 1e3)
    return out


def report(args: argparse.Namespace) -> str:
    """The summary over whatever runs exist so far."""
    rows = []
    for name in args.models:
        accs = [json.loads(p.read_text())["accuracy"] for p in sorted((args.out / "runs").glob(f"{name}_seed*.json"))]
        model = timm.create_model(name, num_classes=10)
        latency = cpu_latency_ms(model, args.size) if args.latency else {"torch_ms": np.nan, "onnxruntime_ms": np.nan}
        rows.append({"model": f"timm {name}", "macs_M": macs_of(model, args.size) / 1e6,
                     "params_M": sum(p.numel() for p in model.parameters()) / 1e6, "seeds": len(accs),
                     "top1_mean": np.mean(accs) if accs else np.nan,
                     "top1_std": np.std(accs, ddof=1) if len(accs) > 1 else np.nan, **latency})
    frame = pd.DataFrame(rows)
    lines = [header(args.device),
             f"data: {args.data} (Imagenette train/ 9,469, val/ 3,925; 10 classes), {args.size} px",
             f"recipe {recipe_hash(SHORT_RECIPE)}: {json.dumps(SHORT_RECIPE)}, pad-4 crop and flip, from scratch",
             ("latency: batch 1, median of 30, torch eager and ONNX Runtime (CPU provider), this machine's threads; "
              "measure it with nothing else running" if args.latency else
              "latency: not measured in this report (--no-latency: other jobs were running)"),
             "", frame.to_string(index=False, float_format=lambda v: f"{v:.2f}"), "", command_line()]
    text = "\n".join(lines) + "\n"
    atomic_write_text(args.out / "summary.txt", text)
    frame.to_csv(args.out / "summary.csv", index=False)
    return text


def main() -> None:
    parser = benchmark_parser(__doc__, out=OUT, out_type=Path)
    parser.add_argument("--data", default="npz:/tmp/hybridnas_data/imagenette_64.npz")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--models", type=lambda s: s.split(","), default=list(MODELS))
    parser.add_argument("--seeds", type=lambda s: [int(v) for v in s.split(",")], default=[0, 1, 2])
    parser.add_argument("--work", type=Path, default=Path("/tmp/hybridnas_work/imagenette_baselines"),
                        help="checkpoints (large; not evidence)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--report", action="store_true", help="write the summary of the runs so far")
    parser.add_argument("--no-latency", dest="latency", action="store_false")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.report:
        print(report(args))
    else:
        train_all(args)


if __name__ == "__main__":
    main()
