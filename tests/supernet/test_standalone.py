"""Standalone training: a run killed after an epoch and resumed from its checkpoint ends exactly where an
uninterrupted run does; a checkpoint of another network or config is refused; `hybridnas train --resume`."""

import json
import math

import pytest
import torch
from click.testing import CliRunner

from hybridnas import HybridNASError, load_space
from hybridnas.cli import main
from hybridnas.latency.timing import threads_set
from hybridnas.supernet import largest_and_smallest, load_supernet_config
from hybridnas.supernet import standalone
from hybridnas.supernet.standalone import train_standalone

DATA = "npz:{shared}/data/cifar10_subset.npz"


def config(shared, **changes):
    base = {"space": "hybrid_cifar", "data": DATA.format(shared=shared), "epochs": 2, "batch_size": 16,
            "train_limit": 32, "eval_batch_size": 200}
    return load_supernet_config({**base, **changes})


def small_model(seed=0):
    space = load_space("hybrid_cifar")
    torch.manual_seed(seed)
    return space.build(largest_and_smallest(space)[1])


class Killed(Exception):
    pass


def test_a_killed_run_resumed_from_its_checkpoint_equals_an_uninterrupted_one(shared, tmp_path, monkeypatch):
    with threads_set(1):
        straight_model = small_model()
        straight = train_standalone(straight_model, config(shared), checkpoint=tmp_path / "a.pt")
        saved = standalone.atomic_torch_save

        def save_then_die(state, path):  # the process is killed right after the first epoch's checkpoint
            saved(state, path)
            raise Killed

        monkeypatch.setattr(standalone, "atomic_torch_save", save_then_die)
        with pytest.raises(Killed):
            train_standalone(small_model(), config(shared), checkpoint=tmp_path / "b.pt")
        monkeypatch.setattr(standalone, "atomic_torch_save", saved)
        assert torch.load(tmp_path / "b.pt", weights_only=True)["epoch"] == 1
        resumed_model = small_model(seed=5)  # other initial weights: the checkpoint's replace them
        resumed = train_standalone(resumed_model, config(shared), checkpoint=tmp_path / "b.pt", resume=True)
    assert resumed["accuracy"] == straight["accuracy"]
    for (key, a), b in zip(straight_model.state_dict().items(), resumed_model.state_dict().values()):
        assert torch.equal(a, b), key
    assert torch.load(tmp_path / "b.pt", weights_only=True)["epoch"] == 2


def test_testing_every_epoch_leaves_the_training_unchanged_and_its_curve_survives_a_resume(shared, tmp_path,
                                                                                         monkeypatch):
    with threads_set(1):
        plain_model, traced_model = small_model(), small_model()
        plain = train_standalone(plain_model, config(shared))
        traced = train_standalone(traced_model, config(shared), curve=True, checkpoint=tmp_path / "a.pt")
        saved = standalone.atomic_torch_save

        def save_then_die(state, path):
            saved(state, path)
            raise Killed

        monkeypatch.setattr(standalone, "atomic_torch_save", save_then_die)
        with pytest.raises(Killed):
            train_standalone(small_model(), config(shared), curve=True, checkpoint=tmp_path / "b.pt")
        monkeypatch.setattr(standalone, "atomic_torch_save", saved)
        resumed = train_standalone(small_model(), config(shared), curve=True, checkpoint=tmp_path / "b.pt",
                                   resume=True)
        # a checkpoint written without a curve resumes with the epochs it did not test as NaN
        train_standalone(small_model(), config(shared, epochs=1), checkpoint=tmp_path / "c.pt")
        late = train_standalone(small_model(), config(shared), curve=True, checkpoint=tmp_path / "c.pt", resume=True)
        train_standalone(small_model(), config(shared), checkpoint=tmp_path / "d.pt")
        finished = train_standalone(small_model(), config(shared), curve=True, checkpoint=tmp_path / "d.pt",
                                    resume=True)  # nothing left to train: only the end is tested
    for (key, a), b in zip(plain_model.state_dict().items(), traced_model.state_dict().values()):
        assert torch.equal(a, b), key
    assert traced["accuracy"] == plain["accuracy"] == traced["curve"][-1]
    assert len(traced["curve"]) == 2 and resumed["curve"] == traced["curve"]
    assert torch.load(tmp_path / "a.pt", weights_only=True)["curve"] == traced["curve"]
    assert math.isnan(late["curve"][0]) and late["curve"][1] == late["accuracy"]
    assert len(finished["curve"]) == 2 and math.isnan(finished["curve"][0])
    assert finished["curve"][1] == finished["accuracy"] == plain["accuracy"]


