"""Training steps/s of a hybrid_cifar subnet on one CPU thread under glibc malloc, glibc with its trim and
mmap thresholds raised, and jemalloc (LD_PRELOAD), each in a fresh process; ratios to glibc in this run.

Why: a standalone training on the CPU spent a quarter of its time in the kernel, at ~130,000 minor page faults
a second: glibc hands large freed blocks back to the system and the next step faults them in again. The
worker prints its minor faults per step beside its speed, so the cause is measured with the cure.

    python -m benchmarks.speed.cpu_allocator_speed > results/benchmarks/cpu_allocator_speed.txt

Rounds alternate the variants, so a drift in the machine's speed lands on all of them; the table gives the
median over rounds.
"""

from __future__ import annotations

import argparse
import ctypes.util
import datetime
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

# the slowest per MAC of the subnets trained so far (65.1 M MACs), then the fastest (80.0 M)
DEFAULT_ARCHS = (
    "w24|w32:mbconv-k7-r4|w32:conv-k3-r2*3+linear_attention-h4-r2|w160:conv-k3-r2+attention-h4-r2"
    "|w192:linear_attention-h4-r3*2",
    "w24|w24:mbconv-k3-r2|w64:conv-k5-r4*4|w96:linear_attention-h8-r4*3|w256:conv-k3-r4",
)
# the most glibc allows (32 MB: larger blocks are always mmapped) and a trim threshold it never reaches
GLIBC_RAISED = "glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=4294967296"
GLIBC_HUGE_PAGES = "glibc.malloc.hugetlb=1"  # madvise transparent huge pages on malloc's memory (glibc >= 2.35)
JEMALLOC_KEEP = "dirty_decay_ms:-1,muzzy_decay_ms:-1"  # keep freed pages mapped for reuse


def jemalloc_path() -> str | None:
    """The jemalloc shared library, if the system has one (Debian: apt install libjemalloc2)."""
    for folder in ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib"):
        if (Path(folder) / "libjemalloc.so.2").is_file():
            return str(Path(folder) / "libjemalloc.so.2")
    return ctypes.util.find_library("jemalloc")  # a soname, which LD_PRELOAD also takes


def worker(arch_text: str, steps: int, batch: int) -> None:
    """Time `steps` AdamW steps of the subnet on random images (the pixels do not change the work)."""
    import torch

    from hybridnas import load_space

    torch.set_num_threads(1)
    torch.manual_seed(0)
    space = load_space("hybrid_cifar")
    model = space.build(space.parse(arch_text)).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=0.05)
    x, y = torch.randn(batch, *space.input_shape), torch.randint(0, space.num_classes, (batch,))

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()

    for _ in range(3):
        step()
    faults, start = resource.getrusage(resource.RUSAGE_SELF).ru_minflt, time.perf_counter()
    for _ in range(steps):
        step()
    seconds = time.perf_counter() - start
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
    print(json.dumps({"steps_per_s": steps / seconds, "faults_per_step": faults / steps}))


def run_variant(env_extra: dict[str, str], arch_text: str, steps: int, batch: int) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "GLIBC_TUNABLES", "MALLOC_CONF")}
    env.update(env_extra, OMP_NUM_THREADS="1")
    out = subprocess.run([sys.executable, __file__, "--worker", "--arch", arch_text, "--steps", str(steps),
                          "--batch", str(batch)], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", action="append", help="hybrid_cifar subnet(s); default: two trained ones")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--batch", type=int, default=64, help="the hybrid_cifar recipe's batch size")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args.arch[0], args.steps, args.batch)
        return
    variants = {"glibc malloc (default)": {}, "glibc, thresholds raised": {"GLIBC_TUNABLES": GLIBC_RAISED},
                "glibc, huge pages": {"GLIBC_TUNABLES": GLIBC_HUGE_PAGES}}
    jemalloc = jemalloc_path()
    if jemalloc:
        variants["jemalloc"] = {"LD_PRELOAD": jemalloc}
        variants["jemalloc, never purging"] = {"LD_PRELOAD": jemalloc, "MALLOC_CONF": JEMALLOC_KEEP}
    thp = Path("/sys/kernel/mm/transparent_hugepage/enabled")
    print(f"{args.steps} training steps, batch {args.batch}, 1 thread, median of {args.rounds} rounds; "
          f"{os.cpu_count()} CPUs; jemalloc: {jemalloc or 'not found'}; transparent huge pages: "
          f"{thp.read_text().strip() if thp.is_file() else 'unknown'}")
    for arch_text in args.arch or DEFAULT_ARCHS:
        runs: dict[str, list[dict]] = {name: [] for name in variants}
        for _ in range(args.rounds):
            for name, extra in variants.items():
                runs[name].append(run_variant(extra, arch_text, args.steps, args.batch))
        base = statistics.median(r["steps_per_s"] for r in runs["glibc malloc (default)"])
        print(f"\n{arch_text}")
        for name, rows in runs.items():
            speed = statistics.median(r["steps_per_s"] for r in rows)
            faults = statistics.median(r["faults_per_step"] for r in rows)
            print(f"  {name:24s} {speed:6.2f} steps/s  {faults:9.0f} minor faults/step  {speed / base:.2f}x")
    command = " ".join(["python -m benchmarks.speed.cpu_allocator_speed", *sys.argv[1:]])
    import torch

    print(f"\ncommand: {command} ({datetime.date.today()}, torch {torch.__version__})")


if __name__ == "__main__":
    main()
