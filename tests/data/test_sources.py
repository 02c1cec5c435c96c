import pickle

import numpy as np
import pytest
import torch

from hybridnas.data import DataSourceError, get_batch, load_arrays


def test_gaussian_is_seeded_and_flags_random_labels():
    a = get_batch("gaussian", 4, (3, 8, 8), 10, seed=1)
    b = get_batch("gaussian", 4, (3, 8, 8), 10, seed=1)
    assert torch.equal(a.x, b.x) and torch.equal(a.y, b.y) and a.random_labels
    assert a.x.shape == (4, 3, 8, 8) and int(a.y.max()) < 10


def write_npz(path, n_images, n_labels):
    rng = np.random.default_rng(0)
    np.savez(path, x_train=rng.integers(0, 255, (n_images, 3, 4, 4), dtype=np.uint8),
             y_train=rng.integers(0, 10, n_labels), x_test=rng.integers(0, 255, (n_images, 3, 4, 4), dtype=np.uint8),
             y_test=rng.integers(0, 10, n_labels))


def test_npz_batches_are_normalised_resized_and_seeded(tmp_path):
    write_npz(tmp_path / "d.npz", 20, 20)
    batch = get_batch(f"npz:{tmp_path / 'd.npz'}", 6, (3, 8, 8), 10, seed=2)
    assert batch.x.shape == (6, 3, 8, 8) and not batch.random_labels
    assert torch.equal(batch.x, get_batch(f"npz:{tmp_path / 'd.npz'}", 6, (3, 8, 8), 10, seed=2).x)
    assert abs(float(batch.x.mean())) < 3


def test_npz_refuses_images_and_labels_that_do_not_pair(tmp_path):
    write_npz(tmp_path / "odd.npz", 22, 20)
    with pytest.raises(DataSourceError, match=r"22 images but y_train has 20 labels; an npz source needs one label"):
        load_arrays(f"npz:{tmp_path / 'odd.npz'}")


@pytest.mark.parametrize("labels, message", [
    ([0, 1, -5, 2], "negative label"),
    ([0.0, 1.0, float("nan"), 2.0], "not whole numbers"),
    ([0.5, 1.0, 2.0, 3.0], "not whole numbers"),
    (["a", "b", "c", "d"], "must hold integer labels"),
])
def test_npz_refuses_labels_that_are_not_class_indices(tmp_path, labels, message):
    x = np.zeros((4, 3, 2, 2), dtype=np.uint8)
    np.savez(tmp_path / "l.npz", x_train=x, y_train=np.array(labels), x_test=x, y_test=np.arange(4))
    with pytest.raises(DataSourceError, match=message):
        load_arrays(f"npz:{tmp_path / 'l.npz'}")


def test_labels_past_the_space_classes_are_refused_not_folded(tmp_path):
    x = np.zeros((4, 3, 2, 2), dtype=np.uint8)
    np.savez(tmp_path / "big.npz", x_train=x, y_train=np.array([0, 1, 999, 2]), x_test=x, y_test=np.arange(4))
    with pytest.raises(DataSourceError, match=r"label 999, but the space has 10 classes \(labels 0..9\)"):
        get_batch(f"npz:{tmp_path / 'big.npz'}", 2, (3, 2, 2), 10)


def test_a_file_rewritten_at_the_same_path_is_read_again_not_served_from_the_cache(tmp_path):
    import os

    path = tmp_path / "data.npz"
    for n, label in ((4, 1), (6, 2)):
        x = np.full((n, 3, 2, 2), label, dtype=np.uint8)
        np.savez(path, x_train=x, y_train=np.full(n, label), x_test=x, y_test=np.full(n, label))
        os.utime(path, ns=(label * 10**9, label * 10**9))
        images, labels = load_arrays(f"npz:{path}")
        assert images.shape[0] == n and set(labels.tolist()) == {label}
        assert load_arrays(f"npz:{path}") is load_arrays(f"npz:{path}")  # unchanged: still cached


def test_shared_cifar_subset_pairs_every_image_with_its_label(shared):
    source = f"npz:{shared / 'data' / 'cifar10_subset.npz'}"
    x, y = load_arrays(source)
    assert x.shape == (5085, 3, 32, 32) and y.shape == (5085,)
    assert set(np.unique(y)) == set(range(10))
    xt, yt = load_arrays(source, "test")
    assert xt.shape == (1017, 3, 32, 32) and yt.shape == (1017,)


