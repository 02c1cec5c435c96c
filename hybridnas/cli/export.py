"""`hybridnas export (RUN --rank K | SPACE --arch STR) [--weights W] [--latency-table T ...] --out DIR`."""

from __future__ import annotations

import click

from .util import user_errors
from ..errors import HybridNASError


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
    from ..latency import LatencyTable
    from ..spaces import load_space
    from ..export.exporter import export_arch, export_from_run, load_weights

    if (rank is None) == (arch_text is None):
        raise HybridNASError("give either RUN --rank K or SPACE --arch STR")
    if supernet and weights:
        raise HybridNASError("give --weights or --supernet, not both")
    state = load_weights(weights) if weights else None
    loaded = [LatencyTable.load(t) for t in tables]
    inherited = _from_supernet(supernet) if supernet else None
    if rank is not None:
        result = export_from_run(source, rank, out, weights=state, latency_tables=loaded, model_name=model_name,
                                 supernet=inherited, force=force, onnx=onnx)
    else:
        space = load_space(source)
        result = export_arch(space, space.parse(arch_text), out, weights=state, latency_tables=loaded,
                             model_name=model_name, supernet=inherited, force=force, onnx=onnx)
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
