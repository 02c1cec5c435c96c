"""hybridnas.testing: the contract checks pass on the shipped pieces and catch a broken one."""

import pytest

from hybridnas import load_space, register_mixer
from hybridnas.ir.mixers import MIXERS, Mixer
from hybridnas.proxies import list_proxies, register_proxy
from hybridnas.proxies.registry import PROXIES
from hybridnas.testing import check_mixer, check_proxy, check_space


@pytest.mark.parametrize("name", ["hybrid_cifar", "nasbench201", "nasbench_macro"])
def test_shipped_spaces_pass_the_space_contract(name):
    check_space(load_space(name), n=8, exact_cost=1)


@pytest.mark.parametrize("name", ["naswot", "meco", "params"])
def test_shipped_proxies_pass_the_proxy_contract(name):
    assert name in list_proxies()
    check_proxy(name)


def test_a_mixer_whose_cost_is_wrong_is_caught():
    from hybridnas.ir.calls import Call

    @register_mixer("test_wrong_cost")
    class WrongCost(Mixer):
        """A depthwise conv that misstates its parameter count (test only)."""

        uses = frozenset({"kernel"})

        @classmethod
        def call(cls, dim, kernel, heads, qkv_bias):
            return Call.of("DepthwiseConv", dim, kernel)

        @classmethod
        def macs(cls, dim, h, w, kernel, heads):
            return h * w * dim * kernel * kernel

        @classmethod
        def params(cls, dim, kernel, heads, qkv_bias):
            return 1

    try:
        check_mixer("conv")
        with pytest.raises(AssertionError, match="analytic cost differs"):
            check_mixer("test_wrong_cost")
    finally:
        MIXERS._entries.pop("test_wrong_cost")


def test_a_nondeterministic_proxy_is_caught():
    draws = iter(range(1, 100))

    @register_proxy("test_noise", paper="none", needs_data=False)
    def noise(ctx):
        """A different number on every call (test only)."""
        return float(next(draws))

    try:
        with pytest.raises(AssertionError, match="differs between two runs|not finite"):
            check_proxy("test_noise")
    finally:
        PROXIES._entries.pop("test_noise")
