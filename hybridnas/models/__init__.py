"""Static torch building blocks (`modules`) and the builder that turns IR layer plans into them.

The mixer and layer registries live in `hybridnas.ir`; they are re-exported here for existing imports.
"""

from ..ir import LAYERS, MIXERS, LayerSpec, Mixer, get_mixer, list_mixers, register_mixer
from .builder import build_layer, build_mixer, build_plan, instantiate

__all__ = ["LAYERS", "LayerSpec", "MIXERS", "Mixer", "build_layer", "build_mixer", "build_plan", "get_mixer",
           "instantiate", "list_mixers", "register_mixer"]
