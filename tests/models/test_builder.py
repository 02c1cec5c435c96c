"""Space.build: real networks that run forward and backward on the CPU, with readable parameter names."""

import pytest
import torch

from hybridnas import load_space

SMALL = ["hybrid_cifar", "nasbench201", "nasbench_macro"]


@pytest.mark.parametrize("name", SMALL)
def test_built_networks_train_on_cpu(name):
    space = load_space(name)
    for seed in range(3):
        model = space.build(space.sample(seed))
        x = torch.randn(2, *space.input_shape)
        loss = torch.nn.functional.cross_entropy(model(x), torch.tensor([0, 1]))
        loss.backward()
        assert torch.isfinite(loss)


def test_parameter_names_follow_graph_nodes():
    space = load_space("hybrid_cifar")
    arch = space.sample(0)
    names = {n.split(".")[1] for n, _ in space.build(arch).named_parameters()}
    assert names <= {node.name for node in space.plan(arch).nodes}
    assert "stem" in names and "head" in names


def test_eval_is_deterministic_and_batch_independent():
    space = load_space("hybrid_cifar")
    model = space.build(space.sample(3)).eval()
    x = torch.randn(4, 3, 32, 32)
    with torch.no_grad():
        full, first = model(x), model(x[:1])
    torch.testing.assert_close(full[:1], first, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", ["hybrid_imagenet", "vit"])
def test_large_spaces_build_and_trace_on_meta(name):
    space = load_space(name)
    with torch.device("meta"):
        model = space.build(space.sample(0))
        assert model(torch.zeros(1, *space.input_shape)).shape == (1, space.num_classes)
