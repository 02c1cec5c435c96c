"""imagefolder:DIR on real images (a few per class, copied from ../shared): seeded batches at the space's size."""

import shutil

import pytest
import torch
from click.testing import CliRunner

from hybridnas import load_space
from hybridnas.cli import main
from hybridnas.data import DataSourceError, get_batch
from hybridnas.errors import HybridNASError

CLASSES = ["n01440764", "n02102040", "n02979186"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory, request):
    shared = request.getfixturevalue("shared")
    source = shared / "data" / "imagenette_128"
    if not source.is_dir():
        pytest.skip(f"{source} is missing")
    root = tmp_path_factory.mktemp("imagenette_small")
    for split, per_class in (("train", 4), ("val", 2)):
        for name in CLASSES:
            (root / split / name).mkdir(parents=True)
            for path in sorted((source / split / name).iterdir())[:per_class]:
                shutil.copy(path, root / split / name / path.name)
    return root


def test_batches_come_at_the_space_size_with_folder_labels_and_a_seed(folder):
    source = f"imagefolder:{folder}"
    batch = get_batch(source, 8, (3, 32, 32), 10, seed=1)
    assert batch.x.shape == (8, 3, 32, 32) and batch.x.dtype == torch.float32 and not batch.random_labels
    assert set(batch.y.tolist()) <= {0, 1, 2} and len(set(batch.y.tolist())) > 1
    assert torch.equal(batch.x, get_batch(source, 8, (3, 32, 32), 10, seed=1).x)
    assert not torch.equal(batch.x, get_batch(source, 8, (3, 32, 32), 10, seed=2).x)
    test = get_batch(source, 6, (1, 64, 64), 10, split="test")
    assert test.x.shape == (6, 1, 64, 64) and sorted(test.y.tolist()) == [0, 0, 1, 1, 2, 2]
    assert abs(float(batch.x.mean())) < 3 and float(batch.x.std()) > 0.1  # normalised real pixels, not noise


def test_proxies_score_a_network_on_the_folder(folder):
    space = load_space("nasbench_macro")
    result = CliRunner().invoke(main, ["proxies", "score", "nasbench_macro", "--proxies", "naswot,meco", "--csv",
                                       "--batch-size", "8", "--data", f"imagefolder:{folder}"],
                                input=space.format(space.sample(0)) + "\n")
    assert result.exit_code == 0, result.output
    header, row = result.output.splitlines()[:2]
    values = dict(zip(header.split(","), row.split(",")))
    assert values["labels"] == "data" and float(values["naswot"]) > 0 and not values["errors"]


@pytest.mark.parametrize("layout, message", [
    ({}, "no train split"),
    ({"train/a/x.txt": b"text"}, "Found no valid file"),
    ({"train/a/x.jpg": b"not a jpeg", "train/a/y.jpg": b"nor this"}, "is not a readable image"),
])
def test_bad_folders_are_one_line_errors(tmp_path, layout, message):
    for name, data in layout.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(data)
    with pytest.raises(HybridNASError, match=message):
        get_batch(f"imagefolder:{tmp_path}", 2, (3, 8, 8), 10)


def test_more_class_folders_than_the_space_has_classes_is_refused(folder):
    with pytest.raises(DataSourceError, match="3 class folders, but the space has 2 classes"):
        get_batch(f"imagefolder:{folder}", 2, (3, 8, 8), 2)


def test_a_supernet_trains_and_scores_subnets_on_the_folder(folder, tmp_path):
    from hybridnas.data.loader import make_loader
    from hybridnas.supernet import SubnetScorer, load_supernet, load_supernet_config, train_supernet

    with pytest.raises(DataSourceError, match="needs the space's input shape"):
        make_loader(f"imagefolder:{folder}", "train", 4, train=True)
    loader = make_loader(f"imagefolder:{folder}", "train", 6, train=True, input_shape=(3, 32, 32), limit=6)
    x, y = next(loader.epoch(0))
    assert x.shape == (6, 3, 32, 32) and len(set(y.tolist())) > 1  # the limit draws across classes
    config = load_supernet_config("hybrid_cifar", {"data": f"imagefolder:{folder}", "epochs": 1, "batch_size": 4,
                                                    "subnets": 1, "calibration_batches": 1, "eval_batch_size": 6,
                                                    "data_workers": 0})
    result = train_supernet(config, tmp_path / "sn", progress=False)
    assert result.epochs == 1 and result.history[-1]["loss"] > 0
    net, trained = load_supernet(tmp_path / "sn")
    accuracy = SubnetScorer(net, trained)(net.space.sample(0))
    assert 0.0 <= accuracy <= 100.0


