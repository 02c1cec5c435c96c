"""The repository's own rules: committed evidence stays small."""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RESULTS_LIMIT = 2 * 1024 * 1024  # docs/evidence/studies.md: results/ holds summaries, not history


def test_committed_results_stay_under_two_megabytes():
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs a git checkout (the limit counts committed files)")
    listed = subprocess.run(["git", "ls-files", "-z", "results"], cwd=ROOT, capture_output=True, check=True).stdout
    files = [ROOT / name for name in listed.decode().split("\0") if name]
    size = sum(f.stat().st_size for f in files if f.is_file())
    assert files and size <= RESULTS_LIMIT, f"results/ holds {size / 2**20:.2f} MiB in {len(files)} files"
