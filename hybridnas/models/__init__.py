"""Static building blocks, the token-mixer registry, typed layer specs and the graph builder."""

from .mixers import MIXERS, Mixer, get_mixer, list_mixers, register_mixer
from .layers import LAYERS, LayerSpec

__all__ = ["LAYERS", "LayerSpec", "MIXERS", "Mixer", "get_mixer", "list_mixers", "register_mixer"]
