"""Write a grown family: family.csv, a plot of the growth path, and each member exported."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Mapping, Sequence

import pandas as pd
import torch

from ..export import check_weights, export_arch
from ..rng import seeded
from ..io import atomic_write_csv
from ..spaces import Space
from .grow import Family
from .inherit import inherit_weights
from .space import scaled_space


def _table_label(table: Any, many: bool) -> str:
    return f"latency_ms[{table.conditions.device_name}]" if many else "latency_ms"


def family_table(space: Space, family: Family, latency_tables: Sequence[Any] = ()) -> pd.DataFrame:
    """The members with their latency per table, and per table whether it is measured or predicted.

    A member grown past the table gets the table's layer predictor's answer for the layers it lacks; the
    `latency_source` column says `measured` (every layer timed) or `predicted (k of n layers)`.
    """
    grown = scaled_space(space)
    frame = family.members.copy()
    many = len(latency_tables) > 1
    for table in latency_tables:
        values, sources = [], []
        for text in frame["arch"]:
            pred = table.breakdown(grown, grown.parse(text), unseen="predict")
            untimed = int((pred.layers["source"] == "predicted").sum())
            values.append(pred.total_ms)
            sources.append(f"predicted ({untimed} of {len(pred.layers)} layers)" if untimed else "measured")
        label = _table_label(table, many)
        frame[label] = values
        frame[label.replace("latency_ms", "latency_source")] = sources
    return frame


def plot_growth(family: Family, path: str | Path, title: str) -> Path:
    """MACs and params along the growth path, with each family member marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    steps = family.path["step"]
    ax.plot(steps, family.path["macs"] / 1e6, "o-", label="MACs")
    for _, member in family.members.iterrows():
        if "target_macs" in member:  # latency targets have no MACs line to draw
            ax.axhline(member["target_macs"] / 1e6, color="0.8", lw=0.8)
        ax.annotate(member["target"], (member["step"], member["macs"] / 1e6), textcoords="offset points",
                    xytext=(4, -12))
    ax.set_yscale("log")
    ax.set_xlabel("growth step")
    ax.set_ylabel("MACs (millions)")
    params = ax.twinx()  # params on their own axis: a shared one would need a fudge factor
    params.plot(steps, family.path["params"] / 1e6, "s--", color="tab:orange", alpha=0.7, label="params")
    params.set_yscale("log")
    params.set_ylabel("params (millions)")
    ax.set_title(title, fontsize=9, wrap=True)
    lines = ax.get_legend_handles_labels()[0] + params.get_legend_handles_labels()[0]
    ax.legend(lines, [line.get_label() for line in lines], loc="upper left")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def write_family(space: Space, family: Family, out: str | Path, *, latency_tables: Sequence[Any] = (),
                 export: bool = True, rule: str = "", seed_arch: str = "", onnx: bool = False,
                 seed_weights: Mapping[str, torch.Tensor] | None = None) -> dict[str, Path]:
    """family.csv, growth.png and members/<target>/ (model.py, card.yaml, latency.csv; model.onnx with `onnx`).

    With `seed_weights` (the trained seed's state dict), each member is exported with model.safetensors: the
    seed's weights carried into it (`inherit.inherit_weights`), a warm start to fine-tune.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    grown = scaled_space(space)
    frame = family_table(space, family, latency_tables)
    files = {"family.csv": out / "family.csv", "path.csv": out / "path.csv"}
    measure = "latency_ms" if "target_latency_ms" in family.members else "macs"
    seed_row = family.path.head(1).assign(target="seed", **{f"target_{measure}": family.path[measure][0]})
    seed = family_table(space, Family(seed_row, family.path, family.out), latency_tables)
    atomic_write_csv(pd.concat([seed, frame], ignore_index=True), files["family.csv"])  # the seed first, as 1x
    atomic_write_csv(family.path, files["path.csv"])
    files["growth.png"] = plot_growth(family, out / "growth.png",
                                      f"{space.name}: growth path of {len(family.members)} members (seed and steps: "
                                      "path.csv)")
    if export:
        score_columns = [c for c in family.path.columns if c not in ("step", "change", "arch", "macs", "params",
                                                                       "latency_ms", "candidates")]
        if seed_weights is not None:
            seed_weights = check_weights(grown, grown.parse(family.path["arch"][0]), seed_weights)
        for _, member in frame.iterrows():
            folder = out / "members" / re.sub(r"[^A-Za-z0-9_.]", "_", str(member["target"]))
            arch = grown.parse(member["arch"])
            provenance = {"scaled_from": seed_arch or family.path["arch"][0], "target": member["target"],
                          "step": int(member["step"]), "rule": rule}
            weights = None
            if seed_weights is not None:
                with seeded(0):  # the member's initialisation, where the seed has nothing to give
                    initial = grown.build(arch).state_dict()
                weights, inherited = inherit_weights(seed_weights, initial)
                provenance["weights"] = inherited.describe()
            export_arch(grown, arch, folder, latency_tables=latency_tables, weights=weights,
                        scores={c: member[c] for c in score_columns if member[c] == member[c]},
                        provenance=provenance, force=True, onnx=onnx)
            files[f"members/{folder.name}"] = folder
    return files
