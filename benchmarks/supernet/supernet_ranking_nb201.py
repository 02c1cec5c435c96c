"""Does a NAS-Bench-201 supernet rank networks? Inherited accuracy vs the 200-epoch table, per sampler.

Phases (each resumable; run `train` and `score` of different samplers in parallel processes):

- `train`: one supernet per sampler on the CIFAR-10 subset (5,085 training images, the CPU-sized
  budget), the same epochs, batch, optimizer and schedule for every sampler (subnets per step differ by
  sampler and are printed with the training seconds); `--skeleton C,N` trains on a cheaper skeleton of the
  same cell (C stem channels, N cells per stage), `--data` on other images (e.g. all of CIFAR-10);
- `split`: few-shot (Zhao et al., 2021), the uniform supernet split on `--gene` (default ops.3, the edge
  0 -> 3) into one sub-supernet per op, each trained `--split-epochs` from the parent's weights
  (`fewshot`), and its equal-cost control, the parent trained on unsplit for the sub-supernets' epochs
  together (`continued`); score and report them as `--samplers fewshot,continued`;
- `score`: inherited accuracy of the same networks under every supernet (materialized, BatchNorm
  recalibrated on `--calibration-batches` training batches, test accuracy on the subset's first
  `--test-limit` test images), appended to `inherited_<sampler>.csv` (one row per network, so an
  interrupted run continues);
- `report`: Kendall tau, Spearman rho, top-1/5/10% precision and nDCG@10 against the 200-epoch accuracies
  (CIFAR-10, and CIFAR-100 and ImageNet16-120 beside it) for each supernet, for the shipped training-free
  default (`DEFAULT_OBJECTIVE`, its members' scores read from `results/benchmarks/nb201_scores_default.csv.gz`)
  on the same networks, and for the two combined (AZ-NAS's sum of log-ranks; the supernet's weight fixed
  beforehand at 1 and at 3, the default's member count, never fitted here); then a pool search: per seed,
  50 of the networks drawn, the default's top 10 re-ranked by inherited accuracy, the 200-epoch accuracy of
  the network returned.

`report` writes to `--summary` (results/benchmarks/supernet_ranking_nb201), checkpoints stay in `--out`.
The networks: `--networks` drawn (seed 0) from the distinct networks of `nb201_scores_default.csv.gz`.

    python -m benchmarks.supernet.supernet_ranking_nb201 train --samplers uniform,complexity_aware --out DIR
    python -m benchmarks.supernet.supernet_ranking_nb201 score --samplers uniform,complexity_aware --out DIR
    python -m benchmarks.supernet.supernet_ranking_nb201 report --out DIR
    python -m benchmarks.supernet.supernet_ranking_nb201 train --samplers uniform --skeleton 8,1 --epochs 50 --out DIR
    python -m benchmarks.supernet.supernet_ranking_nb201 split --skeleton 8,1 --out DIR
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from scipy import stats

from hybridnas.latency.timing import threads_set
from hybridnas.proxies.bench import ndcg_at, top_fraction_precision
from hybridnas.proxies.ensemble import DEFAULT_OBJECTIVE, parse_ensemble
from hybridnas.spaces.loader import SHIPPED_DIR
from hybridnas.supernet import load_checkpoint, load_scorer, load_supernet_config, train_few_shot, train_supernet
from benchmarks.common import benchmark_parser

SHARED = Path("../shared")
GROUND_TRUTH = SHARED / "benchmarks/nasbench201_200epoch.csv.gz"
SCORES = Path("results/benchmarks/nb201_scores_default.csv.gz")
DEFAULT_DATA = f"npz:{SHARED}/data/cifar10_subset.npz"
TARGETS = ("cifar10-test", "cifar100-test", "imagenet16-120-test")
# subnets trained per step: uniform 2; sandwich largest + smallest + 1; the ElasticViT ones 1 + the bank's smallest
# few-shot (split) and its equal-cost control, both from the uniform supernet (the `split` phase)
VARIANTS = ("fewshot", "continued")
SAMPLERS = {
    "uniform": {"sampler": "uniform", "subnets": 2},
    "sandwich": {"sampler": "sandwich", "subnets": 1},
    "complexity_aware": {"sampler": "complexity_aware", "subnets": 1},
    "performance_aware": {"sampler": "performance_aware", "subnets": 1},
}


def space_source(args: argparse.Namespace) -> str:
    """The shipped `nasbench201`, or (with `--skeleton C,N`) a copy with C stem channels and N cells per stage,
    written into `--out`: the same cells and strings on a cheaper skeleton."""
    if not args.skeleton:
        return "nasbench201"
    channels, cells = (int(v) for v in args.skeleton.split(","))
    raw = yaml.safe_load((SHIPPED_DIR / "nasbench201.yaml").read_text())
    raw.update(name=f"nasbench201_c{channels}n{cells}", skeleton={"channels": channels, "cells_per_stage": cells})
    path = args.out / f"{raw['name']}.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return str(path)


def training_config(args: argparse.Namespace, sampler: str):
    return load_supernet_config({
        "space": space_source(args), "data": args.data, "epochs": args.epochs, "batch_size": 64, "optimizer": "sgd",
        "lr": 0.05, "weight_decay": 5e-4, "warmup_epochs": 0.5, "seed": 0, "eval_batch_size": 256,
        "calibration_batches": args.calibration_batches, "device": args.device, "precision": args.precision,
        **SAMPLERS[sampler]})


def training_cost(folder: Path) -> dict[str, float]:
    """Epochs, subnet steps and seconds of a supernet folder (a checkpoint, or a few-shot split's sub-supernets),
    with those of the parent it started from (`init_from`), once."""
    paths = [folder / "checkpoint.pt"] if (folder / "checkpoint.pt").is_file() else sorted(folder.glob("*/checkpoint.pt"))
    states = [load_checkpoint(path) for path in paths]
    parents = {state["config"].get("init_from") for state in states} - {None}
    history = [h for state in states for h in state["history"]]
    cost = {"epochs": sum(state["epoch"] for state in states), "train_seconds": sum(h["seconds"] for h in history),
            "subnet_steps": sum(h["subnets"] for h in history), "parent": ""}
    for parent in parents:
        inherited = training_cost(Path(parent) if Path(parent).is_dir() else Path(parent).parent)
        for key in ("epochs", "train_seconds", "subnet_steps"):
            cost[key] += inherited[key]
        cost["parent"] = f", its parent's {inherited['epochs']} epochs included"
    return cost


def split(args: argparse.Namespace) -> None:
    """Few-shot: the uniform supernet split on `--gene` into one sub-supernet per op, each trained `--split-epochs`
    from the parent's weights (`supernet_fewshot/`); and its control at equal cost, the parent trained on
    unsplit for as many epochs as the sub-supernets together (`supernet_continued/`)."""
    parent = args.out / "supernet_uniform" / "checkpoint.pt"
    if not parent.is_file():
        raise SystemExit(f"{parent} is missing: run `train --samplers uniform` first")
    fewshot = args.out / "supernet_fewshot"
    results = train_few_shot(parent, args.gene, fewshot, args.split_epochs, resume=fewshot.is_dir(), progress=False)
    print(f"fewshot: {len(results)} sub-supernets of {args.split_epochs} epochs", flush=True)
    config = load_supernet_config(load_checkpoint(parent)["config"]).model_copy(update={
        "epochs": args.split_epochs * len(results), "init_from": str(parent.resolve())})
    folder = args.out / "supernet_continued"
    result = train_supernet(config, folder, resume=(folder / "checkpoint.pt").is_file(), progress=False)
    print(f"continued: {result.epochs} epochs from the parent", flush=True)


def networks(n: int) -> pd.DataFrame:
    """`n` distinct networks (seed 0) with the default's member scores and their 200-epoch accuracies."""
    scores = pd.read_csv(SCORES)
    scores = scores[scores["errors"].isna()] if "errors" in scores else scores
    picked = scores.sample(n=n, random_state=0).reset_index(drop=True)
    truth = pd.read_csv(GROUND_TRUTH, usecols=["arch", *TARGETS])
    return picked.merge(truth, on="arch", how="left", validate="one_to_one")


def train(args: argparse.Namespace) -> None:
    for sampler in args.samplers:
        folder = args.out / f"supernet_{sampler}"
        checkpoint = folder / "checkpoint.pt"
        done = 0
        if checkpoint.is_file():
            done = load_checkpoint(checkpoint)["epoch"]
        if done >= args.epochs:
            continue
        start = time.perf_counter()
        result = train_supernet(training_config(args, sampler), folder, resume=checkpoint.is_file(), progress=False)
        print(f"{sampler}: {result.epochs} epochs, {time.perf_counter() - start:.0f} s this run", flush=True)


def score(args: argparse.Namespace) -> None:
    nets = networks(args.networks)
    for sampler in args.samplers:
        path = args.out / f"inherited_{sampler}.csv"
        done = pd.read_csv(path) if path.is_file() else pd.DataFrame(columns=["arch", "inherited", "seconds"])
        scorer = load_scorer(args.out / f"supernet_{sampler}", test_limit=args.test_limit,
                             calibration_batches=args.calibration_batches, data=args.test_data)
        space = scorer.space  # the skeleton it was trained on; the cell strings are the benchmark's
        seen = set(done["arch"])
        for arch_text in nets["arch"]:
            if arch_text in seen:
                continue
            start = time.perf_counter()
            accuracy = scorer(space.parse(arch_text))
            row = pd.DataFrame([{"arch": arch_text, "inherited": accuracy, "seconds": time.perf_counter() - start}])
            done = pd.concat([done, row], ignore_index=True)
            tmp = path.with_suffix(".tmp")
            done.to_csv(tmp, index=False)
            tmp.replace(path)
        print(f"{sampler}: {len(done)} networks scored, {done['seconds'].mean():.1f} s each", flush=True)


def metrics(pred: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    return {"tau": float(stats.kendalltau(pred, truth).statistic), "rho": float(stats.spearmanr(pred, truth).statistic),
            **{f"top{int(f * 100)}%": top_fraction_precision(pred, truth, f) for f in (0.01, 0.05, 0.10)},
            "ndcg10": ndcg_at(pred, truth)}


def log_rank(values: pd.Series) -> pd.Series:
    return np.log(values.rank(method="average") / len(values))


def pool_search(frame: pd.DataFrame, rankings: dict[str, pd.Series], seeds: int = 20, pool: int = 50,
                shortlist: int = 10) -> dict[str, tuple[float, float]]:
    """Per seed, `pool` networks drawn; each method returns one; mean and std of its 200-epoch CIFAR-10 accuracy."""
    methods = ("default", "supernet", "default top-10 -> supernet", "best in pool")
    found: dict[str, list[float]] = {name: [] for name in methods}
    default_members = parse_ensemble(DEFAULT_OBJECTIVE)
    for seed in range(seeds):
        rows = frame.sample(n=pool, random_state=seed)
        default = default_members.score(rows)
        found["default"].append(rows.loc[default.idxmax(), "cifar10-test"])
        found["supernet"].append(rows.loc[rankings["supernet"][rows.index].idxmax(), "cifar10-test"])
        short = default.nlargest(shortlist).index
        found["default top-10 -> supernet"].append(rows.loc[rankings["supernet"][short].idxmax(), "cifar10-test"])
        found["best in pool"].append(rows["cifar10-test"].max())
    return {name: (float(np.mean(v)), float(np.std(v))) for name, v in found.items()}


def report(args: argparse.Namespace) -> None:
    nets = networks(args.networks)
    default = parse_ensemble(DEFAULT_OBJECTIVE).score(nets)
    lines = [f"NAS-Bench-201 supernets on the CIFAR-10 subset: inherited accuracy vs the 200-epoch table, "
             f"{len(nets)} distinct networks (seed 0)"]
    summary: dict = {"networks": len(nets), "default_objective": DEFAULT_OBJECTIVE, "samplers": {}}
    rows = []
    for name, pred in [("default (" + DEFAULT_OBJECTIVE + ")", default)]:
        for target in TARGETS:
            rows.append({"ranking": name, "target": target, **metrics(pred.to_numpy(), nets[target].to_numpy())})
    for sampler in [*SAMPLERS, *VARIANTS]:
        path = args.out / f"inherited_{sampler}.csv"
        if not path.is_file():
            continue
        inherited = nets[["arch"]].merge(pd.read_csv(path), on="arch", how="left")
        if inherited["inherited"].isna().any():
            missing = int(inherited["inherited"].isna().sum())
            print(f"{sampler}: {missing} networks not scored yet; skipped", file=sys.stderr)
            continue
        sup = pd.Series(inherited["inherited"].to_numpy(), index=nets.index)
        summary["samplers"][sampler] = {**training_cost(args.out / f"supernet_{sampler}"),
                                        "score_seconds_per_network": float(inherited["seconds"].mean())}
        combos = {f"supernet ({sampler})": sup,
                  f"supernet ({sampler}) + default, weight 1": log_rank(sup) + default,
                  f"supernet ({sampler}) + default, weight 3": 3 * log_rank(sup) + default}
        for name, pred in combos.items():
            for target in TARGETS:
                rows.append({"ranking": name, "target": target, **metrics(pred.to_numpy(), nets[target].to_numpy())})
        summary["samplers"][sampler]["pool_search"] = pool_search(nets, {"supernet": sup})
    table = pd.DataFrame(rows)
    args.summary.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.summary / "ranking.csv", index=False)
    for sampler in summary["samplers"]:
        (args.summary / f"inherited_{sampler}.csv").write_text((args.out / f"inherited_{sampler}.csv").read_text())
    lines.append("")
    lines.append("training (CPU, one thread each, two runs side by side; the same epochs, batch and optimizer for every "
                 "sampler; scoring seconds were measured beside other jobs and overstate):")
    for sampler, info in summary["samplers"].items():
        lines.append(f"  {sampler:<18} {info['epochs']} epochs, {info['subnet_steps']} subnet steps, "
                     f"{info['train_seconds']:.0f} s{info['parent']}; scoring {info['score_seconds_per_network']:.1f} "
                     "s per network")
    for target in TARGETS:
        lines.append("")
        lines.append(f"{target} (200 epochs)")
        lines.append(f"  {'ranking':<52} {'tau':>6} {'rho':>6} {'top1%':>6} {'top5%':>6} {'top10%':>6} {'nDCG10':>6}")
        for _, r in table[table.target == target].iterrows():
            lines.append(f"  {r.ranking:<52} {r.tau:>6.3f} {r.rho:>6.3f} {r['top1%']:>6.2f} {r['top5%']:>6.2f} "
                         f"{r['top10%']:>6.2f} {r.ndcg10:>6.3f}")
    halves = {"choose (networks 1-100)": slice(0, len(nets) // 2),
              "report (networks 101-200)": slice(len(nets) // 2, None)}
    taus = {}
    for sampler in summary["samplers"]:
        inherited = pd.read_csv(args.summary / f"inherited_{sampler}.csv").set_index("arch")["inherited"]
        taus[sampler] = {half: float(stats.kendalltau(inherited.loc[nets["arch"][part]],
                                                      nets["cifar10-test"][part]).statistic)
                         for half, part in halves.items()}
    if taus:
        chosen = max(taus, key=lambda k: taus[k]["choose (networks 1-100)"])
        summary["sampler_choice"] = {"chosen": chosen, "taus": taus}
        lines.append("")
        lines.append("the best sampler on networks 1-100 (choose) and its tau on networks 101-200 (report), CIFAR-10:")
        for sampler, by_half in taus.items():
            lines.append(f"  {sampler:<18} " + "  ".join(f"{h} {t:.3f}" for h, t in by_half.items())
                         + ("   <- chosen" if sampler == chosen else ""))
    if "uniform" in summary["samplers"]:
        inherited = pd.read_csv(args.summary / "inherited_uniform.csv").set_index("arch")["inherited"]
        by_convs = nets.assign(convs=nets["arch"].str.count("conv"), inherited=inherited.loc[nets["arch"]].to_numpy())
        table = by_convs.groupby("convs").agg(networks=("arch", "size"), inherited=("inherited", "mean"),
                                              final=("cifar10-test", "mean"))
        lines.append("")
        lines.append("by convolutions in the cell (uniform supernet): networks, mean inherited accuracy, mean "
                     "200-epoch CIFAR-10 accuracy")
        for convs, row in table.iterrows():
            lines.append(f"  {convs} convs: {int(row.networks):>3} networks, inherited {row.inherited:5.1f}%, "
                         f"200-epoch {row.final:5.1f}%")
    lines.append("")
    lines.append("pool search (20 seeds; 50 networks drawn per seed; CIFAR-10 200-epoch accuracy of the network "
                 "returned, mean ± std):")
    for sampler, info in summary["samplers"].items():
        found = info["pool_search"]
        lines.append(f"  {sampler:<18} " + "; ".join(f"{k} {m:.2f} ± {s:.2f}" for k, (m, s) in found.items()))
    lines.append("")
    lines.append(f"command: python -m benchmarks.supernet.supernet_ranking_nb201 {{train,score,report}} --out {args.out} "
                 f"--epochs {args.epochs} --networks {args.networks} --test-limit {args.test_limit} "
                 f"--calibration-batches {args.calibration_batches}" + (f" --skeleton {args.skeleton}" if args.skeleton else "")
                 + (f" --data {args.data}" if args.data != DEFAULT_DATA else "")
                 + (f" --test-data {args.test_data}" if args.test_data else ""))
    text = "\n".join(lines)
    print(text)
    (args.summary / "summary.txt").write_text(text + "\n")
    (args.summary / "summary.json").write_text(json.dumps({**summary, "ranking": rows}, indent=1))


def main() -> None:
    ap = benchmark_parser(__doc__, out_type=Path, out_help="checkpoints and inherited-accuracy caches")
    ap.add_argument("phase", choices=["train", "split", "score", "report"])
    ap.add_argument("--summary", type=Path, default=Path("results/benchmarks/supernet_ranking_nb201"),
                    help="where `report` writes summary.txt, summary.json, ranking.csv and the inherited accuracies")
    ap.add_argument("--samplers", type=lambda s: s.split(","), default=list(SAMPLERS))
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--skeleton", default=None, help="C,N: train on a cheaper skeleton (C stem channels, N cells "
                                                     "per stage) instead of the benchmark's 16,5")
    ap.add_argument("--gene", default="ops.3", help="split: the gene the few-shot supernet splits on")
    ap.add_argument("--split-epochs", type=int, default=10, help="split: epochs of each sub-supernet")
    ap.add_argument("--networks", type=int, default=200)
    ap.add_argument("--test-limit", type=int, default=500)
    ap.add_argument("--calibration-batches", type=int, default=4)
    ap.add_argument("--data", default=DEFAULT_DATA)
    ap.add_argument("--test-data", default=None, help="score: recalibrate and test on these images instead of the "
                                                      "training's (e.g. all of CIFAR-10's 10,000 test images)")
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu", help="train: where (scoring follows it)")
    ap.add_argument("--precision", choices=["fp32", "bf16"], default="fp32", help="train: bf16 autocast on a GPU")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    for path in (GROUND_TRUTH, SCORES):
        if not path.is_file():
            ap.error(f"{path} is missing")
    args.out.mkdir(parents=True, exist_ok=True)
    with threads_set(args.threads):
        {"train": train, "split": split, "score": score, "report": report}[args.phase](args)


if __name__ == "__main__":
    main()
