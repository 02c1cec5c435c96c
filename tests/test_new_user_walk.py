"""A new user's first hour, scripted: from their own image folder to a grown, exported family member.

The walk starts with the README's `make install` into the virtual environment the tests run in (a no-op when
that environment is up to date, as `.ci/run`'s fresh one is). Then each step is the installed `hybridnas`
command in a process of its own, as the README shows it, on tiny data (a 2-class folder of 16 px images) and a
tiny hybrid space: space validate, latency build, a search under a latency budget on local Ray workers, pareto,
export with ONNX, train for one epoch, and scale 2x from the trained seed's weights. Every step must exit 0;
the long ones must show progress and end with where their time went.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

SPACE = {
    "name": "mine", "description": "a tiny hybrid space for the walk", "input": {"size": 16}, "num_classes": 2,
    "stem": {"type": "conv", "width": 8},
    "stages": [
        {"depth": 1, "width": 8, "layout": "conv*", "downsample": {"type": "conv", "stride": 1}},
        {"depth": {"choices": [1, 2], "scalable": True}, "width": {"choices": [16, 24], "scalable": True}, "heads": 2,
         "layout": {"choices": ["conv* attention", "conv*", "mbconv*"]}},
    ],
}


def image_folder(root):
    """train/ and val/ with two classes of small PNGs (a bright and a dark class, so one epoch learns)."""
    from PIL import Image

    rng = np.random.default_rng(0)
    for split, count in (("train", 12), ("val", 4)):
        for label, (lo, hi) in enumerate([(0, 120), (135, 255)]):
            folder = root / split / f"class{label}"
            folder.mkdir(parents=True)
            for i in range(count):
                pixels = rng.integers(lo, hi, size=(20, 20, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(folder / f"{i}.png")
    return root


REPOSITORY = Path(__file__).resolve().parents[1]
INSTALLED = Path(sys.executable).parent / "hybridnas"  # the console script `make install` puts in the venv


def make_install():
    """The README's install command, into the virtual environment these tests run in."""
    if sys.prefix == sys.base_prefix or shutil.which("make") is None:
        pytest.skip("the walk installs with `make install VENV=...` into the virtual environment it runs in; this "
                    "interpreter is not in one (or make is missing)")
    done = subprocess.run(["make", "install", f"VENV={sys.prefix}"], cwd=REPOSITORY, capture_output=True, text=True,
                          timeout=900)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    assert INSTALLED.is_file(), f"make install left no {INSTALLED}"


def hybridnas(tmp_path, *args):
    """Run the installed `hybridnas ARGS` as a user would; returns stdout + stderr, failing on a non-zero exit."""
    done = subprocess.run([str(INSTALLED), *map(str, args)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=600)
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"hybridnas {' '.join(map(str, args))}\n{output[-3000:]}"
    assert "Traceback" not in output
    return output


def shows_progress_and_time(output):
    assert "%|" in output, output[-2000:]  # a progress bar
    assert any(line.startswith("time: ") for line in output.splitlines()), output[-2000:]


@pytest.mark.timeout(1200)
def test_a_new_user_goes_from_an_image_folder_to_a_grown_exported_member(tmp_path):
    make_install()
    data = f"imagefolder:{image_folder(tmp_path / 'photos')}"
    (tmp_path / "mine.yaml").write_text(yaml.safe_dump(SPACE, sort_keys=False))
    assert hybridnas(tmp_path, "space", "validate", "mine.yaml").startswith("ok: mine")

    built = hybridnas(tmp_path, "latency", "build", "mine.yaml", "--out", "cpu.json", "--repeats", "3",
                      "--warmup", "1", "--calibrate", "3")
    shows_progress_and_time(built)

    (tmp_path / "search.yaml").write_text(yaml.safe_dump({
        "space": "mine.yaml", "objectives": ["ensemble:naswot+synflow+macs:max", "macs:min"], "trials": 8,
        "batch_size": 4, "workers": 1, "data": data, "proxy_batch_size": 4, "reference_size": 4}))
    searched = hybridnas(tmp_path, "search", "search.yaml", "--out", "runs/q", "--max-latency", "1000ms",
                         "--latency-table", "cpu.json")
    shows_progress_and_time(searched)
    assert "latency_ms the front's cost axis" in searched

    front = hybridnas(tmp_path, "pareto", "runs/q", "--csv")
    rows = pd.read_csv(__import__("io").StringIO(front))
    assert len(rows) >= 1 and "latency_ms" in rows.columns
    arch = rows["arch"].iloc[0]

    hybridnas(tmp_path, "export", "runs/q", "--rank", "1", "--onnx", "--latency-table", "cpu.json",
              "--out", "runs/best")
    assert (tmp_path / "runs/best/model.onnx").is_file() and (tmp_path / "runs/best/model.py").is_file()

    trained = hybridnas(tmp_path, "train", "mine.yaml", "--arch", arch, "--data", data, "--epochs", "1",
                        "--batch-size", "4", "--out", "runs/trained")
    shows_progress_and_time(trained)
    assert (tmp_path / "runs/trained/model.safetensors").is_file()

    scaled = hybridnas(tmp_path, "scale", "mine.yaml", "--seed-arch", arch, "--targets", "2x", "--data", data,
                       "--batch-size", "4", "--latency-table", "cpu.json", "--seed-weights",
                       "runs/trained/model.safetensors", "--out", "runs/family")
    shows_progress_and_time(scaled)
    family = pd.read_csv(tmp_path / "runs/family/family.csv")
    assert list(family["target"]) == ["seed", "2x"]
    assert (tmp_path / "runs/family/members/2x/model.safetensors").is_file()  # the trained seed, carried in
    card = yaml.safe_load((tmp_path / "runs/family/members/2x/card.yaml").read_text())
    assert "inherited from the trained seed" in card["provenance"]["weights"]