def test_a_checkpoint_of_another_network_or_config_is_refused(shared, tmp_path):
    with threads_set(1):
        train_standalone(small_model(), config(shared, epochs=1), checkpoint=tmp_path / "c.pt")
    space = load_space("hybrid_cifar")
    other = space.build(largest_and_smallest(space)[0])
    with pytest.raises(HybridNASError, match="does not hold this network's standalone training"):
        train_standalone(other, config(shared, epochs=1), checkpoint=tmp_path / "c.pt", resume=True)
    with pytest.raises(HybridNASError, match="different config"):
        train_standalone(small_model(), config(shared, epochs=1, lr=0.5), checkpoint=tmp_path / "c.pt", resume=True)
    with pytest.raises(HybridNASError, match="no such file"):
        train_standalone(small_model(), config(shared), checkpoint=tmp_path / "none.pt", resume=True)
    torch.save([1, 2, 3], tmp_path / "list.pt")
    with pytest.raises(HybridNASError, match="not a standalone training checkpoint"):
        train_standalone(small_model(), config(shared), checkpoint=tmp_path / "list.pt", resume=True)


def test_train_command_checkpoints_and_resumes(shared, tmp_path):
    space = load_space("hybrid_cifar")
    arch = space.format(largest_and_smallest(space)[1])
    args = ["train", "hybrid_cifar", "--arch", arch, "--data", DATA.format(shared=shared), "--epochs", "1",
            "--batch-size", "16", "--train-limit", "32", "--out", str(tmp_path / "run"), "--no-progress"]
    runner = CliRunner()
    first = runner.invoke(main, args)
    assert first.exit_code == 0, first.output
    assert (tmp_path / "run" / "checkpoint.pt").is_file()
    again = runner.invoke(main, args)
    assert again.exit_code == 2 and "--resume" in again.output and "Traceback" not in again.output
    longer = runner.invoke(main, [*args[:7], "2", *args[8:], "--resume", "--curve"])  # one more epoch
    assert longer.exit_code == 0, longer.output
    record = json.loads((tmp_path / "run" / "train.json").read_text())
    assert record["curve"][0] is None and record["curve"][1] == record["accuracy"]  # epoch 1 ran untested
    assert torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)["epoch"] == 2
    missing = runner.invoke(main, [*args[:-3], "--out", str(tmp_path / "empty"), "--no-progress", "--resume"])
    assert missing.exit_code == 2 and "no checkpoint.pt to resume" in missing.output


def test_train_command_seed_sets_the_initial_weights_as_well_as_the_data_order(shared, tmp_path):
    from safetensors.torch import load_file

    space = load_space("hybrid_cifar")
    arch = space.format(largest_and_smallest(space)[1])
    runner = CliRunner()

    def weights(seed, out, process_state):
        torch.manual_seed(process_state)  # another process starts from another global generator state
        before = torch.get_rng_state()
        result = runner.invoke(main, ["train", "hybrid_cifar", "--arch", arch, "--data", DATA.format(shared=shared),
                                      "--epochs", "1", "--batch-size", "16", "--train-limit", "32", "--seed",
                                      str(seed), "--out", str(tmp_path / out), "--no-progress"])
        assert result.exit_code == 0, result.output
        assert "training" in result.output.splitlines()[-1]  # the closing 'time:' line
        assert torch.equal(torch.get_rng_state(), before)  # the caller's generator is left as it was
        return load_file(tmp_path / out / "model.safetensors")

    first, again, other = weights(3, "a", 10), weights(3, "b", 11), weights(4, "c", 10)
    assert all(torch.equal(first[k], again[k]) for k in first)
    assert not all(torch.equal(first[k], other[k]) for k in first)
