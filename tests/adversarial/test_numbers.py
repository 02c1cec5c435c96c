"""One boundary for numbers and YAML: every number a config gives is finite, in range and of a sane size, and
every YAML file is a bounded mapping; each refusal is one line naming the key, exit 2 (issue: hostile input,
round two). Each case failed with a traceback or went through silently before its fix."""

import pytest
from click.testing import CliRunner

from hybridnas.cli import main
from tests.adversarial.cli import refused, run

SEARCH = "space: nasbench_macro\nobjectives: [synflow:max]\ntrials: 2\nworkers: 0\nproxy_batch_size: 4\n"
HUGE = "1" + "0" * 5000



@pytest.mark.parametrize("budget, says", [
    ("{max_macs: .nan}", "budget.max_macs: expected a finite number"),
    ("{max_macs: lots}", "budget.max_macs: expected a number"),
    ("{max_macs: 0}", "budget.max_macs: Input should be greater than 0"),
    ("{max_macs: -1}", "budget.max_macs: expected a finite number from 0"),  # was: the budget silently off
    ("{max_macs: 1e400}", "budget.max_macs: expected a finite number"),
    ("{max_params: .inf}", "budget.max_params: expected a finite number"),
    ("{max_latency_ms: .nan, latency_table: t.json}", "budget.max_latency_ms"),
    ("{max_latency_ms: fast, latency_table: t.json}", "budget.max_latency_ms"),
])
def test_budgets_must_be_finite_and_positive(tmp_path, budget, says):
    config = tmp_path / "s.yaml"
    config.write_text(SEARCH + f"budget: {budget}\n")
    refused(run("search", str(config), "--out", str(tmp_path / "run")), says)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("line, says", [
    (f"seed: {2 ** 32}", "seed: Input should be less than 4294967296"),
    ("proxy_batch_size: 1000000000", "proxy_batch_size: Input should be less than or equal to 4096"),
    ("trials: 1e9", "trials"),
    (f"budget: {{max_macs: {HUGE}}}", "cannot be read"),
])
def test_search_numbers_of_a_sane_size(tmp_path, line, says):
    config = tmp_path / "s.yaml"
    config.write_text(SEARCH + line + "\n")
    refused(run("search", str(config), "--out", str(tmp_path / "run")), says)


@pytest.mark.parametrize("text, says", [
    ("- a\n- b\n", "must be a mapping of keys to values at the top, not a list"),
    ("x: " + "[" * 5000 + "]" * 5000 + "\n", "nested too deeply"),
    ("x: !!python/object/apply:os.system ['echo hacked']\n", "YAML tags that build Python objects are refused"),
    ("x: [\n", "not valid YAML at line"),
])
@pytest.mark.parametrize("command", [("search",), ("space", "validate")])
def test_every_yaml_is_a_bounded_mapping(tmp_path, text, says, command):
    config = tmp_path / "c.yaml"
    config.write_text(text)
    extra = ["--out", str(tmp_path / "run")] if command == ("search",) else []
    refused(run(*command, str(config), *extra), says)


def test_a_run_whose_config_is_not_a_mapping_is_refused_on_resume(tmp_path):
    config = tmp_path / "s.yaml"
    config.write_text(SEARCH)
    assert run("search", str(config), "--out", str(tmp_path / "run")).exit_code == 0
    (tmp_path / "run" / "config.yaml").write_text("- not\n- a mapping\n")
    refused(run("search", "--resume", str(tmp_path / "run")), "must be a mapping")


@pytest.mark.parametrize("value", [".inf", ".nan", HUGE])
def test_space_dimensions_are_finite(tmp_path, value):
    space = tmp_path / "s.yaml"
    space.write_text("name: x\ninput: {channels: 3, size: 32}\nnum_classes: 10\n"
                     "stem: {type: conv, width: 16, strides: [1]}\n"
                     f"stages:\n  - depth: 1\n    width: 16\n    mlp_ratio: {{choices: [4, {value}]}}\n"
                     "    layout: conv*\n")
    refused(run("space", "validate", str(space)))


@pytest.mark.parametrize("key, value", [("lr", ".inf"), ("weight_decay", ".inf"), ("warmup_epochs", ".inf"),
                                        ("lr", ".nan"), ("seed", str(2 ** 32))])
def test_training_settings_are_finite(tmp_path, key, value):
    config = tmp_path / "t.yaml"
    config.write_text(f"space: nasbench_macro\ndata: npz:unused.npz\nepochs: 1\n{key}: {value}\n")
    refused(run("supernet", "train", str(config), "--out", str(tmp_path / "out")), key)


def test_train_refuses_an_infinite_learning_rate(tmp_path):
    refused(run("train", "nasbench_macro", "--arch", "02012100", "--data", "npz:unused.npz", "--lr", "inf",
                "--out", str(tmp_path / "out")), "lr")


def test_an_npz_of_object_arrays_is_one_line(tmp_path):
    import numpy as np

    path = tmp_path / "obj.npz"
    np.savez(path, x_train=np.array([object()] * 4, dtype=object), y_train=np.zeros(4, dtype=np.int64),
             x_test=np.zeros((2, 3, 8, 8), np.uint8), y_test=np.zeros(2, np.int64))
    result = CliRunner().invoke(main, ["proxies", "score", "nasbench_macro", "--archs", "-", "--proxies", "naswot",
                                       "--data", f"npz:{path}"], input="02012100\n")
    refused(result, "holds object arrays, which are pickles and are never loaded")


@pytest.mark.parametrize("target", ["infx", "1e400M", "100000x"])
def test_scale_targets_are_finite_and_bounded(tmp_path, target):
    from hybridnas import load_space

    seed = load_space("hybrid_cifar").format(load_space("hybrid_cifar").sample(0))
    refused(run("scale", "hybrid_cifar", "--seed-arch", seed, "--targets", target, "--out", str(tmp_path / "f")),
            f"target '{target}'")


def test_a_batch_larger_than_the_training_images_is_refused_not_trained_for_zero_steps(tmp_path, shared):
    data = f"npz:{shared}/data/cifar10_subset.npz"
    refused(run("train", "nasbench_macro", "--arch", "02012100", "--data", data, "--batch-size", "128",
                "--train-limit", "64", "--epochs", "1", "--out", str(tmp_path / "out")),
            "make no full batch of 128", "lower batch_size")
