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


def test_each_source_gets_its_own_settings_and_the_search_device_reaches_the_supernet():
    from hybridnas.proxies.evaluator import ProxySettings
    from hybridnas.search.runner import _evaluator_factory
    from hybridnas.spaces import load_space
    from hybridnas.supernet.evaluator import SupernetEvaluator, SupernetSettings

    config = load_search_config({"space": "nasbench_macro", "objectives": ["supernet_accuracy:max", "macs:min"],
                                 "supernet": "somewhere.pt", "supernet_test_limit": 50, "device": "cpu",
                                 "data": "gaussian", "workers": 0})
    settings = metric_source("supernet_accuracy").settings_for(config)
    assert isinstance(settings, SupernetSettings) and settings.model_dump() == {
        "supernet": "somewhere.pt", "supernet_test_limit": 50, "device": "cpu"}
    assert isinstance(metric_source("naswot").settings_for(config), ProxySettings)
    [evaluator] = _evaluator_factory(load_space("nasbench_macro"), config, [], {"supernet": ["supernet_accuracy"]})()
    assert isinstance(evaluator, SupernetEvaluator) and evaluator.device == "cpu"  # nothing loads before setup


@pytest.mark.subprocess
def test_the_search_imports_no_package_that_registers_a_source_until_it_asks_the_registry():
    import subprocess
    import sys

    code = ("import sys; import hybridnas.search.runner, hybridnas.search.pareto; "
            "print(sorted(m for m in sys.modules if m.startswith(('hybridnas.proxies', 'hybridnas.supernet'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
