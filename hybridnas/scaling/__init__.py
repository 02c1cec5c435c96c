"""Auto-scaling (As-ViT): grow a seed architecture into a family of sizes with training-free proxies.

Names load on first use (`hybridnas.lazy`).
"""

from ..lazy import lazy_exports
from .defaults import DEFAULT_RULE

__all__ = ["DEFAULT_RULE", "Family", "Rule", "family_table", "growth_candidates", "parse_targets", "plot_growth",
           "scalable_dims", "scale", "scaled_space", "write_family"]

__getattr__, __dir__ = lazy_exports(__name__, {
    "family_table": ".family", "plot_growth": ".family", "write_family": ".family", "Family": ".grow",
    "Rule": ".grow", "growth_candidates": ".grow", "parse_targets": ".grow", "scale": ".grow",
    "scalable_dims": ".space", "scaled_space": ".space",
})
