"""Few-shot supernets: the uniform sampler's fixed genes, training from a parent's weights, scoring by routing."""

import pytest
import torch
import yaml

from hybridnas import HybridNASError, load_space
from hybridnas.latency.timing import threads_set
from hybridnas.spaces.loader import SHIPPED_DIR
from hybridnas.supernet import (FewShotScorer, SubnetScorer, load_scorer, load_supernet, load_supernet_config, make_sampler,
                                train_supernet)

SPLIT = "ops.3"  # NAS-Bench-201's edge 0 -> 3


@pytest.fixture
def small_nb201(tmp_path):
    """NAS-Bench-201's cell on a 1-cell-per-stage, 8-channel skeleton: the same networks, cheap to train."""
    raw = yaml.safe_load((SHIPPED_DIR / "nasbench201.yaml").read_text())
    raw.update(name="nb201_small", skeleton={"channels": 8, "cells_per_stage": 1})
    path = tmp_path / "nb201_small.yaml"
    path.write_text(yaml.safe_dump(raw))
    return str(path)


def _config(shared, space, **fields):
    return load_supernet_config({"space": space, "data": f"npz:{shared}/data/cifar10_subset.npz", "epochs": 1,
                                 "batch_size": 8, "train_limit": 16, "sampler": "uniform", "subnets": 1,
                                 "optimizer": "sgd", "calibration_batches": 1, "eval_batch_size": 50, **fields})


def test_gene_reads_a_dotted_path_and_names_a_missing_one():
    arch = load_space("nasbench201").parse("|nor_conv_3x3~0|+|none~0|avg_pool_3x3~1|+|nor_conv_1x1~0|skip_connect~1|"
                                           "nor_conv_3x3~2|")
    assert arch.gene("ops.0") == "nor_conv_3x3" and arch.gene(SPLIT) == "nor_conv_1x1"
    for missing in ("ops.6", "ops.x", "depths", "ops.0.1"):
        with pytest.raises(KeyError, match=missing):
            arch.gene(missing)


def test_the_uniform_sampler_keeps_fixed_genes_and_refuses_impossible_ones():
    space = load_space("nasbench201")
    sampler = make_sampler("uniform", space, seed=0, subnets=4, fixed_genes={SPLIT: "nor_conv_3x3"})
    drawn = [arch for _ in range(25) for arch in sampler.step()]
    assert all(arch.gene(SPLIT) == "nor_conv_3x3" for arch in drawn)
    assert len({arch.gene("ops.0") for arch in drawn}) > 1  # the other edges still vary
    with pytest.raises(HybridNASError, match="ops.9"):
        make_sampler("uniform", space, fixed_genes={"ops.9": "none"})
    with pytest.raises(HybridNASError, match="no architecture"):
        make_sampler("uniform", space, fixed_genes={SPLIT: "conv_7x7"}).step()


def test_init_from_starts_from_the_parents_weights(shared, small_nb201, tmp_path):
    with threads_set(1):
        parent = train_supernet(_config(shared, small_nb201), tmp_path / "parent", progress=False)
        child = train_supernet(_config(shared, small_nb201, lr=1e-12, weight_decay=0, seed=1,
                                       init_from=str(parent.checkpoint)), tmp_path / "child", progress=False)
        fresh = train_supernet(_config(shared, small_nb201, lr=1e-12, weight_decay=0, seed=1), tmp_path / "fresh",
                               progress=False)
    weights = {name: torch.load(run.checkpoint, weights_only=True)["supernet"] for name, run in
               [("parent", parent), ("child", child), ("fresh", fresh)]}
    convs = [k for k in weights["parent"] if k.endswith("conv.weight")]
    assert convs and all(torch.allclose(weights["child"][k], weights["parent"][k], atol=1e-7) for k in convs)
    assert not all(torch.allclose(weights["fresh"][k], weights["parent"][k], atol=1e-7) for k in convs)
    with pytest.raises(HybridNASError, match="of space 'nb201_small', this training's is 'nasbench_macro'"):
        train_supernet(_config(shared, "nasbench_macro", init_from=str(parent.checkpoint)), tmp_path / "macro",
                       progress=False)


