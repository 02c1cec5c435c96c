"""`hybridnas export (RUN --rank K | SPACE --arch STR) [--weights W] [--latency-table T ...] --out DIR`."""

from __future__ import annotations

import click

from .util import command_options, user_errors


@click.command("export")
@click.argument("source")
@click.option("--rank", type=int, default=None, help="SOURCE is a run: export the K-th row of its Pareto front (1 = best).")
@click.option("--arch", "arch_text", default=None, help="SOURCE is a space: the architecture string (or JSON).")
@click.option("--weights", default=None, help="A state dict of the architecture (.safetensors or torch checkpoint).")
@click.option("--supernet", default=None, help="A supernet checkpoint to take the weights from.")
@click.option("--latency-table", "tables", multiple=True, help="Device latency table(s) for the card and latency.csv.")
@click.option("--name", "model_name", default=None, help="Model name (an identifier); default hybridnas_<space>_<id>.")
@click.option("--out", required=True, help="Output folder (new or empty; written atomically).")
@click.option("--force", is_flag=True, help="Replace a non-empty --out whole.")
@click.option("--onnx", is_flag=True, help="Also write model.onnx (opset 18, symbolic batch), checked in ONNX Runtime.")
@user_errors
def export_cmd(source: str, rank: int | None, arch_text: str | None, weights: str | None, supernet: str | None,
               tables: tuple[str, ...], model_name: str | None, out: str, force: bool, onnx: bool) -> None:
    """Write model.py (standalone), card.yaml, latency.csv; with weights, model.safetensors; with --onnx, model.onnx."""
    from ..export.config import ExportConfig
    from ..latency import load_latency
    from ..spaces import load_space
    from ..export.exporter import export_arch, export_from_run, load_weights

    config = command_options(ExportConfig, {
        "rank": rank, "arch": arch_text, "weights": weights, "supernet": supernet, "latency_tables": list(tables),
        "name": model_name, "force": force, "onnx": onnx}, "hybridnas export", {"arch": "--arch", "latency_tables": "--latency-table"})
    state = load_weights(config.weights) if config.weights else None
    loaded = [load_latency(t) for t in config.latency_tables]
    inherited = _from_supernet(config.supernet) if config.supernet else None
    common = dict(weights=state, latency_tables=loaded, model_name=config.name, supernet=inherited,
                  force=config.force, onnx=config.onnx)
    if config.rank is not None:
        result = export_from_run(source, config.rank, out, **common)
    else:
        space = load_space(source)
        result = export_arch(space, space.parse(config.arch), out, **common)
    state = state if state is not None else (True if inherited else None)
    click.echo(f"exported {result.model_name} to {result.out}:")
    for name, path in result.files.items():
        click.echo(f"  {path}")
    click.echo(f"use it: cd {result.out} && python -c \"import model; net = model."
               f"{'load_model' if state is not None else 'build_model'}()\"")


def _from_supernet(path: str):
    from ..supernet import SubnetScorer, load_supernet

    net, config = load_supernet(path)
    return SubnetScorer(net, config)
