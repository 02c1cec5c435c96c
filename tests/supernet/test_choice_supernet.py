"""Supernets of the op-choice spaces (NAS-Bench-201, NAS-Bench-Macro): exact subnets, own slots, exact resume."""

import pytest
import torch

from hybridnas import load_space
from hybridnas.spaces.protocol import WeightSharingSpace
from hybridnas.supernet import Supernet, largest_and_smallest, load_supernet_config, train_supernet

from .resume import assert_resume_is_exact

CHOICE_SPACES = ["nasbench201", "nasbench_macro"]


def _random_bn_statistics(net):
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.3, 0.3)
                module.running_var.uniform_(0.5, 1.5)
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.2, 0.2)


@pytest.mark.parametrize("name", CHOICE_SPACES)
def test_subnets_equal_space_build_with_their_slots_weights(name):
    space = load_space(name)
    assert isinstance(space, WeightSharingSpace)
    torch.manual_seed(0)
    net = Supernet(space).eval()
    _random_bn_statistics(net)
    x = torch.randn(2, *space.input_shape)
    largest, smallest = largest_and_smallest(space)
    for arch in [largest, smallest] + [space.sample(seed) for seed in range(12)]:
        _, mapping = net.skeleton(arch)
        slots = dict(net.slots.state_dict())
        assert all(tuple(slots[slot].shape) == shape for _, slot, shape in mapping)  # whole slots, never slices
        model = space.build(arch).eval()
        model.load_state_dict({name: slots[slot] for name, slot, _ in mapping}, strict=True)
        with torch.no_grad():
            expected = model(x)
            assert (net(x, arch) - expected).abs().max().item() <= 1e-5, space.format(arch)
            assert (net.materialize(arch)(x) - expected).abs().max().item() <= 1e-5, space.format(arch)


def test_nasbench201_slots_are_one_per_edge_and_parametric_op():
    space = load_space("nasbench201")
    keys = [key for key, _ in space.supernet_slots()]
    cells = 3 * space.config.skeleton.cells_per_stage
    assert len(keys) == len(set(keys)) == cells * 6 * 2 + 4  # 1x1 and 3x3 convs on 6 edges; stem, 2 reductions, head
    assert "c1_2_e13__nor_conv_1x1" in keys and not any("avg_pool" in k or "skip" in k for k in keys)


def test_a_step_moves_only_the_slots_of_the_ops_picked():
    space = load_space("nasbench201")
    torch.manual_seed(1)
    net = Supernet(space).train()
    arch = space.parse("|nor_conv_1x1~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|none~1|nor_conv_3x3~2|")
    net(torch.randn(2, 3, 32, 32), arch).logsumexp(1).mean().backward()
    grads = {key: slot.conv.weight.grad for key, slot in net.slots.items() if key.startswith("c0_0_")}
    assert grads["c0_0_e01__nor_conv_1x1"].abs().sum() > 0 and grads["c0_0_e02__nor_conv_3x3"].abs().sum() > 0
    assert grads["c0_0_e01__nor_conv_3x3"] is None and grads["c0_0_e02__nor_conv_1x1"] is None
    assert grads["c0_0_e03__nor_conv_3x3"] is None and grads["c0_0_e23__nor_conv_3x3"].abs().sum() > 0


@pytest.mark.parametrize("name", CHOICE_SPACES)
def test_extremes_bound_every_sampled_network(name):
    space = load_space(name)
    largest, smallest = largest_and_smallest(space)
    macs = [space.cost(space.sample(seed)).macs for seed in range(300)]
    assert space.cost(smallest).macs <= min(macs) and space.cost(largest).macs >= max(macs)


