"""One root exception for every user-facing error, so callers can catch hybridnas mistakes apart from bugs."""

from __future__ import annotations


class HybridNASError(Exception):
    """Root of all errors hybridnas raises for bad input; messages say what was given, what is valid, how to fix."""


class SpaceError(HybridNASError, ValueError):
    """A search-space file or dict is invalid; the message names the file, the key path and the allowed values."""


class ArchError(HybridNASError, ValueError):
    """An architecture string or dict does not describe a network of the given space."""


class RegistryError(HybridNASError, KeyError):
    """A name was looked up in a registry that does not hold it."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""
