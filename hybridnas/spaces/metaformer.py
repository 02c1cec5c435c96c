"""MetaFormer spaces: a stem, stages of MetaFormer blocks with a searchable hybrid layout, and a head.

Canonical genes:
    {"stem": {"width": int | None, "patch": int | None},
     "stages": [{"width": int, "blocks": [{"mixer", "mlp_ratio", "heads", "kernel"}, ...]}, ...]}
Identity blocks are dropped, and a block's `heads`/`kernel` are None when its mixer does not use them,
so two encodings of the same network are equal.

String form: `w24|w48:conv-k5-r3+attention-h2-r3|w96:conv-k3-r4*3`: the stem (`w<width>`, or
`p<patch>[-w<width>]` for a patch stem), then one `w<width>:<blocks>` per stage; a block is
`<mixer>[-k<kernel>][-h<heads>]-r<mlp ratio>`, `*N` repeats it. Dimensions fixed by the space may be left out.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Any, Iterator, Mapping

import numpy as np

from ..errors import ArchError, SpaceError
from ..ir import layers as L
from ..ir.mixers import get_mixer, list_mixers
from ..ir.plan import LayerPlan
from .arch import Arch
from .base import Space, register_space_type
from .layout import Layout, LayoutError, matches, parse_layout
from .metaformer_params import DIMS, MetaFormerParams
from .metaformer_operators import MetaFormerOperators
from .metaformer_protocols import MetaFormerProtocols
from .schema import MAX_STAGE_DEPTH as MAX_SCALED_DEPTH  # blocks a stage marked `scalable` may grow to
from .schema import MetaFormerConfig, PatchStem, Stage

_BLOCK = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)((?:-[khr][0-9.]+)*)(?:\*([0-9]+))?$")


@dataclass(frozen=True)
class StageRules:
    """What a stage allows, precomputed from its config: (depth, layout, per-block mixer sets) triples."""

    config: Stage
    layouts: tuple[Layout, ...]
    options: tuple[tuple[int, Layout, tuple[frozenset[str], ...]], ...]
    mixers: tuple[str, ...]  # every mixer any layout can place, sorted (the encoding's alphabet)

    def uses(self, mixer: str, dim: str) -> bool:
        kind = get_mixer(mixer)
        return dim in kind.uses or (dim == "mlp_ratio" and not kind.standalone)


INT_DIMS = ("kernel", "heads")  # declared as integers: 3.0 is refused, not read as 3


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _num(text: str) -> int | float:
    value = float(text)
    return int(value) if value.is_integer() else value


@register_space_type("metaformer")
class MetaFormerSpace(MetaFormerParams, MetaFormerOperators, MetaFormerProtocols, Space):
    """Hybrid conv/attention spaces (hybrid_cifar, hybrid_imagenet, vit) in one language."""

    type_name = "metaformer"
    config_model = MetaFormerConfig

    def __init__(self, config: MetaFormerConfig, source: str) -> None:
        super().__init__(config, source)
        self.stages = tuple(self._stage_rules(i, s) for i, s in enumerate(config.stages))
        self._check_widths()

    # ---- load-time validation ------------------------------------------------------------------------
    def _fail(self, path: str, message: str) -> SpaceError:
        return SpaceError(f"{self.source}: invalid space:\n  {path}: {message}")

    def _stage_rules(self, i: int, stage: Stage) -> StageRules:
        known = frozenset(list_mixers())
        layouts = []
        for text in stage.layout.values:
            try:
                layouts.append(parse_layout(text, known))
            except LayoutError as exc:
                raise self._fail(f"stages[{i}].layout", str(exc)) from None
        options = []
        for layout in layouts:
            fits = [(d, layout, layout.expand(d)) for d in stage.depth.values if layout.expand(d) is not None]
            if not fits:
                raise self._fail(f"stages[{i}].layout", f"layout {layout.text!r} fits none of the depths "
                                 f"{list(stage.depth.values)}; it needs depth >= {layout.fixed_length()} "
                                 "(exactly that without a '*')")
            options.extend(fits)
        mixers = tuple(sorted(frozenset().union(*(lay.mixers for lay in layouts))))
        return StageRules(stage, tuple(layouts), tuple(options), mixers)

    def _check_widths(self) -> None:
        cfg = self.config
        for i, rules in enumerate(self.stages):
            stage = rules.config
            if cfg.constraints.heads_divide_width and any("heads" in get_mixer(m).uses for m in rules.mixers):
                for width in stage.width.values:
                    if not self.heads_for(i, width):
                        raise self._fail(f"stages[{i}].heads", f"no heads choice {list(stage.heads.values)} "
                                         f"divides width {width}; add a divisor or drop that width")
            if stage.downsample.type == "none":
                takes_stage_width = i == 0 and isinstance(cfg.stem, PatchStem) and cfg.stem.width is None
                prev = cfg.stem.width if i == 0 else cfg.stages[i - 1].width
                same = prev is not None and not prev.searchable and prev.values == stage.width.values
                if not (takes_stage_width or same):
                    raise self._fail(f"stages[{i}].downsample", "type 'none' needs this stage's width to equal "
                                     "the previous width (both fixed), or a patch stem without its own width; "
                                     "use type 'conv' with stride 1 to change width")

    def heads_for(self, i: int, width: int) -> tuple[int, ...]:
        """The head counts allowed at `width` in stage `i` (those dividing it, when the space requires that)."""
        heads = self.stages[i].config.heads.values
        if not self.config.constraints.heads_divide_width:
            return heads
        return tuple(h for h in heads if width % h == 0)

    def _dim_values(self, i: int, dim: str, width: int) -> tuple:
        return self.heads_for(i, width) if dim == "heads" else getattr(self.stages[i].config, dim).values

    # ---- sampling ------------------------------------------------------------------------------------
    def _sample_stem(self, rng: np.random.Generator) -> dict:
        stem = self.config.stem
        if isinstance(stem, PatchStem):
            return {"width": stem.width.sample(rng) if stem.width else None, "patch": stem.patch_size.sample(rng)}
        return {"width": stem.width.sample(rng), "patch": None}

    def _sample_mixers(self, i: int, rng: np.random.Generator) -> list[str]:
        rules = self.stages[i]
        depths = sorted({d for d, _, _ in rules.options})
        depth = depths[int(rng.integers(len(depths)))]
        fitting = [slots for d, _, slots in rules.options if d == depth]
        slots = fitting[int(rng.integers(len(fitting)))]
        return [sorted(slot)[int(rng.integers(len(slot)))] for slot in slots]

    def _fill_blocks(self, i: int, mixers: list[str], width: int, rng: np.random.Generator,
                     shared: Mapping[str, Any] | None = None) -> list[dict]:
        """Blocks for `mixers`; stage-shared dims take `shared[dim]` when still allowed, else a new sample."""
        rules = self.stages[i]
        common = {}
        for dim in DIMS:
            values = self._dim_values(i, dim, width)
            keep = (shared or {}).get(dim)
            common[dim] = keep if keep in values else values[int(rng.integers(len(values)))]
        blocks = []
        for mixer in mixers:
            block = {"mixer": mixer}
            for dim in DIMS:
                if dim in rules.config.per_block:
                    values = self._dim_values(i, dim, width)
                    block[dim] = values[int(rng.integers(len(values)))]
                else:
                    block[dim] = common[dim]
            blocks.append(block)
        return blocks

    def _sample_stage(self, i: int, rng: np.random.Generator) -> dict:
        width = self.stages[i].config.width.sample(rng)
        return {"width": width, "blocks": self._fill_blocks(i, self._sample_mixers(i, rng), width, rng)}

    def _sample_genes(self, rng: np.random.Generator) -> dict:
        return {"stem": self._sample_stem(rng), "stages": [self._sample_stage(i, rng) for i in range(len(self.stages))]}

    # ---- canonical form and validation ---------------------------------------------------------------
    def _bad(self, path: str, value: Any, allowed: Any) -> ArchError:
        return ArchError(f"space {self.name!r}: {path} = {value!r} is not allowed; allowed: {allowed}")

    def _canonical(self, genes: Any) -> dict:
        try:
            stem, stages = genes["stem"], list(genes["stages"])
        except (KeyError, TypeError):
            raise ArchError(f"space {self.name!r}: genes need keys 'stem' and 'stages', got {genes!r:.200}") from None
        if len(stages) != len(self.stages):
            raise ArchError(f"space {self.name!r}: expected {len(self.stages)} stages, got {len(stages)}")
        return {"stem": self._canonical_stem(stem),
                "stages": [self._canonical_stage(i, s) for i, s in enumerate(stages)]}

    def _canonical_stem(self, stem: Any) -> dict:
        cfg = self.config.stem
        width, patch = stem.get("width"), stem.get("patch")
        if isinstance(cfg, PatchStem):
            if patch not in cfg.patch_size:
                raise self._bad("stem.patch", patch, list(cfg.patch_size.values))
            if cfg.width is None and width is not None:
                raise self._bad("stem.width", width, "none: this patch stem takes the first stage's width")
        elif patch is not None:
            raise self._bad("stem.patch", patch, "none: this space has a conv stem")
        if (cfg.width is not None) and (not _is_int(width) or width not in cfg.width):
            raise self._bad("stem.width", width, list(cfg.width.values))
        if patch is not None and not _is_int(patch):
            raise self._bad("stem.patch", patch, list(cfg.patch_size.values))
        return {"width": width, "patch": patch}

    def _canonical_stage(self, i: int, stage: Any) -> dict:
        rules = self.stages[i]
        width = stage.get("width")
        if not _is_int(width) or width not in rules.config.width:
            raise self._bad(f"stages[{i}].width", width, list(rules.config.width.values))
        blocks = []
        for j, block in enumerate(stage.get("blocks", ())):
            mixer = block.get("mixer")
            if mixer not in rules.mixers:
                raise self._bad(f"stages[{i}].blocks[{j}].mixer", mixer, list(rules.mixers))
            if mixer == "identity":
                continue
            canon = {"mixer": mixer}
            for dim in DIMS:
                value = block.get(dim)
                if not rules.uses(mixer, dim):
                    canon[dim] = None
                    continue
                if dim in INT_DIMS and value is not None and not _is_int(value):
                    raise self._bad(f"stages[{i}].blocks[{j}].{dim}", value, list(self._dim_values(i, dim, width)))
                if isinstance(value, float) and value.is_integer():
                    value = int(value)
                allowed = self._dim_values(i, dim, width)
                if value is None and len(allowed) == 1:
                    value = allowed[0]
                if value not in allowed:
                    raise self._bad(f"stages[{i}].blocks[{j}].{dim}", value, list(allowed))
                canon[dim] = value
            blocks.append(canon)
        for dim in DIMS:
            if dim in rules.config.per_block:
                continue
            used = {b[dim] for b in blocks if b[dim] is not None}
            if len(used) > 1:
                raise ArchError(f"space {self.name!r}: stages[{i}] shares one {dim} across its blocks "
                                f"(not in per_block), got {sorted(used)}")
        mixers = tuple(b["mixer"] for b in blocks)
        if not any(matches(mixers, slots) for _, _, slots in rules.options):
            raise ArchError(f"space {self.name!r}: stages[{i}] mixers {list(mixers)} fit no layout "
                            f"{[lay.text for lay in rules.layouts]} at depths {list(rules.config.depth.values)}")
        return {"width": width, "blocks": blocks}

    # ---- string form ---------------------------------------------------------------------------------
    def format(self, arch: Arch) -> str:
        stem = arch.genes["stem"]
        head = f"p{stem['patch']}" if stem["patch"] is not None else ""
        if stem["width"] is not None:
            head += ("-" if head else "") + f"w{stem['width']}"
        parts = [head]
        for stage in arch.genes["stages"]:
            tokens = [self._block_token(b) for b in stage["blocks"]]
            runs: list[list] = []
            for tok in tokens:
                if runs and runs[-1][0] == tok:
                    runs[-1][1] += 1
                else:
                    runs.append([tok, 1])
            body = "+".join(tok if n == 1 else f"{tok}*{n}" for tok, n in runs)
            parts.append(f"w{stage['width']}:{body}")
        return "|".join(parts)

    @staticmethod
    def _block_token(block: Mapping[str, Any]) -> str:
        out = block["mixer"]
        for dim, letter in (("kernel", "k"), ("heads", "h"), ("mlp_ratio", "r")):
            if block[dim] is not None:
                out += f"-{letter}{block[dim]}"
        return out

    def parse_genes(self, text: str) -> dict:
        pieces = text.split("|")
        expected = len(self.stages) + 1
        if len(pieces) != expected:
            raise ArchError(f"space {self.name!r}: {text!r} has {len(pieces)} '|'-separated parts; expected "
                            f"{expected} (stem, then one per stage), e.g. {self.format(self.sample(0))!r}")
        stem: dict[str, Any] = {"width": None, "patch": None}
        for item in filter(None, pieces[0].split("-")):
            key = {"w": "width", "p": "patch"}.get(item[0])
            if key is None or not item[1:].isdigit():
                raise ArchError(f"space {self.name!r}: stem {pieces[0]!r}: expected w<width> and/or p<patch>")
            stem[key] = int(item[1:])
        stages = [self._parse_stage(i, piece) for i, piece in enumerate(pieces[1:])]
        return {"stem": stem, "stages": stages}

    def _parse_stage(self, i: int, piece: str) -> dict:
        head, sep, body = piece.partition(":")
        if not sep or not head.startswith("w") or not head[1:].isdigit():
            raise ArchError(f"space {self.name!r}: stage {i} {piece!r}: expected w<width>:<blocks>, "
                            "e.g. w64:conv-k3-r4*2+attention-h2-r4")
        blocks: list[dict] = []
        depth = self.stages[i].config.depth if i < len(self.stages) else None
        max_blocks = MAX_SCALED_DEPTH if depth is None or depth.scalable else max(depth.values)
        for token in filter(None, body.split("+")):
            match = _BLOCK.match(token)
            if not match:
                raise ArchError(f"space {self.name!r}: stage {i} block {token!r}: expected "
                                "<mixer>[-k<kernel>][-h<heads>][-r<mlp ratio>][*<repeat>]")
            block: dict[str, Any] = {"mixer": match.group(1), "mlp_ratio": None, "heads": None, "kernel": None}
            for item in filter(None, match.group(2).split("-")):
                dim = {"k": "kernel", "h": "heads", "r": "mlp_ratio"}[item[0]]
                try:
                    block[dim] = _num(item[1:])
                except ValueError:
                    raise ArchError(f"space {self.name!r}: stage {i} block {token!r}: bad number {item!r}") from None
            repeat = int(match.group(3) or 1)
            if len(blocks) + repeat > max_blocks:  # checked before anything is built: '*99999999999' is 13 bytes
                raise ArchError(f"space {self.name!r}: stage {i} {piece[:80]!r} has more than {max_blocks} blocks; "
                                f"stages[{i}].depth allows at most {max_blocks}")
            blocks.extend(dict(block) for _ in range(repeat))
        return {"width": int(head[1:]), "blocks": blocks}

    # ---- graph ---------------------------------------------------------------------------------------
    def _stem_layers(self, stem: Mapping[str, Any], first_width: int) -> list[tuple[str, L.LayerSpec]]:
        cfg = self.config
        channels = self.input_shape[0]
        if isinstance(cfg.stem, PatchStem):
            norm = cfg.block.norm if cfg.stem.norm else "none"
            return [("stem", L.interned(L.PatchEmbed, channels, stem["width"] or first_width, stem["patch"], norm,
                                        cfg.stem.pos_embed, self.input_shape[1:]))]
        strides = cfg.stem.strides
        layers = []
        for j, stride in enumerate(strides):
            layers.append(("stem" if len(strides) == 1 else f"stem{j}",
                           L.interned(L.ConvNormAct, channels, stem["width"], cfg.stem.kernel, stride, 1, False,
                                      "batchnorm", cfg.stem.act)))
            channels = stem["width"]
        if cfg.stem.pool == "max":
            layers.append(("stem_pool", L.interned(L.MaxPool)))
        return layers

    def _down_layer(self, i: int, channels: int, width: int) -> L.LayerSpec | None:
        down = self.stages[i].config.downsample
        if down.type == "avgpool":
            return L.interned(L.PoolProject, channels, width, down.stride, self.config.block.norm)
        if down.type != "conv":
            return None
        return L.interned(L.ConvNormAct, channels, width, down.kernel, down.stride, 1, False, self.config.block.norm,
                          "none")

    def _block_layer(self, width: int, b: Mapping[str, Any]) -> L.LayerSpec:
        cfg = self.config
        if b["mixer"] == "mbconv":
            return L.interned(L.MBConv, width, width, b["kernel"], b["mlp_ratio"])
        if b["mixer"] == "resconv":
            return L.interned(L.ResidualConv, width, b["kernel"], cfg.block.norm, cfg.block.act)
        if b["mixer"] == "bottleneck":
            return L.interned(L.Bottleneck, width, b["kernel"], cfg.block.norm, cfg.block.act)
        return L.interned(L.MetaBlock, width, b["mixer"], b["mlp_ratio"], b["heads"], b["kernel"], cfg.block.norm,
                          cfg.block.act, cfg.block.layer_scale, cfg.block.qkv_bias)

    def _head_layer(self, channels: int) -> L.LayerSpec:
        cfg = self.config
        return L.interned(L.ClassifierHead, channels, self.num_classes, cfg.block.norm if cfg.head.norm else "none",
                          "none", 0, cfg.head.fc_hidden, cfg.block.act, cfg.head.dropout)

    def plan(self, arch: Arch) -> LayerPlan:
        plan = LayerPlan(self.input_shape)
        stages = arch.genes["stages"]
        for name, spec in self._stem_layers(arch.genes["stem"], stages[0]["width"]):
            plan.add(name, spec)
        for i, stage in enumerate(stages):
            width = stage["width"]
            down = self._down_layer(i, plan.shape(plan.last)[0], width)
            if down is not None:
                plan.add(f"s{i}_down", down)
            for j, block in enumerate(stage["blocks"]):
                plan.add(f"s{i}_b{j}", self._block_layer(width, block))
        plan.add("head", self._head_layer(plan.shape(plan.last)[0]))
        return plan

    def layer_options(self) -> Iterator[tuple[L.LayerSpec, L.Shape, int]]:
        """Every (layer, input shape, 1) some architecture can contain, walked stage by stage (not per arch)."""
        cfg = self.config
        stem_widths = cfg.stem.width.values if cfg.stem.width is not None else (None,)
        patches = cfg.stem.patch_size.values if isinstance(cfg.stem, PatchStem) else (None,)
        shapes: set[L.Shape] = set()
        for width, patch, first in itertools.product(stem_widths, patches, self.stages[0].config.width.values):
            shape = self.input_shape
            for _, spec in self._stem_layers({"width": width, "patch": patch}, first):
                yield spec, shape, 1
                shape = spec.out_shape(shape)
            shapes.add(shape)
        for i, rules in enumerate(self.stages):
            after: set[L.Shape] = set()
            for shape, width in itertools.product(shapes, rules.config.width.values):
                down = self._down_layer(i, shape[0], width)
                if down is not None:
                    yield down, shape, 1
                    shape = down.out_shape(shape)
                if shape[0] != width:  # no downsample layer: only the matching width follows
                    continue
                for mixer in rules.mixers:
                    if mixer == "identity":
                        continue
                    dims = [self._dim_values(i, d, width) if rules.uses(mixer, d) else (None,) for d in DIMS]
                    for values in itertools.product(*dims):
                        yield self._block_layer(width, {"mixer": mixer, **dict(zip(DIMS, values))}), shape, 1
                after.add(shape)
            shapes = after
        for shape in shapes:
            yield self._head_layer(shape[0]), shape, 1

    def _crossover_genes(self, a: Arch, b: Arch, rng: np.random.Generator) -> dict:
        pick = lambda x, y: x if rng.random() < 0.5 else y  # noqa: E731
        return {"stem": pick(a.genes["stem"], b.genes["stem"]),
                "stages": [pick(sa, sb) for sa, sb in zip(a.genes["stages"], b.genes["stages"])]}

    def encode(self, arch: Arch) -> np.ndarray:
        stem = arch.genes["stem"]
        vec = [stem["width"] or 0, stem["patch"] or 0]
        for rules, stage in zip(self.stages, arch.genes["stages"]):
            vec += [stage["width"], len(stage["blocks"])]
            max_depth = max(len(slots) for _, _, slots in rules.options)
            for j in range(max_depth):
                if j < len(stage["blocks"]):
                    b = stage["blocks"][j]
                    vec += [rules.mixers.index(b["mixer"]) + 1] + [b[d] or 0 for d in DIMS]
                else:
                    vec += [0, 0, 0, 0]
        return np.asarray(vec, dtype=np.float64)