def test_cifar10_python_batches(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name in ["data_batch_1", "data_batch_2", "test_batch"]:
        with (folder / name).open("wb") as f:
            pickle.dump({b"data": rng.integers(0, 255, (5, 3072), dtype=np.uint8), b"labels": list(range(5))}, f)
    x, y = load_arrays(f"cifar10:{folder}")
    assert x.shape == (10, 3, 32, 32) and list(y[:5]) == [0, 1, 2, 3, 4]
    assert get_batch(f"cifar10:{folder}", 4, (3, 32, 32), 10, split="test").x.shape == (4, 3, 32, 32)


def test_cifar10_loader_refuses_code_in_pickles(tmp_path):
    folder = tmp_path / "evil"
    folder.mkdir()

    class Boom:
        def __reduce__(self):
            return (print, ("executed",))

    (folder / "data_batch_1").write_bytes(pickle.dumps({b"data": Boom(), b"labels": [0]}))
    with pytest.raises(DataSourceError, match="refusing to load builtins.print"):
        load_arrays(f"cifar10:{folder}")


@pytest.mark.parametrize("source, message", [
    ("imagenet:/data", "unknown data source 'imagenet:/data'"),
    ("npz:/nonexistent.npz", "no such file"),
    ("cifar10:/nonexistent", "no data_batch_1"),
])
def test_bad_sources_say_what_is_allowed(source, message):
    with pytest.raises(DataSourceError, match=message):
        get_batch(source, 2, (3, 8, 8), 10)


def test_the_training_loader_refuses_labels_past_the_classes_too(tmp_path):
    from hybridnas.data.loader import EpochLoader

    x = np.zeros((4, 3, 2, 2), dtype=np.uint8)
    np.savez(tmp_path / "big.npz", x_train=x, y_train=np.array([0, 1, 12, 2]), x_test=x, y_test=np.arange(4))
    with pytest.raises(DataSourceError, match="label 12, but the space has 10 classes"):
        EpochLoader(f"npz:{tmp_path / 'big.npz'}", "train", 2, train=True, num_classes=10)


def test_a_space_declared_normalisation_reaches_the_batch(tmp_path):
    from hybridnas import load_space

    rng = np.random.default_rng(0)
    path = tmp_path / "d.npz"
    x = rng.integers(0, 255, (8, 3, 8, 8), dtype=np.uint8)
    np.savez(path, x_train=x, y_train=np.arange(8) % 2, x_test=x, y_test=np.arange(8) % 2)
    declared = ((0.0, 0.0, 0.0), (1.0, 1.0, 1.0))
    batch = get_batch(f"npz:{path}", 8, (3, 8, 8), 2, norm=declared)
    assert 0.0 <= float(batch.x.min()) and float(batch.x.max()) <= 1.0  # just pixels / 255
    space = load_space({"name": "s", "input": {"size": 8, "mean": [0, 0, 0], "std": [1, 1, 1]}, "num_classes": 2,
                        "stem": {"type": "conv", "width": 8}, "stages": [{"depth": 1, "width": 8, "layout": "conv*"}]})
    assert space.input_normalisation == declared
    with pytest.raises(Exception, match="one value per channel"):
        load_space({"name": "s", "input": {"size": 8, "mean": [0], "std": [1]}, "num_classes": 2,
                    "stem": {"type": "conv", "width": 8}, "stages": [{"depth": 1, "width": 8, "layout": "conv*"}]})


def test_cifar100_python_files_use_the_fine_labels_and_torchvisions_root(tmp_path):
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name, n in (("train", 6), ("test", 3)):
        with (folder / name).open("wb") as f:
            pickle.dump({b"data": rng.integers(0, 255, (n, 3072), dtype=np.uint8), b"fine_labels": [99, 5, 7, 1, 2, 3][:n],
                         b"coarse_labels": [0] * n}, f)
    for source in (f"cifar100:{folder}", f"cifar100:{tmp_path}"):  # the extracted folder, or the root holding it
        x, y = load_arrays(source)
        assert x.shape == (6, 3, 32, 32) and list(y) == [99, 5, 7, 1, 2, 3]
        assert get_batch(source, 3, (3, 32, 32), 100, split="test").x.shape == (3, 3, 32, 32)
    with pytest.raises(DataSourceError, match="label 99, but the space has 10 classes"):
        get_batch(f"cifar100:{folder}", 6, (3, 32, 32), 10)
    with pytest.raises(DataSourceError, match="no train in .*hybridnas data download cifar100"):
        load_arrays(f"cifar100:{tmp_path / 'nowhere'}")


def test_download_is_explicit_and_goes_through_torchvision(tmp_path, monkeypatch):
    from click.testing import CliRunner
    from torchvision import datasets

    from hybridnas.cli import main

    calls = []
    monkeypatch.setattr(datasets, "CIFAR100", lambda root, train, download: calls.append((root, train, download)))
    result = CliRunner().invoke(main, ["data", "download", "cifar100", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"cifar100:{tmp_path / 'cifar-100-python'}"
    assert calls == [(str(tmp_path), True, True), (str(tmp_path), False, True)]

    def offline(root, train, download):
        raise OSError("<urlopen error [Errno -3] Temporary failure in name resolution>")

    monkeypatch.setattr(datasets, "CIFAR10", offline)
    result = CliRunner().invoke(main, ["data", "download", "cifar10", str(tmp_path)])
    assert result.exit_code == 2 and result.output.count("\n") == 1 and "copy the extracted cifar-10-batches-py" in result.output