def test_a_folder_of_class_folders_is_split_by_a_stable_held_out_fraction(folder, tmp_path):
    from hybridnas.data.folders import split_samples

    flat = tmp_path / "flat"
    shutil.copytree(folder / "train", flat)
    shutil.copytree(folder / "val", flat, dirs_exist_ok=True)  # 6 images per class, no split folders
    half = f"imagefolder:{flat}?val=0.5"
    train, test = split_samples(half, "train"), split_samples(half, "test")
    assert train[0] == test[0] == tuple(CLASSES)
    paths = [p for p, _ in train[1]] + [p for p, _ in test[1]]
    assert len(paths) == len(set(paths)) == 18 and 0 < len(test[1]) < 18
    first = sorted((flat / CLASSES[0]).iterdir())[0]
    (flat / CLASSES[0] / "extra.jpg").write_bytes(first.read_bytes())
    from hybridnas.data.folders import folder_index

    folder_index.cache_clear()
    again = split_samples(half, "test")[1]
    assert set(test[1]) <= set(again)  # an added image leaves every other image on its side
    default = split_samples(f"imagefolder:{flat}", "test")[1]  # 10% held out by default
    assert len(default) < len(test[1]) + 1
    batch = get_batch(half, 4, (3, 32, 32), 10, split="test")
    assert batch.x.shape == (4, 3, 32, 32) and not batch.random_labels


@pytest.mark.parametrize("suffix, message", [("?val=1.5", "val=F with 0 < F < 1"), ("?size=3", "val=F with 0 < F < 1")])
def test_a_bad_held_out_fraction_is_a_one_line_error(folder, suffix, message):
    with pytest.raises(HybridNASError, match=message):
        get_batch(f"imagefolder:{folder / 'train'}{suffix}", 2, (3, 8, 8), 10)


def test_a_fraction_on_a_folder_with_splits_is_refused(folder):
    with pytest.raises(HybridNASError, match="has split folders, so it takes no"):
        get_batch(f"imagefolder:{folder}?val=0.2", 2, (3, 8, 8), 10)


def test_streamed_batches_depend_on_seed_and_epoch_only_not_on_workers(folder):
    from hybridnas.data.loader import make_loader

    def batches(workers, epoch, **kw):
        loader = make_loader(f"imagefolder:{folder}", "train", 4, train=True, seed=3, input_shape=(3, 32, 32),
                             workers=workers, **kw)
        return list(loader.epoch(epoch))

    import random

    before = (torch.get_rng_state(), random.getstate())
    alone, pooled = batches(0, 1), batches(2, 1)
    assert torch.equal(torch.get_rng_state(), before[0]) and random.getstate() == before[1]  # no global side effect
    assert len(alone) == 3 and all(torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) for a, b in zip(alone, pooled))
    assert not torch.equal(alone[0][0], batches(0, 2)[0][0])  # another epoch: another order and augmentation
    halves = [batches(0, 1, shard=k, shards=2) for k in range(2)]
    assert torch.equal(torch.cat([halves[0][0][1], halves[1][0][1]]).sort().values, alone[0][1].sort().values)
    x = alone[0][0]
    assert x.shape == (4, 3, 32, 32) and abs(float(x.mean())) < 3 and float(x.std()) > 0.1
    test = make_loader(f"imagefolder:{folder}", "test", 4, train=False, input_shape=(3, 48, 48))
    assert [len(y) for _, y in test.epoch(0)] == [4, 2] and next(test.epoch(0))[0].shape == (4, 3, 48, 48)


