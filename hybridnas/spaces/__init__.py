"""Search spaces: YAML schema, Space and Arch, sampling and search operators, graph IR and cost model."""

from . import metaformer, nasbench201, nasbench_macro, stages  # noqa: F401  (register the space types)
from .arch import Arch
from .base import SPACE_TYPES, Space, as_rng, register_space_type
from ..ir.cost import Cost
from .loader import load_space, shipped_spaces

__all__ = ["Arch", "Cost", "Space", "SPACE_TYPES", "as_rng", "load_space", "register_space_type", "shipped_spaces"]
