"""Search configuration (YAML, validated like spaces): space, objectives, budgets, strategy, workers."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Mapping

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator
from typing_extensions import Annotated

from ..devices import DEVICE_PATTERN
from ..errors import HybridNASError
from ..evaluation.fidelity import METRIC as FIDELITY_METRIC, FidelityConfig
from ..configfile import local_path, read_config, validate_config
from ..spaces.loader import SHIPPED_DIR
from ..spaces.values import parse_quantity
from .strategies import STRATEGIES
from .strategy_catalog import DEFAULT_STRATEGY
from .predictor_sampler import PredictorConfig  # the module registers the 'predictor' and 'screened' strategies

SEARCH_DIR = SHIPPED_DIR.parent / "search"
# A budget: a positive finite quantity (0 or less would turn the budget off, or make every network infeasible)
Quantity = Annotated[float, BeforeValidator(parse_quantity), Field(gt=0)]


class SearchConfigError(HybridNASError, ValueError):
    """A search configuration is invalid; the message names the file and key path."""


class Objective(BaseModel):
    """A metric to optimise: a proxy, an ensemble, 'macs', 'params', 'activations' or 'latency_ms'; max or min."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(description="a proxy, ensemble:a+b, macs, params, activations, latency_ms, "
                                   "supernet_accuracy, predictor:FILE or val_accuracy")
    direction: Literal["max", "min"]

    @classmethod
    def parse(cls, text: str) -> "Objective":
        """'naswot:max' -> Objective('naswot', 'max')."""
        name, sep, direction = text.rpartition(":")
        if not sep or direction not in ("max", "min"):
            raise SearchConfigError(f"objective {text!r}: write NAME:max or NAME:min, e.g. naswot:max,macs:min")
        return cls(name=name, direction=direction)


def _objectives(raw: Any) -> Any:
    if isinstance(raw, str):
        return [Objective.parse(t.strip()) for t in raw.split(",") if t.strip()]
    if not isinstance(raw, (list, tuple)):
        raise ValueError(f"write objectives as 'NAME:max,NAME:min' or a list of them, got {raw!r}")
    return [Objective.parse(o) if isinstance(o, str) else o for o in raw]


class Budget(BaseModel):
    """Hard limits a feasible network meets; a `max_latency_ms` needs a `latency_table` to predict latency."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    max_macs: Quantity | None = Field(None, description="multiply-accumulates, e.g. 100M")
    max_params: Quantity | None = Field(None, description="learnable parameters, e.g. 2M")
    max_latency_ms: float | None = Field(None, gt=0, le=1e9, allow_inf_nan=False,
                                         description="predicted by `latency_table` (hybridnas latency build or fit)")
    latency_table: str | None = Field(None, description="a latency table (hybridnas latency build) or a latency model "
                                                        "fitted on measured networks (hybridnas latency fit); also "
                                                        "gives the latency_ms metric")


class ScreenConfig(BaseModel):
    """Proxy-warmed candidates: score `candidates` networks within the budget with a training-free
    `objective`, and let only the best `keep` fraction reach the training fidelity."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    # 4000 and 0.05 (the best 200) were chosen on NAS-Bench-201 CIFAR-100 (docs/evidence/search.md): a larger
    # screen found better networks at every training budget; lower them where proxies are slow
    candidates: int = Field(4000, ge=2, le=100_000)
    keep: float = Field(0.05, gt=0, le=1, allow_inf_nan=False)
    objective: str = Field("ensemble:naswot+synflow+macs", description="a training-free metric to maximise")


