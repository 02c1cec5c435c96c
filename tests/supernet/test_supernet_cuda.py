"""Supernet on a GPU: training, bit-exact resume (deterministic kernels), CPU loading of its checkpoint, materialization, standalone.

Skipped without a CUDA device (CI has none); run on a GPU machine with `pytest tests -k cuda`.
"""

import pytest
import torch

from hybridnas import load_space
from hybridnas.supernet import SubnetScorer, Supernet, largest_and_smallest, load_supernet, train_supernet
from hybridnas.supernet.standalone import train_standalone

from .test_supernet import config

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@pytest.fixture
def deterministic(monkeypatch):
    """Deterministic GPU kernels: without them two identical GPU runs already differ in their weights."""
    monkeypatch.setenv("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    before = (torch.are_deterministic_algorithms_enabled(), torch.backends.cudnn.deterministic,
              torch.backends.cudnn.benchmark)
    torch.use_deterministic_algorithms(True)
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
    yield
    torch.use_deterministic_algorithms(before[0])
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = before[1:]


def test_cuda_training_resumes_exactly_and_its_checkpoint_scores_on_cpu(shared, tmp_path, deterministic):
    straight = train_supernet(config(shared, device="cuda"), tmp_path / "a", progress=False)
    train_supernet(config(shared, device="cuda", epochs=1), tmp_path / "b", progress=False)
    state = torch.load(tmp_path / "b" / "checkpoint.pt", map_location="cpu", weights_only=True)
    assert "cuda_rng" in state
    state["config"]["epochs"] = 2
    torch.save(state, tmp_path / "b" / "checkpoint.pt")
    resumed = train_supernet(config(shared, device="cuda"), tmp_path / "b", resume=True, progress=False)
    a = torch.load(straight.checkpoint, map_location="cpu", weights_only=True)
    b = torch.load(resumed.checkpoint, map_location="cpu", weights_only=True)
    assert a["sampler"] == b["sampler"]
    for key, value in a["supernet"].items():
        assert torch.equal(value, b["supernet"][key]), key

    net, cfg = load_supernet(straight.checkpoint)
    assert all(p.device.type == "cpu" for p in net.parameters())
    on_cpu = SubnetScorer(net, cfg, test_limit=100, device="cpu")
    arch = load_space("hybrid_cifar").sample(0)
    cpu_accuracy = on_cpu(arch)
    on_gpu = SubnetScorer(net, cfg, test_limit=100)  # trained on cuda: scored there when there is one
    assert on_gpu.device.type == "cuda"
    assert abs(on_gpu(arch) - cpu_accuracy) <= 2.0  # at most two of 100 near-tied predictions flip


def test_cuda_materialized_subnets_equal_the_supernet():
    space = load_space("hybrid_cifar")
    torch.manual_seed(0)
    net = Supernet(space).cuda().eval()
    x = torch.randn(4, 3, 32, 32, device="cuda")
    largest, smallest = largest_and_smallest(space)
    for arch in [largest, smallest] + [space.sample(s) for s in range(6)]:
        model = net.materialize(arch)
        assert next(model.parameters()).is_cuda
        with torch.no_grad():
            torch.testing.assert_close(model(x), net(x, arch), rtol=1e-3, atol=1e-3)  # cuDNN may use TF32
    recalibrated = net.materialize(smallest, [torch.randn(8, 3, 32, 32)])  # CPU calibration batches are moved
    assert next(recalibrated.parameters()).is_cuda


def test_cuda_standalone_training(shared):
    space = load_space("hybrid_cifar")
    model = space.build(space.sample(0))
    result = train_standalone(model, config(shared, device="cuda", epochs=1))
    assert next(model.parameters()).is_cuda
    assert 0.0 <= result["accuracy"] <= 100.0 and result["seconds"] > 0
