"""Shared check: a run stopped after one epoch and resumed ends exactly where an uninterrupted run does."""

import torch

from hybridnas.supernet import train_supernet


def assert_resume_is_exact(make_config, tmp_path):
    """`make_config(epochs)` gives the run's config; trains 2 epochs straight and 1 + 1 resumed, compares all."""
    straight = train_supernet(make_config(2), tmp_path / "a", progress=False)
    train_supernet(make_config(1), tmp_path / "b", progress=False)
    # the same run asked for more epochs continues where it stopped, on the 2-epoch schedule
    state = torch.load(tmp_path / "b" / "checkpoint.pt", weights_only=True)
    state["config"]["epochs"] = 2
    torch.save(state, tmp_path / "b" / "checkpoint.pt")
    resumed = train_supernet(make_config(2), tmp_path / "b", resume=True, progress=False)
    a = torch.load(straight.checkpoint, weights_only=True)
    b = torch.load(resumed.checkpoint, weights_only=True)
    for key, value in a["supernet"].items():
        assert torch.equal(value, b["supernet"][key]), key
    assert a["sampler"] == b["sampler"]
