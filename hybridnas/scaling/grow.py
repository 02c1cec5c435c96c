"""Training-free auto-scaling (As-ViT): grow a seed architecture step by step into a family of sizes.

Each step proposes one more block in one stage, alone or with width increases of roughly 5-20% (the
nearest widths the space allows), scores every proposal with training-free proxies, and takes the best
rank sum (As-ViT ranks by NTK condition number and expressivity; the rule is configurable). A family
member is recorded at the first step whose MACs reach each target, so every target is met within one step.
"""

from __future__ import annotations

import math

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from ..errors import HybridNASError
from ..io import atomic_write_csv
from ..proxies import list_proxies, score, space_batch
from ..spaces import Arch, Space
from ..spaces.values import parse_quantity
from .space import scaled_space
from .defaults import DEFAULT_RULE

TOLERANCE = 0.10  # a member within 10% of its target MACs counts as reaching it

# DEFAULT_RULE is the earlier default search objective's proxies (jacob_cov+meco+params, chosen on NAS-Bench-201's
# 200-epoch table) without its size term: each growth step compares proposals of different sizes, and the MACs
# target sets size
WIDTH_WINDOW = (0.05, 0.20)


@dataclass(frozen=True)
class Rule:
    """Proxies and directions whose rank sum picks each growth step."""

    terms: tuple[tuple[str, str], ...]

    @classmethod
    def parse(cls, text: str) -> "Rule":
        """'jacob_cov:max,meco:max' -> Rule; proxies are checked against the registry."""
        terms = []
        for item in filter(None, (t.strip() for t in text.split(","))):
            name, _, direction = item.rpartition(":")
            if direction not in ("max", "min") or not name:
                raise HybridNASError(f"scaling rule {item!r}: write PROXY:max or PROXY:min, e.g. {DEFAULT_RULE}")
            if name not in list_proxies():
                raise HybridNASError(f"scaling rule: unknown proxy {name!r}; proxies: {', '.join(list_proxies())}")
            terms.append((name, direction))
        if not terms:
            raise HybridNASError(f"scaling rule is empty; e.g. {DEFAULT_RULE}")
        return cls(tuple(terms))

    @property
    def proxies(self) -> list[str]:
        return [name for name, _ in self.terms]

    def rank_sum(self, scores: pd.DataFrame) -> np.ndarray:
        """Sum over terms of each row's rank (1 = best); a failed score ranks last."""
        total = np.zeros(len(scores))
        for name, direction in self.terms:
            column = scores[name] if name in scores else pd.Series(np.nan, index=scores.index)
            total += column.rank(ascending=direction == "min", method="average", na_option="bottom").to_numpy()
        return total


MAX_TARGET_MULTIPLE = 1024  # growth past 1,024x the seed only ends when memory runs out


LATENCY_SUFFIX = "ms"


def target_measure(text: str) -> str:
    """What targets `text` are sizes of: 'latency_ms' when any is in milliseconds (5ms), else 'macs'."""
    items = [t.strip().lower() for t in text.split(",") if t.strip()]
    return "latency_ms" if any(t.endswith(LATENCY_SUFFIX) for t in items) else "macs"


def parse_targets(text: str, seed_size: float, measure: str = "macs") -> list[tuple[str, float]]:
    """'2x,4x' (multiples of the seed), '50M,100M' (MACs) or '4ms,8ms' (predicted latency) -> sorted (label, size)
    pairs, in the unit of `measure` ('macs' or 'latency_ms'); latency targets cannot be mixed with MACs."""
    unit = "ms" if measure == "latency_ms" else "MACs"
    out = []
    for item in filter(None, (t.strip() for t in text.split(","))):
        lowered = item.lower()
        try:
            if lowered.endswith("x"):
                size = float(item[:-1]) * seed_size
            elif measure == "latency_ms":
                if not lowered.endswith(LATENCY_SUFFIX):
                    raise ValueError(item)
                size = float(item[:-len(LATENCY_SUFFIX)])
            else:
                size = parse_quantity(item)
        except (ValueError, HybridNASError):
            raise HybridNASError(f"target {item!r}: write multiples of the seed (2x,4x), MACs (50M,100M) or "
                                 "milliseconds of predicted latency (4ms,8ms), without mixing MACs and ms") from None
        if not math.isfinite(size) or size > MAX_TARGET_MULTIPLE * seed_size:
            raise HybridNASError(f"target {item!r}: at most {MAX_TARGET_MULTIPLE}x the seed's {seed_size:.4g} {unit} "
                                 "(a finite multiple such as 2x or a size such as 500M or 8ms)")
        if size <= seed_size:
            raise HybridNASError(f"target {item!r} = {size:.4g} {unit} is not above the seed's {seed_size:.4g} {unit}")
        out.append((item, size))
    if not out:
        raise HybridNASError("no targets given; e.g. --targets 2x,4x,8x")
    return sorted(out, key=lambda t: t[1])


