"""Auto-scaling (As-ViT): grow a seed architecture into a family of sizes with training-free proxies."""

from .family import family_table, plot_growth, write_family
from .grow import DEFAULT_RULE, Family, Rule, growth_candidates, parse_targets, scale
from .space import scalable_dims, scaled_space

__all__ = ["DEFAULT_RULE", "Family", "Rule", "family_table", "growth_candidates", "parse_targets", "plot_growth",
           "scalable_dims", "scale", "scaled_space", "write_family"]
