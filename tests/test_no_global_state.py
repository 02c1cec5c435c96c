"""Library calls leave the host program's process settings alone (RNG, allocator, logging)."""

import subprocess
import sys

import torch

from hybridnas import load_space
from hybridnas.proxies import score


def test_score_leaves_the_callers_torch_generator_where_it_was():
    space = load_space("nasbench_macro")
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    first = score(space.sample(0), ["naswot", "synflow"], space=space, batch_size=8)
    assert torch.equal(torch.rand(3), expected)
    again = score(space.sample(0), ["naswot", "synflow"], space=space, batch_size=8)
    assert first.values == again.values  # still deterministic for a seed


def test_a_library_search_changes_neither_the_allocator_nor_optunas_logging(tmp_path):
    program = f"""
import logging, optuna
from hybridnas import allocator
from hybridnas.search import load_search_config, run_search
level = optuna.logging.get_verbosity()
config = {{"space": "nasbench_macro", "objectives": ["naswot:max"], "strategy": "random", "trials": 2,
           "workers": 0, "proxy_batch_size": 8}}
run_search(load_search_config(config), {str(tmp_path / 'run')!r}, progress=False)
print(allocator._done, optuna.logging.get_verbosity() == level)
"""
    out = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split()[-2:] == ["False", "True"]
