#!/usr/bin/env bash
# Wall time of the quick tier and of the full suite (2 xdist workers), as `make test-quick` and `make test` run
# them (OMP_NUM_THREADS=1), and of the quick tier with torch's default threads, the baseline in the same run.
# Usage: [SKIP_BASELINE=1] benchmarks/speed/test_tiers.sh [VENV]  -> results/benchmarks/test_tiers.txt
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${1:-.venv}"
out=results/benchmarks/test_tiers.txt
tier() {  # tier NAME THREADS PYTEST-ARGS... (THREADS empty: torch's default)
    local name="$1" threads="$2" start end
    shift 2
    local env_args=(env -u OMP_NUM_THREADS)
    if [ -n "$threads" ]; then env_args=(env OMP_NUM_THREADS="$threads"); fi
    start=$(date +%s.%N)
    "${env_args[@]}" "$venv/bin/python" -m pytest -q -n 2 -p no:cacheprovider "$@" > "/tmp/test_tiers_$name.log" 2>&1 \
        || true
    end=$(date +%s.%N)
    printf '%-22s %6.0f s  %s\n' "$name" "$(echo "$end - $start" | bc)" "$(tail -1 "/tmp/test_tiers_$name.log")"
}
{
    echo "# $(date -u +%F) on $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs))"
    echo "# tier                   wall    pytest summary"
    tier quick 1 -m "not slow and not ray and not subprocess"
    tier full 1
    if [ -z "${SKIP_BASELINE:-}" ]; then  # SKIP_BASELINE=1: only the two tiers, not the default-threads baseline
        tier quick-default-threads "" -m "not slow and not ray and not subprocess"
    fi
    echo "# tests that read ../shared (marker needs_shared_data): $("$venv/bin/python" -m pytest -q --collect-only \
        -p no:cacheprovider -m needs_shared_data 2>/dev/null | tail -1)"
} | tee "$out"
