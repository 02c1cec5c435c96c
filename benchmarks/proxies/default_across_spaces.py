"""The training-free default judged across spaces, leave one space out.

Spaces and their truths (every score is one of ours, from the committed files named below):
- nasbench201: the 1,000-network report sample (`nb201_200ep_report*/scored.csv`), CIFAR-10 200-epoch test accuracy;
- mnasnet: Accel-NASBench, ImageNet top-1 (`literature_spaces/mnasnet/`);
- transnas_scene and transnas_object: TransNAS-Bench-101 macro, Taskonomy scene / object accuracy
  (`literature_spaces/class_*`);
- hybrid_cifar: the 20 trained subnets, mean CIFAR-10 accuracy over seeds, proxies on a CIFAR-10 batch, seed 0
  (`hybrid_cifar_truth_cpu_50k/`).

Candidates (fixed in advance): each single proxy scored on every space, and every sum-of-log-ranks ensemble of
two or three of them (what `ensemble:a+b+c` computes). For each held-out space, the candidate with the best
worst-case Kendall tau over the other four spaces is chosen (maximin: a default must hold on spaces it was not
chosen on), and its tau on the held-out space is reported beside the better of MACs and params there.
    python -m benchmarks.proxies.default_across_spaces
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from benchmarks.common import command_line, read_results_csv
from hybridnas.io import atomic_write_text
from hybridnas.proxies.ensemble import DEFAULT_OBJECTIVE, parse_ensemble

RESULTS = Path("results/benchmarks")
MEMBERS = ["naswot", "jacob_cov", "snip", "grasp", "fisher", "grad_norm", "synflow", "meco", "params", "macs"]


def nasbench201() -> tuple[pd.DataFrame, str]:
    frame = read_results_csv(RESULTS / "nb201_200ep_report/scored.csv")
    for extra, cols in (("nb201_200ep_report_slow_a", ["fisher"]), ("nb201_200ep_report_slow_b", ["grasp"])):
        frame = frame.merge(read_results_csv(RESULTS / extra / "scored.csv")[["index", *cols]], on="index")
    return frame, "cifar10-test"


def literature(name: str, target: str) -> tuple[pd.DataFrame, str]:
    return read_results_csv(RESULTS / "literature_spaces" / name / "scored.csv"), target


def hybrid_cifar() -> tuple[pd.DataFrame, str]:
    folder = RESULTS / "hybrid_cifar_truth_cpu_50k"
    truth = pd.read_csv(folder / "standalone.csv").groupby("arch", as_index=False)["accuracy"].mean()
    scores = pd.read_csv(folder / "proxy_scores" / "cifar10_subset_npz_b64_seed0.csv")
    return scores.merge(truth, on="arch"), "accuracy"


def spaces() -> dict[str, tuple[pd.DataFrame, str]]:
    return {"nasbench201": nasbench201(), "mnasnet": literature("mnasnet", "val_top1"),
            "transnas_scene": literature("class_scene", "class_scene"),
            "transnas_object": literature("class_object", "class_object"), "hybrid_cifar": hybrid_cifar()}


def candidates() -> list[str]:
    pairs = [f"ensemble:{'+'.join(c)}" for r in (2, 3) for c in itertools.combinations(MEMBERS, r)]
    return MEMBERS + pairs


def tau(frame: pd.DataFrame, target: str, name: str) -> float:
    """Kendall tau of a proxy or ensemble (higher-is-better form) with the target."""
    score = parse_ensemble(name).score(frame) if name.startswith("ensemble:") else frame[name]
    ok = np.isfinite(score) & np.isfinite(frame[target])
    return float(stats.kendalltau(score[ok], frame[target][ok]).statistic)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=RESULTS / "default_across_spaces.txt")
    args = parser.parse_args()
    data = spaces()
    names = candidates() + [DEFAULT_OBJECTIVE]
    table = pd.DataFrame({s: [tau(f, t, n) for n in names] for s, (f, t) in data.items()}, index=names)
    lines = ["Kendall tau with each space's truth (networks: "
             + ", ".join(f"{s} {len(f)}" for s, (f, _) in data.items()) + ")", "",
             "Leave one space out: chosen by the best worst-case tau on the other spaces", "",
             f"{'held out':<16}{'chosen objective':<44}{'held-out tau':>13}{'best of macs/params':>21}{'goal met':>10}"]
    for held in data:
        others = table.drop(columns=[held]).loc[candidates()]
        chosen = others.min(axis=1).idxmax()
        size = max(table.loc["macs", held], table.loc["params", held])
        floor = 0.60 if held != "hybrid_cifar" else -1.0
        met = table.loc[chosen, held] >= size and table.loc[chosen, held] >= floor
        lines.append(f"{held:<16}{chosen:<44}{table.loc[chosen, held]:>13.3f}{size:>21.3f}{'yes' if met else 'no':>10}")
    overall = table.loc[candidates()].min(axis=1).idxmax()
    lines += ["", f"chosen on all five spaces (maximin): {overall}", "",
              "tau per space of the size baselines, the current default, and the five best by worst case:",
              f"{'objective':<44}" + "".join(f"{s:>17}" for s in data) + f"{'worst':>8}"]
    best = table.loc[candidates()].min(axis=1).sort_values(ascending=False).index[:5]
    for name in dict.fromkeys(["macs", "params", DEFAULT_OBJECTIVE, *best]):
        row = table.loc[name]
        lines.append(f"{name:<44}" + "".join(f"{row[s]:>17.3f}" for s in data) + f"{row.min():>8.3f}")
    lines += ["", command_line()]
    text = "\n".join(lines) + "\n"
    atomic_write_text(args.out, text)
    print(text)


if __name__ == "__main__":
    main()