def _next_width(values: Sequence[int], width: int, window_only: bool = False) -> int | None:
    """The largest allowed width 5-20% above `width`; else (unless `window_only`) the smallest one above it."""
    above = sorted(v for v in values if v > width)
    window = [v for v in above if width * (1 + WIDTH_WINDOW[0]) <= v <= width * (1 + WIDTH_WINDOW[1])]
    if window:
        return window[-1]
    return above[0] if above and not window_only else None


def _with_width(space: Space, genes: dict, i: int, width: int) -> None:
    stage = genes["stages"][i]
    stage["width"] = width
    for block in stage["blocks"]:
        if block.get("heads") is not None:
            heads = space.heads_for(i, width)
            if block["heads"] not in heads and heads:
                block["heads"] = min(heads, key=lambda h: abs(h - block["heads"]))


def _deeper(space: Space, genes: dict, i: int) -> list[dict]:
    """Genes with one more block in stage i (a copy of an existing block next to it), or two if the layout
    only grows in pairs; the first insertion the space accepts."""
    blocks = genes["stages"][i]["blocks"]
    tries = [blocks[:k + 1] + [dict(blocks[k])] + blocks[k + 1:] for k in range(len(blocks))]
    tries += [blocks + [dict(b) for b in blocks[-2:]]] if len(blocks) >= 2 else []
    for new in tries:
        candidate = copy.deepcopy(genes)
        candidate["stages"][i]["blocks"] = new
        if _valid(space, candidate):
            return [candidate]
    return []


def _valid(space: Space, genes: dict) -> bool:
    try:
        space.from_genes(genes)
        return True
    except HybridNASError:
        return False


def growth_candidates(space: Space, arch: Arch) -> list[tuple[str, Arch]]:
    """Every growth step from `arch`: one more block in a stage, alone or with one or all stages widened."""
    base = {"stem": dict(arch.genes["stem"]),
            "stages": [{"width": s["width"], "blocks": [dict(b) for b in s["blocks"]]} for s in arch.genes["stages"]]}
    n = len(base["stages"])
    out: dict[str, tuple[str, Arch]] = {}
    for i in range(n):
        for deeper in _deeper(space, base, i):
            variants = [(f"+1 block in stage {i}", deeper)]
            widths = {j: _next_width(space.stages[j].config.width.values, deeper["stages"][j]["width"])
                      for j in range(n)}
            for j, width in widths.items():
                if width is not None:
                    g = copy.deepcopy(deeper)
                    _with_width(space, g, j, width)
                    variants.append((f"+1 block in stage {i}, stage {j} width {deeper['stages'][j]['width']}->{width}", g))
            # every stage that can grow 5-20% does (stages whose next width is a bigger jump stay)
            gentle = {j: _next_width(space.stages[j].config.width.values, deeper["stages"][j]["width"], True)
                      for j in range(n)}
            if sum(w is not None for w in gentle.values()) > 1:
                g = copy.deepcopy(deeper)
                for j, width in gentle.items():
                    if width is not None:
                        _with_width(space, g, j, width)
                variants.append((f"+1 block in stage {i}, stages {[j for j, w in gentle.items() if w]} 5-20% wider", g))
            for description, genes in variants:
                if _valid(space, genes):
                    child = space.from_genes(genes)
                    out.setdefault(child.id, (description, child))
    return list(out.values())


@dataclass
class Family:
    """What `scale` produced: the members (one per target), every step taken, and the output folder."""

    members: pd.DataFrame
    path: pd.DataFrame
    out: Path | None


