"""Correlation benchmark: score architectures sampled from a ground-truth table and compare rankings.

Metrics per proxy (and ensemble) and target column: Kendall tau-b, Spearman rho, top-10% precision
(share of the true top 10% that the proxy also puts in its top 10%), nDCG@10 (relevance = ground truth
min-max scaled to [0, 1] over the sample), and mean seconds per architecture. Proxies with
`higher_is_better=False` are negated first; failed scores are left out of that proxy's metrics.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import HybridNASError
from ..io import atomic_write_csv, atomic_write_text
from ..spaces import Space
from .engine import DEFAULT_BATCH, expand, format_errors, score_or_failure, space_batch
from .ensemble import parse_ensemble
from .registry import get_proxy

CHECKPOINT_EVERY = 10


def top_fraction_precision(pred: np.ndarray, truth: np.ndarray, fraction: float = 0.1) -> float:
    """|true top-k ∩ predicted top-k| / k with k = ceil(fraction * n)."""
    k = max(1, math.ceil(fraction * len(truth)))
    return len(set(np.argsort(-pred)[:k]) & set(np.argsort(-truth)[:k])) / k


def ndcg_at(pred: np.ndarray, truth: np.ndarray, k: int = 10) -> float:
    """nDCG@k with relevance = truth scaled to [0, 1] over the sample."""
    span = truth.max() - truth.min()
    rel = (truth - truth.min()) / span if span > 0 else np.ones_like(truth)
    discounts = 1.0 / np.log2(np.arange(2, min(k, len(truth)) + 2))
    dcg = (rel[np.argsort(-pred)][: len(discounts)] * discounts).sum()
    idcg = (np.sort(rel)[::-1][: len(discounts)] * discounts).sum()
    return float(dcg / idcg) if idcg > 0 else float("nan")


def rank_metrics(pred: pd.Series, truth: pd.Series) -> dict[str, float]:
    """Kendall tau, Spearman rho, top-10% precision and nDCG@10 over rows where both are finite."""
    mask = np.isfinite(pred.to_numpy(dtype=float)) & np.isfinite(truth.to_numpy(dtype=float))
    p, t = pred.to_numpy(dtype=float)[mask], truth.to_numpy(dtype=float)[mask]
    if len(p) < 3:
        return {"kendall_tau": float("nan"), "spearman_rho": float("nan"), "top10_precision": float("nan"),
                "ndcg10": float("nan"), "n": int(len(p))}
    return {"kendall_tau": float(stats.kendalltau(p, t).statistic),
            "spearman_rho": float(stats.spearmanr(p, t).statistic),
            "top10_precision": top_fraction_precision(p, t), "ndcg10": ndcg_at(p, t), "n": int(len(p))}


@dataclass
class BenchConfig:
    """What `proxies bench` scores, on which data, against which ground truth."""

    space: str
    ground_truth: str
    targets: list[str]
    n: int
    proxies: list[str]
    data: str
    seed: int
    batch_size: int = DEFAULT_BATCH
    distinct: bool = False  # one row per distinct network (isomorphic cells share scores)
    split: str = ""  # 'K/N': only networks in fold K of N (by id), so samples with other K are disjoint
    device: str = "cpu"  # where proxies run; not part of what the scores are keyed on (they agree to rounding)


def parse_split(split: str) -> tuple[int, int] | None:
    """'K/N' -> (K, N) with 0 <= K < N; '' -> None."""
    if not split:
        return None
    k, _, n = split.partition("/")
    if not (k.isdigit() and n.isdigit()) or not 0 <= int(k) < int(n):
        raise HybridNASError(f"--split {split!r}: write K/N with 0 <= K < N, e.g. 0/2 (choose) and 1/2 (report)")
    return int(k), int(n)


def in_fold(arch_id: str, fold: tuple[int, int]) -> bool:
    """Whether a network (by its hex id) falls into fold K of N; stable across runs and machines."""
    return int(arch_id, 16) % fold[1] == fold[0]


def sample_rows(space: Space, table: pd.DataFrame, config: BenchConfig) -> pd.DataFrame:
    """The rows a bench scores: seeded, optionally one per distinct network and from one fold of networks."""
    rows = table.assign(id=[space.parse(a).id for a in table["arch"]])
    fold = parse_split(config.split)
    if fold:
        rows = rows[[in_fold(i, fold) for i in rows["id"]]]
    if config.distinct:
        rows = rows.sample(frac=1.0, random_state=config.seed).drop_duplicates("id")
    if config.n > len(rows):
        raise HybridNASError(f"--n {config.n} is more than the {len(rows)} rows (or networks) of "
                             f"{config.ground_truth} left by --split/--distinct")
    return rows.sample(n=config.n, random_state=config.seed).reset_index(drop=True)


def read_ground_truth(path: str | Path, targets: Sequence[str]) -> pd.DataFrame:
    """The ground-truth table; needs an 'arch' column and every target column."""
    path = Path(path)
    if not path.is_file():
        raise HybridNASError(f"ground truth {path}: no such file")
    table = pd.read_csv(path, dtype={"arch": str})
    missing = [c for c in ["arch", *targets] if c not in table.columns]
    if missing:
        raise HybridNASError(f"ground truth {path}: missing columns {missing}; it has {list(table.columns)}")
    return table


def run_bench(space: Space, config: BenchConfig, out: str | Path, progress: bool = True) -> pd.DataFrame:
    """Sample, score (resuming from out/scores.csv when the config matches), and write out/correlation.csv."""
    out = Path(out)
    singles, ensembles = expand(config.proxies)
    table = read_ground_truth(config.ground_truth, config.targets)
    rows = sample_rows(space, table, config)
    scores_path, key_path = out / "scores.csv", out / "scoring.json"
    # what the scores depend on: targets, ensembles and n can change without rescoring (a smaller n takes
    # the leading rows of the same seeded order, so every network it needs is already scored)
    key = {"space": config.space, "ground_truth": str(config.ground_truth), "data": config.data,
           "seed": config.seed, "batch_size": config.batch_size, "proxies": sorted(singles),
           "distinct": config.distinct, "split": config.split}
    done = pd.DataFrame()
    if scores_path.is_file() and key_path.is_file():
        previous = json.loads(key_path.read_text())
        previous.pop("n", None)  # written by versions that keyed on n
        if previous == key:
            done = pd.read_csv(scores_path, dtype={"id": str})
    atomic_write_text(key_path, json.dumps(key, indent=1))
    atomic_write_text(out / "config.json", json.dumps(vars(config), indent=1))
    records = done.to_dict("records")
    todo = [i for i in dict.fromkeys(rows["id"]) if i not in set(done.get("id", []))]
    by_id = dict(zip(rows["id"], rows["arch"]))
    batch = space_batch(space, config.data, config.batch_size, config.seed, config.device)
    iterator = todo
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(todo, desc=f"scoring {space.name}", unit="arch", initial=len(done), total=len(done) + len(todo))
    for count, arch_id in enumerate(iterator, 1):
        result = score_or_failure(space.parse(by_id[arch_id]), singles, config.data, config.seed, space=space,
                                  batch=batch, device=config.device)
        records.append({"id": arch_id, **result.values, **{f"sec_{k}": v for k, v in result.seconds.items()},
                        "sec_build": result.build_seconds,
                        "errors": format_errors(result.errors)})
        if count % CHECKPOINT_EVERY == 0 or count == len(todo):
            atomic_write_csv(pd.DataFrame(records), scores_path)
    scored = rows.merge(pd.DataFrame(records), on="id", how="left")
    for name in singles:
        if name not in scored:
            scored[name] = np.nan
    for name in ensembles:
        scored[name] = parse_ensemble(name).score(scored)
    metrics = []
    for target in config.targets:
        for name in singles + ensembles:
            members = parse_ensemble(name).members if name in ensembles else [name]
            sign = 1.0 if name in ensembles or get_proxy(name).higher_is_better else -1.0
            seconds = sum(scored.get(f"sec_{m}", pd.Series(np.nan)).mean() for m in members)
            metrics.append({"target": target, "proxy": name, **rank_metrics(sign * scored[name], scored[target]),
                            "sec_per_arch": seconds})
    result = pd.DataFrame(metrics)
    atomic_write_csv(scored, out / "scored.csv")
    atomic_write_csv(result, out / "correlation.csv")
    return result
