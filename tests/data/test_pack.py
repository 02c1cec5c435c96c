"""`hybridnas data pack`: an image folder decoded once into an npz source that trains like CIFAR's."""

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from hybridnas.cli import main
from hybridnas.data import load_arrays
from hybridnas.data.folders import ImageFolderError
from hybridnas.data.loader import make_loader
from hybridnas.data.pack import pack_folder


def make_folder(root, classes=("cat", "dog", "frog"), splits=(("train", 3), ("test", 2)), size=8):
    """PNG images (lossless) of random pixels; returns {(split, class, index): pixels HWC}."""
    rng, pixels = np.random.default_rng(0), {}
    for split, per_class in splits:
        for name in classes:
            (root / split / name).mkdir(parents=True)
            for i in range(per_class):
                pixels[split, name, i] = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
                Image.fromarray(pixels[split, name, i]).save(root / split / name / f"{i}.png")
    return pixels


def test_packed_arrays_hold_every_image_with_its_folder_label(tmp_path):
    pixels = make_folder(tmp_path / "images")
    out = tmp_path / "packed.npz"
    assert pack_folder(f"imagefolder:{tmp_path / 'images'}", out, (3, 8, 8)) == {"train": 9, "test": 6}
    x, y = load_arrays(f"npz:{out}", "train")
    assert x.shape == (9, 3, 8, 8) and x.dtype == np.uint8 and y.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert np.array_equal(x[4], pixels["train", "dog", 1].transpose(2, 0, 1))  # same size: the pixels untouched
    x_test, y_test = load_arrays(f"npz:{out}", "test")
    assert x_test.shape == (6, 3, 8, 8) and y_test.tolist() == [0, 0, 1, 1, 2, 2]
    with np.load(out, allow_pickle=False) as arrays:
        assert arrays["classes"].tolist() == ["cat", "dog", "frog"]


def test_packed_images_are_resized_and_train_through_the_in_memory_loader(tmp_path):
    make_folder(tmp_path / "images", size=16)
    out = tmp_path / "packed.npz"
    pack_folder(f"imagefolder:{tmp_path / 'images'}", out, (1, 8, 8))
    loader = make_loader(f"npz:{out}", "train", 4, train=True, num_classes=3)
    x, y = next(iter(loader.epoch(0)))
    assert x.shape == (4, 1, 8, 8) and len(loader) == 2 and set(y.tolist()) <= {0, 1, 2}


def test_splits_with_different_classes_are_refused_before_anything_is_written(tmp_path):
    make_folder(tmp_path / "images", splits=(("train", 1),))
    make_folder(tmp_path / "images", classes=("cat", "dog"), splits=(("val", 1),))
    out = tmp_path / "packed.npz"
    with pytest.raises(ImageFolderError, match="different class folders .*frog in only one"):
        pack_folder(f"imagefolder:{tmp_path / 'images'}", out, (3, 8, 8))
    assert not out.exists() and list(tmp_path.iterdir()) == [tmp_path / "images"]


def test_cli_prints_the_source_and_refuses_what_is_not_an_image_folder(tmp_path):
    make_folder(tmp_path / "images")
    out = tmp_path / "packed.npz"
    result = CliRunner().invoke(main, ["data", "pack", f"imagefolder:{tmp_path / 'images'}", str(out),
                                       "--size", "4"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"npz:{out}" and "9 training and 6 test images at 4 px" in result.stderr
    assert load_arrays(f"npz:{out}", "test")[0].shape == (6, 3, 4, 4)
    for args, message in ((["npz:x.npz", "o.npz"], "data pack reads an image folder, got 'npz:x.npz'"),
                          ([f"imagefolder:{tmp_path / 'none'}", "o.npz"], "no such folder"),
                          ([f"imagefolder:{tmp_path / 'images'}", "o.npz", "--size", "0"], "Invalid value")):
        result = CliRunner().invoke(main, ["data", "pack", *args])
        assert result.exit_code == 2 and message in result.output, result.output
        assert "Traceback" not in result.output


def test_a_small_image_folder_streams_with_the_recipe_of_its_packed_file(tmp_path):
    """At 64 px or less a streamed folder evaluates on the packed file's very images and trains on pad-and-crop
    shifts and flips of them (not ImageNet crops); above 64 px it keeps timm's RandomResizedCrop."""
    import torch

    from hybridnas.data.stream import folder_transform

    make_folder(tmp_path / "images", size=40)
    source, packed = f"imagefolder:{tmp_path / 'images'}", f"npz:{tmp_path / 'packed.npz'}"
    pack_folder(source, tmp_path / "packed.npz", (3, 32, 32))

    def whole_split(src, split, train=False, seed=0):
        (x, y), = make_loader(src, split, 9 if split == "train" else 6, train=train, seed=seed,
                              input_shape=(3, 32, 32)).epoch(0)
        return x, y

    x_streamed, y_streamed = whole_split(source, "test")
    x_packed, y_packed = whole_split(packed, "test")
    assert torch.equal(y_streamed, y_packed) and torch.allclose(x_streamed, x_packed, atol=1e-5)

    originals, _ = whole_split(packed, "train")
    padded = torch.nn.functional.pad(originals, (4, 4, 4, 4))  # mean-colour padding is ~0 after normalisation
    views = torch.stack([view for dy in range(9) for dx in range(9)
                         for crop in [padded[:, :, dy:dy + 32, dx:dx + 32]] for view in (crop, crop.flip(3))], 1)
    augmented, _ = whole_split(source, "train", train=True, seed=1)
    distance = (views - augmented[:, None, None]).abs().amax(dim=(3, 4, 5))  # (augmented, original, view)
    assert bool((distance.amin(dim=(1, 2)) < 1e-2).all())  # every image is one shift or flip of an original
    assert not torch.allclose(augmented.sort(0).values, originals.sort(0).values)  # and not all unshifted
    assert "RandomResizedCrop" in repr(folder_transform((3, 96, 96), None, train=True))
    assert "RandomResizedCrop" not in repr(folder_transform((3, 64, 64), None, train=True))
