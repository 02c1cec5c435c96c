"""Supernet: exact materialization, entangled gradients, samplers, exact resume, Ray Train, evaluator."""

import numpy as np
import pytest
import torch

from hybridnas import HybridNASError, load_space
from hybridnas.supernet import (Supernet, largest_and_smallest, list_samplers, load_supernet_config, make_sampler,
                                train_supernet)

DATA = "npz:{shared}/data/cifar10_subset.npz"


@pytest.fixture(scope="module")
def cifar():
    space = load_space("hybrid_cifar")
    torch.manual_seed(0)
    return space, Supernet(space).eval()


def test_materialized_subnets_equal_the_supernet(cifar):
    space, net = cifar
    x = torch.randn(4, 3, 32, 32)
    with torch.no_grad():  # non-trivial BatchNorm statistics in every slot
        for module in net.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.3, 0.3)
                module.running_var.uniform_(0.5, 1.5)
    largest, smallest = largest_and_smallest(space)
    for arch in [largest, smallest] + [space.sample(s) for s in range(30)]:
        with torch.no_grad():
            expected = net(x, arch)
            got = net.materialize(arch)(x)
        assert (got - expected).abs().max().item() <= 1e-5, space.format(arch)


STANDALONE_BLOCKS = {"name": "standalone_blocks", "input": {"size": 16}, "num_classes": 4,
                     "stem": {"type": "conv", "width": 8, "pool": "max"},
                     "stages": [{"depth": {"range": [1, 3]}, "width": {"choices": [8, 16]},
                                 "kernel": {"choices": [3, 5]}, "mlp_ratio": {"choices": [2, 3]},
                                 "layout": {"choices": ["resconv*", "mbconv*", "[resconv|conv]*"]}},
                                {"depth": {"range": [1, 2]}, "width": {"choices": [16, 32]},
                                 "kernel": {"choices": [3, 5]}, "layout": "[bottleneck|resconv]*",
                                 "downsample": {"type": "avgpool"}}]}


@pytest.mark.parametrize("name", ["vit", "hybrid_imagenet", "standalone_blocks"])
def test_materialize_is_exact_for_the_other_spaces(name):
    space = load_space(STANDALONE_BLOCKS if name == "standalone_blocks" else name)
    torch.manual_seed(0)
    net = Supernet(space).eval()
    x = torch.randn(1, *space.input_shape)
    for seed in range(2 if name != "standalone_blocks" else 12):
        arch = space.sample(seed)
        with torch.no_grad():
            assert (net.materialize(arch)(x) - net(x, arch)).abs().max().item() <= 1e-5


def test_a_subnet_step_only_moves_its_own_slices(cifar):
    space, _ = cifar
    torch.manual_seed(1)
    net = Supernet(space).train()
    arch = space.parse("w16|w16:conv-k3-r2|w24:conv-k3-r2|w48:conv-k3-r2|w96:conv-k3-r2")
    loss = net(torch.randn(2, 3, 32, 32), arch).logsumexp(1).mean()
    loss.backward()
    stem = net.slots["stem"].conv.weight.grad
    assert stem[:16].abs().sum() > 0 and stem[16:].abs().sum() == 0
    dw = net.slots["s0_b0__conv"].mixer.weight.grad  # 7x7 slot, 3x3 used: only the centre moves
    assert dw[:16, :, 2:5, 2:5].abs().sum() > 0 and dw[:, :, 0].abs().sum() == 0 and dw[16:].abs().sum() == 0
    assert net.slots["s0_b1__conv"].mixer.weight.grad is None  # depth 1: the second block slot is skipped
    assert net.slots["s0_b0__pool"].norm1.weight.grad is None


def test_largest_and_smallest_bound_sampled_macs(cifar):
    space, _ = cifar
    largest, smallest = largest_and_smallest(space)
    macs = [space.cost(space.sample(s)).macs for s in range(300)]
    assert space.cost(smallest).macs <= min(macs) and space.cost(largest).macs >= max(macs)


@pytest.mark.parametrize("name", list_samplers())
def test_samplers_are_seeded_and_resume_from_their_state(name, cifar):
    space, _ = cifar
    a, b = make_sampler(name, space, seed=3), make_sampler(name, space, seed=3)
    for _ in range(5):
        archs = a.step()
        assert archs == b.step() and all(space.validate(x) == x for x in archs)
        for arch in archs:
            a.update(arch, 1.0)
            b.update(arch, 1.0)
    state = a.state_dict()
    after = [a.step() for _ in range(5)]
    c = make_sampler(name, space, seed=99)
    c.load_state_dict(state)
    assert [c.step() for _ in range(5)] == after


