"""Macro spaces of stages (`type: stages`): MnasNet/EfficientNet-style MBConv stages, or ResNet-style stages of
pre-activation basic blocks, each stage choosing its block count, kernel, expansion, squeeze-excite, stride
and width change; trailing stages may be optional.

Architecture strings give one token per stage, joined by '|', naming only what the space lets vary, in the
order e (expansion), k (kernel), l (blocks), x (widen), s (stride), then 'se' when squeeze-excite is on; an
absent optional stage is '-'. Accel-NASBench's `e6k3l1|e4k5l2se|...` is such a string.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from ..errors import ArchError
from ..ir import layers as L
from ..ir.plan import LayerPlan
from .arch import Arch
from .base import Space, register_space_type
from .stages_schema import StageChoices, StagesConfig

DIMS = ("expansion", "kernel", "depth", "widen", "stride", "se")
LETTERS = {"expansion": "e", "kernel": "k", "depth": "l", "widen": "x", "stride": "s"}
_TOKEN = re.compile(r"^(?:e(?P<expansion>\d+(?:\.\d+)?))?(?:k(?P<kernel>\d+))?(?:l(?P<depth>\d+))?"
                    r"(?:x(?P<widen>\d+))?(?:s(?P<stride>\d+))?(?P<se>se)?$")
ABSENT = "-"


def _values(stage: StageChoices, dim: str) -> tuple:
    return getattr(stage, dim).values


def _number(text: str) -> int | float:
    value = float(text)
    return int(value) if value.is_integer() else value


@register_space_type("stages")
class StagesSpace(Space):
    """A space of stages; genes are `{"stages": [{dim: value, ...} or {"depth": 0} for an absent stage]}`."""

    type_name = "stages"
    config_model = StagesConfig

    def __init__(self, config: StagesConfig, source: str) -> None:
        super().__init__(config, source)
        self.stages = config.stages
        self.mbconv = config.block.type == "mbconv"

    # ---- genes ---------------------------------------------------------------------------------------
    def _dims(self) -> tuple[str, ...]:
        return DIMS if self.mbconv else ("kernel", "depth", "widen", "stride")

    def _canonical(self, genes: Any) -> dict:
        try:
            stages = list(genes["stages"])
        except (KeyError, TypeError):
            raise ArchError(f"space {self.name!r}: genes need key 'stages' (one dict per stage), "
                            f"got {genes!r:.200}") from None
        if len(stages) != len(self.stages):
            raise ArchError(f"space {self.name!r}: expected {len(self.stages)} stages, got {len(stages)}")
        out, absent_from = [], None
        for i, (rules, stage) in enumerate(zip(self.stages, stages)):
            if not isinstance(stage, dict):
                raise ArchError(f"space {self.name!r}: stage {i} must be a mapping, got {stage!r:.100}")
            if stage.get("depth") == 0:
                if not rules.optional:
                    raise ArchError(f"space {self.name!r}: stage {i} is required; only optional stages may be absent")
                absent_from = i if absent_from is None else absent_from
                out.append({"depth": 0})
                continue
            if absent_from is not None:
                raise ArchError(f"space {self.name!r}: stage {i} follows absent stage {absent_from}; optional "
                                "stages are left out from the end")
            kept = {}
            for dim in self._dims():
                value = stage.get(dim, _values(rules, dim)[0] if len(_values(rules, dim)) == 1 else None)
                if value not in _values(rules, dim) or isinstance(value, bool) != (dim == "se"):
                    raise ArchError(f"space {self.name!r}: stage {i} {dim} {value!r} is not one of "
                                    f"{list(_values(rules, dim))}")
                kept[dim] = value
            out.append(kept)
        return {"stages": out}

    def _sample_stage(self, rules: StageChoices, rng: np.random.Generator) -> dict:
        return {dim: getattr(rules, dim).sample(rng) for dim in self._dims()}

    def _sample_genes(self, rng: np.random.Generator) -> dict:
        stages, present = [], True
        for rules in self.stages:
            if rules.optional and present:
                present = bool(rng.integers(2))
            stages.append(self._sample_stage(rules, rng) if present or not rules.optional else {"depth": 0})
        return {"stages": stages}

    # ---- strings -------------------------------------------------------------------------------------
    def parse_genes(self, text: str) -> dict:
        tokens = text.split("|")
        if len(tokens) != len(self.stages):
            raise ArchError(f"space {self.name!r}: {text[:200]!r} has {len(tokens)} stages separated by '|'; the "
                            f"space has {len(self.stages)}, e.g. {self.format(self.sample(0))!r}")
        stages = []
        for i, (rules, token) in enumerate(zip(self.stages, tokens)):
            if token == ABSENT:
                stages.append({"depth": 0})
                continue
            match = _TOKEN.match(token)
            if match is None:
                raise ArchError(f"space {self.name!r}: stage {i} {token[:80]!r} is not a stage token such as "
                                f"{self._token(rules, self._sample_stage(rules, np.random.default_rng(0)))!r}")
            stage: dict = {dim: _number(match.group(dim)) for dim in LETTERS if match.group(dim) is not None}
            if match.group("se") is not None:
                stage["se"] = True
            elif len(_values(rules, "se")) > 1:
                stage["se"] = False
            for dim in self._dims():  # a fixed dimension is not written: it takes its one value
                if dim not in stage and len(_values(rules, dim)) == 1:
                    stage[dim] = _values(rules, dim)[0]
            stages.append(stage)
        return {"stages": stages}

    def _token(self, rules: StageChoices, stage: dict) -> str:
        if stage["depth"] == 0:
            return ABSENT
        text = "".join(f"{LETTERS[d]}{stage[d]}" for d in LETTERS if d in stage and len(_values(rules, d)) > 1)
        return text + ("se" if stage.get("se") and len(_values(rules, "se")) > 1 else "")

    def format(self, arch: Arch) -> str:
        return "|".join(self._token(rules, stage) for rules, stage in zip(self.stages, arch.genes["stages"]))

    # ---- the network ---------------------------------------------------------------------------------
    def plan(self, arch: Arch) -> LayerPlan:
        plan = LayerPlan(self.input_shape)
        channels = self.input_shape[0]
        for j, stem in enumerate(self.config.stem):
            plan.add(f"stem{j}", L.interned(L.ConvNormAct, channels, stem.width, stem.kernel, stem.stride, 1, False,
                                            "batchnorm", stem.act, stem.preact))
            channels = stem.width
        for i, (rules, stage) in enumerate(zip(self.stages, arch.genes["stages"])):
            if stage["depth"] == 0:
                continue
            cout = rules.width if rules.width is not None else channels * stage["widen"]
            for b in range(stage["depth"]):
                cin, stride = (channels, stage["stride"]) if b == 0 else (cout, 1)
                plan.add(f"s{i}_b{b}", self._block(cin, cout, stage, stride))
            channels = cout
        plan.add("head", self._head(channels))
        return plan

    def _block(self, cin: int, cout: int, stage: dict, stride: int) -> L.LayerSpec:
        block = self.config.block
        if self.mbconv:
            se = block.se_ratio if stage["se"] else 0.0
            return L.interned(L.MBConv, cin, cout, stage["kernel"], stage["expansion"], stride, block.act, se)
        return L.interned(L.PreactBasicBlock, cin, cout, stage["kernel"], stride, block.act)

    def _head(self, channels: int) -> L.LayerSpec:
        head = self.config.head
        return L.interned(L.ClassifierHead, channels, self.num_classes, "none", "none", head.conv, 0, head.act, 0.0)

    def layer_options(self):
        """Every (layer, input shape, 1) some architecture contains, walked stage by stage: the states are
        (shape, downsamplings, widenings) so far, pruned by the stage-count limits."""
        import itertools

        cfg = self.config
        limits = cfg.constraints
        max_down = limits.downsamplings.max if limits.downsamplings else len(self.stages)
        max_widen = limits.widenings.max if limits.widenings else len(self.stages)
        plan = self.plan(self.sample(0))
        stem_nodes = [n for n in plan.nodes if n.name.startswith("stem")]
        for node in stem_nodes:
            yield node.spec, node.in_shape, 1
        states = {(stem_nodes[-1].spec.out_shape(stem_nodes[-1].in_shape), 0, 0)}
        seen: set = set()
        for rules in self.stages:
            after = set(states) if rules.optional else set()
            dims = [d for d in self._dims() if d != "depth"]
            for (shape, downs, widens), values in itertools.product(states, itertools.product(
                    *(_values(rules, d) for d in dims))):
                stage = dict(zip(dims, values))
                downs, widens = downs + (stage["stride"] == 2), widens + (stage.get("widen", 1) > 1)
                if downs > max_down or widens > max_widen:
                    continue
                cout = rules.width if rules.width is not None else shape[0] * stage["widen"]
                first = self._block(shape[0], cout, stage, stage["stride"])
                out = first.out_shape(shape)
                specs = [(first, shape)] + ([(self._block(cout, cout, stage, 1), out)]
                                            if max(rules.depth.values) > 1 else [])
                for spec, at in specs:
                    if (spec, at) not in seen:
                        seen.add((spec, at))
                        yield spec, at, 1
                after.add((out, downs, widens))
            states = after
        for shape in {state[0] for state in states}:
            yield self._head(shape[0]), shape, 1

    # ---- stage counts (part of the space's window: sample, parse and the search all check it) ----------
    def _count_violations(self, arch: Arch) -> list[str]:
        limits = self.config.constraints
        present = [s for s in arch.genes["stages"] if s["depth"]]
        problems = []
        for name, window, count in (("downsampling", limits.downsamplings, sum(s["stride"] == 2 for s in present)),
                                    ("widening", limits.widenings, sum(s.get("widen", 1) > 1 for s in present))):
            if window is not None and not window.min <= count <= window.max:
                problems.append(f"{count} {name} stages (the space allows {window.min} to {window.max})")
        return problems

    def within_constraints(self, arch: Arch) -> bool:
        return not self._count_violations(arch) and super().within_constraints(arch)

    def check_constraints(self, arch: Arch) -> None:
        problems = self._count_violations(arch)
        if problems:
            raise ArchError(f"space {self.name!r}: {self.format(arch)} has {'; '.join(problems)}")
        super().check_constraints(arch)

    # ---- search operators ----------------------------------------------------------------------------
    def _moves(self, arch: Arch) -> list[tuple[int, str]]:
        moves = []
        for i, (rules, stage) in enumerate(zip(self.stages, arch.genes["stages"])):
            if rules.optional:
                moves.append((i, "present"))
            if stage["depth"]:
                moves += [(i, d) for d in self._dims() if len(_values(rules, d)) > 1]
        return moves

    def _mutate_genes(self, arch: Arch, rng: np.random.Generator) -> dict:
        stages = [dict(s) for s in arch.genes["stages"]]
        moves = self._moves(arch)
        if not moves:
            return {"stages": stages}
        i, dim = moves[int(rng.integers(len(moves)))]
        rules = self.stages[i]
        if dim == "present":  # add or drop stage i, with every later optional stage following it
            present = not stages[i]["depth"]
            for j in range(i, len(stages)) if not present else range(i, i + 1):
                stages[j] = {"depth": 0}
            for j in range(0, i):  # adding stage i needs every optional stage before it
                if not stages[j]["depth"]:
                    stages[j] = self._sample_stage(self.stages[j], rng)
            if present:
                stages[i] = self._sample_stage(rules, rng)
            return {"stages": stages}
        others = [v for v in _values(rules, dim) if v != stages[i][dim]]
        stages[i][dim] = others[int(rng.integers(len(others)))]
        return {"stages": stages}

    def _crossover_genes(self, a: Arch, b: Arch, rng: np.random.Generator) -> dict:
        stages = [dict(x if rng.random() < 0.5 else y) for x, y in zip(a.genes["stages"], b.genes["stages"])]
        for j, stage in enumerate(stages):  # an absent stage ends the network
            if not stage["depth"]:
                stages[j:] = [{"depth": 0}] * (len(stages) - j)
                break
        return {"stages": stages}

    def encode(self, arch: Arch) -> np.ndarray:
        """Per stage: present, then each dimension's value (0 where absent)."""
        vec = []
        for stage in arch.genes["stages"]:
            vec.append(float(bool(stage["depth"])))
            vec += [float(stage.get(d, 0) or 0) for d in DIMS]
        return np.asarray(vec, dtype=np.float64)

    def suggest(self, trial: Any) -> Arch:
        stages, present = [], True
        for i, rules in enumerate(self.stages):
            if rules.optional and present:
                present = trial.suggest_categorical(f"s{i}_present", [True, False])
            if not present:
                stages.append({"depth": 0})
                continue
            stages.append({d: trial.suggest_categorical(f"s{i}_{d}", list(_values(rules, d))) for d in self._dims()
                           if len(_values(rules, d)) > 1})
        return self._arch({"stages": stages})

    def to_params(self, arch: Arch) -> dict[str, Any]:
        params: dict[str, Any] = {}
        present = True
        for i, (rules, stage) in enumerate(zip(self.stages, arch.genes["stages"])):
            if rules.optional and present:
                present = bool(stage["depth"])
                params[f"s{i}_present"] = present
            if present:
                params.update({f"s{i}_{d}": stage[d] for d in self._dims() if len(_values(rules, d)) > 1})
        return params

    def size(self) -> int:
        """Distinct networks, counted stage by stage (stage-count limits included by enumeration when set)."""
        if self.config.constraints.downsamplings or self.config.constraints.widenings:
            return sum(1 for _ in self.enumerate())
        per_stage = [int(np.prod([len(_values(r, d)) for d in self._dims()])) for r in self.stages]
        total, prefix = 0, 1
        for rules, count in zip(self.stages, per_stage):
            if rules.optional:
                total += prefix  # the network ends before this stage
            prefix *= count
        return total + prefix

    def enumerate(self):
        import itertools

        def stage_options(rules):
            dims = self._dims()
            return [dict(zip(dims, values)) for values in itertools.product(*(_values(rules, d) for d in dims))]

        options = [stage_options(r) for r in self.stages]
        required = sum(not r.optional for r in self.stages)
        for present in range(required, len(self.stages) + 1):
            for chosen in itertools.product(*options[:present]):
                arch = self._arch({"stages": [*chosen, *[{"depth": 0}] * (len(self.stages) - present)]})
                if self.within_constraints(arch):
                    yield arch