class SearchConfig(BaseModel):
    """Everything a search run needs; CLI flags override these fields."""

    model_config = ConfigDict(extra="forbid")
    space: str = Field(description="a shipped space name or a YAML file")
    objectives: Annotated[list[Objective], BeforeValidator(_objectives)] = Field(
        min_length=1, description="'NAME:max,NAME:min' or a list of {name, direction}")
    budget: Budget = Budget()
    strategy: str = Field(DEFAULT_STRATEGY, description="nsga2, tpe, random, evolution, exhaustive, screened, "
                                                        "predictor, or a registered one")
    trials: int = Field(200, gt=0, le=10_000_000)
    batch_size: int = Field(8, gt=0, le=100_000, description="architectures asked and evaluated together")
    seed: int = Field(0, ge=0, lt=2**32, description="numpy and Optuna take seeds below 2**32")
    data: str = Field("gaussian", description="gaussian, cifar10:DIR, cifar100:DIR, npz:FILE or imagefolder:DIR")
    proxy_batch_size: int = Field(64, gt=1, le=4096, description="images per proxy batch")
    workers: int = Field(2, ge=0, le=4096, description="Ray actors; 0 evaluates in this process")
    device: str = Field("cpu", pattern=DEVICE_PATTERN, description="where proxies run: cpu, cuda or cuda:N")
    gpus_per_worker: float = Field(0.0, ge=0, le=1024, allow_inf_nan=False, description="GPUs each Ray worker owns (a fraction shares one)")
    ray_address: str | None = Field(None, description="join this Ray cluster instead of starting a local one")
    ray_dashboard: bool = Field(False, description="start Ray's dashboard with a local cluster")
    storage: str | None = Field(None, description="an Optuna storage URL; default sqlite:///RUN/study.db; "
                                                  "'memory': not resumable")
    scores_table: str | None = Field(None, description="CSV of precomputed proxy scores (arch + metric columns) "
                                                       "looked up instead of computed")
    supernet: str | None = Field(None, description="a trained supernet checkpoint (or few-shot split folder), for "
                                                   "supernet_accuracy")
    supernet_test_limit: int | None = Field(None, gt=0, description="test images per supernet evaluation")
    reference_size: int = Field(32, ge=4, le=100_000, description="archs scored once to normalise ensemble objectives")
    population_size: int = Field(32, gt=1, le=1_000_000, description="nsga2 and evolution")
    tournament_size: int = Field(8, gt=1, le=1_000_000, description="evolution")
    fidelity: FidelityConfig | None = Field(None, description="a training fidelity for the val_accuracy objective")
    epoch_budget: int | None = Field(None, gt=0, le=10**9, description="stop once the trainings have spent this "
                                     "many epochs (checked between batches; with `fidelity`)")
    screen: ScreenConfig | None = Field(None, description="proxy-warmed candidates for strategy screened/predictor")
    predictor: PredictorConfig = PredictorConfig()

    @model_validator(mode="after")
    def _fidelity_fits(self) -> "SearchConfig":
        uses = any(o.name == FIDELITY_METRIC for o in self.objectives)
        if self.fidelity is not None and not uses:
            raise ValueError(f"a fidelity gives the {FIDELITY_METRIC} objective; add '{FIDELITY_METRIC}:max' to "
                             "objectives or remove `fidelity`")
        if (uses and self.fidelity is not None and self.fidelity.kind == "train" and self.fidelity.pruner != "none"
                and len(self.objectives) > 1):
            raise ValueError("successive halving reports one objective to Optuna's pruner: use objectives "
                             f"['{FIDELITY_METRIC}:max'] with the budget as the constraint, or fidelity.pruner: none")
        if self.epoch_budget is not None and self.fidelity is None:
            raise ValueError("epoch_budget caps the epochs a training fidelity spends, and this search trains "
                             "nothing: add `fidelity:` (with the val_accuracy objective) or remove epoch_budget")
        if self.screen is not None and self.strategy not in ("screened", "predictor"):
            raise ValueError(f"screen picks the candidates of strategy 'screened' or 'predictor', not "
                             f"{self.strategy!r}")
        if self.strategy == "screened" and self.screen is None:
            raise ValueError("strategy 'screened' trains the best networks of a screen: add `screen:` "
                             "(candidates, keep, objective)")
        return self

    @field_validator("strategy")
    @classmethod
    def _strategy_registered(cls, value: str) -> str:
        if value not in STRATEGIES:
            raise ValueError(f"unknown strategy {value!r}; registered: {', '.join(map(repr, STRATEGIES.list()))}")
        return value

    @model_validator(mode="after")
    def _gpus_fit_the_device(self) -> "SearchConfig":
        on_gpu = self.device != "cpu"
        if self.gpus_per_worker and not on_gpu:
            raise ValueError("gpus_per_worker gives Ray workers GPUs for device 'cuda'; set device: cuda "
                             "(--device cuda) or leave gpus_per_worker at 0")
        if on_gpu and self.workers and not self.gpus_per_worker:
            raise ValueError("with device 'cuda' and Ray workers, each worker needs a GPU share: set gpus_per_worker "
                             "(--gpus-per-worker 1, or 0.5 for two workers per GPU), or workers: 0 to score in "
                             "this process")
        if self.gpus_per_worker > 1 and not float(self.gpus_per_worker).is_integer():
            raise ValueError(f"gpus_per_worker {self.gpus_per_worker}: a fraction up to 1, or a whole number")
        if self.device.startswith("cuda:") and self.workers:
            raise ValueError(f"device {self.device!r}: Ray gives each worker its GPUs, so name 'cuda' (or use "
                             "workers: 0 to choose the GPU yourself)")
        return self

    @field_validator("space")
    @classmethod
    def _space_exists(cls, value: str) -> str:
        path = Path(value)
        if not path.exists() and not (SHIPPED_DIR / f"{value}.yaml").exists():
            raise ValueError(f"no space file or shipped space named {value!r}")
        return value


def latency_cost_axis(config: SearchConfig) -> SearchConfig:
    """`config` with its `macs:min` objective traded for `latency_ms:min` when it has a latency budget and no
    latency objective: under a latency budget the front's cost axis is latency (the budget's own unit)."""
    names = [o.name for o in config.objectives]
    if config.budget.max_latency_ms is None or "latency_ms" in names or "macs" not in names:
        return config
    objectives = [Objective(name="latency_ms", direction="min") if o.name == "macs" and o.direction == "min" else o
                  for o in config.objectives]
    return config.model_copy(update={"objectives": objectives})


def load_search_config(source: str | Path | Mapping[str, Any], overrides: Mapping[str, Any] | None = None) -> SearchConfig:
    """Read a search YAML (a path, a shipped name such as 'quickstart', or a dict) and apply overrides."""
    raw, where, path = read_config(source, SEARCH_DIR, "search config", SearchConfigError)
    if "space" in raw:
        raw["space"] = local_path(raw["space"], path)
    for key, value in (overrides or {}).items():
        if value is None:
            continue
        if key in Budget.model_fields:
            raw["budget"] = {**raw.get("budget", {}), key: value}
        else:
            raw[key] = value
    return validate_config(SearchConfig, raw, where, "search config", SearchConfigError)
