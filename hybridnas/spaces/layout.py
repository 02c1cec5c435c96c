"""Stage layouts: short patterns over mixer names that expand to a stage's depth.

Grammar (items separated by spaces):  item := NAME | [NAME|NAME|...] | ( item item ... ),  each optionally
followed by `*`. A starred item repeats to fill the depth (a starred group repeats cyclically and is cut
at the depth); unstarred items appear once. At most one starred item per pattern. `[a|b]` lets each
block choose its mixer. Examples: `conv*`, `conv* attention`, `(conv attention)*`, `[conv|identity]*`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

_TOKEN = re.compile(r"\s*(\(|\)\*?|\[[^\]]*\]\*?|[A-Za-z_][A-Za-z0-9_]*\*?|\S)")


class LayoutError(ValueError):
    """A layout pattern is malformed; the message says where and what the grammar allows."""


@dataclass(frozen=True)
class Part:
    """One element of a layout: a set of allowed mixers, repeated to fill the stage when `star`."""

    items: tuple[frozenset[str], ...]
    star: bool


@dataclass(frozen=True)
class Layout:
    """A stage's parsed layout string (e.g. `conv* attention`): the mixer each block position may take."""

    text: str
    parts: tuple[Part, ...]

    @property
    def mixers(self) -> frozenset[str]:
        return frozenset().union(*(s for p in self.parts for s in p.items))

    def fixed_length(self) -> int:
        return sum(len(p.items) for p in self.parts if not p.star)

    def expand(self, depth: int) -> tuple[frozenset[str], ...] | None:
        """Allowed mixers for each of `depth` blocks, or None if the pattern cannot have that depth."""
        free = depth - self.fixed_length()
        has_star = any(p.star for p in self.parts)
        if free < 0 or (free and not has_star):
            return None
        out: list[frozenset[str]] = []
        for part in self.parts:
            if part.star:
                out.extend(part.items[i % len(part.items)] for i in range(free))
            else:
                out.extend(part.items)
        return tuple(out)


def _alternatives(token: str, known: frozenset[str], text: str) -> frozenset[str]:
    names = [n.strip() for n in token.strip("[]").split("|")] if token.startswith("[") else [token]
    for name in names:
        if name not in known:
            raise LayoutError(f"unknown mixer {name!r} in layout {text!r}; mixers: {', '.join(sorted(known))}")
    return frozenset(names)


@lru_cache(maxsize=1024)
def parse_layout(text: str, known: frozenset[str]) -> Layout:
    """Parse a layout pattern; `known` is the set of registered mixer names."""
    tokens = _TOKEN.findall(text)
    if not tokens or "".join(tokens).replace(" ", "") != text.replace(" ", ""):
        raise LayoutError(f"cannot read layout {text!r}; expected mixer names, [a|b], ( ... ) and '*', "
                          f"e.g. 'conv* attention'")
    parts: list[Part] = []
    group: list[frozenset[str]] | None = None
    for tok in tokens:
        if tok == "(":
            if group is not None:
                raise LayoutError(f"nested groups are not allowed in layout {text!r}")
            group = []
        elif tok.startswith(")"):
            if not group:
                raise LayoutError(f"unbalanced or empty ( ) in layout {text!r}")
            parts.append(Part(tuple(group), tok.endswith("*")))
            group = None
        else:
            star = tok.endswith("*")
            if not re.match(r"^(\[[^\]]+\]|[A-Za-z_][A-Za-z0-9_]*)$", tok[:-1] if star else tok):
                raise LayoutError(f"cannot read layout {text!r} at {tok!r}; expected mixer names, [a|b], "
                                  "( ... ) and one '*', e.g. 'conv* attention'")
            alts = _alternatives(tok.rstrip("*"), known, text)
            if group is not None:
                if star:
                    raise LayoutError(f"'*' inside a group in layout {text!r}; star the whole group: (a b)*")
                group.append(alts)
            else:
                parts.append(Part((alts,), star))
    if group is not None:
        raise LayoutError(f"unclosed '(' in layout {text!r}")
    if sum(p.star for p in parts) > 1:
        raise LayoutError(f"layout {text!r} has more than one starred item; at most one may repeat")
    return Layout(text, tuple(parts))


def assign(mixers: tuple[str, ...], allowed: tuple[frozenset[str], ...]) -> list[str] | None:
    """One mixer per slot (identity where a slot is skipped) that yields `mixers`, or None if impossible."""
    m = len(mixers)

    def walk(j: int, k: int) -> list[str] | None:
        if j == len(allowed):
            return [] if k == m else None
        slot = allowed[j]
        if k < m and mixers[k] in slot:
            rest = walk(j + 1, k + 1)
            if rest is not None:
                return [mixers[k], *rest]
        if "identity" in slot:
            rest = walk(j + 1, k)
            if rest is not None:
                return ["identity", *rest]
        return None

    return walk(0, 0)


def matches(mixers: tuple[str, ...], allowed: tuple[frozenset[str], ...]) -> bool:
    """Whether `mixers` (identity blocks removed) is what `allowed` gives when some blocks choose identity."""
    m = len(mixers)
    reachable = {0}  # how many of `mixers` are consumed after each allowed block
    for slot in allowed:
        nxt = set()
        for k in reachable:
            if "identity" in slot:
                nxt.add(k)
            if k < m and mixers[k] in slot:
                nxt.add(k + 1)
        reachable = nxt
        if not reachable:
            return False
    return m in reachable
