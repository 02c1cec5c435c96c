"""A trained seed's weights carried into a grown member: same roles, leading slices, new blocks initialised."""

import torch

from hybridnas import load_space
from hybridnas.rng import seeded
from hybridnas.scaling import scaled_space
from hybridnas.scaling.inherit import inherit_weights

SEED = "w16|w16:conv-k3-r2|w24:conv-k3-r2|w48:conv-k3-r2+attention-h2-r2|w96:attention-h4-r2"
# stage 0 one block deeper, stage 1 wider (24 -> 32), a conv block inserted before stage 2's attention block
MEMBER = "w16|w16:conv-k3-r2*2|w32:conv-k3-r2|w48:conv-k3-r2*2+attention-h2-r2|w96:attention-h4-r2"


def test_a_member_takes_each_seed_tensor_of_its_role_and_keeps_its_initialisation_elsewhere():
    space = scaled_space(load_space("hybrid_cifar"))
    torch.manual_seed(1)
    seed = {k: v + 1.0 if v.is_floating_point() else v for k, v in space.build(space.parse(SEED)).state_dict().items()}
    with seeded(0):
        initial = space.build(space.parse(MEMBER)).state_dict()
    state, inherited = inherit_weights(seed, initial)

    assert torch.equal(state["layers.stem.conv.weight"], seed["layers.stem.conv.weight"])
    assert torch.equal(state["layers.s0_b0.mixer.weight"], seed["layers.s0_b0.mixer.weight"])
    assert torch.equal(state["layers.s0_b1.mixer.weight"], initial["layers.s0_b1.mixer.weight"])  # new
    wide, narrow = state["layers.s1_b0.mlp.fc1.weight"], seed["layers.s1_b0.mlp.fc1.weight"]
    assert wide.shape[0] > narrow.shape[0] and torch.equal(wide[:narrow.shape[0], :narrow.shape[1]], narrow)
    assert torch.equal(wide[narrow.shape[0]:], initial["layers.s1_b0.mlp.fc1.weight"][narrow.shape[0]:])
    # stage 2: the attention block moved from b1 to b2 and keeps its weights; the inserted conv block b1 is new
    assert torch.equal(state["layers.s2_b2.mixer.attn.qkv.weight"], seed["layers.s2_b1.mixer.attn.qkv.weight"])
    assert torch.equal(state["layers.s2_b1.mixer.weight"], initial["layers.s2_b1.mixer.weight"])
    assert inherited.whole > 0 and inherited.part > 0 and inherited.fresh > 0
    assert inherited.whole + inherited.part + inherited.fresh == len(initial)

    member = space.build(space.parse(MEMBER))
    member.load_state_dict(state)
    assert member(torch.randn(2, *space.input_shape)).shape == (2, space.num_classes)


def test_seed_weights_of_another_network_are_refused_before_any_growth(tmp_path):
    from click.testing import CliRunner
    from safetensors.torch import save_file

    from hybridnas.cli import main

    space = load_space("hybrid_cifar")
    other = space.build(space.parse(MEMBER.replace("w32:", "w24:"))).state_dict()
    save_file({k: v.contiguous() for k, v in other.items()}, str(tmp_path / "w.safetensors"))
    result = CliRunner().invoke(main, ["scale", "hybrid_cifar", "--seed-arch", SEED, "--targets", "2x",
                                       "--seed-weights", str(tmp_path / "w.safetensors"), "--out", str(tmp_path / "f")])
    assert result.exit_code == 2 and "weights do not fit" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "f").exists()  # refused before the growth wrote anything
