"""Auto-scaling: monotonic growth, targets met within one step, members valid and exported, scalable limits."""

import numpy as np
import pandas as pd
import pytest
import yaml

from hybridnas import HybridNASError, load_space
from hybridnas.scaling import Rule, parse_targets, scale, scaled_space, write_family
from hybridnas.spaces.loader import SHIPPED_DIR

SEED = "w16|w16:conv-k3-r2|w24:conv-k3-r2|w48:conv-k3-r2+attention-h2-r2|w96:attention-h4-r2"
CHEAP = {"rule": "naswot:max,grad_norm:max", "batch_size": 8, "progress": False}


@pytest.fixture(scope="module")
def grown(tmp_path_factory):
    space = load_space("hybrid_cifar")
    out = tmp_path_factory.mktemp("scale")
    family = scale(space, SEED, "2x,4x", out=out, **CHEAP)
    return space, family, out


def test_growth_is_monotonic_and_lands_each_member_within_ten_percent_of_its_target(grown):
    space, family, _ = grown
    macs = family.path["macs"].to_numpy()
    assert (macs[1:] > macs[:-1]).all()
    for _, member in family.members.iterrows():
        assert abs(member["macs"] / member["target_macs"] - 1) <= 0.10, member[["target", "macs", "target_macs"]]
    assert list(family.members["target"]) == ["2x", "4x"]


def test_a_member_is_the_step_closest_to_its_target_or_the_first_past_it():
    from hybridnas.scaling.grow import _landing, _member_row

    path = pd.DataFrame({"step": [0, 1, 2, 3], "macs": [100, 170, 195, 260]})
    assert _member_row(path, 200)["step"] == 2  # 195 is within 10%, closer than anything else
    assert _member_row(path, 230)["step"] == 3  # nothing within 10%: the first past it
    candidates = pd.DataFrame({"macs": [150, 205, 300]})
    assert list(_landing(candidates, 200)["macs"]) == [205]  # within 10% of the target
    assert list(_landing(candidates, 260)["macs"]) == [150, 205]  # none near: don't overshoot yet
    assert list(_landing(pd.DataFrame({"macs": [400, 500]}), 200)["macs"]) == [400, 500]


def test_every_step_adds_a_block_and_members_are_valid(grown):
    space, family, _ = grown
    big = scaled_space(space)
    depths = [sum(len(s["blocks"]) for s in big.parse(a).genes["stages"]) for a in family.path["arch"]]
    assert all(b > a for a, b in zip(depths, depths[1:]))
    for text in family.members["arch"]:
        arch = big.parse(text)
        assert big.validate(arch) == arch and big.format(arch) == text


def test_members_are_exported(grown, tmp_path):
    space, family, _ = grown
    files = write_family(space, family, tmp_path, rule=CHEAP["rule"], seed_arch=SEED)
    assert files["growth.png"].read_bytes()[:4] == b"\x89PNG"
    table = pd.read_csv(files["family.csv"])
    assert list(table["target"]) == ["seed", "2x", "4x"] and table["arch"][0] == SEED
    assert not (tmp_path / "members" / "seed").exists()  # the seed is the user's own network: not exported
    big = scaled_space(space)
    for target, text in zip(table["target"][1:], table["arch"][1:]):
        card = yaml.safe_load((tmp_path / "members" / target / "card.yaml").read_text())
        assert card["arch"]["string"] == text and card["provenance"]["scaled_from"] == SEED
        namespace = {"__file__": str(tmp_path / "members" / target / "model.py"), "__name__": "m"}
        exec(compile((tmp_path / "members" / target / "model.py").read_text(), "model.py", "exec"), namespace)
        assert list(namespace["build_model"]().state_dict()) == list(big.build(big.parse(text)).state_dict())


def test_resume_continues_the_saved_path(grown):
    space, family, out = grown
    longer = scale(space, SEED, "2x,4x,6x", out=out, resume=True, **CHEAP)
    n = len(family.path)
    assert longer.path["arch"][:n].tolist() == family.path["arch"].tolist()
    assert longer.path["macs"].iloc[-1] >= 6 * family.path["macs"].iloc[0]


def test_dimensions_grow_past_declared_values_only_when_scalable():
    raw = yaml.safe_load(open(SHIPPED_DIR / "hybrid_cifar.yaml"))
    for stage in raw["stages"]:
        stage["depth"].pop("scalable")
        stage["width"].pop("scalable")
    fixed = load_space(raw)
    assert scaled_space(fixed).config.stages[0].width.values == fixed.config.stages[0].width.values
    largest = "w32|w48:conv-k3-r4*3|w96:conv-k3-r4*4|w192:conv-k3-r4*6|w320:conv-k3-r4*3"
    with pytest.raises(HybridNASError, match="no valid larger architecture.*scalable: true"):
        scale(fixed, largest, "2x", **CHEAP)
    open_space = load_space("hybrid_cifar")
    family = scale(open_space, largest, "1.3x", **CHEAP)
    member = scaled_space(open_space).parse(family.members["arch"][0])
    declared = open_space.config.stages
    assert any(len(s["blocks"]) > max(d.depth.values) or s["width"] > max(d.width.values)
               for s, d in zip(member.genes["stages"], declared))


