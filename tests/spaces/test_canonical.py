"""Canonical forms: two encodings of one network compare equal; unique-network counts of the benchmarks."""

import itertools

import pytest

from hybridnas import ArchError, load_space
from hybridnas.proxies import score
from hybridnas.spaces.nasbench201 import EXAMPLE


@pytest.fixture(scope="module")
def macro():
    return load_space("nasbench_macro")


@pytest.fixture(scope="module")
def nb201():
    return load_space("nasbench201")


@pytest.fixture(scope="module")
def cifar():
    return load_space("hybrid_cifar")


def test_macro_identity_after_first_layer_of_a_stage_collapses(macro):
    assert macro.parse("00000010") == macro.parse("00000001")
    assert macro.parse("00102000") == macro.parse("00120000")
    assert macro.format(macro.parse("00000001")) == "00000010"  # identities move to the end of the stage
    assert macro.parse("10000000") != macro.parse("01000000")  # a stage's first identity is a projection
    assert macro.parse("00010000") == macro.parse("00001000")


def test_macro_has_3969_distinct_networks(macro):
    assert len(set(macro.parse("".join(map(str, d))) for d in itertools.product(range(3), repeat=8))) == 3969
    assert macro.size() == 3969


def test_nb201_collapses_dead_and_disconnected_edges(nb201):
    # node 1 is unreachable (none from 0), so its outgoing conv is dead
    a = nb201.parse("|none~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|none~0|none~1|skip_connect~2|")
    b = nb201.parse("|none~0|+|nor_conv_3x3~0|none~1|+|none~0|none~1|skip_connect~2|")
    assert a == b
    # node 2 cannot reach the output: its incoming ops are dead
    c = nb201.parse("|nor_conv_1x1~0|+|avg_pool_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|skip_connect~1|none~2|")
    d = nb201.parse("|nor_conv_1x1~0|+|none~0|none~1|+|nor_conv_3x3~0|skip_connect~1|none~2|")
    assert c == d
    assert nb201.cost(c) == nb201.cost(d)


def test_nb201_mirror_nodes_and_skip_paths_are_one_network(nb201):
    # swap the roles of nodes 1 and 2 when they do not feed each other
    a = nb201.parse("|nor_conv_3x3~0|+|avg_pool_3x3~0|none~1|+|none~0|skip_connect~1|nor_conv_1x1~2|")
    b = nb201.parse("|avg_pool_3x3~0|+|nor_conv_3x3~0|none~1|+|none~0|nor_conv_1x1~1|skip_connect~2|")
    assert a == b
    # conv(skip(x)) through node 1 is conv(x) on the direct edge
    c = nb201.parse("|skip_connect~0|+|none~0|none~1|+|none~0|nor_conv_3x3~1|none~2|")
    d = nb201.parse("|none~0|+|none~0|none~1|+|nor_conv_3x3~0|none~1|none~2|")
    assert c == d


def test_nb201_all_none_cell_builds_a_zero_cell(nb201):
    arch = nb201.parse("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    assert arch == nb201.parse("|skip_connect~0|+|nor_conv_1x1~0|none~1|+|none~0|none~1|none~2|")
    import torch

    model = nb201.build(arch).eval()
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 10)


@pytest.mark.parametrize("cell", ["|nor_conv_3x3~0|+|none~0|nor_conv_1x1~1|+|none~0|none~1|avg_pool_3x3~2|",
                                  "|none~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|", EXAMPLE])
def test_nb201_blocks_are_cells_even_when_a_cell_is_a_chain(nb201, cell):
    # AZ-NAS reads one feature map per block: the stem, the 15 cell outputs and the 2 reductions
    nodes = nb201.feature_nodes(nb201.parse(cell))
    assert len(nodes) == 18 and nodes[0] == "stem" and nodes[6] == "reduce1"
    assert all(n in ("stem", "reduce1", "reduce2") or n.endswith("_n3") for n in nodes)


def test_nb201_chain_cell_is_not_an_identity_block_for_az_trainability(nb201):
    chain = nb201.parse("|nor_conv_3x3~0|+|none~0|nor_conv_1x1~1|+|none~0|none~1|avg_pool_3x3~2|")
    assert "az_trainability" in score(chain, ["az_trainability"], space=nb201, batch_size=4).values
    skip = nb201.parse("|none~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|")  # every cell is the identity
    assert "-inf" in score(skip, ["az_trainability"], space=nb201, batch_size=4).errors["az_trainability"]


def test_nb201_distinct_networks(nb201):
    assert nb201.size() == len(set(nb201.enumerate())) == 4930


