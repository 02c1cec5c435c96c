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
    assert "timing layers" in result.output.splitlines()[-1]  # where the time went
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


def test_build_times_the_layers_of_grown_members_and_predict_reads_them(tmp_path):
    from hybridnas import load_space
    from hybridnas.latency import Conditions, LatencyTable, space_signatures
    from hybridnas.latency.timing import Timing, device_name

    space = load_space("hybrid_cifar")
    # a table of the space (made-up times, this machine's conditions) that a grown member outgrows
    entries = {sig: Timing(0.01 + sig.spec.macs(sig.in_shape) / 1e8, 0.0) for sig in space_signatures(space)}
    table = tmp_path / "t.json"
    LatencyTable(Conditions("cpu", device_name("cpu"), 1, 1, "float32", "torch", "", "min"), entries=entries).save(table)
    member = "w16|w56:conv-k3-r2*3|w32:conv-k3-r2*2|w64:conv-k3-r2+attention-h2-r2|w96:attention-h4-r2*4"
    before = invoke("latency", "predict", "hybrid_cifar", "--table", str(table), "--unseen", "predict", "--csv",
                    input=member + "\n")
    assert before.exit_code == 0, before.output
    assert int(before.output.strip().splitlines()[1].split(",")[2]) > 0  # layers the table never timed
    (tmp_path / "members.txt").write_text(member + "\n")
    built = invoke("latency", "build", "hybrid_cifar", "--out", str(table), "--archs", str(tmp_path / "members.txt"),
                   "--repeats", "2", "--warmup", "1", "--calibrate", "0", "--no-progress")
    assert built.exit_code == 0, built.output
    assert len(LatencyTable.load(table).entries) == len(entries) + 3  # its three new layers (stage 0 at width 56)
    after = invoke("latency", "predict", "hybrid_cifar", "--table", str(table), "--csv", input=member + "\n")
    assert after.exit_code == 0 and after.output.strip().splitlines()[1].endswith(",0")
    bad = CliRunner().invoke(main, ["latency", "build", "hybrid_cifar", "--out", str(table), "--archs", "-"],
                             input="w16|nonsense\n")
    assert bad.exit_code == 2 and "line 1" in bad.output


def test_max_latency_flag_makes_latency_the_fronts_cost_axis(tmp_path):
    import yaml

    table = str(tmp_path / "t.json")
    assert invoke("latency", "build", "nasbench_macro", "--out", table, "--repeats", "2", "--warmup", "1",
                  "--calibrate", "0", "--no-progress").exit_code == 0
    config = tmp_path / "s.yaml"
    config.write_text("space: nasbench_macro\nobjectives: [params:max, macs:min]\ntrials: 4\nworkers: 0\n")
    result = invoke("search", str(config), "--out", str(tmp_path / "run"), "--max-latency", "1000",
                    "--latency-table", table, "--no-progress")
    assert result.exit_code == 0, result.output
    assert "latency_ms the front's cost axis" in result.output
    assert any(line.startswith("time: ") for line in result.output.splitlines())  # where the time went
    saved = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    assert saved["objectives"] == [{"name": "params", "direction": "max"}, {"name": "latency_ms", "direction": "min"}]
