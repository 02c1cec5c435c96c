"""Tiny inputs that ask for huge sizes are refused before anything is materialised (issue: hostile input)."""

import copy
import tracemalloc

import pytest
import yaml
from click.testing import CliRunner

from hybridnas import SpaceError, load_space
from hybridnas.cli import main
from hybridnas.errors import HybridNASError
from hybridnas.proxies import ProxyEvaluator
from hybridnas.spaces.loader import SHIPPED_DIR

CIFAR = yaml.safe_load((SHIPPED_DIR / "hybrid_cifar.yaml").read_text())
BOMB = "w24|w32:conv-k5-r3*99999999999|w64:conv-k3-r2|w96:conv-k3-r2|w128:conv-k3-r2"


def test_a_repeat_count_past_the_declared_depth_is_refused_in_bounded_memory():
    space = load_space("hybrid_cifar")
    tracemalloc.start()
    with pytest.raises(HybridNASError, match=r"stage 0 .* has more than \d+ blocks; stages\[0\].depth allows"):
        space.parse(BOMB)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 10 * 2**20


@pytest.mark.parametrize("command", [["cost", "hybrid_cifar"], ["export", "hybrid_cifar", "--arch", BOMB, "--out", "x"]])
def test_the_cli_answers_the_bomb_with_one_line_and_exit_2(command, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, command, input=BOMB + "\n")
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and "blocks" in result.output
    assert not (tmp_path / "x").exists()


def _space_with(path, value):
    raw = copy.deepcopy(CIFAR)
    node = raw
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return raw


@pytest.mark.parametrize("path, value, message", [
    (["stages", 0, "depth"], 1_000_000_000, "at most 1024 blocks"),
    (["stages", 0, "depth"], 1_000_000, "at most 1024 blocks"),
    (["stages", 0, "width"], {"range": [8, 100_000_000_000]}, "at most 10000"),
    (["stages", 0, "depth"], {"range": [1, 10**12], "step": 1}, "at most 10000"),
])
def test_huge_declared_sizes_are_refused_quickly(path, value, message):
    tracemalloc.start()
    with pytest.raises(SpaceError, match=message):
        load_space(_space_with(path, value))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 50 * 2**20


def _no_memory(*args, **kwargs):
    raise RuntimeError("DefaultCPUAllocator: not enough memory: you tried to allocate 4000000000000 bytes.")


def test_a_network_that_cannot_be_built_is_recorded_as_failed_not_raised(monkeypatch):
    space = load_space("hybrid_cifar")
    evaluator = ProxyEvaluator(space, ["naswot"], "gaussian", 0, 4)
    monkeypatch.setattr("hybridnas.proxies.engine.score", _no_memory)
    result = evaluator.evaluate(space.sample(0))
    assert result.metrics == {} and "not enough memory" in result.errors["build"]


def test_proxies_score_lists_a_network_that_cannot_be_built_in_its_errors_column(monkeypatch):
    from click.testing import CliRunner

    from hybridnas.cli import main

    space = load_space("hybrid_cifar")
    monkeypatch.setattr(type(space), "build", _no_memory)
    archs = "\n".join(space.format(space.sample(i)) for i in range(2)) + "\n"
    result = CliRunner().invoke(main, ["proxies", "score", "hybrid_cifar", "--proxies", "naswot", "--csv"],
                                input=archs)
    assert result.exit_code == 0, result.output
    assert result.output.count("build: RuntimeError: DefaultCPUAllocator: not enough memory") == 2


@pytest.mark.parametrize("path, value", [(("stages", 0, "width"), 32.0), (("stem", "width"), 32.0),
                                         (("stages", 0, "width"), True), (("stages", 0, "blocks", 0, "kernel"), 3.0)])
def test_integer_genes_must_be_integers_in_json(path, value):
    import json

    space = load_space("hybrid_cifar")
    genes = json.loads(space.sample(0).to_json())
    node = genes["genes"]
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(HybridNASError, match="is not allowed"):
        space.parse(json.dumps(genes))
