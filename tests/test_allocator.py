import sys

import pytest

from hybridnas import allocator


@pytest.fixture
def fresh(monkeypatch):
    monkeypatch.setattr(allocator, "_done", False)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mallopt is glibc's")
def test_thresholds_are_raised_once_per_process(fresh):
    assert allocator.keep_freed_memory() is True
    assert allocator.keep_freed_memory() is True  # idempotent


def test_opt_out_leaves_the_allocator_alone(fresh, monkeypatch):
    monkeypatch.setenv(allocator.OPT_OUT, "0")
    assert allocator.keep_freed_memory() is False
    assert allocator._done is False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mallopt is glibc's")
def test_the_command_line_tunes_the_allocator_and_a_library_call_does_not(fresh):
    from click.testing import CliRunner

    from hybridnas import load_space
    from hybridnas.cli import main
    from hybridnas.proxies import score_many

    space = load_space("nasbench201")
    score_many(space, [space.sample(0)], ["params"], batch_size=2)
    assert allocator._done is False
    assert CliRunner().invoke(main, ["space", "validate", "nasbench201"]).exit_code == 0
    assert allocator._done is True


FAULTS = """
import resource, sys
import numpy as np
from hybridnas.allocator import keep_freed_memory
keep_freed_memory()
np.ones(2**23).sum()  # the first 64 MiB block faults in either way
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(5):
    np.ones(2**23).sum()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mallopt is glibc's")
def test_freed_blocks_are_reused_without_page_faults():
    import os
    import subprocess

    def faults(opt: str) -> int:
        env = {**os.environ, allocator.OPT_OUT: opt}
        out = subprocess.run([sys.executable, "-c", FAULTS], env=env, capture_output=True, text=True, check=True)
        return int(out.stdout)

    default, kept = faults("0"), faults("1")
    assert default > 5 * 32  # glibc maps each 64 MiB block afresh: >= 1 fault per 2 MiB (huge) page...
    assert kept < default / 10  # ...and with the thresholds raised it reuses the heap
