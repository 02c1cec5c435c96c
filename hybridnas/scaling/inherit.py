"""Carry a trained seed's weights into a grown family member, as a warm start for fine-tuning.

Growth adds blocks to stages and widens them. A member's tensor takes the seed's tensor of the same role:
- layers outside the stages' blocks (stem, downsamplings, head) by name;
- blocks stage by stage, the i-th block of a kind in the seed to the i-th block of that kind in the member
  (a block's kind is the set of its parameter names, so a conv block never takes an attention block's
  weights, wherever growth inserted blocks).

Where the member is wider, the seed fills the leading slice of each dimension (the channels the seed had)
and the rest keeps the member's seeded initialisation, as weight-sharing supernets slice their widest
layers. Blocks the seed does not have keep their initialisation. The member is not function-preserving:
fine-tune it before use.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Mapping

import torch

_BLOCK = re.compile(r"^(?P<prefix>.*\.)?s(?P<stage>\d+)_b(?P<index>\d+)\.(?P<rest>.+)$")


@dataclass(frozen=True)
class Inheritance:
    """What a member took from its seed: tensors copied whole, copied in part (wider), and left initialised."""

    whole: int
    part: int
    fresh: int

    def describe(self) -> str:
        return (f"inherited from the trained seed: {self.whole} tensors whole, {self.part} in their leading slice, "
                f"{self.fresh} initialised; fine-tune before use")


def _blocks(state: Mapping[str, torch.Tensor]) -> dict[int, list[tuple[str, frozenset[str]]]]:
    """Per stage, its blocks in order as (key prefix, kind)."""
    rests: dict[tuple[int, int], set[str]] = defaultdict(set)
    prefixes: dict[tuple[int, int], str] = {}
    for key in state:
        match = _BLOCK.match(key)
        if match:
            where = (int(match["stage"]), int(match["index"]))
            rests[where].add(match["rest"])
            prefixes[where] = key[: len(key) - len(match["rest"])]
    stages: dict[int, list[tuple[str, frozenset[str]]]] = defaultdict(list)
    for stage, index in sorted(rests):
        stages[stage].append((prefixes[stage, index], frozenset(rests[stage, index])))
    return stages


def _counterparts(seed: Mapping[str, torch.Tensor], member: Mapping[str, torch.Tensor]) -> dict[str, str]:
    """Member key -> the seed key whose tensor plays its role."""
    pairs = {key: key for key in member if key in seed and not _BLOCK.match(key)}
    seed_blocks, member_blocks = _blocks(seed), _blocks(member)
    for stage, blocks in member_blocks.items():
        unused: dict[frozenset[str], list[str]] = defaultdict(list)
        for prefix, kind in seed_blocks.get(stage, []):
            unused[kind].append(prefix)
        for prefix, kind in blocks:
            if unused[kind]:
                source = unused[kind].pop(0)
                pairs.update({prefix + rest: source + rest for rest in kind})
    return pairs


def inherit_weights(seed: Mapping[str, torch.Tensor], member: Mapping[str, torch.Tensor]
                    ) -> tuple[dict[str, torch.Tensor], Inheritance]:
    """The member's state dict with the seed's weights carried in (see the module docstring).

    Args:
        seed: the trained seed's state dict.
        member: the grown member's state dict at its initialisation (not changed).
    Returns:
        The new state dict and what was inherited.
    """
    out = {key: value.detach().clone() for key, value in member.items()}
    whole = part = 0
    for key, source in _counterparts(seed, member).items():
        old, new = seed[source], out[key]
        if old.dim() != new.dim() or any(a > b for a, b in zip(old.shape, new.shape)):
            continue  # a different layer shape (or a narrower member): nothing sensible to carry over
        region = tuple(slice(0, n) for n in old.shape)
        new[region] = old.to(new.dtype)
        if old.shape == new.shape:
            whole += 1
        else:
            part += 1
    return out, Inheritance(whole, part, len(out) - whole - part)
