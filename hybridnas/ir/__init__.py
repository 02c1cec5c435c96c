"""The architecture IR, below both `models` and `spaces`: layer specs, module calls, norms, mixers, plans, costs.

Pure data and arithmetic: nothing here imports torch. `models` turns a plan into modules; `spaces` turns
genes into a plan.
"""

from .calls import Call
from .cost import Cost, plan_cost
from .layers import LAYERS, LayerSpec, Shape
from .mixers import MIXERS, Mixer, get_mixer, list_mixers, register_mixer
from .plan import INPUT, LayerPlan, Node, to_networkx

__all__ = ["Call", "Cost", "INPUT", "LAYERS", "LayerPlan", "LayerSpec", "MIXERS", "Mixer", "Node", "Shape",
           "get_mixer", "list_mixers", "plan_cost", "register_mixer", "to_networkx"]
