"""The public space protocols: MetaFormer implements them; other spaces are refused by name of what they lack."""

import pytest

from hybridnas import load_space
from hybridnas.errors import HybridNASError
from hybridnas.spaces.protocol import ScalableSpace, WeightSharingSpace, require_protocol


@pytest.mark.parametrize("name", ["hybrid_cifar", "hybrid_imagenet", "vit"])
def test_metaformer_spaces_implement_both_protocols(name):
    space = load_space(name)
    assert isinstance(space, WeightSharingSpace) and isinstance(space, ScalableSpace)
    largest, smallest = space.extreme_arch(max), space.extreme_arch(min)
    assert space.cost(largest).macs > space.cost(smallest).macs
    keys = dict(space.supernet_slots())
    assert all(space.slot_of(largest, node.name) in keys for node in space.plan(largest).nodes)


def test_a_space_without_the_protocol_is_refused_naming_what_it_lacks():
    space = load_space("nasbench_macro")
    require_protocol(space, WeightSharingSpace, "a supernet", "why")  # the benchmark spaces share weights too

    class PlainSpace:  # declares no weight slots
        name, type_name = "plain", "custom"

    with pytest.raises(HybridNASError, match="'plain' \\(custom\\) lacks extreme_arch, slot_of, supernet_slots: why"):
        require_protocol(PlainSpace(), WeightSharingSpace, "a supernet", "why")
    assert space.from_genes(space.sample(0).genes) == space.sample(0)
