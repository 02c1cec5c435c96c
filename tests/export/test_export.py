"""Export: standalone model.py equal to Space.build, weights, card, latency.csv, timm, tracing, safety."""

import subprocess
import sys
import textwrap

import pytest
import torch
import yaml

from hybridnas import load_space
from hybridnas.export import ExportError, export_arch, export_from_run
from hybridnas.export.codegen import literal, render_call
from hybridnas.ir.calls import Call

# Runs an exported model.py where `import hybridnas` fails, and checks outputs, timm, jit.trace, torch.export.
CHECK = textwrap.dedent('''
    import importlib.util, sys
    import torch
    sys.modules["hybridnas"] = None  # any import of hybridnas now raises ImportError
    folder, name, with_weights = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
    spec = importlib.util.spec_from_file_location("model", folder + "/model.py")
    model = importlib.util.module_from_spec(spec)
    sys.modules["model"] = model
    spec.loader.exec_module(model)
    assert not any(m == "hybridnas" or m.startswith("hybridnas.") for m in sys.modules if sys.modules[m] is not None)
    import timm
    net = timm.create_model(name, pretrained=with_weights).eval()
    x = torch.load(folder + "/x.pt")
    with torch.no_grad():
        y = net(x)
    torch.save(y, folder + "/y.pt")
    traced = torch.jit.trace(net, x)
    assert torch.allclose(traced(x), y, atol=1e-5)
    exported = torch.export.export(net, (x,))
    assert torch.allclose(exported.module()(x), y, atol=1e-5)
    print("OK", sum(p.numel() for p in net.parameters()))
''')

ARCHS = [("hybrid_cifar", 0), ("hybrid_cifar", 7), ("vit", 1), ("nasbench201", 3), ("nasbench_macro", 2),
         ("hybrid_imagenet", 4)]


def run_standalone(folder, name, with_weights):
    (folder / "check.py").write_text(CHECK)
    result = subprocess.run([sys.executable, str(folder / "check.py"), str(folder), name, str(int(with_weights))],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return torch.load(folder / "y.pt")


# the standalone blocks (they replace a MetaFormer block) on one space, with ResNet-D's stem pool and downsampling
STANDALONE_BLOCKS = {"name": "standalone_blocks", "input": {"size": 16}, "num_classes": 4,
                     "stem": {"type": "conv", "width": 8, "pool": "max"},
                     "stages": [{"depth": 3, "width": 16, "kernel": {"choices": [3, 5]}, "mlp_ratio": 2,
                                 "layout": "resconv mbconv resconv"},
                                {"depth": 2, "width": 32, "layout": "bottleneck*", "downsample": {"type": "avgpool"}}]}


@pytest.mark.parametrize("space_name,seed", [*ARCHS, ("standalone_blocks", 0)])
def test_exported_model_equals_space_build_outside_hybridnas(space_name, seed, tmp_path):
    space = load_space(STANDALONE_BLOCKS if space_name == "standalone_blocks" else space_name)
    arch = space.sample(seed)
    torch.manual_seed(seed)
    reference = space.build(arch).eval()
    with torch.no_grad():  # non-trivial BatchNorm statistics, so the weights file carries buffers too
        for module in reference.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 1.5)
    result = export_arch(space, arch, tmp_path, weights=reference.state_dict())
    c, h, w = space.input_shape
    x = torch.randn(2, c, h, w)
    torch.save(x, tmp_path / "x.pt")
    y = run_standalone(tmp_path, result.model_name, with_weights=True)
    with torch.no_grad():
        expected = reference(x)
    assert (y - expected).abs().max().item() <= 1e-5
    card = yaml.safe_load((tmp_path / "card.yaml").read_text())
    assert card["arch"]["string"] == space.format(arch) and card["macs"] == space.cost(arch).macs
    assert card["weights"]["sha256"]


def test_parameter_names_match_so_state_dicts_interchange(tmp_path):
    space = load_space("hybrid_cifar")
    arch = space.sample(11)
    export_arch(space, arch, tmp_path)
    namespace = {"__file__": str(tmp_path / "model.py"), "__name__": "exported_model"}
    exec(compile((tmp_path / "model.py").read_text(), "model.py", "exec"), namespace)
    exported = namespace["build_model"]()
    assert list(exported.state_dict()) == list(space.build(arch).state_dict())
    assert not (tmp_path / "model.safetensors").exists()


def test_without_weights_the_timm_model_builds_fresh(tmp_path):
    space = load_space("nasbench_macro")
    result = export_arch(space, space.sample(0), tmp_path)
    torch.save(torch.randn(1, 3, 32, 32), tmp_path / "x.pt")
    assert run_standalone(tmp_path, result.model_name, with_weights=False).shape == (1, 10)


