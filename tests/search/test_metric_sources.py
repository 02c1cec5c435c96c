"""A package adds a metric by registering a source; the search uses it with no change of its own."""

import pytest

from hybridnas.errors import HybridNASError
from hybridnas.evaluation import METRIC_SOURCES, Evaluation, Evaluator, MetricSource, metric_source, \
    register_metric_source
from hybridnas.search import RunStore, load_search_config, run_search


class DepthEvaluator(Evaluator):
    """A toy metric: the number of layers in the network's plan."""

    metrics = ("plan_depth",)

    def __init__(self, space):
        self.space = space

    def evaluate(self, arch):
        return Evaluation({"plan_depth": float(len(self.space.plan(arch).nodes))})


@pytest.fixture
def depth_source():
    source = register_metric_source(MetricSource("plan", lambda name: name == "plan_depth",
                                                 lambda space, settings, metrics: DepthEvaluator(space), "plan_depth"))
    yield source
    METRIC_SOURCES._entries.pop("plan")


def test_a_registered_source_provides_an_objective(depth_source, tmp_path):
    assert metric_source("plan_depth") is depth_source
    config = load_search_config({"space": "nasbench_macro", "objectives": ["plan_depth:max", "params:min"],
                                 "strategy": "random", "trials": 4, "workers": 0})
    run_search(config, tmp_path / "run", progress=False)
    records = RunStore(tmp_path / "run").records()
    assert len(records) == 4 and all(r.metrics["plan_depth"] > 0 for r in records)


def test_an_unknown_objective_lists_every_source():
    with pytest.raises(HybridNASError, match="unknown objective 'nope'; metrics come from cost: .*proxy: .*supernet"):
        metric_source("nope")
