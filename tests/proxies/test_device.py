"""`--device` for proxies, search and scale: the CPU path, one-line refusals, and CUDA agreement (on a GPU).

The CUDA tests skip without a device (CI has none); on a GPU machine run `pytest tests -k cuda`.
"""

import math

import pytest
import torch
from click.testing import CliRunner

from hybridnas import load_space
from hybridnas.cli import main
from hybridnas.devices import full_float32
from hybridnas.proxies import batch_on, list_proxies, score, score_many
from hybridnas.proxies.ensemble import DEFAULT_OBJECTIVE, parse_ensemble
from hybridnas.search import load_search_config
from hybridnas.search.config import SearchConfigError
from hybridnas.search.workers import check_gpus_fit
from hybridnas.data import get_batch
from hybridnas.errors import HybridNASError

no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal on a machine without CUDA")
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (CI has none)")


def test_device_cpu_is_the_default_path(tiny):
    arch = tiny.sample(2)
    assert score(arch, ["naswot", "meco"], "gaussian", seed=1, space=tiny, batch_size=8, device="cpu").values == \
        score(arch, ["naswot", "meco"], "gaussian", seed=1, space=tiny, batch_size=8).values
    batch = get_batch("gaussian", 4, tiny.input_shape, tiny.num_classes, 0)
    assert batch_on(batch, "cpu") is batch


def test_scoring_leaves_the_float32_settings_as_it_found_them(tiny):
    before = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    with full_float32():
        assert (torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32) == (False, False)
    score(tiny.sample(0), ["naswot"], "gaussian", space=tiny, batch_size=4)
    assert (torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32) == before


@pytest.mark.parametrize("device", ["tpu", "cuda:x", "gpu"])
def test_an_unknown_device_is_refused(tiny, device):
    with pytest.raises(HybridNASError, match="use 'cpu' or 'cuda'"):
        score(tiny.sample(0), ["naswot"], "gaussian", space=tiny, device=device)


@no_cuda
@pytest.mark.parametrize("command", [
    ["proxies", "score", "nasbench_macro", "--proxies", "naswot", "--device", "cuda"],
    ["search", "quickstart", "--device", "cuda", "--workers", "0", "--trials", "2"],
    ["scale", "hybrid_cifar", "--seed-arch", "{arch}", "--targets", "2x", "--device", "cuda"],
])
def test_cuda_without_a_gpu_is_one_line_naming_it(tmp_path, command):
    space = load_space(command[1] if command[0] == "scale" else "nasbench_macro")
    arch = space.format(space.sample(0))
    args = [a.replace("{arch}", arch) for a in command] + (["--out", str(tmp_path / "out")]
                                                           if command[0] in ("search", "scale") else [])
    result = CliRunner().invoke(main, args, input=arch + "\n")
    assert result.exit_code == 2, result.output
    assert result.output.strip().splitlines() == ["error: device 'cuda' asked for, but torch sees no CUDA device "
                                                  "here; use 'cpu'"]
    assert not (tmp_path / "out" / "config.yaml").exists()  # a refused search leaves no run to resume


@pytest.mark.parametrize("overrides, message", [
    ({"gpus_per_worker": 1}, "set device: cuda"),
    ({"device": "cuda", "workers": 2}, "each worker needs a GPU share"),
    ({"device": "cuda:1", "workers": 2, "gpus_per_worker": 1}, "Ray gives each worker its GPUs"),
    ({"device": "cuda", "workers": 1, "gpus_per_worker": 1.5}, "a fraction up to 1, or a whole number"),
    ({"device": "gpu", "workers": 0}, "device"),
    ({"device": "cuda", "workers": 1, "gpus_per_worker": -1}, "gpus_per_worker"),
])
def test_search_config_refuses_gpu_settings_that_cannot_work(overrides, message):
    with pytest.raises(SearchConfigError, match=message):
        load_search_config("quickstart", overrides)


def test_search_config_takes_gpu_settings_that_work():
    assert load_search_config("quickstart", {"device": "cuda", "gpus_per_worker": 0.5}).gpus_per_worker == 0.5
    assert load_search_config("quickstart", {"device": "cuda:1", "workers": 0}).device == "cuda:1"


@pytest.mark.parametrize("workers, share, gpus, fits", [
    (2, 0.5, 1, True), (3, 0.5, 1, False), (2, 1, 1, False), (2, 1, 2, True), (4, 0.3, 1, False),
    (3, 0.3, 1, True), (1, 2, 2, True), (2, 2, 3, False), (8, 0, 0, True),
])
def test_gpu_shares_must_fit_the_cluster(workers, share, gpus, fits):
    if fits:
        check_gpus_fit(workers, share, gpus)
    else:
        with pytest.raises(HybridNASError, match="do not fit"):
            check_gpus_fit(workers, share, gpus)


@needs_cuda
def test_cuda_proxies_agree_with_the_cpu():
    """Every proxy on the GPU within 1% of the CPU's value (sums in other orders), the default's ranking alike."""
    space = load_space("hybrid_cifar")
    archs = [space.sample(i) for i in range(4)]
    for arch in archs:
        cpu = score(arch, list_proxies(), "gaussian", seed=0, space=space, batch_size=16)
        gpu = score(arch, list_proxies(), "gaussian", seed=0, space=space, batch_size=16, device="cuda")
        assert set(gpu.values) == set(cpu.values), gpu.errors
        for name, value in cpu.values.items():
            assert math.isclose(gpu.values[name], value, rel_tol=1e-2, abs_tol=1e-6), (name, value, gpu.values[name])
    members = parse_ensemble(DEFAULT_OBJECTIVE).members
    cpu_rank = score_many(space, archs, [DEFAULT_OBJECTIVE], "gaussian", batch_size=16)[DEFAULT_OBJECTIVE]
    gpu_rank = score_many(space, archs, [DEFAULT_OBJECTIVE], "gaussian", batch_size=16, device="cuda")
    assert list(cpu_rank.rank()) == list(gpu_rank[DEFAULT_OBJECTIVE].rank()), members


@needs_cuda
def test_cuda_search_in_process_and_on_gpu_ray_workers(tmp_path):
    from hybridnas.search import RunStore, run_search

    base = {"space": "nasbench_macro", "objectives": "naswot:max,macs:min", "trials": 8, "batch_size": 4,
            "proxy_batch_size": 8, "device": "cuda"}
    local = run_search(load_search_config({**base, "workers": 0}), tmp_path / "local", progress=False)
    assert local.evaluated > 0
    on_ray = run_search(load_search_config({**base, "workers": 2, "gpus_per_worker": 0.5}), tmp_path / "ray",
                        progress=False)
    assert on_ray.evaluated > 0
    assert (RunStore(tmp_path / "ray").table().status == "ok").all()


@needs_cuda
def test_cuda_scale_grows_the_same_way_as_on_the_cpu(tmp_path):
    from hybridnas.scaling.grow import scale

    space = load_space("hybrid_cifar")
    seed_arch = space.sample(0)
    cpu = scale(space, seed_arch, "2x", progress=False, batch_size=8)
    gpu = scale(space, seed_arch, "2x", progress=False, batch_size=8, device="cuda")
    assert list(cpu.path["arch"]) == list(gpu.path["arch"])