def test_nb201_equal_archs_have_equal_cost(nb201):
    ops = nb201.ops
    by_arch = {}
    for idx in itertools.islice(itertools.product(range(5), repeat=6), 0, 15625, 7):
        text = "|{}~0|+|{}~0|{}~1|+|{}~0|{}~1|{}~2|".format(*(ops[i] for i in idx))
        arch = nb201.parse(text)
        by_arch.setdefault(arch, nb201.cost(arch))
        assert nb201.cost(nb201.parse(nb201.format(arch))) == by_arch[arch]


def test_metaformer_drops_identity_blocks_and_unused_dims():
    import yaml

    from hybridnas import Arch
    from hybridnas.spaces.loader import SHIPPED_DIR

    raw = yaml.safe_load((SHIPPED_DIR / "hybrid_cifar.yaml").read_text())
    raw["stages"][1]["layout"] = "[conv|identity]*"
    space = load_space(raw)
    genes = space.sample(0).to_dict()["genes"]
    conv = {"mixer": "conv", "mlp_ratio": 2, "heads": None, "kernel": 3}
    plain = dict(genes, stages=[genes["stages"][0], {"width": 48, "blocks": [conv]}, *genes["stages"][2:]])
    noisy_blocks = [{"mixer": "identity", "mlp_ratio": 4, "heads": 1, "kernel": 5}, dict(conv, heads=4),
                    {"mixer": "identity", "mlp_ratio": 3, "heads": None, "kernel": None}]
    noisy = dict(genes, stages=[genes["stages"][0], {"width": 48, "blocks": noisy_blocks}, *genes["stages"][2:]])
    a = space.validate(Arch.from_dict({"space": space.name, "genes": plain}))
    b = space.validate(Arch.from_dict({"space": space.name, "genes": noisy}))
    assert a == b and a.id == b.id and space.format(a) == space.format(b)
    assert space.cost(a) == space.cost(b)


def test_metaformer_identity_layout_is_elastic_depth():
    import yaml

    from hybridnas.spaces.loader import SHIPPED_DIR

    raw = yaml.safe_load((SHIPPED_DIR / "hybrid_cifar.yaml").read_text())
    raw["stages"][0]["layout"] = "[conv|identity]*"
    raw["stages"][0]["depth"] = 3
    space = load_space(raw)
    base = space.format(space.sample(0)).split("|")
    one = "|".join([base[0], "w16:conv-k3-r2", *base[2:]])
    assert space.parse(one).genes["stages"][0]["blocks"][0]["mixer"] == "conv"
    assert space.parse("|".join([base[0], "w16:", *base[2:]])).genes["stages"][0]["blocks"] == ()
    with pytest.raises(ArchError, match=r"more than 3 blocks; stages\[0\].depth allows at most 3"):
        space.parse("|".join([base[0], "w16:conv-k3-r2*4", *base[2:]]))
    with pytest.raises(ArchError, match="is not allowed; allowed: \\['conv', 'identity'\\]"):
        space.parse("|".join([base[0], "w16:attention-h2-r2", *base[2:]]))


def test_metaformer_stage_shared_dims_must_agree(cifar):
    text = cifar.format(cifar.sample(0)).split("|")
    text[1] = "w32:conv-k3-r2+conv-k5-r2"
    with pytest.raises(ArchError, match=r"stages\[0\] shares one kernel"):
        cifar.parse("|".join(text))


@pytest.mark.parametrize("bad, message", [
    ("w24|w32:conv-k3-r2", "has 2 '\\|'-separated parts; expected 5"),
    ("w99|w32:conv-k3-r2|w32:conv-k3-r2|w64:conv-k3-r2|w128:conv-k3-r2", r"stem.width = 99 is not allowed; allowed: \[16, 24, 32\]"),
    ("w16|w32:convv-k3-r2|w32:conv-k3-r2|w64:conv-k3-r2|w128:conv-k3-r2", r"mixer = 'convv' is not allowed"),
    ("w16|w32:conv-k9-r2|w32:conv-k3-r2|w64:conv-k3-r2|w128:conv-k3-r2", r"stages\[0\].blocks\[0\].kernel = 9"),
    ("w16|w32:conv-k3-r2|w32:conv-k3-r2|w64:attention-h3-r2|w128:conv-k3-r2", r"heads = 3 is not allowed; allowed: \[2, 4, 8\]"),
    ("w16|w32:conv-k3-r2|w32:conv-k3-r2|w64:conv-k3-r2|w128:conv-k3-r2?", "expected <mixer>"),
])
def test_metaformer_parse_errors_name_the_problem(cifar, bad, message):
    with pytest.raises(ArchError, match=message):
        cifar.parse(bad)
