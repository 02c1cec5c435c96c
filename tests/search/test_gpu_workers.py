"""Ray workers that own GPU shares: placed by Ray's `num_gpus`, checked against the cluster before starting.

Ray is started with one *declared* GPU, so the placement logic runs on a machine without one: each actor
sees the GPU ids Ray assigned it (what CUDA_VISIBLE_DEVICES is set from). Torch itself is not asked for a
GPU here; tests/proxies/test_device.py does that on a CUDA machine.
"""

import pytest

ray = pytest.importorskip("ray")

from hybridnas import load_space  # noqa: E402
from hybridnas.errors import HybridNASError  # noqa: E402
from hybridnas.evaluation import Evaluation, Evaluator  # noqa: E402
from hybridnas.search.workers import RayPool  # noqa: E402


@pytest.fixture(scope="module")
def ray_with_one_gpu():
    if ray.is_initialized():
        pytest.skip("another Ray session is running in this process; this test declares its own GPU")
    ray.init(num_cpus=2, num_gpus=1, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


class ReportsGpus(Evaluator):
    """Reports the GPU ids Ray gave this worker (test only)."""

    metrics = ("gpus", "first_gpu")

    def evaluate(self, arch):
        ids = ray.get_gpu_ids()
        return Evaluation({"gpus": float(len(ids)), "first_gpu": float(ids[0]) if ids else -1.0})


def evaluate_on(workers, share):
    space = load_space("nasbench_macro")
    pool = RayPool(space, lambda: [ReportsGpus()], workers=workers, gpus_per_worker=share)
    try:
        return [e.metrics for _, e in pool.imap([space.sample(i) for i in range(4)])]
    finally:
        pool.close()


def test_two_workers_share_one_gpu(ray_with_one_gpu):
    assert evaluate_on(2, 0.5) == [{"gpus": 1.0, "first_gpu": 0.0}] * 4


def test_workers_without_a_share_see_no_gpu(ray_with_one_gpu):
    assert evaluate_on(2, 0) == [{"gpus": 0.0, "first_gpu": -1.0}] * 4


def test_shares_the_cluster_cannot_place_are_refused_before_any_worker_starts(ray_with_one_gpu):
    with pytest.raises(HybridNASError, match="the Ray cluster has 1 GPU"):
        evaluate_on(2, 1)
