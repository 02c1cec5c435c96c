"""Normalisation and activation names allowed in YAML, and the parameter count of a norm."""

from __future__ import annotations

NORMS = ("batchnorm", "layernorm", "none")
ACTS = ("relu", "relu6", "gelu", "none")


def norm_params(name: str, dim: int) -> int:
    """Learnable parameters of `modules.make_norm(name, dim)` (both norms have a weight and a bias)."""
    return 0 if name == "none" else 2 * dim
