"""VKDNW on NAS-Bench-201 (200-epoch truth): alone, and whether it adds to the default ranking.

Reads `hybridnas proxies bench --distinct` folders and joins them by network id: the fast proxies of the
choice sample (`--split 0/2`) and of the report sample (`--split 1/2`), VKDNW scored on the leading networks
of each (it costs several seconds per network here), and optionally the AZ-NAS components of the report
sample, for the published aggregate.
1. on the choice networks that have VKDNW: Kendall tau (CIFAR-10) of a list of rankings fixed in advance
   (the default, VKDNW alone, the default with a VKDNW term, VKDNW in place of params); the best is the choice,
   a costlier candidate only when it beats a cheaper one by more than 0.002;
2. on the report networks that have VKDNW: every candidate and the choice, for CIFAR-10, CIFAR-100 and
   ImageNet16-120, with Kendall tau, Spearman rho, top-10% precision and nDCG@10; and VKDNW_agg as the
   reference code aggregates it (log-ranks of VKDNW, AZ-NAS expressivity and trainability, FLOPs and jacov).
With the AZ-NAS components scored on the choice networks too, VKDNW_agg and two cheaper relatives join the
candidates of step 1. They were added after VKDNW_agg had been seen on the report sample, so that choice is
not blind.
Nothing on the report sample feeds the choice.
    python -m benchmarks.proxies.vkdnw_nb201 --choose results/benchmarks/nb201_200ep_choose \
        results/benchmarks/nb201_200ep_choose_vkdnw results/benchmarks/nb201_200ep_choose_aznas \
        --report results/benchmarks/nb201_200ep_report results/benchmarks/nb201_200ep_report_vkdnw \
        results/benchmarks/nb201_200ep_report_slow_b
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from benchmarks.common import read_results_csv

from benchmarks.proxies.ensemble_search import data_free_check, ranking
from hybridnas.proxies.bench import rank_metrics
from hybridnas.proxies.ensemble import parse_ensemble

# the default when this study ran (its committed results); the current one is chosen across spaces
DEFAULT_OBJECTIVE = "ensemble:jacob_cov+meco+params"
TARGETS = ("cifar10-test", "cifar100-test", "imagenet16-120-test")
# cheapest first: a candidate is chosen over an earlier one only when it is more than TIE better
CANDIDATES = (DEFAULT_OBJECTIVE, "vkdnw", "vkdnw_entropy", f"{DEFAULT_OBJECTIVE}+vkdnw_entropy",
              f"{DEFAULT_OBJECTIVE}+vkdnw", "ensemble:jacob_cov+meco+vkdnw", "ensemble:meco+vkdnw")
TIE = 0.002
VKDNW_AGG = "ensemble:vkdnw+az_expressivity+az_trainability+macs+jacob_cov"
# added after VKDNW_agg was seen on the report sample (so not blind): candidates only where the choice sample
# has the AZ-NAS components too; the tensor count in place of VKDNW is trainable_layers
AZ_CANDIDATES = (VKDNW_AGG, "ensemble:trainable_layers+az_expressivity+az_trainability+macs+jacob_cov",
                 f"{DEFAULT_OBJECTIVE}+az_expressivity+az_trainability")


def joined(folders: list[Path]) -> pd.DataFrame:
    """The scored rows of several benches over the same sample, joined by network id (first folder's rows)."""
    frame = read_results_csv(folders[0] / "scored.csv", dtype={"id": str})
    for folder in folders[1:]:
        extra = read_results_csv(folder / "scored.csv", dtype={"id": str})
        new = [c for c in extra.columns if c not in frame.columns and not c.startswith("ensemble:")]
        frame = frame.merge(extra[["id", *new]], on="id", how="left")
    return frame


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--choose", type=Path, nargs="+", required=True, help="bench folders of the choice sample")
    parser.add_argument("--report", type=Path, nargs="+", required=True, help="bench folders of the report sample")
    args = parser.parse_args()
    choose, report = joined(args.choose), joined(args.report)
    assert not set(choose["id"]) & set(report["id"]), "the two samples share networks"
    whole_report = report
    choose, report = choose[choose["vkdnw"].notna()], report[report["vkdnw"].notna()]
    print(f"choice: {len(choose)} distinct networks with VKDNW ({', '.join(map(str, args.choose))})")
    print(f"report: {len(report)} distinct networks with VKDNW ({', '.join(map(str, args.report))}); none in both")

    candidates = list(CANDIDATES) + [name for name in AZ_CANDIDATES
                                      if all(m in choose for m in parse_ensemble(name).members)]
    print("\n1. choice sample, Kendall tau with cifar10-test (200 epochs):")
    taus = {name: rank_metrics(ranking(choose, name), choose[TARGETS[0]])["kendall_tau"] for name in candidates}
    for name, value in sorted(taus.items(), key=lambda item: -item[1]):
        print(f"   {value:+.3f}  {name}")
    chosen = candidates[0]
    for name in candidates[1:]:
        if taus[name] > taus[chosen] + TIE:
            chosen = name
    print(f"chosen (a later, costlier candidate only when more than {TIE} better): {chosen}")

    print("\n2. report sample (never used above): kendall / spearman / top-10% / nDCG@10")
    names = list(dict.fromkeys(candidates + [name for name in AZ_CANDIDATES
                                             if all(m in report for m in parse_ensemble(name).members)]))
    rows = []
    for name in names:
        for target in TARGETS:
            what = "chosen" if name == chosen else ("VKDNW_agg (reference code)" if name == VKDNW_AGG else "candidate")
            rows.append({"what": what, "ranking": name, "target": target,
                         **rank_metrics(ranking(report, name), report[target])})
    print(pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    members = parse_ensemble(chosen).members if chosen.startswith("ensemble:") else [chosen]
    if not any(m.startswith("vkdnw") for m in members):
        print(f"\n3. the chosen and the default on every report network ({len(whole_report)}), VKDNW not needed:")
        rows = [{"ranking": name, "target": target, **rank_metrics(ranking(whole_report, name), whole_report[target])}
                for name in dict.fromkeys([chosen, DEFAULT_OBJECTIVE]) for target in TARGETS]
        print(pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    data_free_check([DEFAULT_OBJECTIVE, chosen])
    seconds = report.filter(like="sec_vkdnw").sum(axis=1)
    if len(seconds):
        print(f"\nVKDNW's seconds per network in the report bench: mean {seconds.mean():.2f}, max {seconds.max():.2f}")


if __name__ == "__main__":
    main()
