"""Optuna parameters of MetaFormer spaces: `suggest` (define-by-run) and its inverse `to_params`.

Parameter names carry what their choice set depends on (`s1.layout@d3`, `s1.heads@w96`,
`s1.b2.mixer[conv|pool]`), because Optuna needs one fixed set of choices per name.
"""

from __future__ import annotations

from typing import Any

from .arch import Arch
from .layout import assign
from .schema import PatchStem

DIMS = ("mlp_ratio", "heads", "kernel")


class MetaFormerParams:
    """Mixin for MetaFormerSpace (uses its config, stages, _dim_values and _arch)."""

    def to_params(self, arch: Arch) -> dict[str, Any]:
        cfg = self.config
        stem = arch.genes["stem"]
        params: dict[str, Any] = {}
        if isinstance(cfg.stem, PatchStem):
            params["stem.patch"] = stem["patch"]
        if cfg.stem.width is not None:
            params["stem.width"] = stem["width"]
        for i, (rules, stage) in enumerate(zip(self.stages, arch.genes["stages"])):
            blocks = list(stage["blocks"])
            mixers = tuple(b["mixer"] for b in blocks)
            options = sorted(rules.options, key=lambda o: (o[0] != len(mixers), o[0]))  # fewest identities first
            depth, layout, slots, chosen = next((d, lay, sl, a) for d, lay, sl in options
                                                if (a := assign(mixers, sl)) is not None)
            params[f"s{i}.depth"] = depth
            if sum(1 for d, _, _ in rules.options if d == depth) > 1:
                params[f"s{i}.layout@d{depth}"] = layout.text
            for j, slot in enumerate(slots):
                if len(slot) > 1:
                    params[f"s{i}.b{j}.mixer[{'|'.join(sorted(slot))}]"] = chosen[j]
            width = stage["width"]
            params[f"s{i}.width"] = width
            it = iter(blocks)
            by_slot = [next(it) if m != "identity" else None for m in chosen]
            for dim in DIMS:
                values = self._dim_values(i, dim, width)
                name = f"s{i}.{dim}" + (f"@w{width}" if dim == "heads" else "")
                users = [(j, b) for j, b in enumerate(by_slot) if b is not None and b[dim] is not None]
                if dim in rules.config.per_block:
                    for j, b in users:
                        params[name.replace(f"s{i}.", f"s{i}.b{j}.", 1)] = b[dim]
                elif users and len(values) > 1:
                    params[name] = users[0][1][dim]
        return params

    def suggest(self, trial: Any) -> Arch:
        cfg = self.config
        stem: dict[str, Any] = {"width": None, "patch": None}
        if isinstance(cfg.stem, PatchStem):
            stem["patch"] = trial.suggest_categorical("stem.patch", list(cfg.stem.patch_size.values))
        if cfg.stem.width is not None:
            stem["width"] = trial.suggest_categorical("stem.width", list(cfg.stem.width.values))
        stages = []
        for i, rules in enumerate(self.stages):
            depths = sorted({d for d, _, _ in rules.options})
            depth = trial.suggest_categorical(f"s{i}.depth", depths)
            fitting = [(lay.text, slots) for d, lay, slots in rules.options if d == depth]
            if len(fitting) > 1:  # names carry the depth: Optuna needs one fixed choice set per name
                chosen = trial.suggest_categorical(f"s{i}.layout@d{depth}", [t for t, _ in fitting])
                slots = dict(fitting)[chosen]
            else:
                slots = fitting[0][1]
            mixers = [sorted(s)[0] if len(s) == 1 else
                      trial.suggest_categorical(f"s{i}.b{j}.mixer[{'|'.join(sorted(s))}]", sorted(s))
                      for j, s in enumerate(slots)]
            width = trial.suggest_categorical(f"s{i}.width", list(rules.config.width.values))
            blocks = [{"mixer": m} for m in mixers]
            for dim in DIMS:
                values = list(self._dim_values(i, dim, width))
                name = f"s{i}.{dim}" + (f"@w{width}" if dim == "heads" else "")
                users = [b for b in blocks if b["mixer"] != "identity" and rules.uses(b["mixer"], dim)]
                if dim in rules.config.per_block:
                    for j, b in enumerate(blocks):
                        if b in users:
                            b[dim] = trial.suggest_categorical(name.replace(f"s{i}.", f"s{i}.b{j}.", 1), values)
                elif users:
                    value = trial.suggest_categorical(name, values) if len(values) > 1 else values[0]
                    for b in users:
                        b[dim] = value
            stages.append({"width": width, "blocks": blocks})
        return self._arch({"stem": stem, "stages": stages})