def test_bad_rules_and_targets_are_clear_errors():
    with pytest.raises(HybridNASError, match="unknown proxy 'nope'"):
        Rule.parse("nope:max")
    with pytest.raises(HybridNASError, match="PROXY:max or PROXY:min"):
        Rule.parse("naswot")
    with pytest.raises(HybridNASError, match="not above the seed"):
        parse_targets("0.5x", 1000)
    with pytest.raises(HybridNASError, match="write multiples"):
        parse_targets("big", 1000)
    assert parse_targets("4x,2x", 10) == [("2x", 20.0), ("4x", 40.0)]
    with pytest.raises(HybridNASError, match="fixed skeleton"):
        scaled_space(load_space("nasbench201"))


def test_cli_scale(tmp_path):
    from click.testing import CliRunner

    from hybridnas.cli import main

    from hybridnas.latency import Conditions, LatencyTable, space_signatures
    from hybridnas.latency.timing import Timing

    # a table that never timed layers on 192 or more channels: the 8x member's widest layers are predicted, and
    # marked (as a member grown past the declared space, or a partial table, would be)
    entries = {sig: Timing(0.01 + sig.spec.macs(sig.in_shape) / 1e7, 0.0)
               for sig in space_signatures(load_space("hybrid_cifar")) if sig.in_shape[0] < 192}
    LatencyTable(Conditions("cpu", "test", 1, 1, "float32"), entries=entries).save(tmp_path / "t.json")
    result = CliRunner().invoke(main, ["scale", "hybrid_cifar", "--seed-arch", SEED, "--targets", "2x,8x", "--rule",
                                       CHEAP["rule"], "--batch-size", "8", "--no-export", "--out", str(tmp_path),
                                       "--latency-table", str(tmp_path / "t.json"), "--no-progress"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "family.csv").is_file() and not (tmp_path / "members").exists()
    family = pd.read_csv(tmp_path / "family.csv")
    assert family["latency_ms"].notna().all() and family["latency_ms"].is_monotonic_increasing
    assert family["latency_source"].str.startswith("predicted (").any()
    assert "latency_source" in result.output
    assert result.output.splitlines()[-1].startswith("time: ") and "growth" in result.output.splitlines()[-1]


@pytest.mark.parametrize("mode", ["compound", "depth", "width"])
def test_baselines_scale_only_their_dimensions(mode):
    from hybridnas.scaling.baselines import scale_to

    space = load_space("hybrid_cifar")
    big = scaled_space(space)
    seed = big.parse(SEED)
    target = 3 * big.cost(seed).macs
    arch = scale_to(space, seed, target, mode)
    assert abs(np.log(big.cost(arch).macs / target)) < abs(np.log(big.cost(seed).macs / target))
    depths = [len(s["blocks"]) for s in arch.genes["stages"]]
    widths = [s["width"] for s in arch.genes["stages"]]
    seed_depths = [len(s["blocks"]) for s in seed.genes["stages"]]
    seed_widths = [s["width"] for s in seed.genes["stages"]]
    if mode == "depth":
        assert widths == seed_widths and depths != seed_depths
    if mode == "width":
        assert depths == seed_depths and widths != seed_widths


class LinearLatency:
    """A stand-in latency table: 0.2 ms of overhead plus 1 ms per 10M MACs (what a calibrated table predicts)."""

    def predict(self, space, arch, unseen="error"):
        assert unseen == "predict"  # grown layers a table never timed are predicted, not refused
        return 0.2 + space.cost(arch).macs / 1e7


def test_latency_targets_land_each_member_within_ten_percent_of_its_predicted_latency(tmp_path):
    space = load_space("hybrid_cifar")
    seed_ms = LinearLatency().predict(scaled_space(space), scaled_space(space).parse(SEED), "predict")
    targets = f"{1.8 * seed_ms:.3f}ms,{3 * seed_ms:.3f}ms"
    family = scale(space, SEED, targets, latency_table=LinearLatency(), out=tmp_path, **CHEAP)
    assert list(family.members["target"]) == targets.split(",") and "target_latency_ms" in family.members
    for _, member in family.members.iterrows():
        assert abs(member["latency_ms"] / member["target_latency_ms"] - 1) <= 0.10
    assert (family.path["latency_ms"].diff().dropna() > 0).all()
    write_family(space, family, tmp_path, export=False)
    table = pd.read_csv(tmp_path / "family.csv")
    assert table["target"].iloc[0] == "seed" and table["target_latency_ms"].iloc[0] == pytest.approx(seed_ms)


def test_latency_targets_need_a_table_and_do_not_mix_with_macs():
    space = load_space("hybrid_cifar")
    with pytest.raises(HybridNASError, match="are latencies: give the latency table"):
        scale(space, SEED, "5ms", **CHEAP)
    with pytest.raises(HybridNASError, match="without mixing MACs and ms"):
        parse_targets("5ms,50M", 1.0, "latency_ms")