def test_complexity_aware_walks_banks_and_stays_in_them(cifar):
    space, _ = cifar
    sampler = make_sampler("complexity_aware", space, seed=0, banks=6)
    banks, inside, total = [], 0, 0
    for _ in range(300):
        archs = sampler.step()
        banks.append(sampler.bank)
        lo, hi = sampler.edges[sampler.bank], sampler.edges[sampler.bank + 1]
        for arch in archs[:-1]:
            total += 1
            inside += lo <= space.cost(arch).macs < hi
    steps = np.diff(banks)
    assert set(np.unique(steps)) <= {-1, 0, 1}
    assert set(banks) == set(range(6))  # the walk covers every bank
    assert inside / total >= 0.9
    # consecutive steps have similar complexity: much closer than independent uniform draws
    def step_changes(name):
        sampler = make_sampler(name, space, seed=1)
        macs = [space.cost(sampler.step()[0]).macs for _ in range(150)]
        return np.median(np.abs(np.diff(np.log(macs))))

    assert step_changes("complexity_aware") < 0.6 * step_changes("uniform")


def test_sandwich_trains_largest_and_smallest_each_step(cifar):
    space, _ = cifar
    sampler = make_sampler("sandwich", space, seed=0, subnets=2)
    largest, smallest = largest_and_smallest(space)
    for _ in range(3):
        archs = sampler.step()
        assert archs[0] == largest and archs[1] == smallest and len(archs) == 4
    assert sampler.distill


def test_performance_aware_draws_low_loss_archs_from_memory(cifar):
    space, _ = cifar
    sampler = make_sampler("performance_aware", space, seed=0, total_steps=10, max_prob=1.0, temperature=0.01)
    good = None
    for step in range(40):
        archs = sampler.step()
        for i, arch in enumerate(archs):
            loss = 0.0 if good is None or arch == good else 5.0
            good = good or arch
            sampler.update(arch, loss if arch == good else 5.0)
    assert sampler.probability() == 1.0
    assert sampler.memory[sampler.bank_of(space.cost(good).macs)]


def config(shared, **changes):
    base = {"space": "hybrid_cifar", "data": DATA.format(shared=shared), "epochs": 2, "batch_size": 16,
            "train_limit": 48, "sampler": "complexity_aware", "subnets": 1, "calibration_batches": 1,
            "eval_batch_size": 100}
    return load_supernet_config({**base, **changes})


def test_resume_continues_exactly(shared, tmp_path):
    from hybridnas.latency.timing import threads_set

    with threads_set(1):
        _resume_continues_exactly(shared, tmp_path)


def _resume_continues_exactly(shared, tmp_path):
    from .resume import assert_resume_is_exact

    assert_resume_is_exact(lambda epochs: config(shared, epochs=epochs), tmp_path)
    with pytest.raises(HybridNASError, match="--resume"):
        train_supernet(config(shared), tmp_path / "a", progress=False)


def test_ray_train_with_two_workers(shared, tmp_path):
    import ray

    try:
        result = train_supernet(config(shared, epochs=1, workers=2), tmp_path / "r", progress=False)
    finally:
        ray.shutdown()
    assert result.checkpoint.is_file() and result.epochs == 1
    assert not ray.is_initialized()


def test_supernet_accuracy_objective_and_export(shared, tmp_path):
    import yaml

    from hybridnas.export import export_arch
    from hybridnas.search import RunStore, load_search_config, run_search
    from hybridnas.supernet import SubnetScorer, load_supernet

    trained = train_supernet(config(shared, epochs=1), tmp_path / "sn", progress=False)
    search = load_search_config({"space": "hybrid_cifar", "objectives": "supernet_accuracy:max,macs:min",
                                 "trials": 4, "batch_size": 2, "workers": 0, "strategy": "random",
                                 "supernet": str(trained.checkpoint), "supernet_test_limit": 100})
    run_search(search, tmp_path / "run", progress=False)
    table = RunStore(tmp_path / "run").table()
    ok = table[table.status == "ok"]
    assert len(ok) and ok["supernet_accuracy"].between(0, 100).all()
    net, cfg = load_supernet(trained.checkpoint)
    scorer = SubnetScorer(net, cfg, test_limit=100)
    arch = load_space("hybrid_cifar").parse(ok["arch"].iloc[0])
    export_arch(load_space("hybrid_cifar"), arch, tmp_path / "out", supernet=scorer)
    card = yaml.safe_load((tmp_path / "out" / "card.yaml").read_text())
    assert card["supernet_accuracy"] == pytest.approx(ok["supernet_accuracy"].iloc[0])
    assert (tmp_path / "out" / "model.safetensors").is_file()


