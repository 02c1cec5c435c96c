"""Command-line start-up: `hybridnas --help` (and every subcommand's) against importing what the CLI used to
load up front (hybridnas with torch, timm, the supernet, Optuna's strategies, pandas), in the same run.

Each figure is the median wall time of fresh interpreter processes; the ratio is baseline / measured.
    python -m benchmarks.speed.cli_startup --repeats 5
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

from benchmarks.common import command_line, header

# What `hybridnas --help` imported before its imports were made lazy (commit 20608d2 and earlier)
EAGER_BASELINE = "import hybridnas.spaces, hybridnas.supernet, hybridnas.search.strategies, pandas"
COMMANDS = [["--help"], ["search", "--help"], ["latency", "build", "--help"], ["scale", "--help"],
            ["export", "--help"], ["pareto", "--help"], ["train", "--help"]]


def wall_seconds(argv: list[str], repeats: int) -> float:
    """Median wall seconds of `argv` in a fresh process."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    python = [sys.executable]
    bare = wall_seconds(python + ["-c", "pass"], args.repeats)
    baseline = wall_seconds(python + ["-c", EAGER_BASELINE], args.repeats)
    print(header())
    print(f"python start-up alone: {bare:.3f} s; eager imports (the old --help's floor): {baseline:.3f} s")
    print(f"{'command':<36}{'seconds':>9}{'ratio':>8}")
    for cmd in COMMANDS:
        took = wall_seconds(python + ["-m", "hybridnas.cli"] + cmd, args.repeats)
        print(f"{'hybridnas ' + ' '.join(cmd):<36}{took:>9.3f}{baseline / took:>8.1f}")
    print("ratio = eager-import seconds / the command's seconds (median of fresh processes)")
    print(command_line())


if __name__ == "__main__":
    main()