def test_export_from_a_run_uses_its_front_scores_and_latency_table(tmp_path):
    from hybridnas.search import load_search_config, run_search
    from tests.latency.test_latency import synthetic_table

    space = load_space("nasbench_macro")
    synthetic_table(space, tmp_path / "t.json")
    config = load_search_config({"space": "nasbench_macro", "objectives": "synflow:max,latency_ms:min",
                                 "budget": {"latency_table": str(tmp_path / "t.json")}, "trials": 8,
                                 "batch_size": 4, "workers": 0, "proxy_batch_size": 4})
    run_search(config, tmp_path / "run", progress=False)
    result = export_from_run(tmp_path / "run", 1, tmp_path / "out")
    card = yaml.safe_load((tmp_path / "out" / "card.yaml").read_text())
    assert set(card["proxy_scores"]) == {"synflow"}
    assert card["provenance"]["rank"] == 1 and card["provenance"]["run"].endswith("run")
    (table_info,) = card["latency"].values()
    import pandas as pd

    latency = pd.read_csv(tmp_path / "out" / "latency.csv")
    total = latency.loc[latency.node == "TOTAL (calibrated)", "ms"].item()
    assert total == pytest.approx(table_info["predicted_ms"], rel=1e-3)
    assert result.model_name.startswith("hybridnas_nasbench_macro_")
    with pytest.raises(ExportError, match="has .* architecture"):
        export_from_run(tmp_path / "run", 99, tmp_path / "out2")


def test_codegen_accepts_only_identifiers_and_numbers():
    assert literal(3, "x") == "3" and literal(2.5, "x") == "2.5" and literal(("a", None, True), "x") == "('a', None, True)"
    for bad in ["relu'); import os; os.system('x') #", "a b", "for", float("nan"), [1, 2], {"a": 1}, b"x"]:
        with pytest.raises(ExportError):
            literal(bad, "value")
    with pytest.raises(ExportError, match="not defined"):
        render_call(Call.of("os_system"))
    assert render_call(Call.of("ConvNormAct", 3, 8, 3, 2, act="relu")) == "ConvNormAct(3, 8, kernel=3, stride=2)"


def test_unsafe_names_from_yaml_are_rejected(tmp_path):
    from hybridnas import SpaceError
    import hybridnas.spaces.loader as loader

    raw = yaml.safe_load(open(loader.SHIPPED_DIR / "nasbench_macro.yaml"))
    raw["name"] = "evil\"; import os #"
    with pytest.raises(SpaceError):  # the schema stops it first ...
        load_space(raw)
    space = load_space("nasbench_macro")
    space.name = raw["name"]  # ... and code generation checks again on its own
    with pytest.raises(ExportError, match="not a plain identifier"):
        export_arch(space, space.sample(0), tmp_path)
    with pytest.raises(ExportError, match="not a plain identifier"):
        export_arch(load_space("nasbench_macro"), load_space("nasbench_macro").sample(0), tmp_path,
                    model_name="x-y")


def test_wrong_weights_are_refused(tmp_path):
    space = load_space("nasbench_macro")
    other = space.build(space.sample(1)).state_dict()
    arch = space.sample(0)
    if set(other) == set(space.build(arch).state_dict()):
        other = {k: v for k, v in list(other.items())[:-1]}
    with pytest.raises(ExportError, match="weights do not fit"):
        export_arch(space, arch, tmp_path, weights=other)


def test_cli_export_from_a_string(tmp_path):
    from click.testing import CliRunner

    from hybridnas.cli import main

    space = load_space("nasbench_macro")
    arch = space.format(space.sample(0))
    torch.save({"state_dict": space.build(space.parse(arch)).state_dict()}, tmp_path / "w.pt")
    result = CliRunner().invoke(main, ["export", "nasbench_macro", "--arch", arch, "--weights", str(tmp_path / "w.pt"),
                                       "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "model.safetensors").is_file()
    result = CliRunner().invoke(main, ["export", "nasbench_macro", "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "either RUN --rank K or SPACE --arch" in result.output


def test_the_card_states_the_normalisation_the_space_declares(tmp_path):
    import yaml

    from hybridnas import load_space
    from hybridnas.data import normalisation
    from hybridnas.export import export_arch

    imagenet = load_space("hybrid_imagenet")
    export_arch(imagenet, imagenet.sample(0), tmp_path / "in")
    card = yaml.safe_load((tmp_path / "in" / "card.yaml").read_text())["input"]
    assert card["shape"] == [3, 224, 224] and card["normalisation"]["mean"] == [0.485, 0.456, 0.406]
    assert card["normalisation"]["source"] == "declared by the space"
    cifar = load_space("hybrid_cifar")
    export_arch(cifar, cifar.sample(0), tmp_path / "c")
    card = yaml.safe_load((tmp_path / "c" / "card.yaml").read_text())["input"]
    assert card["normalisation"]["mean"] == list(normalisation(3)[0]) and card["normalisation"]["source"].startswith("default")
