"""Export an architecture: model.py, model.safetensors (when weights are given), card.yaml, latency.csv."""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Mapping, Sequence

import pandas as pd
import torch
import yaml

from ..data.sources import normalisation
from ..io import (FolderNotOwnedError, atomic_write_csv, atomic_write_text, check_replaceable, current_umask,
                  protected_folder_reason)
from ..latency import load_latency
from ..models import onnx as onnx_models
from ..proxies import list_proxies
from ..proxies.ensemble import is_ensemble
from ..rng import seeded
from ..search.pareto import front as run_front
from ..search.store import RunStore
from ..spaces import Arch, Space, load_space
from .codegen import ExportError, identifier, model_source
from ..io import exclusive_lock


# Everything an export folder may hold: what `_write_export` writes, and the cache Python leaves on `import model`.
EXPORT_FILES = frozenset({"model.py", "card.yaml", "latency.csv", "model.safetensors", "model.onnx", "__pycache__"})


@dataclass
class Exported:
    """Paths of what an export wrote."""

    out: Path
    model_name: str
    files: dict[str, Path]


def default_model_name(space: Space, arch: Arch) -> str:
    """`hybridnas_<space>_<arch id>`, e.g. hybridnas_hybrid_cifar_3fa2b1c0d9e8."""
    return f"hybridnas_{identifier(space.name, 'space name')}_{arch.id}"


