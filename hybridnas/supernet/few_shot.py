"""Few-shot supernets (Zhao et al., ICML 2021): split a trained one-shot supernet on one gene into
sub-supernets, one per value the gene takes, each starting from the parent's weights and trained only on
the networks that have its value; a network is then scored by the sub-supernet that holds it.

On disk a split is a folder of sub-supernet folders, `<gene>=<value>/checkpoint.pt`, each an ordinary
checkpoint whose config names the parent (`init_from`) and the value (`sampler_options.fixed_genes`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..errors import HybridNASError
from ..spaces import Arch, Space
from .config import SupernetConfig
from .elastic import Supernet
from .evaluate import SubnetScorer
from .samplers import has_genes
from .train import CHECKPOINT, TrainResult, load_checkpoint, load_supernet, train_supernet

VALUE_DRAWS = 2000  # networks drawn to list the values a gene takes


def gene_values(space: Space, gene: str, seed: int = 0) -> list[Any]:
    """The values `gene` takes over `VALUE_DRAWS` sampled networks, in order of first appearance."""
    rng = np.random.default_rng(seed)
    seen: dict[Any, None] = {}
    try:
        for _ in range(VALUE_DRAWS):
            seen.setdefault(space.sample(rng).gene(gene))
    except KeyError as exc:
        raise HybridNASError(f"few-shot split: {exc.args[0]}") from None
    if len(seen) < 2:
        raise HybridNASError(f"few-shot split: gene {gene!r} of space {space.name!r} takes one value only "
                             f"({list(seen)}); split on a gene that varies")
    return list(seen)


def train_few_shot(parent: str | Path, gene: str, out: str | Path, epochs: int, *, resume: bool = False,
                   progress: bool = True) -> list[TrainResult]:
    """Train one sub-supernet per value of `gene` into `out/<gene>=<value>/`, each from `parent`'s weights with
    the parent's recipe (uniform sampling inside its share; a fresh optimizer and schedule of `epochs`).

    With `resume`, finished sub-supernets are kept and an interrupted one continues.
    """
    state = load_checkpoint(parent)
    parent_config = SupernetConfig.model_validate(state["config"])
    net, _ = load_supernet(parent)
    out = Path(out)
    results = []
    for value in gene_values(net.space, gene, parent_config.seed):
        config = parent_config.model_copy(update={
            "epochs": epochs, "sampler": "uniform", "init_from": str(Path(parent).resolve()),
            "sampler_options": {"fixed_genes": {gene: value}}})
        folder = out / f"{gene}={value}"
        done = (folder / CHECKPOINT).is_file()
        results.append(train_supernet(config, folder, resume=resume and done, progress=progress))
    return results


class FewShotScorer:
    """Inherited-weight accuracy from few-shot sub-supernets: each network is scored by the one sub-supernet
    whose `sampler_options.fixed_genes` it has.

    Args:
        checkpoints: the sub-supernets' checkpoints, one space, together holding every network once.
    """

    def __init__(self, checkpoints: list[str | Path], test_limit: int | None = None, device: str | None = None,
                 **overrides: Any) -> None:
        self.parts: list[tuple[dict[str, Any], SubnetScorer]] = []
        for path in checkpoints:
            supernet, config = _load(path, overrides)
            fixed = config.sampler_options.get("fixed_genes")
            if not fixed:
                raise HybridNASError(f"{path}: not a few-shot sub-supernet (its sampler_options name no fixed_genes)")
            if self.parts and supernet.space.name != self.space.name:
                raise HybridNASError(f"{path}: a supernet of space {supernet.space.name!r}, the first checkpoint's is "
                                     f"{self.space.name!r}")
            self.parts.append((dict(fixed), SubnetScorer(supernet, config, test_limit, device)))

    @property
    def space(self) -> Space:
        return self.parts[0][1].space

    def scorer_for(self, arch: Arch) -> SubnetScorer:
        """The scorer of the sub-supernet that holds `arch`; HybridNASError unless exactly one does."""
        matches = [scorer for fixed, scorer in self.parts if has_genes(arch, fixed)]
        if len(matches) != 1:
            raise HybridNASError(f"{len(matches)} of the {len(self.parts)} sub-supernets hold {arch.space} network "
                                 f"{arch.genes!r:.200} (their fixed genes: {[fixed for fixed, _ in self.parts]}); "
                                 "pass sub-supernets that hold every network once")
        return matches[0]

    def __call__(self, arch: Arch) -> float:
        return self.scorer_for(arch)(arch)


SCORING_OVERRIDES = ("calibration_batches", "data")


def _load(path: str | Path, overrides: dict[str, Any]) -> tuple[Supernet, SupernetConfig]:
    supernet, config = load_supernet(path)
    unknown = set(overrides) - set(SCORING_OVERRIDES)
    if unknown:
        raise HybridNASError(f"scoring overrides {sorted(unknown)}: allowed {list(SCORING_OVERRIDES)}")
    update = {key: value for key, value in overrides.items() if value is not None}
    return supernet, SupernetConfig.model_validate({**config.model_dump(), **update}) if update else config


def load_scorer(path: str | Path, test_limit: int | None = None, device: str | None = None,
                **overrides: Any) -> SubnetScorer | FewShotScorer:
    """A scorer for a checkpoint (or a folder holding `checkpoint.pt`), or for a few-shot split's folder.

    Args:
        device: where subnets are scored (None: where the supernet trained, when this process can use it).
        overrides: `calibration_batches` (BatchNorm recalibration batches per subnet) and `data` (the images
            that recalibrate and test, e.g. a larger test split than training had); None keeps the training's.
    """
    path = Path(path)
    parts = sorted(path.glob(f"*/{CHECKPOINT}")) if path.is_dir() and not (path / CHECKPOINT).is_file() else []
    if parts:
        return FewShotScorer(parts, test_limit, device, **overrides)
    return SubnetScorer(*_load(path, overrides), test_limit=test_limit, device=device)
