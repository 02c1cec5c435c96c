"""What benchmark scripts share: the command line (`benchmark_parser`), the header line, the command footer, and
resumable seeded training."""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import shlex
import shutil
import sys
import time
from pathlib import Path
from typing import Any, Callable

import torch

from hybridnas.io import atomic_write_text

# One recipe for every network a study compares (hybrid, timm, random): AdamW, 1 warm-up epoch then cosine.
SHORT_RECIPE = {"epochs": 5, "batch_size": 64, "lr": 2e-3, "weight_decay": 0.05, "warmup_epochs": 1.0,
                "label_smoothing": 0.1, "optimizer": "adamw"}


REQUIRED = object()  # `benchmark_parser(out=REQUIRED)`: the script needs --out


def benchmark_parser(description: str | None = None, *, out: Any = REQUIRED, out_type: Callable[[str], Any] = str,
                     out_help: str | None = None, **kwargs: Any) -> argparse.ArgumentParser:
    """A benchmark's argument parser, with its `--out` declared once here.

    Args:
        description: the script's description; of a docstring, the first line.
        out: where results go by default; REQUIRED (the default) makes --out required, None leaves it optional.
        out_type: what --out becomes (str or Path).
        out_help: what --out holds, for --help.
        kwargs: passed to argparse.ArgumentParser.
    """
    if description:
        description = description.strip().splitlines()[0]
    parser = argparse.ArgumentParser(description=description, **kwargs)
    options: dict[str, Any] = {"type": out_type, "help": out_help or "where the results go"}
    if out is REQUIRED:
        options["required"] = True
    else:
        options["default"] = out
    parser.add_argument("--out", **options)
    return parser


def header(device: str = "cpu") -> str:
    """`# <date>, torch <v>, timm <v>, <n> CPUs (<t> torch threads), device <d>`."""
    import timm

    return (f"# {datetime.date.today()}, torch {torch.__version__}, timm {timm.__version__}, {os.cpu_count()} CPUs "
            f"({torch.get_num_threads()} torch threads), device {device}")


def command_line() -> str:
    """The command that ran this script, as a user would type it from the repository root."""
    module = sys.modules["__main__"].__spec__
    runner = f"python -m {module.name}" if module is not None else f"python {sys.argv[0]}"
    return f"command: {runner} {shlex.join(sys.argv[1:])}".rstrip()


def write_report(lines: list[str], out: str | Path) -> str:
    """`lines` and the command line that ran this script, written atomically to `out`, printed; returns the text."""
    text = "\n".join([*lines, command_line()]) + "\n"
    atomic_write_text(out, text)
    print(text)
    return text


def recipe_hash(recipe: dict[str, Any]) -> str:
    """A short stable hash of a recipe dict (sorted JSON)."""
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:12]


def train_resumable(build: Callable[[], torch.nn.Module], config: Any, work: Path, record: Path,
                    network: str | None = None) -> dict[str, Any]:
    """Train the network `build()` makes under `config` (a SupernetConfig), resumably; return its result.

    The result is read from `record` when an earlier run finished; otherwise training continues from
    `work/checkpoint.pt` (written after every epoch) and the result is written to `record` atomically.
    The initial weights come from `config.seed` (the model is built under it). `network` names what is
    trained (an architecture's text) and is kept in the record and beside the checkpoint: a record or
    checkpoint of another network at the same path (a search that changed its pick) is discarded, not reused.
    """
    from hybridnas.rng import seeded
    from hybridnas.supernet.standalone import train_standalone

    if record.is_file():
        result = json.loads(record.read_text())
        if network is None or result.get("network", network) == network:
            return result
        record.unlink()
    named = work / "network.txt"
    if network is not None and named.is_file() and named.read_text() != network:
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    if network is not None:
        atomic_write_text(named, network)
    checkpoint = work / "checkpoint.pt"
    with seeded(config.seed):
        model = build()
    start = time.perf_counter()
    result = train_standalone(model, config, checkpoint=checkpoint, resume=checkpoint.is_file(), curve=True)
    result = {**result, "wall_s_this_process": round(time.perf_counter() - start, 1),
              "threads": torch.get_num_threads(), **({"network": network} if network is not None else {})}
    atomic_write_text(record, json.dumps(result, indent=1))
    return result


def read_results_csv(path: str | Path, **kwargs: Any) -> "pd.DataFrame":
    """A CSV under results/: `path` as a fresh run writes it, else its committed gzip copy (`path`.gz)."""
    import pandas as pd

    path = Path(path)
    packed = path.with_name(path.name + ".gz")
    return pd.read_csv(path if path.is_file() or not packed.is_file() else packed, **kwargs)
