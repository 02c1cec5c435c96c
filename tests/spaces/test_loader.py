import copy
import subprocess
import sys

import pytest
import yaml

from hybridnas import SpaceError, load_space, shipped_spaces
from hybridnas.spaces.loader import SHIPPED_DIR

CIFAR = yaml.safe_load((SHIPPED_DIR / "hybrid_cifar.yaml").read_text())


def test_all_five_spaces_are_shipped():
    assert set(shipped_spaces()) >= {"hybrid_cifar", "hybrid_imagenet", "vit", "nasbench201", "nasbench_macro"}


def test_loads_by_path_name_and_dict():
    by_name = load_space("hybrid_cifar")
    by_path = load_space(SHIPPED_DIR / "hybrid_cifar.yaml")
    by_dict = load_space(CIFAR)
    arch = by_name.sample(5)
    assert by_path.sample(5) == arch == by_dict.sample(5)


def test_dict_input_is_not_mutated():
    raw = copy.deepcopy(CIFAR)
    load_space(raw)
    assert raw == CIFAR


def edited(path: list, value):
    raw = copy.deepcopy(CIFAR)
    node = raw
    for key in path[:-1]:
        node = node[key]
    if value is KeyError:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return raw


@pytest.mark.parametrize("path, value, message", [
    (["stages", 2, "widht"], 3, r"stages\[2\]\.widht: unknown key 'widht'.*did you mean 'width'"),
    (["stages", 1, "layout"], {"choices": ["conv*", "conv** attention"]}, r"stages\[1\]\.layout: .*more than one starred|cannot read"),
    (["stages", 1, "layout"], "conv* atention", r"stages\[1\]\.layout: unknown mixer 'atention'.*mixers: attention"),
    (["stages", 2, "heads"], {"choices": [7]}, r"stages\[2\]\.heads: no heads choice \[7\] divides width \d+"),
    (["stages", 0, "depth"], {"range": [3, 1]}, r"stages\[0\]\.depth: 'range' needs lo <= hi"),
    (["stages", 0, "width"], [16, 32], r"stages\[0\]\.width: expected an integer, \{choices"),
    (["stem", "type"], "convolution", r"stem: .*'conv', 'patch'"),
    (["num_classes"], KeyError, r"num_classes: Field required"),
    (["name"], "my space", r"name: must be a plain identifier"),
    (["constraints", "macs"], {"max": "lots"}, r"constraints\.macs\.max: expected a number such as"),
    (["stages", 1, "layout"], "conv conv conv conv conv attention", r"fits none of the depths \[1, 2, 3, 4\]"),
    (["stages", 1, "downsample"], {"type": "none"}, r"stages\[1\]\.downsample: type 'none' needs"),
])
def test_errors_name_key_path_value_and_allowed(path, value, message):
    with pytest.raises(SpaceError, match=message):
        load_space(edited(path, value))


def test_error_names_the_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(edited(["stages", 0, "kernel"], {"choices": [3, "five"]})))
    with pytest.raises(SpaceError, match=rf"{bad}: invalid space:\n  stages\[0\]\.kernel"):
        load_space(bad)


def test_unknown_type_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(SpaceError, match="unknown space type 'cnn'; allowed: metaformer, nasbench201"):
        load_space({**CIFAR, "type": "cnn"})
    with pytest.raises(SpaceError, match="no such space file; shipped spaces: hybrid_cifar"):
        load_space(tmp_path / "nope.yaml")
    (tmp_path / "broken.yaml").write_text("stages: [\n")
    with pytest.raises(SpaceError, match="not valid YAML"):
        load_space(tmp_path / "broken.yaml")
    (tmp_path / "list.yaml").write_text("- 1\n")
    with pytest.raises(SpaceError, match="must be a mapping"):
        load_space(tmp_path / "list.yaml")


def test_yaml_is_loaded_safely(tmp_path):
    evil = tmp_path / "evil.yaml"
    evil.write_text("name: !!python/object/apply:os.system ['echo hacked']\n")
    with pytest.raises(SpaceError, match="YAML tags that build Python objects are refused"):
        load_space(evil)


def test_cli_validate_reports_without_traceback(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(edited(["stages", 2, "widht"], 3)))
    proc = subprocess.run([sys.executable, "-m", "hybridnas.cli", "space", "validate", str(bad)],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert "stages[2].widht: unknown key" in proc.stderr and "Traceback" not in proc.stderr