def test_few_shot_scoring_routes_each_network_to_its_sub_supernet(shared, small_nb201, tmp_path):
    space = load_space(small_nb201)
    with threads_set(1):
        parent = train_supernet(_config(shared, small_nb201), tmp_path / "parent", progress=False)
        parts = [train_supernet(_config(shared, small_nb201, init_from=str(parent.checkpoint),
                                        sampler_options={"fixed_genes": {SPLIT: op}}), tmp_path / op, progress=False)
                 for op in ("skip_connect", "nor_conv_3x3")]
        scorer = FewShotScorer([part.checkpoint for part in parts], test_limit=50)
        conv = space.parse("|nor_conv_3x3~0|+|none~0|none~1|+|nor_conv_3x3~0|none~1|nor_conv_3x3~2|")
        alone = SubnetScorer(*load_supernet(parts[1].checkpoint), test_limit=50)
        assert scorer.scorer_for(conv) is scorer.parts[1][1]
        assert scorer(conv) == alone(conv)
        pool = space.parse("|nor_conv_3x3~0|+|none~0|none~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|")
        with pytest.raises(HybridNASError, match="0 of the 2 sub-supernets"):
            scorer(pool)
        with pytest.raises(HybridNASError, match="not a few-shot sub-supernet"):
            FewShotScorer([parent.checkpoint])
        uncalibrated = load_scorer(tmp_path / "nor_conv_3x3", test_limit=50, calibration_batches=0)
        assert uncalibrated.calibration == [] and len(scorer.parts[1][1].calibration) == 1
        with pytest.raises(HybridNASError, match="allowed"):
            load_scorer(parts[0].checkpoint, lr=1.0)


def test_split_trains_every_value_and_eval_and_search_score_through_it(shared, small_nb201, tmp_path):
    from click.testing import CliRunner

    from hybridnas.cli import main
    from hybridnas.search import RunStore, load_search_config, run_search

    space = load_space(small_nb201)
    with threads_set(1):
        parent = train_supernet(_config(shared, small_nb201, sampler="sandwich"), tmp_path / "parent", progress=False)
        split = CliRunner().invoke(main, ["supernet", "split", str(parent.checkpoint), "--gene", SPLIT, "--epochs", "1",
                                          "--out", str(tmp_path / "split"), "--no-progress"], catch_exceptions=False)
        assert split.exit_code == 0, split.output
        folders = sorted(p.name for p in (tmp_path / "split").iterdir())
        assert folders == sorted(f"{SPLIT}={op}" for op in space.ops)
        again = CliRunner().invoke(main, ["supernet", "split", str(parent.checkpoint), "--gene", SPLIT, "--epochs", "1",
                                          "--out", str(tmp_path / "split"), "--no-progress"])
        assert again.exit_code == 2 and "--resume" in again.output  # never overwrites a trained sub-supernet
        archs = [space.format(space.sample(seed)) for seed in range(3)]
        scored = CliRunner().invoke(main, ["supernet", "eval", str(tmp_path / "split"), "--test-limit", "50", "--csv"],
                                    input="\n".join(archs) + "\n", catch_exceptions=False)
        assert scored.exit_code == 0, scored.output
        expected = FewShotScorer(sorted((tmp_path / "split").glob("*/checkpoint.pt")), test_limit=50)
        rows = scored.output.strip().splitlines()[1:]
        assert [float(row.rsplit(",", 1)[1]) for row in rows] == [expected(space.parse(a)) for a in archs]
        search = load_search_config({"space": small_nb201, "objectives": "supernet_accuracy:max", "trials": 3,
                                     "batch_size": 3, "workers": 0, "strategy": "random",
                                     "supernet": str(tmp_path / "split"), "supernet_test_limit": 50})
        run_search(search, tmp_path / "run", progress=False)
    assert (RunStore(tmp_path / "run").table()["status"] == "ok").sum() == 3
