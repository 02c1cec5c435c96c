"""The benchmarks' resumable training: a record or checkpoint of another network is never reused."""

from __future__ import annotations

import json

import pytest
import torch

from benchmarks import common as benchmarks_common


@pytest.fixture
def fake_training(monkeypatch):
    """train_standalone replaced by a stub that records what it trained and leaves a checkpoint."""
    trained = []

    def train_standalone(model, config, checkpoint, resume, curve):
        trained.append((model.tag, resume))
        checkpoint.write_bytes(b"weights")
        return {"accuracy": float(model.tag), "seconds": 0.0}

    monkeypatch.setattr("hybridnas.supernet.standalone.train_standalone", train_standalone)
    return trained


def tagged(tag: int):
    def build() -> torch.nn.Module:
        model = torch.nn.Linear(1, 1)
        model.tag = tag
        return model
    return build


class Config:
    seed = 0


def test_a_record_is_reused_only_for_the_network_it_trained(fake_training, tmp_path):
    work, record = tmp_path / "work", tmp_path / "runs" / "pick_seed0.json"
    record.parent.mkdir()
    first = benchmarks_common.train_resumable(tagged(1), Config(), work, record, network="a")
    assert first["network"] == "a" and fake_training == [(1, False)]
    again = benchmarks_common.train_resumable(tagged(1), Config(), work, record, network="a")
    assert again == first and len(fake_training) == 1  # finished: read, not retrained
    other = benchmarks_common.train_resumable(tagged(2), Config(), work, record, network="b")
    # the pick changed: the old record and checkpoint are discarded, the new network trains from scratch
    assert other["accuracy"] == 2.0 and fake_training[-1] == (2, False)
    assert json.loads(record.read_text())["network"] == "b" and (work / "network.txt").read_text() == "b"


def test_a_checkpoint_of_another_network_is_not_resumed(fake_training, tmp_path):
    work, record = tmp_path / "work", tmp_path / "pick.json"
    work.mkdir()
    (work / "network.txt").write_text("a")
    (work / "checkpoint.pt").write_bytes(b"weights of a")
    benchmarks_common.train_resumable(tagged(2), Config(), work, record, network="b")
    assert fake_training == [(2, False)]
    (work / "checkpoint.pt").write_bytes(b"weights of b, half trained")
    record.unlink()
    benchmarks_common.train_resumable(tagged(2), Config(), work, record, network="b")
    assert fake_training[-1] == (2, True)  # its own checkpoint is resumed
