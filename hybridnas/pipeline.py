"""`hybridnas run PIPELINE.yaml`: search -> (supernet re-ranking) -> scaling -> latency table -> export.

Each stage writes into its own folder under the output and is recorded in `pipeline.json` when it
finishes, so `--resume` skips finished stages and continues an interrupted one (search and scaling
resume mid-stage; the latency build resumes per chunk of layers).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Mapping

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from .configfile import local_path, read_config, validate_config
from .errors import HybridNASError
from .export import export_arch
from .io import atomic_write_csv, atomic_write_text
from .latency import LatencyTable, build_table
from .latency.config import LatencyBuildConfig
from .scaling import scale, scaled_space, write_family
from .scaling.config import GrowthOptions
from .scaling.grow import target_measure
from .search import load_search_config, run_search
from .search.pareto import front as run_front
from .spaces import load_space
from .spaces.loader import SHIPPED_DIR
from .supernet import SubnetScorer, load_supernet, load_supernet_config, train_supernet
from .io import exclusive_lock
from .timing import PhaseClock

PIPELINE_DIR = SHIPPED_DIR.parent / "pipeline"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SearchStage(_Strict):
    """The pipeline's search: a search config (file or shipped name) and field overrides."""

    config: str = "quickstart"
    overrides: dict[str, Any] = {}


class SupernetStage(_Strict):
    """Optional: train a supernet and re-rank the front's best `top_k` rows by inherited accuracy."""

    enabled: bool = False
    config: str = "hybrid_cifar"  # a supernet config file or shipped name; its space must be the search's
    overrides: dict[str, Any] = {}
    top_k: int = Field(8, gt=0, description="front rows re-ranked by inherited accuracy")
    test_limit: int | None = Field(None, gt=0)


class ScaleStage(GrowthOptions):
    """Grow the front's row `pick` (1-based) into a family; the growth options are `hybridnas scale`'s."""

    enabled: bool = True
    pick: int = Field(1, gt=0)


class LatencyStage(LatencyBuildConfig):
    """Measure (or extend) a latency table and attach each exported member's predicted latency; the timing
    options are `hybridnas latency build`'s."""

    enabled: bool = True
    table: str | None = None  # an existing table to use and extend; default OUT/latency/table.json


class PipelineConfig(_Strict):
    """A `hybridnas run` config: the stages in order, then export (and optionally ONNX)."""

    name: str = Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$",
                      description="letters, digits, '_', '.', '-' (it names a folder: no path separators)")
    search: SearchStage = SearchStage()
    supernet: SupernetStage = SupernetStage()
    scale: ScaleStage = ScaleStage()
    latency: LatencyStage = LatencyStage()
    export: bool = True
    onnx: bool = False  # also write model.onnx for the seed and every family member (checked in ONNX Runtime)


def load_pipeline_config(source: str | Path | Mapping[str, Any]) -> PipelineConfig:
    """Read a pipeline YAML (a path, a shipped name such as 'cifar_demo', or a dict)."""
    raw, where, path = read_config(source, PIPELINE_DIR, "pipeline config")
    search = raw.get("search")
    if isinstance(search, dict) and "config" in search:
        search["config"] = local_path(search["config"], path)
    return validate_config(PipelineConfig, raw, where, "pipeline config")


class _State:
    """pipeline.json: the config and each finished stage's outputs, written atomically. Paths inside the
    pipeline's folder are stored relative to it (others absolute), so a run resumes from any working folder
    and survives being moved."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.path = out / "pipeline.json"
        self.data: dict[str, Any] = json.loads(self.path.read_text()) if self.path.is_file() else {"stages": {}}

    def done(self, stage: str) -> dict[str, Any] | None:
        return self.data["stages"].get(stage)

    def stored(self, path: Path) -> str:
        """`path` as pipeline.json keeps it: relative to the pipeline's folder when inside it, else absolute."""
        path, root = Path(path).resolve(), self.out.resolve()
        return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)

    def located(self, stored: str) -> Path:
        """A path pipeline.json keeps, on this machine (relative ones are under the pipeline's folder)."""
        return Path(stored) if Path(stored).is_absolute() else self.out / stored

    def finish(self, stage: str, outputs: dict[str, Any]) -> None:
        outputs = {k: self.stored(v) if isinstance(v, Path) else v for k, v in outputs.items()}
        self.data["stages"][stage] = outputs
        atomic_write_text(self.path, json.dumps(self.data, indent=1, default=str))


def run_pipeline(config: PipelineConfig, out: str | Path, *, resume: bool = False, progress: bool = True,
                 echo: Callable[[str], None] = print, clock: PhaseClock | None = None) -> dict[str, Any]:
    """Run every enabled stage (skipping those a resumed run finished); returns the summary.

    Args:
        clock: counts each stage's seconds (for the command's 'time:' line).
    """
    with exclusive_lock(out, "pipeline run"):
        return _run_pipeline_locked(config, out, resume=resume, progress=progress, echo=echo,
                                    clock=clock or PhaseClock())


