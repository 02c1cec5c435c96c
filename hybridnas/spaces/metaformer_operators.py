"""MetaFormer's mutation: which moves an architecture allows, and one random move (a mixin of MetaFormerSpace)."""

from __future__ import annotations

import numpy as np

from .arch import Arch
from .metaformer_params import DIMS
from .values import Param


class MetaFormerOperators:
    """`_mutate_genes` for MetaFormerSpace: change the stem, one stage's mixers, its width, or one dimension."""

    def _moves(self, arch: Arch) -> list[tuple]:
        moves: list[tuple] = []
        stem = self.config.stem
        if (stem.width is not None and stem.width.searchable) or getattr(stem, "patch_size", Param((0,))).searchable:
            moves.append(("stem",))
        for i, (rules, stage) in enumerate(zip(self.stages, arch.genes["stages"])):
            if len(rules.options) > 1 or len(rules.options[0][2]) and any(len(s) > 1 for s in rules.options[0][2]):
                moves.append(("mixers", i))
            if rules.config.width.searchable:
                moves.append(("width", i))
            for dim in DIMS:
                if len(self._dim_values(i, dim, stage["width"])) > 1 and any(b[dim] is not None for b in stage["blocks"]):
                    moves.append(("dim", i, dim))
        return moves

    def _mutate_genes(self, arch: Arch, rng: np.random.Generator) -> dict:
        genes = {"stem": dict(arch.genes["stem"]), "stages": [
            {"width": s["width"], "blocks": [dict(b) for b in s["blocks"]]} for s in arch.genes["stages"]]}
        moves = self._moves(arch)
        if not moves:
            return genes
        move = moves[int(rng.integers(len(moves)))]
        if move[0] == "stem":
            genes["stem"] = self._sample_stem(rng)
            return genes
        i = move[1]
        stage = genes["stages"][i]
        shared = {dim: next((b[dim] for b in stage["blocks"] if b[dim] is not None), None) for dim in DIMS}
        if move[0] == "mixers":
            stage["blocks"] = self._fill_blocks(i, self._sample_mixers(i, rng), stage["width"], rng, shared)
        elif move[0] == "width":
            stage["width"] = self.stages[i].config.width.sample(rng)
            mixers = [b["mixer"] for b in stage["blocks"]]
            kept = self._fill_blocks(i, mixers, stage["width"], rng, shared)
            for old, new in zip(stage["blocks"], kept):  # keep per-block values that are still allowed
                for dim in DIMS:
                    if old[dim] is not None and old[dim] in self._dim_values(i, dim, stage["width"]):
                        new[dim] = old[dim]
            stage["blocks"] = kept if "heads" in self.stages[i].config.per_block else self._share(kept, "heads")
        else:
            dim = move[2]
            values = self._dim_values(i, dim, stage["width"])
            users = [b for b in stage["blocks"] if b[dim] is not None]
            targets = [users[int(rng.integers(len(users)))]] if dim in self.stages[i].config.per_block else users
            value = values[int(rng.integers(len(values)))]
            for block in targets:
                block[dim] = value
        return genes

    @staticmethod
    def _share(blocks: list[dict], dim: str) -> list[dict]:
        value = next((b[dim] for b in blocks if b[dim] is not None), None)
        for b in blocks:
            if b[dim] is not None:
                b[dim] = value
        return blocks