def test_your_own_images_end_to_end_space_at_their_size_train_export(folder, tmp_path):
    import json

    from safetensors.torch import load_file

    runner = CliRunner()
    shown = runner.invoke(main, ["space", "show", "hybrid_imagenet", "--input-size", "32", "--num-classes", "3",
                                 "--name", "mine"])
    assert shown.exit_code == 0, shown.output
    (tmp_path / "mine.yaml").write_text(shown.output)
    space = load_space(tmp_path / "mine.yaml")
    assert space.input_shape == (3, 32, 32) and space.num_classes == 3 and space.name == "mine"
    arch = space.format(space.extreme_arch(min))
    trained = runner.invoke(main, ["train", str(tmp_path / "mine.yaml"), "--arch", arch, "--data",
                                   f"imagefolder:{folder}", "--epochs", "1", "--batch-size", "6", "--out",
                                   str(tmp_path / "run"), "--no-progress"])
    assert trained.exit_code == 0, trained.output
    record = json.loads((tmp_path / "run" / "train.json").read_text())
    assert record["arch"] == arch and 0 <= record["accuracy"] <= 100 and record["recipe"]["epochs"] == 1
    space.build(space.parse(arch)).load_state_dict(load_file(tmp_path / "run" / "model.safetensors"), strict=True)
    exported = runner.invoke(main, ["export", str(tmp_path / "mine.yaml"), "--arch", arch, "--weights",
                                    str(tmp_path / "run" / "model.safetensors"), "--out", str(tmp_path / "out")])
    assert exported.exit_code == 0, exported.output
    bad = runner.invoke(main, ["space", "show", "hybrid_imagenet", "--num-classes", "0"])
    assert bad.exit_code == 2 and "num_classes" in bad.output


def test_readme_commands_on_your_folder_proxies_supernet_search_and_run(folder, tmp_path, monkeypatch):
    """The README's "Your own images" commands: proxies score, supernet train, search and run on the folder."""
    import yaml

    monkeypatch.chdir(tmp_path)  # the README's relative paths
    runner = CliRunner()
    data = f"imagefolder:{folder}"

    def ok(*args, input=None):
        result = runner.invoke(main, list(args), input=input)
        assert result.exit_code == 0, result.output
        return result.output

    (tmp_path / "mine.yaml").write_text(ok("space", "show", "hybrid_imagenet", "--input-size", "32",
                                           "--num-classes", "3", "--name", "mine"))
    archs = ok("space", "sample", "mine.yaml", "-n", "2", "--seed", "1")
    scored = ok("proxies", "score", "mine.yaml", "--data", data, "--proxies", "ensemble:jacob_cov+meco+params",
                "--batch-size", "6", "--csv", input=archs)
    assert "ensemble:jacob_cov+meco+params" in scored.splitlines()[0] and len(scored.splitlines()) == 3
    # --batch-size: a batch this small folder fills (the shipped 64 is refused: it would train no step)
    trained = ok("supernet", "train", "hybrid_cifar", "--space", "mine.yaml", "--data", data, "--epochs", "1",
                 "--batch-size", "6", "--out", "supernet_mine", "--no-progress")
    assert trained.splitlines()[-1].startswith("time: ") and "training" in trained.splitlines()[-1]
    search = {"space": "mine.yaml", "objectives": "ensemble:jacob_cov+meco+params:max,macs:min", "data": data,
              "trials": 6, "batch_size": 2, "workers": 0, "reference_size": 4, "proxy_batch_size": 6,
              "budget": {"max_macs": "45M"}}  # smaller networks, so that the pipeline has room to grow one
    (tmp_path / "search_mine.yaml").write_text(yaml.safe_dump(search))
    ok("search", "search_mine.yaml", "--out", "search_mine", "--no-progress")
    pipeline = {"name": "mine", "search": {"config": "search_mine.yaml"},
                "supernet": {"enabled": True, "config": "hybrid_cifar", "top_k": 2,
                             "overrides": {"space": "mine.yaml", "data": data, "epochs": 1, "batch_size": 6}},
                "scale": {"targets": "1.5x", "data": data, "batch_size": 6}, "latency": {"enabled": False}}
    (tmp_path / "pipeline_mine.yaml").write_text(yaml.safe_dump(pipeline))
    ran = ok("run", "pipeline_mine.yaml", "--out", "pipeline_mine", "--no-progress")
    assert all(stage in ran.splitlines()[-1] for stage in ("time: ", "search", "supernet", "scale", "export"))
    assert (tmp_path / "pipeline_mine" / "pipeline.json").is_file()
    assert list((tmp_path / "pipeline_mine").rglob("model.safetensors"))
