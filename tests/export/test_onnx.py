"""ONNX export: model.onnx equals Space.build on real images in ONNX Runtime, for every shipped space and mixer."""

import numpy as np
import onnx
import pytest
import torch
import yaml

from hybridnas import load_space
from hybridnas.data.folders import folder_batch
from hybridnas.data.sources import normalisation
from hybridnas.export import export_arch
from hybridnas.models import list_mixers, register_mixer
from hybridnas.models import onnx as onnx_models
from hybridnas.models.modules import DepthwiseConv
from hybridnas.ir.mixers import ConvMixer, MIXERS
from hybridnas.spaces.loader import shipped_spaces

# ONNX Runtime and torch differ by float32 rounding only; logits on real images agree within this
# fraction of the largest logit (measured differences are 1e-7 to 1e-5 of it).
RTOL = 1e-4


def real_images(shared, space, n=4):
    """`n` normalised test images at the space's input size: CIFAR-10 for 32 px spaces, Imagenette otherwise."""
    c, h, _ = space.input_shape
    folder = shared / "data" / ("cifar10_jpeg" if h <= 32 else "imagenette_128")
    if not folder.is_dir():
        pytest.skip(f"real images {folder} are missing")
    images, _, _ = folder_batch(f"imagefolder:{folder}", "test", n, space.input_shape,
                                torch.Generator().manual_seed(0))
    mean, std = normalisation(c, space.input_normalisation)
    x = (images.astype(np.float32) / 255 - np.asarray(mean, np.float32)[:, None, None]) / np.asarray(std, np.float32)[:, None, None]
    return x.astype(np.float32)


@pytest.mark.slow
@pytest.mark.parametrize("space_name", shipped_spaces())
def test_onnx_export_equals_space_build_on_real_images(space_name, shared, tmp_path):
    space = load_space(space_name)
    arch = space.sample(5)
    torch.manual_seed(5)
    model = space.build(arch).eval()
    with torch.no_grad():  # trained-looking BatchNorm statistics, so folding them into the graph is exercised
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
    exported = export_arch(space, arch, tmp_path / "out", weights=model.state_dict(), onnx=True)
    card = yaml.safe_load((tmp_path / "out" / "card.yaml").read_text())
    assert card["onnx"]["opset"] == onnx_models.OPSET and card["onnx"]["dynamic_batch"] is True
    assert card["onnx"]["check"]["max_abs_diff"] <= card["onnx"]["check"]["allowed"]
    graph = onnx.load(str(exported.files["model.onnx"]))
    onnx.checker.check_model(graph)
    x = real_images(shared, space)
    sess = onnx_models.session(graph)
    for batch in (1, len(x)):  # the batch dimension is symbolic: one file serves every batch size
        (got,) = onnx_models.run(sess, x[:batch])
        with torch.no_grad():
            expected = model(torch.from_numpy(x[:batch])).numpy()
        assert got.shape == (batch, space.num_classes)
        np.testing.assert_allclose(got, expected, rtol=0, atol=RTOL * max(1.0, np.abs(expected).max()))
    assert (got.argmax(1) == expected.argmax(1)).all()


def one_mixer_space(name):
    return load_space({"name": f"only_{name}", "input": {"size": 8}, "num_classes": 5,
                       "stem": {"type": "conv", "width": 16},
                       "stages": [{"depth": 2, "width": 16, "heads": 2, "kernel": 3, "layout": f"{name}*"}]})


@pytest.mark.slow
@pytest.mark.parametrize("mixer", list_mixers())
def test_every_registered_mixer_exports_and_runs_in_onnxruntime(mixer):
    space = one_mixer_space(mixer)
    arch = space.sample(0)
    torch.manual_seed(0)
    model = space.build(arch).eval()
    graph = onnx_models.network_to_onnx(model, space.input_shape, plan=space.plan(arch))
    x = torch.randn(3, *space.input_shape)
    (got,) = onnx_models.run(onnx_models.session(graph), x.numpy())
    with torch.no_grad():
        expected = model(x).numpy()
    np.testing.assert_allclose(got, expected, rtol=0, atol=RTOL * max(1.0, np.abs(expected).max()))


class SvdScaled(torch.nn.Module):
    """A mixer built from an operator ONNX has no function for (singular values)."""

    def __init__(self, dim):
        super().__init__()
        self.conv = DepthwiseConv(dim, 3)

    def forward(self, x):
        return self.conv(x) * torch.linalg.svdvals(x).mean()


@pytest.fixture
def svd_mixer():
    @register_mixer("svd_test")
    class SvdMixer(ConvMixer):
        @classmethod
        def build(cls, dim, kernel, heads, qkv_bias):
            return SvdScaled(dim)

    yield "svd_test"
    MIXERS._entries.pop("svd_test")


@pytest.mark.slow
def test_an_operator_onnx_lacks_is_an_error_naming_the_mixer_and_nothing_is_written(svd_mixer, tmp_path):
    space = load_space({"name": "svd_space", "input": {"size": 8}, "num_classes": 5,
                        "stem": {"type": "conv", "width": 16},
                        "stages": [{"depth": 2, "width": 16, "kernel": 3, "layout": "conv svd_test"}]})
    arch = space.sample(0)
    with pytest.raises(onnx_models.OnnxExportError) as info:
        export_arch(space, arch, tmp_path / "out", onnx=True)
    message = str(info.value)
    assert "svd_test" in message and "svd" in message.lower() and "\n" not in message
    assert not (tmp_path / "out").exists()  # the export is atomic: a failure leaves nothing behind


def test_an_untrained_onnx_export_also_writes_the_weights_it_holds(tmp_path):
    from safetensors.torch import load_file

    space = one_mixer_space("conv")
    arch = space.sample(0)
    exported = export_arch(space, arch, tmp_path / "out", onnx=True)
    card = yaml.safe_load((tmp_path / "out" / "card.yaml").read_text())
    assert card["weights"]["trained"] is False and "seeded initialisation" in card["onnx"]["weights"]
    model = space.build(arch).eval()
    model.load_state_dict(load_file(exported.files["model.safetensors"]))  # the PyTorch side, reproduced
    x = torch.randn(2, *space.input_shape)
    (got,) = onnx_models.run(onnx_models.session(onnx.load(str(exported.files["model.onnx"]))), x.numpy())
    with torch.no_grad():
        expected = model(x).numpy()
    np.testing.assert_allclose(got, expected, rtol=0, atol=RTOL * max(1.0, np.abs(expected).max()))
