"""The contract checks behind `hybridnas.testing`."""

from __future__ import annotations

import json
import math

import numpy as np
import optuna
import torch
from torch.utils.flop_counter import FlopCounterMode

from ..ir import get_mixer
from ..proxies import get_proxy, score
from ..spaces import Arch, Space, load_space


def counted(space: Space, arch: Arch, batch: int = 2) -> tuple[int, int, tuple[int, ...]]:
    """(MACs per sample, parameters, output shape) measured by torch on a model built on the meta device.

    The meta device counts scaled_dot_product_attention (FlopCounterMode skips torch's CPU flash kernel)
    and makes large inputs free to run.
    """
    with torch.device("meta"):
        model = space.build(arch)
        x = torch.zeros(batch, *space.input_shape)
    with FlopCounterMode(display=False) as counter:
        y = model(x)
    return counter.get_total_flops() // (2 * batch), sum(p.numel() for p in model.parameters()), tuple(y.shape)


def check_space(space: Space, n: int = 12, seed: int = 0, exact_cost: int = 3) -> None:
    """A space's contract: seeded sampling, string/JSON round trips, operators, encoding, Optuna suggest and
    its inverse, and (for `exact_cost` networks) analytic cost equal to torch's own count."""
    rng = np.random.default_rng(seed)
    archs = [space.sample(rng) for _ in range(n)]
    _expect(archs == [space.sample(r) for r in [np.random.default_rng(seed)] for _ in range(n)],
            "sampling is not deterministic for a seed")
    for arch in archs:
        text = space.format(arch)
        _expect(space.parse(text) == arch,
                f"parse(format(arch)) differs for {text}")
        _expect(space.parse(arch.to_json()) == arch and Arch.from_json(arch.to_json()).id == arch.id,
                f"JSON round trip differs for {text}")
        json.loads(arch.to_json())
        _expect(space.from_genes(dict(arch.genes)) == arch,
                f"from_genes(arch.genes) differs for {text}")
        params = space.to_params(arch)
        _expect(space.suggest(optuna.trial.FixedTrial(params)) == arch,
                f"suggest(to_params(arch)) differs for {text}")
        child = space.mutate(arch, rng)
        _expect(child != arch and space.validate(child) == child,
                f"mutate({text}) is not a valid neighbour")
    for a, b in zip(archs[::2], archs[1::2]):
        child = space.crossover(a, b, rng)
        _expect(space.validate(child) == child,
                "crossover gives an invalid child")
    shapes = {space.encode(a).shape for a in archs}
    _expect(len(shapes) == 1,
            f"encodings have different lengths: {shapes}")
    for arch in archs[:exact_cost]:
        cost, (macs, n_params, shape) = space.cost(arch), counted(space, arch)
        _expect((cost.macs, cost.params) == (macs, n_params),
                f"analytic cost ({cost.macs} MACs, {cost.params} params) differs from torch's ({macs}, {n_params}) "
                f"for {space.format(arch)}")
        _expect(shape == (2, space.num_classes),
                f"output shape {shape}, expected (2, {space.num_classes})")


def check_proxy(name: str, space: Space | None = None, seed: int = 3) -> None:
    """A proxy's contract: documented, finite, and deterministic for a seed on a small network."""
    proxy = get_proxy(name)
    _expect(proxy.doc,
            f"proxy {name!r} has no doc line")
    space = space or load_space("nasbench_macro")
    arch = space.sample(seed)
    first = score(arch, [name], "gaussian", seed=seed, space=space, batch_size=8)
    again = score(arch, [name], "gaussian", seed=seed, space=space, batch_size=8)
    _expect(not first.errors,
            f"proxy {name!r} failed: {first.errors}")
    _expect(math.isfinite(first.values[name]),
            f"proxy {name!r} is not finite: {first.values[name]}")
    _expect(first.values == again.values,
            f"proxy {name!r} differs between two runs with seed {seed}")


def check_mixer(name: str, seeds: int = 3) -> None:
    """A mixer's contract: in a one-stage space, exact analytic cost, and a block that trains (finite grads)."""
    mixer = get_mixer(name)
    _expect(mixer.uses <= {"kernel", "heads"},
            f"mixer {name!r} uses {set(mixer.uses)}; allowed: kernel, heads")
    space = load_space({
        "name": f"only_{name}", "input": {"size": 8}, "num_classes": 5, "stem": {"type": "conv", "width": 16},
        "stages": [{"depth": 2, "width": 32, "heads": {"choices": [2, 4]}, "kernel": {"choices": [3, 5]},
                    "mlp_ratio": {"choices": [2, 3]}, "layout": f"{name}*"}],
    })
    for seed in range(seeds):
        arch = space.sample(seed)
        cost = space.cost(arch)
        _expect((cost.macs, cost.params, (2, 5)) == counted(space, arch),
                f"mixer {name!r}: analytic cost differs from torch's count for {space.format(arch)}")
    model = space.build(arch)
    out = model(torch.randn(2, 3, 8, 8))
    out.square().mean().backward()
    _expect(out.shape == (2, 5) and torch.isfinite(out).all(),
            f"mixer {name!r}: bad output")
    _expect(all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters()),
            f"mixer {name!r}: a parameter gets no finite gradient")


def _expect(condition: object, message: str) -> None:
    """Raise AssertionError(message) unless `condition`; unlike `assert`, it also runs under `python -O`."""
    if not condition:
        raise AssertionError(message)