def test_supernet_needs_a_checkpoint_for_its_objective(tmp_path):
    from hybridnas.search import load_search_config, run_search

    search = load_search_config({"space": "hybrid_cifar", "objectives": "supernet_accuracy:max", "workers": 0})
    with pytest.raises(HybridNASError, match="needs a trained supernet"):
        run_search(search, tmp_path / "run", progress=False)


def test_bad_config_and_data_are_clear_errors(shared, tmp_path):
    with pytest.raises(HybridNASError, match="unknown sampler 'bogus'"):
        config(shared, sampler="bogus")
    with pytest.raises(HybridNASError, match="epochs"):
        config(shared, epochs=0)
    with pytest.raises(HybridNASError, match="training needs real data"):
        train_supernet(config(shared, data="gaussian"), tmp_path / "g", progress=False)
    class PlainSpace:  # a space that declares no weight slots
        name, type_name = "plain", "custom"

    with pytest.raises(HybridNASError, match="'plain' \\(custom\\) lacks extreme_arch, slot_of, supernet_slots"):
        Supernet(PlainSpace())


def test_cli_train_eval_and_export_with_supernet_weights(shared, tmp_path):
    import yaml
    from click.testing import CliRunner

    from hybridnas.cli import main

    cfg = config(shared, epochs=1).model_dump(mode="json")
    (tmp_path / "sn.yaml").write_text(yaml.safe_dump(cfg))
    runner = CliRunner()
    result = runner.invoke(main, ["supernet", "train", str(tmp_path / "sn.yaml"), "--out", str(tmp_path / "sn"),
                                  "--no-progress"])
    assert result.exit_code == 0, result.output
    arch = load_space("hybrid_cifar").format(load_space("hybrid_cifar").sample(4))
    result = runner.invoke(main, ["supernet", "eval", str(tmp_path / "sn"), "--test-limit", "100", "--csv"],
                           input=arch + "\n")
    assert result.exit_code == 0 and result.output.splitlines()[0] == "arch,macs,supernet_accuracy"
    result = runner.invoke(main, ["export", "hybrid_cifar", "--arch", arch, "--supernet", str(tmp_path / "sn"),
                                  "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    card = yaml.safe_load((tmp_path / "out" / "card.yaml").read_text())
    assert card["supernet_accuracy"] is not None and (tmp_path / "out" / "model.safetensors").is_file()
    result = runner.invoke(main, ["supernet", "train", str(tmp_path / "sn.yaml"), "--out", str(tmp_path / "sn"),
                                  "--no-progress"])
    assert result.exit_code == 2 and "--resume" in result.output


def test_scoring_device_falls_back_to_cpu_and_refuses_a_missing_gpu(monkeypatch, shared, tmp_path):
    from hybridnas.supernet.evaluate import scoring_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    trained_on_gpu = config(shared, device="cuda")
    assert scoring_device(trained_on_gpu).type == "cpu"  # a GPU-trained supernet is still scored without one
    assert scoring_device(config(shared), "cpu").type == "cpu"
    with pytest.raises(HybridNASError, match="no CUDA device"):
        scoring_device(trained_on_gpu, "cuda")
    with pytest.raises(HybridNASError, match="no CUDA device"):
        train_supernet(trained_on_gpu, tmp_path / "unused", progress=False)


def test_moved_or_reloaded_supernets_run_on_their_new_tensors(cifar):
    space, net = cifar
    arch = space.sample(0)
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        before = net(x, arch)
    copy = Supernet(space).eval()
    copy(x, arch)  # builds and caches its skeleton of this arch
    copy.load_state_dict(net.state_dict(), assign=True)  # replaces them
    with torch.no_grad():
        assert torch.equal(copy(x, arch), before)
        copy.double()  # buffers are replaced too
        assert copy(x.double(), arch).dtype == torch.float64


def test_shipped_configs_name_no_path_outside_the_package_and_ask_for_data(tmp_path):
    from click.testing import CliRunner

    from hybridnas.cli import main
    from hybridnas.spaces.loader import SHIPPED_DIR

    for path in SHIPPED_DIR.parent.rglob("*.yaml"):
        assert "../" not in path.read_text(), path
    with pytest.raises(HybridNASError, match="names no training data; pass --data"):
        load_supernet_config("hybrid_cifar")
    result = CliRunner().invoke(main, ["supernet", "train", "hybrid_cifar", "--out", str(tmp_path / "sn")])
    assert result.exit_code == 2 and result.output.count("\n") == 1 and "--data npz:FILE" in result.output
