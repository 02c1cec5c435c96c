"""The Ray path: a search on 2 local workers, and a worker that dies being replaced and retried."""

import os

import pytest

ray = pytest.importorskip("ray")

from hybridnas import load_space  # noqa: E402
from hybridnas.search import RunStore, load_search_config, run_search  # noqa: E402
from hybridnas.evaluation import Evaluation, Evaluator  # noqa: E402
from hybridnas.search.workers import RayPool, init_ray  # noqa: E402


@pytest.fixture(scope="module")
def local_ray():
    started = init_ray(2, None, dashboard=False)
    yield
    if started:
        ray.shutdown()


def test_search_on_two_ray_workers(tmp_path, local_ray):
    cfg = load_search_config({"space": "nasbench_macro", "objectives": "synflow:max,macs:min", "trials": 12,
                              "batch_size": 6, "workers": 2, "proxy_batch_size": 4})
    result = run_search(cfg, tmp_path / "run", progress=False)
    assert result.evaluated == (RunStore(tmp_path / "run").table().status == "ok").sum() > 0
    assert ray.is_initialized()  # the fixture started Ray, so the search left it running


class DiesOnce(Evaluator):
    """Kills its worker process the first time it sees a marked architecture (test only)."""

    metrics = ("one",)

    def __init__(self, marker, victim_id, always=False):
        self.marker, self.victim_id, self.always = marker, victim_id, always

    def evaluate(self, arch):
        if arch.id == self.victim_id and (self.always or not os.path.exists(self.marker)):
            open(self.marker, "w").close()
            os._exit(1)
        return Evaluation({"one": 1.0})


@pytest.mark.parametrize("always", [False, True])
def test_dead_worker_is_replaced_and_its_arch_retried_once(tmp_path, local_ray, always):
    space = load_space("nasbench_macro")
    archs = [space.sample(i) for i in range(4)]
    marker, victim = str(tmp_path / "died"), archs[1].id
    pool = RayPool(space, lambda: [DiesOnce(marker, victim, always)], workers=2)
    try:
        results = dict(pool.imap(archs))
    finally:
        pool.close()
    assert set(results) == {0, 1, 2, 3}
    assert all(results[i].metrics == {"one": 1.0} for i in (0, 2, 3))
    if always:
        assert "died twice" in results[1].errors["worker"]
    else:
        assert results[1].metrics == {"one": 1.0}


class KeepsAFile(Evaluator):
    """Writes a file per architecture it evaluates and deletes it when told to discard (test only)."""

    metrics = ("one",)

    def __init__(self, folder):
        self.folder = folder

    def evaluate(self, arch):
        open(os.path.join(self.folder, arch.id), "w").close()
        return Evaluation({"one": 1.0})

    def discard(self, arch):
        os.remove(os.path.join(self.folder, arch.id))


def test_discard_reaches_the_evaluators_of_a_ray_worker(tmp_path, local_ray):
    space = load_space("nasbench_macro")
    archs = [space.sample(i) for i in range(3)]
    pool = RayPool(space, lambda: [KeepsAFile(str(tmp_path))], workers=2)
    try:
        dict(pool.imap(archs))
        pool.discard(archs[1])
    finally:
        pool.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([archs[0].id, archs[2].id])
