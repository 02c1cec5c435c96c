"""Files a user hands the tool (weights, checkpoints, data folders): read as data, refused in one line when wrong."""

import pickle

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from hybridnas import load_space
from hybridnas.cli import main

ARCH = "02012100"  # a NAS-Bench-Macro network


class WritesASentinel:
    """A pickle that would create a file if it were ever unpickled with code execution allowed."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def _one_line_refusal(args, *expected):
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and result.output.count("\n") == 1, result.output
    for text in expected:
        assert text in result.output, result.output
    return result


def _export(tmp_path, weights):
    return ["export", "nasbench_macro", "--arch", ARCH, "--weights", str(weights), "--out", str(tmp_path / "out")]


def test_a_safetensors_name_on_other_bytes_is_refused(tmp_path):
    weights = tmp_path / "w.safetensors"
    weights.write_bytes(b"\x00not safetensors at all" * 10)
    _one_line_refusal(_export(tmp_path, weights), "not a readable safetensors file")
    assert not (tmp_path / "out").exists()


def test_weights_that_would_run_code_are_refused_and_nothing_runs(tmp_path):
    weights, sentinel = tmp_path / "w.pt", tmp_path / "pwned.txt"
    torch.save({"state_dict": WritesASentinel(sentinel)}, weights)
    _one_line_refusal(_export(tmp_path, weights), "neither .safetensors nor a torch checkpoint")
    assert not sentinel.exists()


@pytest.mark.parametrize("content, message", [
    ({"layer.weight": "a string"}, "non-tensor values"),
    ([torch.zeros(2)], "found list"),
    ({"unrelated.weight": torch.zeros(2)}, "weights do not fit"),
])
def test_weights_of_the_wrong_form_are_refused(tmp_path, content, message):
    weights = tmp_path / "w.pt"
    torch.save(content, weights)
    _one_line_refusal(_export(tmp_path, weights), message)


def _supernet_eval(tmp_path, checkpoint):
    archs = tmp_path / "archs.txt"
    archs.write_text(ARCH + "\n")
    return ["supernet", "eval", str(checkpoint), "--archs", str(archs)]


@pytest.mark.parametrize("state, message", [
    ({"something": 1}, "missing entry 'config'"),
    ({"config": {"space": "nasbench_macro", "colour": "red"}, "supernet": {}}, "does not hold a hybridnas supernet"),
    ([1, 2, 3], "does not hold a hybridnas supernet"),
])
def test_a_checkpoint_with_the_wrong_keys_is_refused(tmp_path, state, message):
    checkpoint = tmp_path / "checkpoint.pt"
    torch.save(state, checkpoint)
    _one_line_refusal(_supernet_eval(tmp_path, checkpoint), message)


def test_a_supernet_checkpoint_whose_weights_do_not_fit_is_refused(tmp_path):
    from hybridnas.supernet import SupernetConfig

    config = SupernetConfig.model_validate({"space": "hybrid_cifar", "data": "gaussian"}).model_dump(mode="json")
    checkpoint = tmp_path / "checkpoint.pt"
    torch.save({"config": config, "supernet": {"stem.weight": torch.zeros(3)}}, checkpoint)
    result = _one_line_refusal(_supernet_eval(tmp_path, checkpoint), "does not hold a hybridnas supernet")
    assert "Missing key" in result.output or "Unexpected key" in result.output


def test_a_cifar_folder_whose_labels_do_not_match_its_images_is_refused(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(0)
    with (folder / "data_batch_1").open("wb") as handle:
        pickle.dump({b"data": rng.integers(0, 255, (6, 3072), dtype=np.uint8), b"labels": [0, 1, 2]}, handle)
    space = load_space("nasbench_macro")
    archs = tmp_path / "archs.txt"
    archs.write_text(space.format(space.parse(ARCH)) + "\n")
    _one_line_refusal(["proxies", "score", "nasbench_macro", "--archs", str(archs), "--proxies", "naswot",
                       "--data", f"cifar10:{folder}"], "6 images but 3 labels")


def _tiny_folder(root):
    from PIL import Image

    for split in ("train", "val"):
        for label in ("cat", "dog"):
            (root / split / label).mkdir(parents=True)
            for i in range(3):
                Image.new("RGB", (8, 8), (40 * i, 0, 0)).save(root / split / label / f"{i}.jpg")
    return root


@pytest.mark.parametrize("link, target, says", [
    ("train/cat/up", "..", "is a folder link"),               # was: 492 images from 12, or a hang with two
    ("train/cat/loop", ".", "is a folder link"),
    ("val/dog/x.jpg", "/etc/hostname", "links outside the folder"),  # was: silently followed
])
def test_links_in_an_image_folder_are_refused_in_one_line(tmp_path, link, target, says):
    import os

    from click.testing import CliRunner

    from hybridnas.cli import main
    from hybridnas.data.folders import folder_index

    root = _tiny_folder(tmp_path / "images")
    os.symlink(target, root / link)
    folder_index.cache_clear()
    result = CliRunner().invoke(main, ["data", "pack", f"imagefolder:{root}", str(tmp_path / "x.npz"), "--size", "8"])
    assert result.exit_code == 2 and says in result.output and "Traceback" not in result.output
    assert not (tmp_path / "x.npz").exists()
