"""ResNet's parts in the space language: bottleneck blocks, ResNet-D's average-pool downsampling, the stem's max pool.

Their cost is exact (FlopCounterMode / 2 and the built model's parameters), their shapes follow torch's rounding
(ceil-mode pooling on odd sizes), and a resnet14t-like network fits in a few lines of YAML.
"""

import pytest
import torch
from hybridnas.errors import SpaceError

from hybridnas import load_space
from hybridnas.ir import layers as L
from hybridnas.testing import counted


def resnet_space(size: int = 64, num_classes: int = 10) -> dict:
    """resnet14t's layout: a three-conv stem with a max pool, then one bottleneck per stage at 4x widths."""
    stage = lambda width, stride: {"depth": {"range": [1, 2]}, "width": width, "kernel": {"choices": [3, 5]},  # noqa: E731
                                   "layout": "bottleneck*", "downsample": {"type": "avgpool", "stride": stride}}
    return {"name": "resnet_d", "input": {"size": size}, "num_classes": num_classes,
            "stem": {"type": "conv", "width": {"choices": [24, 32]}, "strides": [2, 1, 1], "pool": "max"},
            "block": {"act": "relu"},
            "stages": [stage({"choices": [128, 256]}, 1), stage(512, 2), stage(1024, 2), stage(2048, 2)]}


def test_a_resnet14t_layout_costs_what_its_modules_count():
    space = load_space(resnet_space())
    arch = space.parse("w32|w256:bottleneck-k3|w512:bottleneck-k3|w1024:bottleneck-k3|w2048:bottleneck-k3")
    cost = space.cost(arch)
    assert (cost.macs, cost.params, (2, 10)) == counted(space, arch)
    assert 110e6 < cost.macs < 130e6  # resnet14t: 136.7M at 64 px (its strided bottlenecks cost a little more)
    kinds = [node.spec.kind for node in space.plan(arch).nodes]
    assert kinds[:4] == ["conv_norm_act"] * 3 + ["max_pool"] and kinds.count("pool_project") == 4
    assert kinds.count("bottleneck") == 4


@pytest.mark.parametrize("size", [15, 17, 33])
def test_odd_sizes_round_like_torch(size):
    space = load_space(resnet_space(size=size, num_classes=3))
    for seed in range(6):
        arch = space.sample(seed)
        cost = space.cost(arch)
        assert (cost.macs, cost.params, (2, 3)) == counted(space, arch)


def test_pool_project_and_max_pool_shapes():
    assert L.PoolProject(8, 16, 2).out_shape((8, 5, 7)) == (16, 3, 4)
    assert L.PoolProject(8, 16, 1).out_shape((8, 5, 7)) == (16, 5, 7)
    assert L.MaxPool().out_shape((8, 5, 8)) == (8, 3, 4)
    bottleneck = L.Bottleneck(64, 3)
    assert bottleneck.inner == 16 and bottleneck.macs((64, 2, 2)) == 4 * 16 * (2 * 64 + 16 * 9)


def test_bottleneck_trains_and_its_gradients_reach_every_weight():
    space = load_space(resnet_space(size=16, num_classes=3))
    model = space.build(space.sample(0))
    model(torch.randn(2, 3, 16, 16)).logsumexp(1).mean().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


@pytest.mark.parametrize("bad,message", [({"pool": "avg"}, "pool"), ({"downsample": {"type": "maxpool"}}, "type")])
def test_unknown_pool_or_downsample_is_refused(bad, message):
    raw = resnet_space()
    if "pool" in bad:
        raw["stem"]["pool"] = bad["pool"]
    else:
        raw["stages"][1]["downsample"] = bad["downsample"]
    with pytest.raises(SpaceError, match=message):
        load_space(raw)
