"""Latency for untimed layers: the per-type predictor recovers a known law, fills in grown members, and says so."""

import math

import numpy as np
import pandas as pd
import pytest
import yaml

from hybridnas import load_space
from hybridnas.export import export_arch
from hybridnas.latency import Conditions, LatencyError, LatencyTable, arch_signatures, space_signatures
from hybridnas.latency.predictor import POOLED, LayerPredictor, layer_features, layer_type
from hybridnas.latency.timing import Timing
from hybridnas.scaling import scaled_space
from hybridnas.scaling.family import family_table
from hybridnas.scaling.grow import Family

SEED = "w16|w16:conv-k3-r2|w24:conv-k3-r2|w48:conv-k3-r2+attention-h2-r2|w96:attention-h4-r2"


def known_law(sig):
    """A per-type linear law in the predictor's features, different for every layer type."""
    weights = {"const": 0.005, "macs": 1e-7, "params": 2e-8, "in_elems": 3e-7, "out_elems": 1e-7}
    bump = 1 + (sum(map(ord, layer_type(sig))) % 7) / 3  # each type gets its own slope
    features = layer_features(sig)
    return float(weights["const"] + bump * features[1:] @ np.array(list(weights.values())[1:]))


def table_from(entries):
    return LatencyTable(Conditions("cpu", "test", 1, 1, "float32"), entries=entries)


def test_a_known_per_type_law_is_recovered_on_held_out_layers():
    sigs = space_signatures(load_space("hybrid_cifar"))
    rng = np.random.default_rng(0)
    held = set(rng.choice(len(sigs), size=len(sigs) // 5, replace=False).tolist())
    fitted = LayerPredictor.fit({s: Timing(known_law(s), 0.0) for i, s in enumerate(sigs) if i not in held})
    errors = [abs(fitted.predict(sigs[i]) / known_law(sigs[i]) - 1) for i in held]
    assert max(errors) < 1e-6
    assert POOLED in fitted.coefficients and all(v >= 8 for v in fitted.points.values())


def test_a_type_with_too_few_timed_layers_uses_the_pooled_model():
    sigs = space_signatures(load_space("hybrid_cifar"))
    entries = {s: Timing(known_law(s), 0.0) for s in sigs if layer_type(s) != "metaformer_block:attention"}
    attention = next(s for s in sigs if layer_type(s) == "metaformer_block:attention")
    fitted = LayerPredictor.fit(entries)
    assert fitted.model_of(attention) == POOLED and math.isfinite(fitted.predict(attention))
    with pytest.raises(LatencyError, match="at least 8"):
        LayerPredictor.fit(dict(list(entries.items())[:3]))


def grown_member():
    space = load_space("hybrid_cifar")
    big = scaled_space(space)
    arch = big.parse(SEED.replace("w96:attention-h4-r2", "w384:attention-h4-r2+attention-h4-r2"))
    return space, big, arch


def test_a_layer_the_table_lacks_is_an_error_unless_predicted_and_then_marked():
    space, big, arch = grown_member()
    table = table_from({s: Timing(known_law(s), 0.0) for s in space_signatures(space)})
    assert table.missing(big, arch)  # the 384-wide stage was never timed
    with pytest.raises(LatencyError, match="no entry for"):
        table.predict(big, arch)
    pred = table.breakdown(big, arch, unseen="predict")
    assert set(pred.layers["source"]) == {"measured", "predicted"}
    wide = pred.layers["in_shape"].str.startswith("384")
    assert wide.sum() >= 3 and (pred.layers.loc[wide, "source"] == "predicted").all()
    assert table.predict(big, arch, unseen="predict") == pytest.approx(pred.total_ms)
    # the law is linear in the features, so a type with its own model extrapolates exactly; the head (one
    # timed layer per final width, fewer than 8) is answered by the pooled model
    untimed = [sig for _, sig in arch_signatures(big, arch) if sig not in table.entries]
    own = [sig for sig in untimed if table.predictor.model_of(sig) != POOLED]
    assert len(own) >= 3 and {layer_type(s) for s in untimed if s not in own} == {"classifier_head"}
    for sig in own:
        assert table.predictor.predict(sig) == pytest.approx(known_law(sig), rel=1e-9)


def test_family_and_export_give_every_member_a_latency_and_say_which_are_predicted(tmp_path):
    space, big, arch = grown_member()
    table = table_from({s: Timing(known_law(s), 0.0) for s in space_signatures(space)})
    table.save(tmp_path / "t.json")
    members = pd.DataFrame({"target": ["1x", "2x"], "arch": [SEED, big.format(arch)], "step": [0, 1]})
    frame = family_table(space, Family(members, members, None), [table])
    assert frame["latency_ms"].notna().all()
    assert frame["latency_source"].iloc[0] == "measured"
    assert frame["latency_source"].iloc[1].startswith("predicted (")
    export_arch(big, arch, tmp_path / "out", latency_tables=[table])
    card = yaml.safe_load((tmp_path / "out" / "card.yaml").read_text())
    (entry,) = card["latency"].values()
    assert entry["layers_predicted"] > 0 and entry["layers_timed"] > 0 and entry["backend"] == "torch"
    csv = pd.read_csv(tmp_path / "out" / "latency.csv")
    assert (csv["source"] == "predicted").sum() == entry["layers_predicted"] + 1  # plus the TOTAL row
