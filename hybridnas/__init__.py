"""hybridnas: neural architecture search and auto-scaling for hybrid conv/attention vision backbones.

The public names below load on first use (`hybridnas.lazy`), so importing the package costs nothing.
"""

from .errors import ArchError, HybridNASError, RegistryError, SpaceError
from .lazy import lazy_exports

__version__ = "0.1.0"

__all__ = ["Arch", "ArchError", "Cost", "HybridNASError", "RegistryError", "Space", "SpaceError", "get_mixer",
           "list_mixers", "load_space", "register_mixer", "shipped_spaces"]

__getattr__, __dir__ = lazy_exports(__name__, {
    "get_mixer": ".models", "list_mixers": ".models", "register_mixer": ".models",
    "Arch": ".spaces", "Cost": ".spaces", "Space": ".spaces", "load_space": ".spaces", "shipped_spaces": ".spaces",
})
