"""The learned ranker (`predictor:FILE`) on NAS-Bench-201: fitted on n labelled networks, reported on others.

Every distinct NAS-Bench-201 network has the default objective's member scores in
`results/benchmarks/nb201_scores_default.csv.gz` (jacob_cov, MeCo, params; one CIFAR-10 batch, seed 0). The
networks are split into the two folds `proxies bench --split` uses (by network id): the labelled networks
are drawn from fold 0 (the "choose" fold: what a user trained), the ranking is reported on every network of
fold 1, which no fit sees. For each n, 5 draws (seeds 0-4); the predictor chooses its ridge by 5-fold
cross-validation on its n networks alone. The label is the 200-epoch test accuracy of the dataset reported
(a user fits on their own data's accuracies). Printed beside the training-free default
(`DEFAULT_OBJECTIVE`) on the same fold-1 networks, and the published model-driven rankers (VKDNW's table:
GRAF 0.820, their best combination 0.859; counted over all cells, with their own training budgets).

    python -m benchmarks.proxies.learned_ranker_nb201 > results/benchmarks/learned_ranker_nb201.txt

`--proxies` and `--scores` choose other features, e.g. with the AZ-NAS terms of `nb201_scores_aznas.csv.gz`:

    python -m benchmarks.proxies.learned_ranker_nb201 --proxies jacob_cov,meco,params,az_expressivity,az_trainability \
        --scores results/benchmarks/nb201_scores_default.csv.gz results/benchmarks/nb201_scores_aznas.csv.gz \
        > results/benchmarks/learned_ranker_nb201_aznas.txt

`--save N PATH` instead fits one predictor on N fold-0 networks (draw 0, CIFAR-10) and writes it, for a
search with `predictor:PATH` (benchmarks/search/search_quality_nb201.py):

    python -m benchmarks.proxies.learned_ranker_nb201 --save 200 results/benchmarks/predictor_nb201_200.json
"""

from __future__ import annotations

import argparse
import datetime
import sys
import time

import numpy as np
import pandas as pd
from scipy import stats

from benchmarks.proxies.default_choice_nb201 import joined
from hybridnas import load_space
from hybridnas.proxies.bench import in_fold, ndcg_at, top_fraction_precision
from hybridnas.proxies.ensemble import DEFAULT_OBJECTIVE, parse_ensemble
from hybridnas.proxies.predictor import fit_rank_predictor

SCORES = "results/benchmarks/nb201_scores_default.csv.gz"
GROUND_TRUTH = "../shared/benchmarks/nasbench201_200epoch.csv.gz"
TARGETS = ("cifar10-test", "cifar100-test", "imagenet16-120-test")
PROXIES = ["jacob_cov", "meco", "params"]
SIZES = (50, 100, 200, 500, 1000)
DRAWS = 5


def figures(pred: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    return {"tau": stats.kendalltau(pred, truth).statistic, "rho": stats.spearmanr(pred, truth).statistic,
            "top10": top_fraction_precision(pred, truth, 0.1), "ndcg10": ndcg_at(pred, truth)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--save", nargs=2, metavar=("N", "PATH"), help="fit one predictor on N networks and save it")
    parser.add_argument("--proxies", default=",".join(PROXIES), help="the proxy features (columns of --scores)")
    parser.add_argument("--scores", nargs="+", default=[SCORES], help="score tables of every network, joined by id")
    args = parser.parse_args()
    proxies = args.proxies.split(",")
    space = load_space("nasbench201")
    scores = joined(args.scores)
    table = scores.merge(pd.read_csv(GROUND_TRUTH, usecols=["arch", *TARGETS]), on="arch", validate="one_to_one")
    archs = [space.parse(a) for a in table["arch"]]
    fold = np.array([in_fold(a.id, (1, 2)) for a in archs])
    choose, report = np.flatnonzero(~fold), np.flatnonzero(fold)
    if args.save:
        picked = np.random.default_rng(0).choice(choose, int(args.save[0]), replace=False)
        fitted = fit_rank_predictor(space, [archs[i] for i in picked], table["cifar10-test"].to_numpy()[picked],
                                    table.iloc[picked], proxies, target="cifar10-test", seed=0)
        fitted.save(args.save[1])
        print(f"{args.save[1]}: {fitted.labelled} networks, ridge {fitted.ridge:g}, cross-validated tau "
              f"{fitted.cv_tau:.3f}")
        return
    report_archs = [archs[i] for i in report]
    print(f"NAS-Bench-201, {len(table)} distinct networks: labelled draws from fold 0 ({len(choose)}), "
          f"reported on all of fold 1 ({len(report)}); 200-epoch test accuracy; mean ± std over {DRAWS} draws")
    rows = []
    for target in TARGETS:
        truth = table[target].to_numpy()
        default = parse_ensemble(DEFAULT_OBJECTIVE).score(table.iloc[report]).to_numpy()
        rows.append({"target": target, "ranking": f"default {DEFAULT_OBJECTIVE} (training-free)", "n": 0,
                     **{k: (v, 0.0) for k, v in figures(default, truth[report]).items()}, "fit_s": (0.0, 0.0)})
        for n in SIZES:
            runs, seconds = [], []
            for draw in range(DRAWS):
                picked = np.random.default_rng(draw).choice(choose, n, replace=False)
                start = time.perf_counter()
                fitted = fit_rank_predictor(space, [archs[i] for i in picked], truth[picked], table.iloc[picked],
                                            proxies, target=target, seed=draw)
                seconds.append(time.perf_counter() - start)
                pred = fitted.predict_archs(space, report_archs, table.iloc[report])
                runs.append(figures(pred, truth[report]))
            rows.append({"target": target, "ranking": f"predictor (encoding + {', '.join(proxies)})", "n": n,
                         **{k: (np.mean([r[k] for r in runs]), np.std([r[k] for r in runs])) for k in runs[0]},
                         "fit_s": (np.mean(seconds), np.std(seconds))})
    width = max(56, *(len(r["ranking"]) for r in rows))
    for target in TARGETS:
        print(f"\n{target}")
        print(f"  {'ranking':<{width}} {'labelled':>8} {'Kendall tau':>13} {'Spearman':>13} {'top-10%':>13} "
              f"{'nDCG@10':>13} {'fit s':>6}")
        for r in (r for r in rows if r["target"] == target):
            cells = " ".join(f"{r[k][0]:>6.3f} ± {r[k][1]:.3f}" for k in ("tau", "rho", "top10", "ndcg10"))
            print(f"  {r['ranking']:<{width}} {r['n'] or '-':>8} {cells} {r['fit_s'][0]:>6.2f}")
    start = time.perf_counter()
    fitted.predict_archs(space, report_archs, table.iloc[report])
    per_net = (time.perf_counter() - start) / len(report)
    print(f"\npublished (VKDNW, CVPR 2025, CIFAR-10 tau): GRAF 0.820, best model-driven combination 0.859; "
          f"training-free VKDNW_agg 0.750")
    print(f"prediction: {1e3 * per_net:.3f} ms per network (fitted on {fitted.labelled}) on top of the proxies it "
          f"reads (the default's members: 0.62 s per NAS-Bench-201 network, results/benchmarks/"
          f"default_objective_speed.txt)")
    print(f"\ncommand: python -m benchmarks.proxies.learned_ranker_nb201 {' '.join(sys.argv[1:])} ({datetime.date.today()})")


if __name__ == "__main__":
    main()
