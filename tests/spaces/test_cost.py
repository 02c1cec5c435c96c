"""The analytic cost model is exact: FlopCounterMode / 2, the built model's parameters, published tables."""

import numpy as np
import pandas as pd
import pytest
import torch

from hybridnas import load_space
from hybridnas.testing import counted

N_ARCHS = 200


def test_cost_equals_flop_counter_and_parameter_count(space):
    rng = np.random.default_rng(2024)
    # each forward of the literature spaces costs ~0.4 s; test_literature_spaces checks all their published rows
    count = {"mnasnet": 24, "transnas_macro": 24}.get(space.name, N_ARCHS)
    archs = {space.sample(rng) for _ in range(count * 2)}
    archs = sorted(archs, key=lambda a: a.id)[:count]
    assert len(archs) == count
    for arch in archs:
        cost = space.cost(arch)
        macs, params, shape = counted(space, arch)
        assert (cost.macs, cost.params) == (macs, params), space.format(arch)
        assert shape == (2, space.num_classes)


def test_nasbench_macro_matches_all_published_rows(shared):
    space = load_space("nasbench_macro")
    table = pd.read_csv(shared / "benchmarks" / "nasbench_macro_cost.csv", dtype={"arch": str})
    assert len(table) == 6561
    ours = pd.DataFrame([space.cost(space.parse(a)).as_dict() for a in table["arch"]])
    assert (ours["params"].to_numpy() == table["params"].to_numpy()).all()
    assert (ours["macs"].to_numpy() == table["flops"].to_numpy()).all()


def test_cost_never_instantiates_a_module(space, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the cost model built a module")

    monkeypatch.setattr(torch.nn.Module, "__init__", refuse)
    for seed in range(10):
        assert space.cost(space.sample(seed)).macs > 0


def test_hybrid_cifar_spans_10m_to_300m_macs():
    space = load_space("hybrid_cifar")
    smallest = space.parse("w16|w16:pool-r2|w24:pool-r2|w48:attention-h2-r2|w96:attention-h4-r2")
    largest = space.parse("w32|w48:conv-k7-r4*3|w96:conv-k5-r4*3+attention-h4-r4|w192:conv-k5-r4*6|"
                          "w320:conv-k3-r4*3")
    assert space.cost(smallest).macs <= 10e6 and space.cost(largest).macs >= 300e6


def test_graph_carries_shapes_and_is_a_dag(space):
    import networkx as nx

    arch = space.sample(11)
    graph = space.graph(arch)
    assert nx.is_directed_acyclic_graph(graph)
    assert graph.nodes["input"]["out_shape"] == space.input_shape
    for name in graph.nodes:
        for pred in graph.predecessors(name):
            assert graph.nodes[pred]["out_shape"] == graph.nodes[name]["in_shape"]
    assert graph.nodes[graph.graph["output"]]["out_shape"] == (space.num_classes, 1, 1)
    assert sum(1 for _ in nx.topological_sort(graph)) == len(space.plan(arch).nodes) + 1


@pytest.mark.parametrize("name", ["hybrid_cifar", "nasbench_macro"])
def test_activation_count_equals_layer_outputs(name):
    space = load_space(name)
    arch = space.sample(4)
    model = space.build(arch).eval()
    sizes = []
    for module in model.layers.values():
        module.register_forward_hook(lambda m, i, o: sizes.append(o.numel()))
    with torch.no_grad():
        model(torch.zeros(1, *space.input_shape))
    assert sum(sizes) == space.cost(arch).activations
