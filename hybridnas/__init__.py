"""hybridnas: neural architecture search and auto-scaling for hybrid conv/attention vision backbones."""

from .errors import ArchError, HybridNASError, RegistryError, SpaceError
from .models import get_mixer, list_mixers, register_mixer
from .spaces import Arch, Cost, Space, load_space, shipped_spaces
from . import supernet as _supernet  # noqa: E402,F401  (registers the supernet_accuracy metric source)

__version__ = "0.1.0"

__all__ = ["Arch", "ArchError", "Cost", "HybridNASError", "RegistryError", "Space", "SpaceError", "get_mixer",
           "list_mixers", "load_space", "register_mixer", "shipped_spaces"]
