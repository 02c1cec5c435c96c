"""How much of a proxy's ranking is seed noise: rescore the committed seed-0 NAS-Bench-201 sample with other seeds.

The seed picks the batch of images and any random draws. For each member of the best ensemble this
prints Kendall tau with cifar10-test per seed, tau between the seed-0 and seed-1 scores of the same
networks, and tau of the ensemble summed over 1, 2 and 3 seeds.

    python -m benchmarks.proxies.proxy_seed_noise --out /tmp/seed_noise
"""

from __future__ import annotations

from pathlib import Path


from benchmarks.common import benchmark_parser, read_results_csv
import torch
from scipy.stats import kendalltau

from hybridnas import load_space
from hybridnas.proxies import score_many
from hybridnas.proxies.ensemble import parse_ensemble

SAMPLE = Path(__file__).resolve().parents[2] / "results/benchmarks/proxies_nb201_npz/scored.csv"
DATA = "npz:../shared/data/cifar10_subset.npz"
ENSEMBLE = "ensemble:jacob_cov+meco+ntk_cond+az_trainability"


def main() -> None:
    parser = benchmark_parser(__doc__, out_help="folder for the per-seed score caches")
    parser.add_argument("--seeds", default="1,2")
    args = parser.parse_args()
    torch.set_num_threads(1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    space = load_space("nasbench201")
    base = read_results_csv(SAMPLE)
    target = base["cifar10-test"]
    ensemble = parse_ensemble(ENSEMBLE)
    archs = [space.parse(text) for text in base["arch"]]
    frames = [base[ensemble.members]]
    for seed in (int(s) for s in args.seeds.split(",")):
        scored = score_many(space, archs, ensemble.members, DATA, seed, checkpoint=out / f"seed{seed}.csv")
        frames.append(scored[ensemble.members])
    print(f"NAS-Bench-201, the {len(base)} networks of {SAMPLE.parent.name}, scored with seeds 0..{len(frames) - 1}; "
          "Kendall tau with cifar10-test")
    for member in ensemble.members:
        taus = "  ".join(f"{kendalltau(f[member], target, nan_policy='omit')[0]:+.3f}" for f in frames)
        stability = kendalltau(frames[0][member], frames[1][member], nan_policy="omit")[0]
        print(f"  {member:<16} per seed {taus}   seed 0 vs seed 1: {stability:.3f}")
    for k in range(1, len(frames) + 1):
        total = sum(ensemble.score(f) for f in frames[:k])
        print(f"  {ENSEMBLE} summed over {k} seed(s): {kendalltau(total, target)[0]:.3f}")


if __name__ == "__main__":
    main()
