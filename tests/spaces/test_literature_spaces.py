"""The spaces from the literature, written in YAML, against their published tables: every distinct network's
parameters exactly, and its MACs exactly up to each table's documented counting rule.

Accel-NASBench (mnasnet): `macs_M` = our MACs + 4 per BatchNorm output element + each average pool's input
and output elements (the squeeze-excite pools and the global pool). TransNAS-Bench-101 (transnas_macro):
`flops` = our MACs + 2 per BatchNorm output element + 1 per ReLU input element + C * (W + 1)^2 for the global
pool of the final C x W x W map. Both rules were fitted on the tables and hold for every row (exactly);
where they come from (a profiler's per-op counting) is not documented by the benchmarks.
"""

import ast
import math

import pandas as pd
import pytest

from hybridnas import load_space
from hybridnas.configfile import read_config
from hybridnas.ir import layers as L
from hybridnas.spaces.loader import SHIPPED_DIR

TRANSNAS_CLASSES = {"class_scene": 63, "class_object": 100}


def stage_code_to_string(code: tuple[int, ...]) -> str:
    """TransNAS's macro tuple, e.g. (1, 2, 4, 2, 0, 0), as a transnas_macro string."""
    token = {0: "-", 1: "x1s1", 2: "x2s1", 3: "x1s2", 4: "x2s2"}
    return "|".join(token[c] for c in code)


def _elements(shape) -> int:
    return math.prod(shape)


def accel_nasbench_macs(space, arch) -> int:
    """Our MACs plus the extra counts Accel-NASBench's `macs_M` includes."""
    extra = 0
    for node in space.plan(arch).nodes:
        spec, (c, h, w) = node.spec, node.in_shape
        out = node.spec.out_shape(node.in_shape)
        if isinstance(spec, L.ConvNormAct):
            extra += 4 * _elements(out)
        elif isinstance(spec, L.MBConv):
            _, ho, wo = out
            expanded = h * w * spec.hidden if spec.hidden != spec.cin else 0
            extra += 4 * (expanded + ho * wo * spec.hidden + ho * wo * spec.cout)
            if spec.se_width:
                extra += ho * wo * spec.hidden + spec.hidden
        elif isinstance(spec, L.ClassifierHead):
            width = spec.conv_hidden or c
            extra += 4 * h * w * spec.conv_hidden + h * w * width + width
    return space.cost(arch).macs + extra


def transnas_flops(space, arch) -> int:
    """Our MACs plus the extra counts TransNAS-Bench-101's `flops` includes."""
    extra = 0
    for node in space.plan(arch).nodes:
        spec, shape = node.spec, node.in_shape
        out = spec.out_shape(shape)
        if isinstance(spec, L.ConvNormAct):
            extra += 2 * _elements(out) + (_elements(shape if spec.preact else out) if spec.act != "none" else 0)
        elif isinstance(spec, L.PreactBasicBlock):
            extra += 2 * _elements(out) * (3 if spec.projects else 2) + _elements(shape) + _elements(out)
        elif isinstance(spec, L.ClassifierHead):
            c, _, w = shape
            extra += c * (w + 1) ** 2
    return space.cost(arch).macs + extra


def test_mnasnet_matches_every_accel_nasbench_network(shared):
    space = load_space("mnasnet")
    table = pd.read_csv(shared / "benchmarks" / "accel_nasbench_mnasnet.csv.gz").drop_duplicates("arch")
    assert len(table) == 5125
    archs = [space.parse(text) for text in table["arch"]]
    assert [space.format(a) for a in archs] == table["arch"].tolist()
    params = [space.cost(a).params for a in archs]
    assert params == (table["params_M"] * 1e6).round().astype(int).tolist()
    macs = [accel_nasbench_macs(space, a) for a in archs]
    assert macs == (table["macs_M"] * 1e6).round().astype(int).tolist()


@pytest.mark.parametrize("task", sorted(TRANSNAS_CLASSES))
def test_transnas_macro_matches_every_classification_network(shared, task):
    raw, _, _ = read_config("transnas_macro", SHIPPED_DIR, "space")
    space = load_space({**raw, "num_classes": TRANSNAS_CLASSES[task]})
    table = pd.read_csv(shared / "benchmarks" / "transnas_macro_zc.csv.gz")
    table = table[table["task"] == task]
    assert len(table) == 662
    archs = [space.parse(stage_code_to_string(ast.literal_eval(code))) for code in table["arch"]]
    assert len(set(archs)) == 662
    params = [space.cost(a).params for a in archs]
    assert params == (table["params"] * 1e6).round().astype(int).tolist()
    flops = [transnas_flops(space, a) for a in archs]
    assert flops == (table["flops"] * 1e6).round().astype(int).tolist()


def test_transnas_macro_has_the_published_3256_networks_and_refuses_its_invalid_ones():
    space = load_space("transnas_macro")
    assert space.size() == 3256
    from hybridnas import ArchError

    with pytest.raises(ArchError, match="0 widening stages"):
        space.parse("x1s1|x1s2|x1s1|x1s1|-|-")
    with pytest.raises(ArchError, match="5 downsampling stages"):
        space.parse("x2s2|x1s2|x1s2|x1s2|x1s2|-")
    with pytest.raises(ArchError, match="follows absent stage"):
        space.parse("x2s2|x1s1|x1s1|x1s1|-|x1s1")


def test_mnasnet_strings_are_the_benchmarks_and_cover_squeeze_excite():
    space = load_space("mnasnet")
    arch = space.parse("e6k3l1se|e4k5l2|e6k3l3|e6k5l3|e6k5l2|e1k3l4se|e1k3l2")
    assert space.format(arch) == "e6k3l1se|e4k5l2|e6k3l3|e6k5l3|e6k5l2|e1k3l4se|e1k3l2"
    se_blocks = [n for n in space.plan(arch).nodes if isinstance(n.spec, L.MBConv) and n.spec.se_width]
    assert len(se_blocks) == 1 + 4
    from hybridnas import ArchError

    with pytest.raises(ArchError, match="depth 4 is not one of"):
        space.parse("e6k3l4|e4k5l2|e6k3l3|e6k5l3|e6k5l2|e1k3l2|e1k3l2")


@pytest.mark.parametrize("name", ["mnasnet", "transnas_macro"])
def test_the_commands_a_user_runs_work_on_the_literature_spaces(name, tmp_path):
    from click.testing import CliRunner

    from hybridnas.cli import main

    runner = CliRunner()
    assert runner.invoke(main, ["space", "validate", name]).output.startswith(f"ok: {name}")
    sampled = runner.invoke(main, ["space", "sample", name, "-n", "2", "--seed", "3"])
    assert sampled.exit_code == 0 and len(sampled.output.split()) == 2
    costs = runner.invoke(main, ["cost", name], input=sampled.output)
    assert costs.exit_code == 0 and "macs" in costs.output
    config = tmp_path / "s.yaml"
    config.write_text(f"space: {name}\nobjectives: [params:max, macs:min]\ntrials: 4\nworkers: 0\n")
    searched = runner.invoke(main, ["search", str(config), "--out", str(tmp_path / "r"), "--no-progress"])
    assert searched.exit_code == 0, searched.output
    assert "networks evaluated" in searched.output