def _run_pipeline_locked(config: PipelineConfig, out: str | Path, *, resume: bool = False, progress: bool = True,
                         echo: Callable[[str], None] = print, clock: PhaseClock) -> dict[str, Any]:
    """The body of `run_pipeline`, under its lock."""
    out = Path(out)
    state = _State(out)
    if state.path.is_file() and not resume:
        raise HybridNASError(f"{out} already holds a pipeline run; pass --resume to continue it, or another --out")
    out.mkdir(parents=True, exist_ok=True)
    state.data["config"] = config.model_dump(mode="json")
    search_config = load_search_config(config.search.config, config.search.overrides)
    space = load_space(search_config.space)

    if not state.done("search"):
        echo("== search ==")
        run_dir = out / "search"
        with clock.phase("search"):
            result = run_search(search_config, run_dir, resume=(run_dir / "config.yaml").is_file(), progress=progress)
        state.finish("search", {"run": Path(result.run), "evaluated": result.evaluated})
    run = state.located(state.done("search")["run"])
    front = run_front(run).rows

    if config.scale.pick > len(front):
        raise HybridNASError(f"scale.pick = {config.scale.pick}, but the search's front has {len(front)} rows")
    seed_arch = front.iloc[config.scale.pick - 1]["arch"]
    scorer = None
    if config.supernet.enabled:
        with clock.phase("supernet"):
            scorer, seed_arch = _supernet_stage(config, space, front, out, state, progress, echo)
    family = None
    if config.scale.enabled:
        echo(f"== scale {seed_arch} to {config.scale.targets} ==")
        with clock.phase("scale"):
            growth_table = (LatencyTable.load(config.latency.table) if config.latency.table
                             and target_measure(config.scale.targets) == "latency_ms" else None)
            family = scale(space, seed_arch, config.scale.targets, rule=config.scale.rule, data=config.scale.data,
                           seed=config.scale.seed, batch_size=config.scale.batch_size, out=out / "scale", resume=True,
                           progress=progress, device=config.scale.device, latency_table=growth_table)
        state.finish("scale", {"path": out / "scale" / "path.csv"})

    tables = []
    if config.latency.enabled:
        table_path = Path(config.latency.table or out / "latency" / "table.json")
        if not state.done("latency"):
            echo(f"== latency table {table_path} ==")
            grown = scaled_space(space)
            archs = [grown.parse(seed_arch)] + ([grown.parse(a) for a in family.members["arch"]] if family else [])
            with clock.phase("latency table"):
                build_table(space, table_path, **config.latency.build_options(), archs=archs,
                            progress=progress)
            state.finish("latency", {"table": table_path})
        tables = [LatencyTable.load(table_path)]

    summary: dict[str, Any] = {"search_run": str(run), "seed_arch": seed_arch, "front_size": len(front)}
    if config.supernet.enabled:
        summary["supernet_rerank"] = str(state.located(state.done("supernet")["rerank"]))
    if config.export:
        echo("== export ==")
        with clock.phase("export"):
            summary.update(_export(space, seed_arch, family, out / "family", tables, config, scorer))
        state.finish("export", {"family": out / "family"})
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=1, default=str))
    return summary


def _supernet_stage(config: PipelineConfig, space, front: pd.DataFrame, out: Path, state: _State, progress: bool,
                    echo) -> tuple[Any, str]:
    """Train (or resume) the supernet, re-rank the front's first `top_k` rows by inherited accuracy."""
    folder = out / "supernet"
    supernet_config = load_supernet_config(config.supernet.config, config.supernet.overrides)
    if load_space_name(supernet_config.space) != space.name:
        raise HybridNASError(f"supernet.config trains space {supernet_config.space!r}; the search is over {space.name!r}")
    if not state.done("supernet"):
        echo(f"== supernet ({supernet_config.sampler}, {supernet_config.epochs} epochs) ==")
        resume = (folder / "checkpoint.pt").is_file()
        train_supernet(supernet_config, folder, resume=resume, progress=progress)
        net, trained = load_supernet(folder / "checkpoint.pt")
        scorer = SubnetScorer(net, trained, config.supernet.test_limit)
        ranked = front.head(config.supernet.top_k).copy()
        ranked["supernet_accuracy"] = [scorer(space.parse(a)) for a in ranked["arch"]]
        ranked = ranked.sort_values("supernet_accuracy", ascending=False)
        atomic_write_csv(ranked, folder / "rerank.csv")
        state.finish("supernet", {"checkpoint": folder / "checkpoint.pt", "rerank": folder / "rerank.csv"})
    else:
        net, trained = load_supernet(folder / "checkpoint.pt")
        scorer = SubnetScorer(net, trained, config.supernet.test_limit)
    ranked = pd.read_csv(folder / "rerank.csv", dtype={"arch": str})
    return scorer, str(ranked.iloc[0]["arch"])


def load_space_name(source: str) -> str:
    """The name of the space a file or shipped name declares."""
    return load_space(source).name


def _export(space, seed_arch: str, family, folder: Path, tables: list, config: PipelineConfig,
            scorer: Any = None) -> dict[str, Any]:
    grown = scaled_space(space)
    seed = grown.parse(seed_arch)
    export_arch(grown if scorer is None else space, seed, folder / "members" / "seed", latency_tables=tables,
                provenance={"pipeline": config.name, "role": "search winner (seed of the family)"}, supernet=scorer,
                force=True, onnx=config.onnx)  # the pipeline owns this folder; a resumed run rewrites it
    out: dict[str, Any] = {"seed_export": str(folder / "members" / "seed")}
    if family is not None:
        files = write_family(space, family, folder, latency_tables=tables, rule=config.scale.rule, seed_arch=seed_arch,
                             onnx=config.onnx)
        table = pd.read_csv(files["family.csv"])
        out.update({"family_csv": str(files["family.csv"]), "growth_plot": str(files["growth.png"]),
                    "family": table.to_dict("records")})
    return out
