"""`hybridnas run`: every stage in one command, resumable stage by stage, clear config errors."""

import json

import pandas as pd
import pytest

from hybridnas import HybridNASError
from hybridnas.pipeline import load_pipeline_config, run_pipeline

FAST = {
    "name": "tiny",
    "search": {"config": "quickstart", "overrides": {"trials": 8, "batch_size": 4, "workers": 0,
                                                     "objectives": "naswot:max,macs:min", "proxy_batch_size": 4}},
    "scale": {"targets": "1.5x", "rule": "naswot:max,grad_norm:max", "batch_size": 8},
    "latency": {"repeats": 3, "warmup": 1, "calibrate": 3},
}


def test_pipeline_runs_every_stage_and_resumes_only_what_is_left(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path.parent)  # a relative --out, as a user gives it
    summary = run_pipeline(load_pipeline_config(FAST), tmp_path.name, progress=False, echo=lambda *a: None)
    monkeypatch.chdir(tmp_path)  # resumed below from another working folder
    family = pd.read_csv(tmp_path / "family" / "family.csv")
    assert list(family["target"]) == ["seed", "1.5x"] and family["latency_ms"].notna().all()
    assert (tmp_path / "family" / "members" / "1.5x" / "model.py").is_file()
    assert (tmp_path / "family" / "members" / "seed" / "card.yaml").is_file()
    state = json.loads((tmp_path / "pipeline.json").read_text())
    assert set(state["stages"]) == {"search", "scale", "latency", "export"}
    assert state["stages"]["search"]["run"] == "search"  # relative to the pipeline's folder, not the first cwd

    with pytest.raises(HybridNASError, match="--resume"):
        run_pipeline(load_pipeline_config(FAST), tmp_path, progress=False, echo=lambda *a: None)
    # pretend the run was killed during export: earlier stages must not run again
    del state["stages"]["export"]
    (tmp_path / "pipeline.json").write_text(json.dumps(state))
    import hybridnas.search as search
    import hybridnas.latency as latency

    monkeypatch.setattr(search, "run_search", lambda *a, **k: pytest.fail("search ran again"))
    monkeypatch.setattr(latency, "build_table", lambda *a, **k: pytest.fail("latency table rebuilt"))
    again = run_pipeline(load_pipeline_config(FAST), tmp_path, resume=True, progress=False, echo=lambda *a: None)
    assert again["family"] == summary["family"]


def test_pipeline_config_errors_name_the_key():
    with pytest.raises(HybridNASError, match="scale.targetz"):
        load_pipeline_config({**FAST, "scale": {"targetz": "2x"}})
    with pytest.raises(HybridNASError, match="no such pipeline config; shipped: cifar_demo"):
        load_pipeline_config("nope")
    assert load_pipeline_config("cifar_demo").scale.targets == "2x,4x"


def test_supernet_stage_reranks_the_front_and_exports_inherited_weights(tmp_path, shared):
    import yaml

    data = f"npz:{shared}/data/cifar10_subset.npz"
    config = load_pipeline_config({**FAST, "scale": {**FAST["scale"], "enabled": False},
                                   "latency": {"enabled": False},
                                   "supernet": {"enabled": True, "top_k": 3, "test_limit": 100, "overrides": {
                                       "data": data, "epochs": 1, "batch_size": 16, "train_limit": 32,
                                       "calibration_batches": 1}}})
    summary = run_pipeline(config, tmp_path, progress=False, echo=lambda *a: None)
    ranked = pd.read_csv(summary["supernet_rerank"])
    assert len(ranked) <= 3 and ranked["supernet_accuracy"].is_monotonic_decreasing
    assert summary["seed_arch"] == ranked["arch"].iloc[0]
    card = yaml.safe_load((tmp_path / "family" / "members" / "seed" / "card.yaml").read_text())
    assert card["supernet_accuracy"] == pytest.approx(ranked["supernet_accuracy"].iloc[0])
    assert (tmp_path / "family" / "members" / "seed" / "model.safetensors").is_file()


@pytest.mark.slow
def test_pipeline_times_with_the_named_backend_and_exports_onnx(tmp_path, monkeypatch):
    import hybridnas.pipeline as pipeline

    seen = {}

    def stop_at_latency(space, path, **kwargs):
        seen.update(kwargs)
        raise RuntimeError("latency stage reached")

    monkeypatch.setattr(pipeline, "build_table", stop_at_latency)
    config = load_pipeline_config({**FAST, "latency": {**FAST["latency"], "backend": "onnxruntime",
                                                       "optimization": "basic", "statistic": "median"}})
    with pytest.raises(RuntimeError, match="latency stage reached"):
        run_pipeline(config, tmp_path / "a", progress=False, echo=lambda *a: None)
    assert (seen["backend"], seen["optimization"], seen["statistic"]) == ("onnxruntime", "basic", "median")
    with pytest.raises(HybridNASError, match="latency.backend"):
        load_pipeline_config({**FAST, "latency": {"backend": "tensorrt"}})

    config = load_pipeline_config({**FAST, "onnx": True, "latency": {"enabled": False}})
    run_pipeline(config, tmp_path / "b", progress=False, echo=lambda *a: None)
    for member in ("seed", "1.5x"):
        assert (tmp_path / "b" / "family" / "members" / member / "model.onnx").stat().st_size > 0
