import pytest

from hybridnas.search import Objective, load_search_config
from hybridnas.search.config import SearchConfigError


def test_quickstart_loads_and_flags_override():
    config = load_search_config("quickstart", {"trials": 5, "max_macs": "50M", "workers": 0})
    assert config.trials == 5 and config.workers == 0 and config.budget.max_macs == 50e6
    assert [o.name for o in config.objectives] == ["ensemble:naswot+synflow+macs", "macs"]
    assert config.space.endswith("hybrid_cifar") or config.space == "hybrid_cifar"


def test_objective_parsing():
    assert Objective.parse("ensemble:a+b:max") == Objective(name="ensemble:a+b", direction="max")
    with pytest.raises(SearchConfigError, match="NAME:max or NAME:min"):
        Objective.parse("naswot")


@pytest.mark.parametrize("raw, message", [
    ({"space": "hybrid_cifar", "objectives": "naswot:max", "trails": 3}, r"trails: unknown key.*did you mean 'trials'"),
    ({"space": "nope", "objectives": "naswot:max"}, r"space: .*no space file or shipped space named 'nope'"),
    ({"space": "hybrid_cifar", "objectives": "naswot:up"}, r"NAME:max or NAME:min"),
    ({"space": "hybrid_cifar", "objectives": "naswot:max", "strategy": "bayes"}, r"strategy: .*'nsga2'"),
    ({"space": "hybrid_cifar", "objectives": "naswot:max", "budget": {"max_macs": "lots"}}, r"budget\.max_macs: expected a number"),
])
def test_errors_name_the_key(raw, message):
    with pytest.raises(SearchConfigError, match=message):
        load_search_config(raw)


def test_a_latency_budget_trades_macs_for_latency_as_the_cost_axis():
    from hybridnas.search.config import latency_cost_axis

    base = {"space": "nasbench_macro", "objectives": "synflow:max,macs:min"}
    latency = {**base, "budget": {"max_latency_ms": 5, "latency_table": "t.json"}}
    swapped = latency_cost_axis(load_search_config(latency))
    assert [(o.name, o.direction) for o in swapped.objectives] == [("synflow", "max"), ("latency_ms", "min")]
    plain = load_search_config(base)
    assert latency_cost_axis(plain) is plain  # no latency budget: macs stays
    both = load_search_config({**latency, "objectives": "synflow:max,latency_ms:min,macs:min"})
    assert latency_cost_axis(both) is both  # latency already an objective: nothing to trade
