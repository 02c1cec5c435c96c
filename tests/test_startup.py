"""`hybridnas --help` loads none of the heavy libraries; the torch-free catalogs the help reads match the
registries they describe; lazy package exports resolve and fail like attributes."""

import subprocess
import sys
import textwrap

import pytest

import hybridnas

HEAVY = ("torch", "timm", "optuna", "pandas", "ray", "sklearn", "onnxruntime", "matplotlib", "scipy")

WALK_HELP = textwrap.dedent('''
    import sys
    import click
    from click.testing import CliRunner
    from hybridnas.cli.main import main

    def walk(group, path):
        for name, cmd in group.commands.items():
            yield path + [name]
            if isinstance(cmd, click.Group):
                yield from walk(cmd, path + [name])

    paths = [[]] + list(walk(main, []))
    for path in paths:
        result = CliRunner().invoke(main, path + ["--help"])
        assert result.exit_code == 0, (path, result.output)
    print(len(paths), ",".join(sorted(m for m in sys.argv[1].split(",") if m in sys.modules)))
''')


def test_every_help_runs_without_importing_heavy_libraries():
    result = subprocess.run([sys.executable, "-c", WALK_HELP, ",".join(HEAVY)], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    count, loaded = result.stdout.split()[0], result.stdout.split()[1:]
    assert int(count) > 20 and loaded == [], f"--help imported {loaded}"


def test_importing_hybridnas_loads_nothing_heavy():
    code = f"import sys, hybridnas, hybridnas.search, hybridnas.latency, hybridnas.scaling; " \
           f"print([m for m in {HEAVY!r} if m in sys.modules])"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.stdout.strip() == "[]", result.stdout + result.stderr[-2000:]


def test_lazy_exports_resolve_and_list_and_refuse_unknown_names():
    assert hybridnas.load_space("hybrid_cifar").name == "hybrid_cifar"
    assert set(hybridnas.__all__) <= set(dir(hybridnas))
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        hybridnas.nope  # noqa: B018
    from hybridnas.search import RunStore, make_sampler, make_strategy_sampler
    from hybridnas.search.store import RunStore as direct
    assert RunStore is direct and make_sampler is make_strategy_sampler


def test_the_catalogs_the_help_reads_match_the_registries():
    from hybridnas.latency import options
    from hybridnas.latency.backends import BACKENDS
    from hybridnas.latency.timing import STATISTICS
    from hybridnas.models.onnx import LEVELS
    from hybridnas.search.strategies import STRATEGIES
    from hybridnas.search.strategy_catalog import BUILTIN_STRATEGIES, DEFAULT_STRATEGY
    import hybridnas.search.config  # noqa: F401  (registers every built-in strategy)

    assert sorted(BUILTIN_STRATEGIES) == STRATEGIES.list() and DEFAULT_STRATEGY in BUILTIN_STRATEGIES
    assert all(STRATEGIES.get(name).description == about for name, about in BUILTIN_STRATEGIES.items())
    assert sorted(options.BACKEND_NAMES) == BACKENDS.list()
    assert tuple(STATISTICS) == options.STATISTIC_NAMES and options.DEFAULT_STATISTIC in STATISTICS
    assert tuple(LEVELS) == options.OPTIMIZATION_LEVELS
    import typing

    from hybridnas.cli import train
    from hybridnas.supernet.config import SupernetConfig

    assert typing.get_args(SupernetConfig.model_fields["device"].annotation) == train.DEVICES
    assert typing.get_args(SupernetConfig.model_fields["precision"].annotation) == train.PRECISIONS


def test_command_options_are_their_models_and_a_refusal_is_one_line_naming_the_flag():
    from click.testing import CliRunner

    from hybridnas.cli.main import main
    from hybridnas.export.config import ExportConfig
    from hybridnas.latency.config import LatencyBuildConfig
    from hybridnas.pipeline import LatencyStage, ScaleStage
    from hybridnas.scaling.config import GrowthOptions, ScaleConfig

    assert issubclass(LatencyStage, LatencyBuildConfig) and issubclass(ScaleStage, GrowthOptions)
    assert issubclass(ScaleConfig, GrowthOptions) and "onnx" in ExportConfig.model_fields
    cases = [(["latency", "build", "nasbench_macro", "--threads", "0", "--out", "t.json"], "--threads 0: "),
             (["export", "run", "--rank", "0", "--out", "x"], "--rank 0: "),
             (["export", "run", "--out", "x"], "give either RUN --rank K or SPACE --arch STR"),
             (["scale", "nasbench_macro", "--seed-arch", "a", "--targets", "2x", "--out", "s", "--batch-size", "1"],
              "--batch-size 1: "),
             (["scale", "nasbench_macro", "--seed-arch", "a", "--targets", "2x", "--out", "s", "--onnx", "--no-export"],
              "drop --no-export")]
    for args, expected in cases:
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 2 and expected in result.output, (args, result.output)
        assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output


def test_an_unknown_strategy_is_one_line(tmp_path):
    from hybridnas.cli.main import main
    from click.testing import CliRunner

    result = CliRunner().invoke(main, ["search", "quickstart", "--strategy", "annealing", "--trials", "1",
                                       "--out", str(tmp_path / "run")])
    assert result.exit_code == 2 and "unknown strategy 'annealing'" in result.output
    assert "Traceback" not in result.output


def test_the_config_reference_page_is_the_generated_one():
    from pathlib import Path

    from hybridnas.cli.config_reference import config_reference

    page = Path(__file__).resolve().parents[1] / "docs" / "guide" / "config-reference.md"
    assert page.read_text() == config_reference(), "regenerate: hybridnas config-keys > docs/guide/config-reference.md"
    for key in ("max_latency_ms", "latency_table", "reference_size", "epoch_budget", "pruner"):
        assert f"`{key}`" in page.read_text()
