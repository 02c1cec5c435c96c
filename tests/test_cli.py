"""The `hybridnas` command: help everywhere, deterministic sampling, cost tables, clean errors."""

import io

import pandas as pd
import pytest
from click.testing import CliRunner

from hybridnas.cli import main


@pytest.fixture
def run():
    runner = CliRunner()

    def invoke(*args, input=None):
        return runner.invoke(main, list(args), input=input, catch_exceptions=False)

    return invoke


def all_commands(group=main, prefix=()):
    yield list(prefix)
    for name, command in getattr(group, "commands", {}).items():
        yield from all_commands(command, (*prefix, name))


@pytest.mark.parametrize("command", list(all_commands()), ids=" ".join)
def test_every_command_has_help(run, command):
    result = run(*command, "--help")
    assert result.exit_code == 0 and "Usage:" in result.output


def test_validate_prints_a_summary(run):
    result = run("space", "validate", "nasbench_macro")
    assert result.exit_code == 0
    assert "ok: nasbench_macro" in result.output and "3969 distinct networks" in result.output


def test_sample_is_one_arch_per_line_and_seeded(run):
    first = run("space", "sample", "hybrid_cifar", "-n", "5", "--seed", "3").output.splitlines()
    again = run("space", "sample", "hybrid_cifar", "-n", "5", "--seed", "3").output.splitlines()
    other = run("space", "sample", "hybrid_cifar", "-n", "5", "--seed", "4").output.splitlines()
    assert len(first) == 5 and first == again and first != other


def test_sample_unique_gives_distinct_networks(run):
    lines = run("space", "sample", "nasbench_macro", "-n", "50", "--unique").output.splitlines()
    assert len(lines) == len(set(lines)) == 50


def test_cost_reads_stdin_and_writes_csv(run):
    result = run("cost", "nasbench_macro", "--archs", "-", "--csv", input="02012100\n# comment\n\n00000001\n")
    table = pd.read_csv(io.StringIO(result.output), dtype={"arch": str, "input": str})
    assert list(table["arch"]) == ["02012100", "00000010"]
    assert list(table["macs"]) == [47327744, 14115328] and list(table["params"]) == [890666, 791594]
    assert table["input"].fillna("").tolist() == ["", "00000001"]  # the canonical form differs from the input


def test_cost_json_and_sampled_pipeline(run, tmp_path):
    archs = tmp_path / "archs.txt"
    archs.write_text(run("space", "sample", "vit", "-n", "3").output)
    result = run("cost", "vit", "--archs", str(archs), "--json")
    frame = pd.read_json(io.StringIO(result.output))
    assert len(frame) == 3 and (frame["macs"] > 1e9).all()


def test_bad_arch_exits_2_with_line_number(run):
    runner = CliRunner()
    result = runner.invoke(main, ["cost", "nasbench_macro"], input="02012100\n0201210\n")
    assert result.exit_code == 2 and "line 2:" in result.output and "8 digits" in result.output


def test_proxies_list_names_every_proxy(run):
    from hybridnas.proxies import list_proxies

    out = run("proxies", "list").output
    assert all(name in out for name in list_proxies()) and "Mellor et al." in out


def test_proxies_score_csv_with_an_ensemble(run):
    result = run("proxies", "score", "nasbench_macro", "--archs", "-", "--proxies", "params,ensemble:params+synflow",
                 "--batch-size", "8", "--csv", input="02012100\n11111111\n00000000\n")
    table = pd.read_csv(io.StringIO(result.output), dtype={"arch": str})
    assert list(table["arch"]) == ["02012100", "11111111", "00000000"]
    assert table["ensemble:params+synflow"].idxmax() == 1 and "synflow" in table


def test_proxies_bench_cli(run, tmp_path):
    gt = tmp_path / "gt.csv"
    gt.write_text("arch,acc\n" + "\n".join(f"{a},{i}" for i, a in enumerate(
        ["00000000", "00000001", "00000011", "00000111", "00001111", "00011111"])))
    out = tmp_path / "bench"
    result = run("proxies", "bench", "nasbench_macro", "--ground-truth", str(gt), "--target", "acc", "--n", "6",
                 "--proxies", "params,macs", "--out", str(out))
    assert "kendall_tau" in result.output and (out / "correlation.csv").is_file()


@pytest.mark.parametrize("command", [["proxies"], ["proxies", "list"], ["proxies", "score"], ["proxies", "bench"]])
def test_proxies_commands_have_help(run, command):
    assert run(*command, "--help").exit_code == 0


def test_proxies_score_out_resumes(run, tmp_path):
    out = tmp_path / "scores.csv"
    archs = "02012100\n11111111\n"
    first = run("proxies", "score", "nasbench_macro", "--proxies", "params,naswot", "--batch-size", "4", "--out",
                str(out), "--csv", input=archs)
    assert first.exit_code == 0 and len(pd.read_csv(out)) == 2
    saved = pd.read_csv(out, dtype={"arch": str})
    again = run("proxies", "score", "nasbench_macro", "--proxies", "params,naswot", "--batch-size", "4", "--out",
                str(out), "--csv", input=archs + "22222222\n")
    table = pd.read_csv(io.StringIO(again.output), dtype={"arch": str})
    assert len(table) == 3 and len(pd.read_csv(out)) == 3
    assert table.loc[:1, "seconds"].tolist() == saved["seconds"].tolist()  # not scored again
