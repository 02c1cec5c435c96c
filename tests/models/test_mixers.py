"""Every registered token mixer: exact cost, a real forward/backward, and registry behaviour."""

import pytest
import torch

from hybridnas import RegistryError, get_mixer, list_mixers, load_space
from hybridnas.models import Mixer, register_mixer
from hybridnas.ir.mixers import MIXERS

from ..spaces.test_cost import counted


def one_stage_space(mixer: str):
    return load_space({
        "name": f"only_{mixer}", "input": {"size": 8}, "num_classes": 5,
        "stem": {"type": "conv", "width": 16},
        "stages": [{"depth": 2, "width": 32, "heads": {"choices": [2, 4]}, "kernel": {"choices": [3, 5]},
                    "mlp_ratio": {"choices": [2, 3]}, "layout": f"{mixer}*"}],
    })


@pytest.mark.parametrize("mixer", list_mixers())
def test_mixer_cost_is_exact_and_block_trains(mixer):
    space = one_stage_space(mixer)
    for seed in range(4):
        arch = space.sample(seed)
        cost = space.cost(arch)
        assert (cost.macs, cost.params, (2, 5)) == counted(space, arch)
    model = space.build(arch)
    out = model(torch.randn(2, 3, 8, 8))
    out.square().mean().backward()
    assert out.shape == (2, 5) and torch.isfinite(out).all()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


@pytest.mark.parametrize("mixer", list_mixers())
def test_mixer_declares_what_it_uses(mixer):
    cls = get_mixer(mixer)
    allowed = {"kernel", "heads", "mlp_ratio"} if cls.standalone else {"kernel", "heads"}
    assert cls.uses <= allowed and cls.__doc__


def test_resconv_ignores_mlp_ratio_and_mbconv_reads_it():
    space = one_stage_space("resconv")
    assert all(b["mlp_ratio"] is None and b["kernel"] in (3, 5) for b in space.sample(0).genes["stages"][0]["blocks"])
    assert {space.format(space.sample(s)) for s in range(40)} == {"w16|w32:resconv-k3*2", "w16|w32:resconv-k5*2"}
    mbconv = one_stage_space("mbconv").sample(0).genes["stages"][0]["blocks"]
    assert all(b["mlp_ratio"] in (2, 3) for b in mbconv)


def test_get_mixer_takes_a_name_or_a_class():
    assert get_mixer("conv") is get_mixer(get_mixer("conv"))
    with pytest.raises(RegistryError, match="unknown mixer 'convv'; registered: attention, bottleneck, conv"):
        get_mixer("convv")


def test_registering_a_mixer_makes_it_usable_in_a_layout():
    import torch.nn as nn

    @register_mixer("test_shift")
    class ShiftMixer(Mixer):
        """Parameter-free spatial shift (test only)."""

        @classmethod
        def build(cls, dim, kernel, heads, qkv_bias):
            class Shift(nn.Module):
                def forward(self, x):
                    return torch.roll(x, 1, dims=-1)

            return Shift()

    try:
        space = one_stage_space("test_shift")
        arch = space.sample(0)
        assert space.cost(arch).params == counted(space, arch)[1]
    finally:
        MIXERS._entries.pop("test_shift")