@pytest.mark.parametrize("sampler", ["sandwich", "complexity_aware"])
def test_nasbench201_supernet_resumes_exactly(shared, tmp_path, sampler):
    from hybridnas.latency.timing import threads_set

    base = {"space": "nasbench201", "data": f"npz:{shared}/data/cifar10_subset.npz", "epochs": 2, "batch_size": 8,
            "train_limit": 16, "sampler": sampler, "subnets": 1, "optimizer": "sgd", "lr": 0.05,
            "weight_decay": 5e-4}
    with threads_set(1):
        assert_resume_is_exact(lambda epochs: load_supernet_config({**base, "epochs": epochs}), tmp_path)
    from hybridnas import HybridNASError

    with pytest.raises(HybridNASError, match="trained with a different config"):
        train_supernet(load_supernet_config({**base, "epochs": 3, "lr": 0.1}), tmp_path / "b", resume=True,
                       progress=False)
    with pytest.raises(HybridNASError, match="trained with a different config"):  # fewer epochs than it has
        train_supernet(load_supernet_config({**base, "epochs": 1}), tmp_path / "b", resume=True, progress=False)
    with threads_set(1):  # more epochs: the same run goes on, the schedule stretched to the new length
        longer = train_supernet(load_supernet_config({**base, "epochs": 3, "data_workers": 0}), tmp_path / "b",
                                resume=True, progress=False)
    assert [h["epoch"] for h in longer.history] == [1, 2, 3]


def test_a_nasbench201_search_ranks_by_supernet_accuracy(shared, tmp_path):
    from hybridnas.latency.timing import threads_set
    from hybridnas.search import RunStore, load_search_config, run_search

    config = load_supernet_config({"space": "nasbench201", "data": f"npz:{shared}/data/cifar10_subset.npz",
                                   "epochs": 1, "batch_size": 8, "train_limit": 16, "sampler": "uniform",
                                   "subnets": 1, "calibration_batches": 1, "eval_batch_size": 50})
    with threads_set(1):
        trained = train_supernet(config, tmp_path / "sn", progress=False)
        search = load_search_config({"space": "nasbench201", "objectives": "supernet_accuracy:max",
                                     "trials": 3, "batch_size": 3, "workers": 0, "strategy": "random",
                                     "supernet": str(trained.checkpoint), "supernet_test_limit": 50})
        run_search(search, tmp_path / "run", progress=False)
    ok = RunStore(tmp_path / "run").table().query("status == 'ok'")
    assert len(ok) == 3 and ok["supernet_accuracy"].between(0, 100).all()


def test_bf16_autocast_trains_with_fp32_weights(shared, tmp_path):
    from hybridnas.latency.timing import threads_set
    from hybridnas.supernet import load_supernet

    base = {"space": "nasbench_macro", "data": f"npz:{shared}/data/cifar10_subset.npz", "epochs": 1,
            "batch_size": 8, "train_limit": 16, "sampler": "uniform", "subnets": 1}
    with threads_set(1):
        fp32 = train_supernet(load_supernet_config(base), tmp_path / "fp32", progress=False)
        bf16 = train_supernet(load_supernet_config({**base, "precision": "bf16"}), tmp_path / "bf16", progress=False)
    net, _ = load_supernet(bf16.checkpoint)
    assert all(p.dtype == torch.float32 for p in net.parameters())
    a = torch.load(fp32.checkpoint, weights_only=True)["supernet"]
    b = torch.load(bf16.checkpoint, weights_only=True)["supernet"]
    moved = [k for k in a if a[k].is_floating_point() and not torch.equal(a[k], b[k])]
    assert moved and all(torch.isfinite(b[k]).all() for k in b)  # bf16 forward passes trained other numbers
    assert bf16.history[-1]["loss"] == pytest.approx(fp32.history[-1]["loss"], rel=0.05)


def test_a_checkpoint_from_before_new_config_fields_still_resumes():
    from hybridnas.supernet.train import same_training

    config = load_supernet_config({"space": "nasbench201", "data": "npz:x.npz", "epochs": 4})
    saved = config.model_dump(mode="json")
    for added in ("precision", "data_workers"):  # fields that did not exist when older checkpoints were written
        del saved[added]
    assert same_training(saved, config)
    assert not same_training({**saved, "lr": 1.0}, config) and not same_training({"space": 1}, config)
