"""Distinct networks in the benchmark spaces after canonicalisation, and a consistency check of classes.

    python -m benchmarks.search.unique_networks
"""

from __future__ import annotations

import itertools
from collections import defaultdict

from hybridnas import load_space


def classes(space, strings):
    groups = defaultdict(list)
    for text in strings:
        groups[space.parse(text)].append(text)
    return groups


def main() -> None:
    macro = load_space("nasbench_macro")
    macro_strings = ["".join(map(str, d)) for d in itertools.product(range(3), repeat=8)]
    nb201 = load_space("nasbench201")
    nb201_strings = ["|{}~0|+|{}~0|{}~1|+|{}~0|{}~1|{}~2|".format(*ops)
                     for ops in itertools.product(nb201.ops, repeat=6)]
    print(f"{'space':<16}{'strings':>9}{'distinct':>10}{'largest class':>15}  cost-consistent")
    for space, strings in ((nb201, nb201_strings), (macro, macro_strings)):
        groups = classes(space, strings)
        consistent = all(len({space.cost(space.parse(s)) for s in members}) == 1 for members in groups.values())
        print(f"{space.name:<16}{len(strings):>9}{len(groups):>10}{max(map(len, groups.values())):>15}  {consistent}")


if __name__ == "__main__":
    main()
