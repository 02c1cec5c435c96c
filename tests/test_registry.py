import pytest

from hybridnas.errors import RegistryError
from hybridnas.registry import Registry


def test_register_get_list_and_filter():
    reg = Registry("widget")
    reg.register("grad_norm")(len)
    reg.register("grasp")(sum)
    reg.register("naswot")(max)
    assert reg.get("grasp") is sum
    assert reg.get(min) is min  # objects pass through, so YAML names and Python objects share a path
    assert reg.list("gra*") == ["grad_norm", "grasp"]
    assert "naswot" in reg and list(reg) == ["grad_norm", "grasp", "naswot"]


def test_unknown_name_lists_registered_ones():
    reg = Registry("widget")
    reg.register("a")(len)
    with pytest.raises(RegistryError, match=r"unknown widget 'b'; registered: a"):
        reg.get("b")


def test_reregistering_warns():
    reg = Registry("widget")
    reg.register("a")(len)
    with pytest.warns(UserWarning, match="already registered"):
        reg.register("a")(sum)
    assert reg.get("a") is sum