def _versions() -> dict[str, str]:
    out = {}
    for package in ("hybridnas", "torch", "timm"):
        try:
            out[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            out[package] = "unknown"
    return out


def _sha256(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


def check_weights(space: Space, arch: Arch, state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """`state` on the CPU if it is a state dict of `arch` (every key, no other, every shape); else ExportError."""
    with torch.device("meta"):  # shapes only: nothing allocated, no draw from the caller's generator
        reference = space.build(arch).state_dict()
    missing = sorted(set(reference) - set(state))
    extra = sorted(set(state) - set(reference))
    wrong = sorted(k for k in set(reference) & set(state) if tuple(reference[k].shape) != tuple(state[k].shape))
    if missing or extra or wrong:
        raise ExportError(f"weights do not fit {space.format(arch)}: missing {missing[:5]}, unexpected {extra[:5]}, "
                          f"wrong shape {wrong[:5]}")
    return {k: v.detach().to("cpu").contiguous() for k, v in state.items()}


def load_weights(path: str | Path) -> dict[str, torch.Tensor]:
    """A state dict from a .safetensors file or a torch checkpoint (`state_dict` or `model` key, or the dict)."""
    path = Path(path)
    if not path.is_file():
        raise ExportError(f"weights file {path} does not exist")
    if path.suffix == ".safetensors":
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            return load_file(str(path))
        except SafetensorError as exc:
            raise ExportError(f"weights file {path} is not a readable safetensors file ({exc})") from None
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)  # tensors and plain data only, never code
    except Exception as exc:  # torch raises many types for files that are not checkpoints
        raise ExportError(f"weights file {path} is neither .safetensors nor a torch checkpoint of plain tensors "
                          f"({type(exc).__name__}: {str(exc).splitlines()[0][:200]})") from None
    for key in ("state_dict", "model"):
        if isinstance(data, dict) and isinstance(data.get(key), dict):
            data = data[key]
    if not isinstance(data, dict) or not all(isinstance(v, torch.Tensor) for v in data.values()):
        raise ExportError(f"{path}: expected a state dict (names to tensors), found {type(data).__name__}"
                          + (" with non-tensor values" if isinstance(data, dict) else ""))
    return data


def latency_breakdown(space: Space, arch: Arch, tables: Sequence[Any]) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Per-layer latencies for each table (rows tagged with the table), and the predicted totals for the card.

    A layer a table has not timed (e.g. one grown by auto-scaling) is predicted by the table's layer
    predictor and marked `predicted` in the `source` column; the card counts such layers.
    """
    frames, totals = [], {}
    for table in tables:
        pred = table.breakdown(space, arch, unseen="predict")
        c = table.conditions
        tag = {"table": str(table.path), "device": c.device, "device_name": c.device_name, "threads": c.threads,
               "batch": c.batch, "dtype": c.dtype}
        untimed = int((pred.layers["source"] == "predicted").sum())
        fitted = bool((pred.layers["source"] == "model").any())  # a network-level model, not a timed table
        total = {"node": "TOTAL (fitted model)" if fitted else "TOTAL (calibrated)", "kind": "", "in_shape": "",
                 "inputs": "", "ms": pred.total_ms, "source": "model" if fitted else "predicted" if untimed
                 else "measured"}
        tag.update({"backend": c.backend, "optimization": c.optimization, "statistic": c.statistic})
        frames.append(pd.concat([pred.layers, pd.DataFrame([total])], ignore_index=True).assign(**tag))
        totals[str(table.path)] = {**{k: v for k, v in tag.items() if k != "table"},
                                   "predicted_ms": round(pred.total_ms, 4),
                                   "layers_timed": len(pred.layers) - untimed, "layers_predicted": untimed}
    columns = ["table", "device", "device_name", "threads", "batch", "dtype", "backend", "optimization", "statistic",
               "node", "kind", "in_shape", "inputs", "ms", "source"]
    frame = pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)
    return frame, totals


def export_arch(space: Space, arch: Arch, out: str | Path, *, weights: Mapping[str, torch.Tensor] | None = None,
                latency_tables: Sequence[Any] = (), scores: Mapping[str, float] | None = None,
                supernet_accuracy: float | None = None, provenance: Mapping[str, Any] | None = None,
                model_name: str | None = None, supernet: Any = None, force: bool = False,
                onnx: bool = False) -> Exported:
    """Write a standalone export of `arch` into a fresh folder `out`, atomically.

    With `onnx`, also model.onnx (opset `models.onnx.OPSET`, symbolic batch), checked against the torch
    model in ONNX Runtime before the export is accepted; an operator ONNX cannot express is an error that
    names the layer and mixer using it.

    Everything is written into a temporary folder beside `out`, which then takes its place: a reader sees
    the old folder or the whole new one, never a mix. An existing non-empty `out` is refused unless
    `force`, which replaces it whole (no stale model.safetensors from an earlier export survives).

    `supernet` (a `supernet.SubnetScorer`) supplies inherited weights (BatchNorm recalibrated) and the
    subnet's inherited test accuracy for the card.
    """
    _check_out(Path(out), force)  # a protected --out (".", "..", home) is refused before any lock file is made
    with exclusive_lock(out, "export", beside=True):
        return _export_arch_locked(space, arch, out, weights=weights, latency_tables=latency_tables, scores=scores,
                                   supernet_accuracy=supernet_accuracy, provenance=provenance, model_name=model_name,
                                   supernet=supernet, force=force, onnx=onnx)


def _export_arch_locked(space: Space, arch: Arch, out: str | Path, *, weights: Mapping[str, torch.Tensor] | None = None,
                latency_tables: Sequence[Any] = (), scores: Mapping[str, float] | None = None,
                supernet_accuracy: float | None = None, provenance: Mapping[str, Any] | None = None,
                model_name: str | None = None, supernet: Any = None, force: bool = False,
                onnx: bool = False) -> Exported:
    """The body of `export_arch`, under its lock."""
    arch = space.validate(arch)
    if supernet is not None:
        if supernet.supernet.space.name != space.name:
            raise ExportError(f"the supernet is of space {supernet.supernet.space.name!r}, not {space.name!r}")
        model = supernet.materialize(arch)
        weights = {name: tensor.cpu() for name, tensor in model.state_dict().items()}
        supernet_accuracy = supernet.accuracy(model)
    final = Path(out)
    _check_out(final, force)
    name = identifier(model_name, "model name") if model_name is not None else default_model_name(space, arch)
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}.", suffix=".tmp"))
    try:
        os.chmod(staging, 0o777 & ~current_umask())  # mkdtemp makes 0700 folders; give the usual permissions
        exported = _write_export(space, arch, staging, name, weights, latency_tables, scores, supernet_accuracy,
                                 provenance, onnx)
        _swap_in(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return Exported(final, name, {k: final / p.name for k, p in exported.items()})


def _check_out(final: Path, force: bool) -> None:
    """Refuse an `--out` that is a file, protected, or non-empty (with `force`: not an export this tool wrote)."""
    if final.exists() and not final.is_dir():
        raise ExportError(f"--out {final} is a file; give a folder")
    reason = protected_folder_reason(final)
    if reason is not None:
        raise ExportError(f"--out {final} {reason}; an export goes into a folder of its own. Give a new folder")
    if final.is_dir() and any(final.iterdir()):
        if not force:
            raise ExportError(f"--out {final} is not empty; choose a new folder, or pass --force to replace it")
        try:
            check_replaceable(final, marker="card.yaml", written=EXPORT_FILES, what="an export")
        except FolderNotOwnedError as err:
            raise ExportError(f"--out {err}") from None


def _swap_in(staging: Path, final: Path) -> None:
    """Put the finished folder `staging` where `final` is, replacing it whole."""
    if final.is_dir():
        old = final.with_name(f".{final.name}.old-{os.getpid()}")
        final.rename(old)
        staging.rename(final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        staging.rename(final)


def _write_onnx(space: Space, arch: Arch, model: torch.nn.Module, path: Path, weights: str) -> dict[str, Any]:
    """Export `model` (`arch` of `space`, in eval mode) to `path`; return its card entry (`weights` says which)."""
    graph = onnx_models.network_to_onnx(model, space.input_shape, plan=space.plan(arch))
    check = onnx_models.check_against_torch(graph, model, space.input_shape)
    onnx_models.save(graph, path)
    return {"file": path.name, "sha256": _sha256(path), "opset": onnx_models.OPSET,
            "exporter": f"torch.onnx.export(dynamo=True), torch {torch.__version__}",
            "input": {"name": "input", "shape": ["batch", *space.input_shape]},
            "output": {"name": "logits", "shape": ["batch", space.num_classes]}, "dynamic_batch": True,
            "weights": weights, "check": check}


def _write_export(space: Space, arch: Arch, out: Path, name: str, weights, latency_tables, scores,
                  supernet_accuracy, provenance, onnx: bool = False) -> dict[str, Path]:
    """Write model.py, card.yaml, latency.csv (and model.safetensors with weights, model.onnx) into `out`."""
    cost = space.cost(arch)
    files = {"model.py": out / "model.py", "card.yaml": out / "card.yaml", "latency.csv": out / "latency.csv"}
    atomic_write_text(files["model.py"], model_source(space, arch, name, {"macs": cost.macs, "params": cost.params}))
    initialised = onnx and weights is None
    if onnx:
        with seeded(0):
            model = space.build(arch).eval()
        if initialised:  # model.onnx holds the seeded initialisation: model.safetensors gives PyTorch the same weights
            weights = model.state_dict()
    if weights is not None:
        from safetensors.torch import save_file

        weights = check_weights(space, arch, weights)
        files["model.safetensors"] = out / "model.safetensors"
        save_file(weights, str(files["model.safetensors"]), metadata={"arch": space.format(arch)})
    onnx_card = None
    if onnx:
        if not initialised:
            model.load_state_dict(weights)
        files["model.onnx"] = out / "model.onnx"
        onnx_card = _write_onnx(space, arch, model, files["model.onnx"], "as model.safetensors"
                                + (": the seeded initialisation (no weights given)" if initialised else ""))
    frame, totals = latency_breakdown(space, arch, latency_tables)
    atomic_write_csv(frame, files["latency.csv"])
    c, h, w = space.input_shape
    mean, std = normalisation(c, space.input_normalisation)
    norm = {"mean": list(mean), "std": list(std), "scale": "pixels / 255, then (x - mean) / std",
            "source": ("declared by the space" if space.input_normalisation
                       else "default (hybridnas.data.normalisation)")}
    card = {
        "name": name,
        "space": {"name": space.name, "file": space.source, "sha256": _sha256(Path(space.source))},
        "arch": {"string": space.format(arch), "id": arch.id, "json": json.loads(arch.to_json())},
        "macs": cost.macs,
        "params": cost.params,
        "input": {"shape": [c, h, w], "num_classes": space.num_classes, "normalisation": norm},
        "proxy_scores": {k: float(v) for k, v in (scores or {}).items()},
        "supernet_accuracy": supernet_accuracy,
        "latency": totals,
        "weights": {"file": "model.safetensors", "sha256": _sha256(files["model.safetensors"]),
                    "trained": not initialised} if weights is not None else None,
        "onnx": onnx_card,
        "provenance": {**(provenance or {}), "versions": _versions(),
                       "exported": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")},
        "usage": {"python": "import model; net = model.load_model()" if weights is not None
                  else "import model; net = model.build_model()",
                  "timm": f'import model, timm; net = timm.create_model("{name}", '
                          f'pretrained={weights is not None and not initialised})'},
    }
    atomic_write_text(files["card.yaml"], yaml.safe_dump(card, sort_keys=False, width=120))
    return files


def export_from_run(run: str | Path, rank: int, out: str | Path, *, weights: Mapping[str, torch.Tensor] | None = None,
                    latency_tables: Sequence[Any] = (), model_name: str | None = None, supernet: Any = None,
                    force: bool = False, onnx: bool = False) -> Exported:
    """Export the `rank`-th architecture (1 = best) of a run's Pareto front, as `hybridnas pareto RUN` lists it."""
    store = RunStore(run)
    if not store.exists():
        raise ExportError(f"{run} holds no search run (no config.yaml)")
    config = store.read_config()
    taken = run_front(store)
    objectives, front = taken.objectives, taken.rows
    if not 1 <= rank <= len(front):
        raise ExportError(f"--rank {rank}: the Pareto front of {run} has {len(front)} architecture(s); use 1.."
                          f"{len(front)} (see `hybridnas pareto {run}`)")
    row = front.iloc[rank - 1]
    space = load_space(store.space_source(config["space"]))  # the space as the run searched it
    arch = space.parse(row["arch"])
    tables = list(latency_tables)
    table_path = (config.get("budget") or {}).get("latency_table")
    if table_path and all(str(t.path) != str(table_path) for t in tables):
        tables.insert(0, load_latency(table_path))
    proxies = set(list_proxies()) - {"macs", "params"}  # costs are on the card already
    scores = {k: row[k] for k in row.index if (k in proxies or is_ensemble(k)) and row[k] == row[k]}
    provenance = {"run": str(Path(run).resolve()), "trial": int(row["trial"]), "rank": rank,
                  "objectives": [f"{o.name}:{o.direction}" for o in objectives], "search_config": config}
    known = row.get("supernet_accuracy")
    return export_arch(space, arch, out, weights=weights, latency_tables=tables, scores=scores,
                       provenance=provenance, model_name=model_name, supernet=supernet, force=force, onnx=onnx,
                       supernet_accuracy=float(known) if known is not None and known == known else None)
