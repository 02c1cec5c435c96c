"""`hybridnas train` for short runs: the warm-up is a tenth of the run, the record holds no supernet fields, and
the output names the split it scored (issue: a user's first hour)."""

import json

from click.testing import CliRunner

from hybridnas.cli import main


def test_a_one_epoch_training_warms_up_for_a_tenth_and_records_only_its_own_fields(shared, tmp_path):
    data = f"npz:{shared / 'data' / 'cifar10_subset.npz'}"
    result = CliRunner().invoke(main, ["train", "nasbench_macro", "--arch", "02012100", "--data", data, "--epochs", "1",
                                       "--train-limit", "64", "--batch-size", "32", "--out", str(tmp_path / "t"),
                                       "--no-progress"])
    assert result.exit_code == 0, result.output
    record = json.loads((tmp_path / "t" / "train.json").read_text())
    assert record["recipe"]["warmup_epochs"] == 0.1  # was 1.0: the whole run warmed up and never decayed
    assert not {"sampler", "subnets", "sampler_options", "init_from"} & set(record["recipe"])
    assert "accuracy on the test split" in result.output