def scale(space: Space, seed_arch: Arch | str, targets: str, *, rule: str = DEFAULT_RULE, data: str = "gaussian",
          seed: int = 0, batch_size: int = 32, out: str | Path | None = None, resume: bool = False,
          max_steps: int = 200, progress: bool = True,
          on_step: Callable[[dict[str, Any]], None] | None = None, device: str = "cpu",
          latency_table: Any = None) -> Family:
    """Grow `seed_arch` until every target is reached; writes path.csv after each step when `out` is given.

    Args:
        targets: multiples of the seed ('2x,4x'), MACs ('50M,100M'), or predicted latency ('4ms,8ms', which
            needs `latency_table`); multiples are of the seed's latency when the targets are in ms.
        latency_table: a LatencyTable whose predictions (unseen grown layers predicted too) measure latency
            targets; each step's predicted latency_ms is recorded when one is given.
        device: where the rule's proxies run ('cpu', 'cuda' or 'cuda:N').
    """
    grown = scaled_space(space)
    seed_arch = grown.parse(seed_arch) if isinstance(seed_arch, str) else grown.validate(seed_arch)
    parsed_rule = Rule.parse(rule)
    measure = target_measure(targets)
    if measure == "latency_ms" and latency_table is None:
        raise HybridNASError(f"targets {targets!r} are latencies: give the latency table that predicts them "
                             "(--latency-table TABLE; build one with `hybridnas latency build`)")

    def sizes(arch: Arch) -> dict[str, float]:
        cost = grown.cost(arch)
        out = {"macs": cost.macs, "params": cost.params}
        if latency_table is not None:
            out["latency_ms"] = latency_table.predict(grown, arch, unseen="predict")
        return out

    wanted = parse_targets(targets, sizes(seed_arch)[measure], measure)
    batch = space_batch(grown, data, batch_size, seed, device)
    out = Path(out) if out else None
    path_file = out / "path.csv" if out else None

    def scores_of(arch: Arch) -> dict[str, float]:
        result = score(arch, parsed_rule.proxies, data, seed, space=grown, batch_size=batch_size, batch=batch,
                       device=device)
        return dict(result.values)

    if resume and path_file and path_file.is_file():
        rows = pd.read_csv(path_file).to_dict("records")
        if rows[0]["arch"] != grown.format(seed_arch):
            raise HybridNASError(f"{path_file} grew from {rows[0]['arch']}, not the given seed; use another --out")
    else:
        rows = [{"step": 0, "change": "seed", "arch": grown.format(seed_arch), **sizes(seed_arch), "candidates": 0,
                 **scores_of(seed_arch)}]
        if out:
            out.mkdir(parents=True, exist_ok=True)
            atomic_write_csv(pd.DataFrame(rows), path_file)
    from tqdm.auto import tqdm

    unit = "ms" if measure == "latency_ms" else "MACs"
    reached_of = lambda size: sum(size >= (1 - TOLERANCE) * m for _, m in wanted)  # noqa: E731
    bar = tqdm(total=len(wanted), desc="scale", unit="target", disable=not progress,
               initial=reached_of(rows[-1][measure]))
    current = grown.parse(rows[-1]["arch"])
    while rows[-1][measure] < (1 - TOLERANCE) * wanted[-1][1]:
        if len(rows) > max_steps:
            raise HybridNASError(f"scaling stopped after {max_steps} steps at {rows[-1][measure]:.4g} {unit}, short "
                                 f"of {wanted[-1][0]}; raise max_steps or mark more dimensions scalable")
        candidates = growth_candidates(grown, current)
        if not candidates:
            raise HybridNASError(f"no valid larger architecture than {grown.format(current)} ({rows[-1][measure]:.4g} "
                                 f"{unit}), short of target {wanted[-1][0]}; mark depths/widths `scalable: true` in "
                                 f"{space.source} to let them grow past their declared values")
        frame = pd.DataFrame([{"change": d, "arch": a, **scores_of(a)} for d, a in candidates])
        measured = pd.DataFrame([sizes(a) for a in frame["arch"]], index=frame.index)
        frame = frame.drop(columns=measured.columns, errors="ignore").join(measured)  # a rule may score params
        frame["rank_sum"] = parsed_rule.rank_sum(frame)
        target = next(m for _, m in wanted if m * (1 - TOLERANCE) > rows[-1][measure])
        best = _landing(frame, target, measure).sort_values(["rank_sum", measure]).iloc[0]
        current = best["arch"]
        reached = reached_of(rows[-1][measure])
        rows.append({"step": len(rows), "change": best["change"], "arch": grown.format(current),
                     **{k: best[k] for k in measured.columns},  # the sizes it was chosen by
                     "candidates": len(frame),
                     **{k: best[k] for k in parsed_rule.proxies if k in best and best[k] == best[k]}})
        if path_file:
            atomic_write_csv(pd.DataFrame(rows), path_file)
        shown = (f"{rows[-1]['latency_ms']:.2f} ms" if measure == "latency_ms" else
                 f"{rows[-1]['macs'] / 1e6:.1f}M MACs")
        bar.set_postfix_str(f"step {len(rows) - 1}: {shown}", refresh=False)
        bar.update(reached_of(rows[-1][measure]) - reached)
        bar.refresh()  # a step can take minutes: show each one, not only each target reached
        if on_step:
            on_step(rows[-1])
    bar.close()
    path = pd.DataFrame(rows)
    members = [{"target": label, f"target_{measure}": size, **_member_row(path, size, measure).to_dict()}
               for label, size in wanted]
    return Family(pd.DataFrame(members), path, out)


def _landing(candidates: pd.DataFrame, target: float, measure: str = "macs") -> pd.DataFrame:
    """The candidates a step may take toward `target` (in `measure`): those within TOLERANCE of it when any are;
    else those not past it by more than TOLERANCE (keep growing); else all (a step cannot help overshooting)."""
    near = candidates[(candidates[measure] - target).abs() <= TOLERANCE * target]
    if not near.empty:
        return near
    under = candidates[candidates[measure] <= (1 + TOLERANCE) * target]
    return under if not under.empty else candidates


def _member_row(path: pd.DataFrame, target: float, measure: str = "macs") -> pd.Series:
    """The path step a target's member is: the one closest to the target (in `measure`) within TOLERANCE, else
    the first past it (a coarse step), else the last."""
    ratio = (path[measure] / target - 1).abs()
    if (ratio <= TOLERANCE).any():
        return path.loc[ratio[ratio <= TOLERANCE].idxmin()]
    past = path[path[measure] >= target]
    return past.iloc[0] if not past.empty else path.iloc[-1]
