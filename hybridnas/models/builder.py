"""Turn IR into torch modules: a call, a layer spec, a mixer, or a whole plan (run by `modules.GraphNet`)."""

from __future__ import annotations

from torch import nn

from ..ir import Call, LayerPlan, LayerSpec, Mixer, get_mixer
from ..ir.layers import MetaBlock
from . import modules
from .modules import GraphNet


def instantiate(call: Call) -> nn.Module:
    """Build the module a `Call` describes (its name is a class in `hybridnas.models.modules`)."""
    resolve = lambda v: instantiate(v) if isinstance(v, Call) else v  # noqa: E731
    return getattr(modules, call.name)(*map(resolve, call.args), **{k: resolve(v) for k, v in call.kwargs})


def build_mixer(mixer: str | type[Mixer], dim: int, kernel: int | None, heads: int | None,
                qkv_bias: bool) -> nn.Module:
    """A freshly initialised mixer module: the mixer's own `build` when it defines one, else its `call`."""
    cls = get_mixer(mixer)
    own = getattr(cls, "build", None)
    if own is not None:
        return own(dim, kernel, heads, qkv_bias)
    return instantiate(cls.call(dim, kernel, heads, qkv_bias))


def build_layer(spec: LayerSpec) -> nn.Module | None:
    """A freshly initialised module for `spec`, or None for a pass-through layer."""
    own = getattr(spec, "build", None)
    if own is not None:  # a user's spec class that builds its own module
        return own()
    if isinstance(spec, MetaBlock):  # through build_mixer, so a mixer with its own `build` works too
        mixer = build_mixer(spec.mixer, spec.dim, spec.kernel, spec.heads, spec.qkv_bias)
        return modules.MetaFormerBlock(spec.dim, mixer, spec.hidden, spec.norm, spec.act, spec.layer_scale)
    call = spec.call()
    return None if call is None else instantiate(call)


def build_plan(plan: LayerPlan) -> GraphNet:
    """A freshly initialised GraphNet that runs `plan` (parameter names `layers.<node>.<...>`)."""
    return GraphNet([(node.name, node.inputs, build_layer(node.spec)) for node in plan.nodes], plan.last)
