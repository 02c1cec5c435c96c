"""NAS-Bench-Macro (Su et al., 2021): 8 layers in stages of 2/3/3, each identity, MB k3 e3 or MB k5 e6.

Skeleton (matches the published params and MACs for all 6,561 rows): 3x3 conv stem 3->32 + BN + ReLU;
the first layer of each stage doubles the channels with stride 2 (an identity there is a 1x1 conv +
BN projection); 1x1 conv to 1280 + BN + ReLU, global average pooling, linear.

Canonical form: an identity that is not the first layer of its stage is a no-op, so inside a stage
the non-first layers keep their non-identity ops in order and the identities move to the end.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

import numpy as np

from ..errors import ArchError
from ..ir import layers as L
from .arch import Arch
from .base import Space, register_space_type
from .choice_protocols import ChoiceSlots
from ..ir.plan import LayerPlan
from .schema import MacroConfig

_LAYER_NODE = re.compile(r"^s(\d+)_l(\d+)$")  # layer j of stage s


@register_space_type("nasbench_macro")
class NASBenchMacroSpace(ChoiceSlots, Space):
    """The NAS-Bench-Macro space; `parse` reads its digit strings such as '02012100'. A supernet of it holds
    one slot per layer and op (choice_protocols.py)."""

    type_name = "nasbench_macro"
    config_model = MacroConfig

    def __init__(self, config: MacroConfig, source: str) -> None:
        super().__init__(config, source)
        self.num_layers = sum(config.stages)
        self.identity = next((k for k, op in enumerate(config.ops) if op.type == "identity"), None)

    def _stage_slices(self) -> list[slice]:
        bounds = np.cumsum([0, *self.config.stages])
        return [slice(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])]

    def _canonical(self, genes: Any) -> dict:
        try:
            layers = [int(v) for v in genes["layers"]]
        except (KeyError, TypeError, ValueError):
            raise ArchError(f"space {self.name!r}: genes need key 'layers' (op indices), got {genes!r:.200}") from None
        if len(layers) != self.num_layers or any(not 0 <= v < len(self.config.ops) for v in layers):
            raise ArchError(f"space {self.name!r}: expected {self.num_layers} op indices in "
                            f"0..{len(self.config.ops) - 1}, got {layers}")
        out: list[int] = []
        for part in self._stage_slices():
            first, rest = layers[part][0], layers[part][1:]
            kept = [v for v in rest if v != self.identity]
            out += [first, *kept, *[self.identity] * (len(rest) - len(kept))]
        return {"layers": out}

    def _sample_genes(self, rng: np.random.Generator) -> dict:
        return {"layers": rng.integers(len(self.config.ops), size=self.num_layers).tolist()}

    def parse_genes(self, text: str) -> dict:
        if len(text) != self.num_layers or not text.isdigit():
            raise ArchError(f"space {self.name!r}: {text!r} is not a string of {self.num_layers} digits in "
                            f"0..{len(self.config.ops) - 1}, e.g. '02012100'")
        return {"layers": [int(c) for c in text]}

    def format(self, arch: Arch) -> str:
        return "".join(str(v) for v in arch.genes["layers"])

    def plan(self, arch: Arch) -> LayerPlan:
        cfg = self.config
        plan = LayerPlan(self.input_shape)
        channels = cfg.stem_width
        plan.add("stem", L.ConvNormAct(self.input_shape[0], channels, 3))
        layers = arch.genes["layers"]
        for s, part in enumerate(self._stage_slices()):
            for j, op_index in enumerate(layers[part]):
                op, stride = cfg.ops[op_index], 2 if j == 0 else 1
                cout = channels * 2 if j == 0 else channels
                if op.type == "mbconv":
                    plan.add(f"s{s}_l{j}", L.MBConv(channels, cout, op.kernel, op.expansion, stride))
                elif j == 0:
                    plan.add(f"s{s}_l{j}", L.ConvNormAct(channels, cout, 1, stride, act="none"))
                channels = cout
        plan.add("head", L.ClassifierHead(channels, self.num_classes, "none", "none", cfg.head_hidden))
        return plan

    def _mutate_genes(self, arch: Arch, rng: np.random.Generator) -> dict:
        layers = list(arch.genes["layers"])
        i = int(rng.integers(self.num_layers))
        layers[i] = int(rng.choice([k for k in range(len(self.config.ops)) if k != layers[i]]))
        return {"layers": layers}

    def _crossover_genes(self, a: Arch, b: Arch, rng: np.random.Generator) -> dict:
        mask = rng.random(self.num_layers) < 0.5
        return {"layers": [x if m else y for x, y, m in zip(a.genes["layers"], b.genes["layers"], mask)]}

    def encode(self, arch: Arch) -> np.ndarray:
        """One-hot op per layer."""
        vec = np.zeros((self.num_layers, len(self.config.ops)))
        vec[np.arange(self.num_layers), list(arch.genes["layers"])] = 1.0
        return vec.ravel()

    def suggest(self, trial: Any) -> Arch:
        choices = list(range(len(self.config.ops)))
        return self._arch({"layers": [trial.suggest_categorical(f"layer{i}", choices) for i in range(self.num_layers)]})

    def to_params(self, arch: Arch) -> dict[str, Any]:
        return {f"layer{i}": int(v) for i, v in enumerate(arch.genes["layers"])}

    def enumerate(self):
        seen = set()
        for layers in itertools.product(range(len(self.config.ops)), repeat=self.num_layers):
            arch = self._arch({"layers": list(layers)})
            if arch not in seen:
                seen.add(arch)
                yield arch

    def size(self) -> int:
        return sum(1 for _ in self.enumerate())

    def _covering_archs(self) -> list[Arch]:
        return [self._arch({"layers": [k] * self.num_layers}) for k in range(len(self.config.ops))]

    def _choice_of(self, arch: Arch, node: str) -> str | None:
        match = _LAYER_NODE.match(node)
        if match is None:
            return None
        stage, j = int(match.group(1)), int(match.group(2))
        return f"op{arch.genes['layers'][self._stage_slices()[stage].start + j]}"
