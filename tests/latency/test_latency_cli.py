"""`hybridnas latency build|predict|validate` and the search's --max-latency flag."""

import json

from click.testing import CliRunner

from hybridnas.cli import main


def invoke(*args, input=None):
    return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)


def test_build_predict_validate(tmp_path):
    table = str(tmp_path / "t.json")
    result = invoke("latency", "build", "nasbench_macro", "--out", table, "--repeats", "3", "--warmup", "1",
                    "--calibrate", "3", "--no-progress")
    assert result.exit_code == 0, result.output
    assert "17 layers" in result.output and "calibration on 3 networks" in result.output
    result = invoke("latency", "predict", "nasbench_macro", "--table", table, "--csv", input="02012100\n")
    lines = result.output.strip().splitlines()
    assert lines[0] == "arch,latency_ms,layers_predicted" and float(lines[1].split(",")[1]) > 0
    result = invoke("latency", "predict", "nasbench_macro", "--table", table, "--breakdown", "--json",
                    input="02012100\n")
    assert {"node", "kind", "ms", "arch"} <= set(json.loads(result.output)[0])
    plot = tmp_path / "v.png"
    result = invoke("latency", "validate", "nasbench_macro", "--table", table, "-n", "2", "--json", "--plot",
                    str(plot), "--no-progress")
    assert result.exit_code == 0 and json.loads(result.output)["n"] == 2 and plot.stat().st_size > 0


def test_user_errors_exit_2(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "hybridnas-latency-table", "vers')
    result = invoke("latency", "predict", "nasbench_macro", "--table", str(bad), input="02012100\n")
    assert result.exit_code == 2 and "not valid JSON" in result.output
    result = invoke("latency", "build", "nasbench_macro", "--out", str(tmp_path / "t.json"), "--device", "tpu")
    assert result.exit_code == 2 and "use 'cpu' or 'cuda'" in result.output
    result = invoke("search", "quickstart", "--out", str(tmp_path / "run"), "--max-latency", "fast")
    assert result.exit_code == 2 and "give milliseconds" in result.output
