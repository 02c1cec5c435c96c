"""Latency tables on a GPU: build, predict, refuse other devices, validate.

Skipped without a CUDA device (CI has none); run on a GPU machine with `pytest tests -k cuda`.
"""

import pytest
import torch

from hybridnas import load_space
from hybridnas.latency import LatencyError, LatencyTable, build_table, validate_table

from .test_latency import FAST

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def test_cuda_table_builds_predicts_refuses_cpu_and_validates(tmp_path):
    space = load_space("nasbench_macro")
    table = build_table(space, tmp_path / "t.json", device="cuda", **FAST)
    assert table.conditions.device == "cuda"
    assert table.conditions.device_name == torch.cuda.get_device_name()
    assert all(t.ms > 0 for t in table.entries.values())
    arch = space.sample(0)
    assert table.predict(space, arch, device="cuda") > 0
    with pytest.raises(LatencyError, match="was built for device='cuda'"):
        table.predict(space, arch, device="cpu")
    again = LatencyTable.load(tmp_path / "t.json")
    assert again.predict(space, arch) == pytest.approx(table.predict(space, arch))
    frame, summary = validate_table(space, again, 4, progress=False)
    assert (frame["measured_ms"] > 0).all() and 0 <= summary["within_10pct"] <= 1


def test_cuda_bfloat16_table(tmp_path):
    space = load_space("nasbench_macro")
    table = build_table(space, tmp_path / "bf16.json", device="cuda", dtype="bfloat16", **FAST)
    assert table.predict(space, space.sample(1), dtype="bfloat16") > 0
    with pytest.raises(LatencyError, match="dtype"):
        table.predict(space, space.sample(1), dtype="float32")
